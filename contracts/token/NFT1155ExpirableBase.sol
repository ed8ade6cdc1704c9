// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NFT1155Base} from "./NFT1155Base.sol";

/// @title NFT1155ExpirableBase
/// @notice Shared surface of the expirable credit tokens: the expiring (5-argument) mint and mintBatch.
///         The ledger itself is the concrete token's `_recordMint` / `_recordBurn` / `balanceOf`.
abstract contract NFT1155ExpirableBase is NFT1155Base {
    error NotEnoughCreditsToBurn(address _from, uint256 _planId, uint256 _value);

    constructor(address _authority, address _assetsRegistryAddress) NFT1155Base(_authority, _assetsRegistryAddress) {}

    /// @notice Mints `_value` credits that expire `_secsDuration` seconds from now (0 = never).
    function mint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration, bytes calldata _data)
        external
        virtual
    {
        _requireMinter(_planId);
        _recordMint(_to, _planId, _value, _secsDuration);
        _mint(_to, _planId, _value, _data);
        _afterMint(_to, _planId, _value, _secsDuration);
    }

    /// @notice Batch version of the expiring mint; all arrays must have the same length.
    function mintBatch(
        address _to,
        uint256[] calldata _ids,
        uint256[] calldata _values,
        uint256[] calldata _secsDurations,
        bytes calldata _data
    ) external virtual {
        if (_ids.length != _values.length) revert InvalidLength(_ids.length, _values.length);
        if (_ids.length != _secsDurations.length) revert InvalidLength(_ids.length, _secsDurations.length);
        for (uint256 i = 0; i < _ids.length; i++) {
            _requireMinter(_ids[i]);
        }
        for (uint256 i = 0; i < _ids.length; i++) {
            _recordMint(_to, _ids[i], _values[i], _secsDurations[i]);
        }
        _mintBatch(_to, _ids, _values, _data);
        for (uint256 i = 0; i < _ids.length; i++) {
            _afterMint(_to, _ids[i], _values[i], _secsDurations[i]);
        }
    }

    /// @dev Ledger key of the credits of `_account` for `_planId`.
    function _key(address _account, uint256 _planId) internal pure returns (bytes32) {
        return keccak256(abi.encode(_account, _planId));
    }
}
