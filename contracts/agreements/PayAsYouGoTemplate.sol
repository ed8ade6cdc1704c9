// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IERC3009} from "../interfaces/IERC3009.sol";
import {IHook} from "../interfaces/IHook.sol";
import {INVMConfig} from "../interfaces/INVMConfig.sol";
import {LockPaymentCondition} from "../conditions/LockPaymentCondition.sol";
import {DistributePaymentsCondition} from "../conditions/DistributePaymentsCondition.sol";

/// @title PayAsYouGoTemplate
/// @notice Pays a plan per request: lock payment → distribute payment, one purchase, no credits minted.
///         Only plans whose `templateAddress` is this template can be ordered. ERC-2771 aware.
contract PayAsYouGoTemplate is AccessManaged, ERC2771Context {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("PayAsYouGoTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant LOCK_CONDITION_NAME = keccak256("LockPaymentCondition");
    bytes32 private constant DISTRIBUTE_CONDITION_NAME = keccak256("DistributePaymentsCondition");

    INVMConfig internal immutable nvmConfig;
    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;
    LockPaymentCondition internal immutable lockCondition;
    DistributePaymentsCondition internal immutable distributeCondition;

    error AgreementAlreadyRegistered(bytes32 agreementId);
    error InvalidAddress();
    error InvalidAgentId(uint256 agentId);
    error InvalidAgreementStoreAddress();
    error InvalidAssetsRegistryAddress();
    error InvalidFiatSettlementConditionAddress();
    error InvalidPlanId(uint256 planId);
    error InvalidReceiver(address receiver);
    error InvalidSeed(bytes32 seed);
    error InvalidTransferCreditsConditionAddress();
    error PlanNotFound(uint256 planId);
    error PlanWithInvalidTemplate(uint256 planId, address expectedTemplate);

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _lockPaymentConditionAddress,
        address _distributePaymentsConditionAddress
    ) AccessManaged(_authority) ERC2771Context(_trustedForwarder) {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        if (_lockPaymentConditionAddress == address(0) || _distributePaymentsConditionAddress == address(0)) {
            revert InvalidAddress();
        }
        nvmConfig = INVMConfig(_nvmConfigAddress);
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
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

    function _validate(bytes32 _seed, uint256 _planId) private view {
        if (_seed == bytes32(0)) revert InvalidSeed(_seed);
        if (_planId == 0) revert InvalidPlanId(_planId);
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
        if (agreementStore.agreementExists(_agreementId)) revert AgreementAlreadyRegistered(_agreementId);

        bytes32[] memory conditionIds = new bytes32[](2);
        conditionIds[0] = keccak256(abi.encode(_agreementId, LOCK_CONDITION_NAME));
        conditionIds[1] = keccak256(abi.encode(_agreementId, DISTRIBUTE_CONDITION_NAME));
        IAgreement.ConditionState[] memory states = new IAgreement.ConditionState[](2);

        address[] memory hooks = assetsRegistry.getPlanHooks(_planId);
        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).beforeAgreementRegistered(_agreementId, _payer, _planId, conditionIds, states, _params);
        }

        agreementStore.register(_agreementId, _payer, _planId, conditionIds, states, 1, _params);

        if (_withAuthorization) {
            lockCondition.fulfillWithAuthorization(conditionIds[0], _agreementId, _planId, _payer, _authorization);
        } else {
            lockCondition.fulfill{value: msg.value}(conditionIds[0], _agreementId, _planId, _payer);
        }

        distributeCondition.fulfill(conditionIds[1], _agreementId, _planId, conditionIds[0], conditionIds[0]);

        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).afterAgreementCreated(_agreementId, _payer, _planId, conditionIds, _params);
        }
    }

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
