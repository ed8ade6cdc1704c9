// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NFT1155ExpirableBase} from "./NFT1155ExpirableBase.sol";

/// @title NFT1155ExpirableCredits (V1)
/// @notice Credits tracked as an append-only log of mint and burn rows per (account, planId).
///         A row is live while `mintTimestamp > 0 && (expirationSecs == 0 || now < mintTimestamp + expirationSecs)`.
///         Balance = max(0, sum of live mint rows - sum of live burn rows).
///         A burn row copies the `expirationSecs` of the lot it consumed but carries the burn's own timestamp,
///         so it can outlive that lot and keep being subtracted from later lots (the known V1 under-reporting).
contract NFT1155ExpirableCredits is NFT1155ExpirableBase {
    struct MintedCredits {
        uint256 amountMinted;
        uint256 expirationSecs;
        uint256 mintTimestamp;
        bool isMintOps; // true = mint row, false = burn row
    }

    /// @dev keccak256(abi.encode(account, planId)) => rows
    mapping(bytes32 => MintedCredits[]) private _entries;

    constructor(address _authority, address _assetsRegistryAddress)
        NFT1155ExpirableBase(_authority, _assetsRegistryAddress)
    {}

    /// @notice Live credits of `_owner` for `_planId`.
    function balanceOf(address _owner, uint256 _planId) public view virtual override returns (uint256) {
        MintedCredits[] storage rows = _entries[_key(_owner, _planId)];
        uint256 minted;
        uint256 burned;
        for (uint256 i = 0; i < rows.length; i++) {
            MintedCredits storage row = rows[i];
            if (!_isLive(row)) continue;
            if (row.isMintOps) minted += row.amountMinted;
            else burned += row.amountMinted;
        }
        return minted > burned ? minted - burned : 0;
    }

    /// @notice The ledger rows not yet compacted away.
    function getMintedEntries(address _owner, uint256 _planId) external view returns (MintedCredits[] memory) {
        return _entries[_key(_owner, _planId)];
    }

    /// @notice The timestamps of the ledger rows not yet compacted away, in ledger order.
    function whenWasMinted(address _owner, uint256 _planId) external view returns (uint256[] memory stamps) {
        MintedCredits[] storage rows = _entries[_key(_owner, _planId)];
        stamps = new uint256[](rows.length);
        for (uint256 i = 0; i < rows.length; i++) {
            stamps[i] = rows[i].mintTimestamp;
        }
    }

    function _recordMint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration) internal virtual override {
        bytes32 key = _key(_to, _planId);
        _compact(key);
        _entries[key].push(MintedCredits(_value, _secsDuration, block.timestamp, true));
    }

    /// @dev Consumes live mint rows in ledger order. Live burn rows already logged are first attributed to the
    ///      earliest live mint rows, so only what is left of each lot is available to this burn.
    function _recordBurn(address _from, uint256 _planId, uint256 _value) internal virtual override {
        bytes32 key = _key(_from, _planId);
        _compact(key);
        MintedCredits[] storage rows = _entries[key];
        uint256 n = rows.length;

        uint256 alreadyBurned;
        for (uint256 i = 0; i < n; i++) {
            if (!rows[i].isMintOps) alreadyBurned += rows[i].amountMinted; // all rows are live after _compact
        }

        uint256 remaining = _value;
        for (uint256 i = 0; i < n && remaining > 0; i++) {
            if (!rows[i].isMintOps) continue;
            uint256 available = rows[i].amountMinted;
            if (alreadyBurned >= available) {
                alreadyBurned -= available;
                continue;
            }
            available -= alreadyBurned;
            alreadyBurned = 0;
            uint256 taken = available < remaining ? available : remaining;
            remaining -= taken;
            rows.push(MintedCredits(taken, rows[i].expirationSecs, block.timestamp, false));
        }
        if (remaining > 0) revert NotEnoughCreditsToBurn(_from, _planId, _value);
    }

    function _isLive(MintedCredits storage _row) private view returns (bool) {
        return _row.mintTimestamp > 0
            && (_row.expirationSecs == 0 || block.timestamp < _row.mintTimestamp + _row.expirationSecs);
    }

    /// @dev Drops expired rows, keeping the order of the live ones.
    function _compact(bytes32 _k) private {
        MintedCredits[] storage rows = _entries[_k];
        uint256 kept = 0;
        uint256 n = rows.length;
        for (uint256 i = 0; i < n; i++) {
            if (!_isLive(rows[i])) continue;
            if (kept != i) rows[kept] = rows[i];
            kept++;
        }
        while (rows.length > kept) rows.pop();
    }
}
