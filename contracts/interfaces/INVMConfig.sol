// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Protocol configuration read by the registry and the conditions.
interface INVMConfig {
    function getFeeReceiver() external view returns (address);
    function getDefaultFeeController() external view returns (address);
    function isFeeControllerAllowed(address _feeController, address _creator) external view returns (bool);
}
