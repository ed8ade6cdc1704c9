// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC3009} from "../interfaces/IERC3009.sol";
import {LockPaymentCondition} from "../conditions/LockPaymentCondition.sol";
import {TransferCreditsCondition} from "../conditions/TransferCreditsCondition.sol";
import {DistributePaymentsCondition} from "../conditions/DistributePaymentsCondition.sol";
import {TemplateBase} from "./TemplateBase.sol";

/// @title FixedPaymentTemplate
/// @notice Orders a fixed-price crypto plan in one transaction: lock payment → transfer credits →
///         distribute payment. ERC-2771 aware: the buyer is `_msgSender()`.
contract FixedPaymentTemplate is TemplateBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FixedPaymentTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant LOCK_CONDITION_NAME = keccak256("LockPaymentCondition");
    bytes32 private constant TRANSFER_CONDITION_NAME = keccak256("TransferCreditsCondition");
    bytes32 private constant DISTRIBUTE_CONDITION_NAME = keccak256("DistributePaymentsCondition");

    LockPaymentCondition internal immutable lockCondition;
    TransferCreditsCondition internal immutable transferCondition;
    DistributePaymentsCondition internal immutable distributeCondition;

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _lockPaymentConditionAddress,
        address _transferConditionAddress,
        address _distributePaymentsConditionAddress
    ) TemplateBase(_trustedForwarder, _nvmConfigAddress, _authority, _assetsRegistryAddress, _agreementStoreAddress) {
        if (_transferConditionAddress == address(0)) revert InvalidTransferCreditsConditionAddress();
        if (_lockPaymentConditionAddress == address(0) || _distributePaymentsConditionAddress == address(0)) {
            revert InvalidAddress();
        }
        lockCondition = LockPaymentCondition(_lockPaymentConditionAddress);
        transferCondition = TransferCreditsCondition(_transferConditionAddress);
        distributeCondition = DistributePaymentsCondition(_distributePaymentsConditionAddress);
    }

    /// @notice Buys `_numberOfPurchases` units of plan `_planId`, paid by `_msgSender()` (msg.value for
    ///         native plans, a PaymentsVault allowance for ERC-20 plans); credits go to `_creditsReceiver`.
    /// @dev agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, buyer, seed, planId, n, params)).
    function order(
        bytes32 _seed,
        uint256 _planId,
        address _creditsReceiver,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) external payable {
        address buyer = _msgSender();
        _validateOrder(_seed, _planId, _creditsReceiver);
        bytes32 agreementId =
            keccak256(abi.encode(NVM_CONTRACT_NAME, buyer, _seed, _planId, _numberOfPurchases, _params));
        Order memory o = Order(agreementId, _planId, buyer, _creditsReceiver, _numberOfPurchases);
        IERC3009.ReceiveAuthorization memory none;
        _execute(o, _params, false, none);
    }

    /// @notice Buys the plan for `_buyer`, who pays with an EIP-3009 ReceiveWithAuthorization (to the
    ///         PaymentsVault, value = Σamounts·n, nonce = agreementId). Anyone may relay it.
    /// @dev agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, buyer, seed, planId, creditsReceiver, n, params)).
    function orderWithAuthorization(
        bytes32 _seed,
        uint256 _planId,
        address _buyer,
        address _creditsReceiver,
        uint256 _numberOfPurchases,
        bytes[] calldata _params,
        IERC3009.ReceiveAuthorization calldata _authorization
    ) external {
        if (_buyer == address(0)) revert InvalidAddress();
        _validateOrder(_seed, _planId, _creditsReceiver);
        bytes32 agreementId = keccak256(
            abi.encode(NVM_CONTRACT_NAME, _buyer, _seed, _planId, _creditsReceiver, _numberOfPurchases, _params)
        );
        Order memory o = Order(agreementId, _planId, _buyer, _creditsReceiver, _numberOfPurchases);
        _execute(o, _params, true, _authorization);
    }

    function _execute(
        Order memory o,
        bytes[] calldata _params,
        bool _withAuthorization,
        IERC3009.ReceiveAuthorization memory _authorization
    ) private {
        _requireNewAgreement(o.agreementId);
        bytes32[] memory conditionIds =
            _deriveConditionIds(o.agreementId, LOCK_CONDITION_NAME, TRANSFER_CONDITION_NAME, DISTRIBUTE_CONDITION_NAME);
        address[] memory hooks =
            _registerAgreement(o.agreementId, o.creator, o.planId, conditionIds, o.numberOfPurchases, _params);

        if (_withAuthorization) {
            lockCondition.fulfillWithAuthorization(conditionIds[0], o.agreementId, o.planId, o.creator, _authorization);
        } else {
            lockCondition.fulfill{value: msg.value}(conditionIds[0], o.agreementId, o.planId, o.creator);
        }

        bytes32[] memory required = new bytes32[](1);
        required[0] = conditionIds[0];
        transferCondition.fulfill(conditionIds[1], o.agreementId, o.planId, required, o.creditsReceiver);

        distributeCondition.fulfill(conditionIds[2], o.agreementId, o.planId, conditionIds[0], conditionIds[1]);

        _afterAgreementCreated(hooks, o.agreementId, o.creator, o.planId, conditionIds, _params);
    }
}
