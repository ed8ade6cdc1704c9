// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Mint entry points of the credit contracts used by TransferCreditsCondition.
interface INFT1155 {
    function mint(address _to, uint256 _planId, uint256 _value, bytes calldata _data) external;
}

/// @title The 5-argument mint that exists only on the expirable credit contracts.
interface INFT1155Expirable {
    function mint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration, bytes calldata _data) external;
}
