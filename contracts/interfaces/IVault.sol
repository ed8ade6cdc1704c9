// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title PaymentsVault: escrow filled by LockPaymentCondition, emptied by DistributePaymentsCondition.
interface IVault {
    event ReceivedNativeToken(address indexed from, uint256 value);
    event ReceivedERC20(address indexed erc20TokenAddress, address indexed from, uint256 amount);
    event WithdrawNativeToken(address indexed from, address indexed receiver, uint256 amount);
    event WithdrawERC20(address indexed erc20TokenAddress, address indexed from, address indexed receiver, uint256 amount);

    function depositNativeToken() external payable;
    function depositERC20(address _erc20TokenAddress, uint256 _amount, address _from) external;
    function depositERC20WithAuthorization(
        address _erc20TokenAddress,
        address _from,
        uint256 _amount,
        uint256 _validAfter,
        uint256 _validBefore,
        bytes32 _nonce,
        uint8 _v,
        bytes32 _r,
        bytes32 _s
    ) external;
    function withdrawNativeToken(uint256 _amount, address _receiver) external;
    function withdrawERC20(address _erc20TokenAddress, uint256 _amount, address _receiver) external;
    function getBalanceNativeToken() external view returns (uint256 balance);
    function getBalanceERC20(address _erc20TokenAddress) external view returns (uint256 balance);
}
