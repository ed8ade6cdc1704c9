// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {NFT1155Base} from "./NFT1155Base.sol";

/// @title NFT1155Credits
/// @notice Plain credits that never expire: the balance is the ERC-1155 balance.
contract NFT1155Credits is NFT1155Base {
    constructor(address _authority, address _assetsRegistryAddress) NFT1155Base(_authority, _assetsRegistryAddress) {}
}
