// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC3009} from "../interfaces/IERC3009.sol";
import {LockPaymentCondition} from "../conditions/LockPaymentCondition.sol";
import {DistributePaymentsCondition} from "../conditions/DistributePaymentsCondition.sol";
import {TemplateBase} from "./TemplateBase.sol";

/// @title PayAsYouGoTemplate
/// @notice Pays a plan per request: lock payment → distribute payment, one purchase, no credits minted.
///         Only plans whose `templateAddress` is this template can be ordered. ERC-2771 aware.
contract PayAsYouGoTemplate is TemplateBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("PayAsYouGoTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant LOCK_CONDITION_NAME = keccak256("LockPaymentCondition");
    bytes32 private constant DISTRIBUTE_CONDITION_NAME = keccak256("DistributePaymentsCondition");

    LockPaymentCondition internal immutable lockCondition;
    DistributePaymentsCondition internal immutable distributeCondition;

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _lockPaymentConditionAddress,
        address _distributePaymentsConditionAddress
    ) TemplateBase(_trustedForwarder, _nvmConfigAddress, _authority, _assetsRegistryAddress, _agreementStoreAddress) {
        if (_lockPaymentConditionAddress == address(0) || _distributePaymentsConditionAddress == address(0)) {
            revert InvalidAddress();
        }
        lockCondition = LockPaymentCondition(_lockPaymentConditionAddress);
        distributeCondition = DistributePaymentsCondition(_distributePaymentsConditionAddress);
    }

    /// @notice Pays one request of plan `_planId` by `_msgSender()`.
    /// @dev agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, payer, seed, planId, params)).
    function order(bytes32 _seed, uint256 _planId, bytes[] calldata _params) external payable {
        address payer = _msgSender();
        _validate(_seed, _planId);
        bytes32 agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, payer, _seed, _planId, _params));
        IERC3009.ReceiveAuthorization memory none;
        _execute(agreementId, _planId, payer, _params, false, none);
    }

    /// @notice Pays one request for `_buyer` with an EIP-3009 authorization (nonce = agreementId).
    function orderWithAuthorization(
        bytes32 _seed,
        uint256 _planId,
        address _buyer,
        bytes[] calldata _params,
        IERC3009.ReceiveAuthorization calldata _authorization
    ) external {
        if (_buyer == address(0)) revert InvalidAddress();
        _validate(_seed, _planId);
        bytes32 agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, _buyer, _seed, _planId, _params));
        _execute(agreementId, _planId, _buyer, _params, true, _authorization);
    }

    /// @dev Unlike the other templates, the plan must name this template explicitly.
    function _validate(bytes32 _seed, uint256 _planId) private view {
        _requireSeedAndPlanId(_seed, _planId);
        if (!assetsRegistry.planExists(_planId)) revert PlanNotFound(_planId);
        if (!assetsRegistry.isPlanTemplate(_planId, address(this))) {
            revert PlanWithInvalidTemplate(_planId, address(this));
        }
    }

    function _execute(
        bytes32 _agreementId,
        uint256 _planId,
        address _payer,
        bytes[] calldata _params,
        bool _withAuthorization,
        IERC3009.ReceiveAuthorization memory _authorization
    ) private {
        _requireNewAgreement(_agreementId);
        bytes32[] memory conditionIds =
            _deriveConditionIds(_agreementId, LOCK_CONDITION_NAME, DISTRIBUTE_CONDITION_NAME);
        address[] memory hooks = _registerAgreement(_agreementId, _payer, _planId, conditionIds, 1, _params);

        if (_withAuthorization) {
            lockCondition.fulfillWithAuthorization(conditionIds[0], _agreementId, _planId, _payer, _authorization);
        } else {
            lockCondition.fulfill{value: msg.value}(conditionIds[0], _agreementId, _planId, _payer);
        }

        distributeCondition.fulfill(conditionIds[1], _agreementId, _planId, conditionIds[0], conditionIds[0]);

        _afterAgreementCreated(hooks, _agreementId, _payer, _planId, conditionIds, _params);
    }
}
