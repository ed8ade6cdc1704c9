// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "./common/AccessManagedUUPSSurface.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IVault} from "./interfaces/IVault.sol";
import {IERC3009} from "./interfaces/IERC3009.sol";
import {Roles} from "./common/Roles.sol";

/// @title PaymentsVault
/// @notice Escrow for the payments of agreements. Funds are deposited by LockPaymentCondition
///         (DEPOSITOR_ROLE) and paid out by DistributePaymentsCondition (WITHDRAW_ROLE).
contract PaymentsVault is IVault, AccessManagedUUPSSurface, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The tokens received differ from the amount requested (e.g. fee-on-transfer token).
    error ERC20DepositMismatch(uint256 expected, uint256 received);
    /// @notice A native-token transfer to a receiver failed.
    error FailedToSendNativeToken();
    /// @notice The sender does not hold the role required.
    error InvalidRole(address sender, uint64 role);

    constructor(address _authority) AccessManaged(_authority) {}

    /// @notice Plain native transfers are accepted from DEPOSITOR_ROLE holders only.
    receive() external payable {
        (bool isDepositor,) = IAccessManager(authority()).hasRole(Roles.DEPOSITOR_ROLE, msg.sender);
        if (!isDepositor) revert InvalidRole(msg.sender, Roles.DEPOSITOR_ROLE);
        emit ReceivedNativeToken(msg.sender, msg.value);
    }

    /// @inheritdoc IVault
    function depositNativeToken() external payable restricted nonReentrant {
        emit ReceivedNativeToken(msg.sender, msg.value);
    }

    /// @inheritdoc IVault
    function depositERC20(address _erc20TokenAddress, uint256 _amount, address _from)
        external
        restricted
        nonReentrant
    {
        IERC20 token = IERC20(_erc20TokenAddress);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(_from, address(this), _amount);
        _checkReceived(token, before, _amount);
        emit ReceivedERC20(_erc20TokenAddress, _from, _amount);
    }

    /// @inheritdoc IVault
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
    ) external restricted nonReentrant {
        IERC20 token = IERC20(_erc20TokenAddress);
        uint256 before = token.balanceOf(address(this));
        IERC3009(_erc20TokenAddress).receiveWithAuthorization(
            _from, address(this), _amount, _validAfter, _validBefore, _nonce, _v, _r, _s
        );
        _checkReceived(token, before, _amount);
        emit ReceivedERC20(_erc20TokenAddress, _from, _amount);
    }

    /// @inheritdoc IVault
    function withdrawNativeToken(uint256 _amount, address _receiver) external restricted nonReentrant {
        if (_amount > 0) {
            (bool sent,) = payable(_receiver).call{value: _amount}("");
            if (!sent) revert FailedToSendNativeToken();
        }
        emit WithdrawNativeToken(msg.sender, _receiver, _amount);
    }

    /// @inheritdoc IVault
    function withdrawERC20(address _erc20TokenAddress, uint256 _amount, address _receiver)
        external
        restricted
        nonReentrant
    {
        if (_amount > 0) {
            IERC20(_erc20TokenAddress).safeTransfer(_receiver, _amount);
        }
        emit WithdrawERC20(_erc20TokenAddress, msg.sender, _receiver, _amount);
    }

    /// @inheritdoc IVault
    function getBalanceNativeToken() external view returns (uint256 balance) {
        return address(this).balance;
    }

    /// @inheritdoc IVault
    function getBalanceERC20(address _erc20TokenAddress) external view returns (uint256 balance) {
        return IERC20(_erc20TokenAddress).balanceOf(address(this));
    }

    function _checkReceived(IERC20 token, uint256 before, uint256 expected) private view {
        uint256 afterBalance = token.balanceOf(address(this));
        uint256 received = afterBalance > before ? afterBalance - before : 0;
        if (received != expected) revert ERC20DepositMismatch(expected, received);
    }
}
