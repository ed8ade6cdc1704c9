// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NFT1155ExpirableBase} from "./NFT1155ExpirableBase.sol";

/// @title NFT1155ExpirableCreditsV2
/// @notice Credits grouped in expiration buckets per (account, planId). A bucket holds the summed amount of every
///         mint that expires at the same absolute timestamp; non-expiring credits use `type(uint256).max`.
///         The visible balance counts only buckets with `expiration > block.timestamp`. Burns consume the
///         soonest-expiring live buckets first. Expired credits stay in the raw ERC-1155 balance until purged.
/// @dev The ordered set of expirations is a sorted array of unique timestamps (ascending).
contract NFT1155ExpirableCreditsV2 is NFT1155ExpirableBase {
    uint256 private constant NEVER = type(uint256).max;

    /// @dev ledger key => sorted unique expirations that hold credits
    mapping(bytes32 => uint256[]) private _expirations;
    /// @dev ledger key => expiration => amount
    mapping(bytes32 => mapping(uint256 => uint256)) private _amounts;

    event Minted(address indexed _to, uint256 _planId, uint256 _value, uint256 _expiration);
    event Burned(address indexed _from, uint256 _planId, uint256 _value, uint256 _expiration);

    constructor(address _authority, address _assetsRegistryAddress)
        NFT1155ExpirableBase(_authority, _assetsRegistryAddress)
    {}

    /// @notice Credits of `_owner` for `_planId` that have not expired yet.
    function balanceOf(address _owner, uint256 _planId) public view virtual override returns (uint256 total) {
        bytes32 key = _key(_owner, _planId);
        uint256[] storage exps = _expirations[key];
        for (uint256 i = exps.length; i > 0; i--) {
            uint256 e = exps[i - 1];
            if (e <= block.timestamp) break; // sorted ascending: everything below is expired too
            total += _amounts[key][e];
        }
    }

    /// @notice Removes expired buckets from the raw ERC-1155 balance. Anyone may call it.
    /// @param _expirations_ expirations to purge; each must be strictly in the past and hold credits.
    function purgeExpiredCredits(address _from, uint256 _planId, uint256[] calldata _expirations_) external virtual {
        bytes32 key = _key(_from, _planId);
        uint256 total;
        for (uint256 i = 0; i < _expirations_.length; i++) {
            uint256 e = _expirations_[i];
            if (e >= block.timestamp) revert NotExpired(e);
            uint256 amount = _amounts[key][e];
            if (amount == 0) revert NoCreditsToBurn(e);
            delete _amounts[key][e];
            _removeExpiration(key, e);
            total += amount;
            emit Purged(_from, _planId, amount, e);
        }
        if (total > 0) _burn(_from, _planId, total);
    }

    function _recordMint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration) internal virtual override {
        uint256 expiration = _expiration(_secsDuration);
        if (_value > 0) {
            bytes32 key = _key(_to, _planId);
            if (_amounts[key][expiration] == 0) _insertExpiration(key, expiration);
            _amounts[key][expiration] += _value;
        }
    }

    function _afterMint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration) internal virtual override {
        emit Minted(_to, _planId, _value, _expiration(_secsDuration));
    }

    function _expiration(uint256 _secsDuration) private view returns (uint256) {
        return _secsDuration == 0 ? NEVER : block.timestamp + _secsDuration;
    }

    function _recordBurn(address _from, uint256 _planId, uint256 _value) internal virtual override {
        bytes32 key = _key(_from, _planId);
        uint256[] storage exps = _expirations[key];
        uint256 remaining = _value;
        uint256 i = 0;
        while (remaining > 0 && i < exps.length) {
            uint256 e = exps[i];
            if (e <= block.timestamp) {
                i++; // expired: left for purgeExpiredCredits
                continue;
            }
            uint256 available = _amounts[key][e];
            uint256 taken = available < remaining ? available : remaining;
            remaining -= taken;
            emit Burned(_from, _planId, taken, e);
            if (taken == available) {
                delete _amounts[key][e];
                _removeAt(exps, i); // next bucket shifts into slot i
            } else {
                _amounts[key][e] = available - taken;
                i++;
            }
        }
        if (remaining > 0) revert NotEnoughCreditsToBurn(_from, _planId, _value);
    }

    // ------------------------------------------------------------------ ordered set

    /// @dev Inserts `_e` (not present) keeping the array sorted ascending.
    function _insertExpiration(bytes32 _k, uint256 _e) private {
        uint256[] storage exps = _expirations[_k];
        exps.push(_e);
        uint256 j = exps.length - 1;
        while (j > 0 && exps[j - 1] > _e) {
            exps[j] = exps[j - 1];
            j--;
        }
        exps[j] = _e;
    }

    function _removeExpiration(bytes32 _k, uint256 _e) private {
        uint256[] storage exps = _expirations[_k];
        for (uint256 i = 0; i < exps.length; i++) {
            if (exps[i] == _e) {
                _removeAt(exps, i);
                return;
            }
        }
    }

    /// @dev Order-preserving removal of index `_i`.
    function _removeAt(uint256[] storage _exps, uint256 _i) private {
        uint256 last = _exps.length - 1;
        for (uint256 j = _i; j < last; j++) {
            _exps[j] = _exps[j + 1];
        }
        _exps.pop();
    }
}
