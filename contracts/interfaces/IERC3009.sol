// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title EIP-3009 receiveWithAuthorization, as implemented by USDC/EURC.
interface IERC3009 {
    struct ReceiveAuthorization {
        uint256 validAfter;
        uint256 validBefore;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;
}
