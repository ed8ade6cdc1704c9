// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title TokenUtils
/// @notice Small helpers shared by the payment conditions.
/// @dev `calculateAmountSum` is public so the library has a deployable address (it appears in the address
///      book). Contracts of this suite use the internal `sum` so that no library linking is needed.
library TokenUtils {
    /// @notice A native-token transfer failed.
    error FailedToSendNativeToken();

    /// @notice The native value sent does not match the amount due.
    error InvalidTransactionAmount(uint256 msgValue, uint256 amount);

    /// @notice Sum of all the amounts (reverts on overflow).
    function calculateAmountSum(uint256[] memory _amounts) public pure returns (uint256) {
        return sum(_amounts);
    }

    /// @notice Internal version of calculateAmountSum, inlined into the caller.
    function sum(uint256[] memory _amounts) internal pure returns (uint256 total) {
        uint256 len = _amounts.length;
        for (uint256 i = 0; i < len; i++) {
            total += _amounts[i];
        }
    }
}
