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
import {TransferCreditsCondition} from "../conditions/TransferCreditsCondition.sol";
import {DistributePaymentsCondition} from "../conditions/DistributePaymentsCondition.sol";

/// @title FixedPaymentTemplate
/// @notice Orders a fixed-price crypto plan in one transaction: lock payment → transfer credits →
///         distribute payment. ERC-2771 aware: the buyer is `_msgSender()`.
contract FixedPaymentTemplate is AccessManaged, ERC2771Context {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FixedPaymentTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant LOCK_CONDITION_NAME = keccak256("LockPaymentCondition");
    bytes32 private constant TRANSFER_CONDITION_NAME = keccak256("TransferCreditsCondition");
    bytes32 private constant DISTRIBUTE_CONDITION_NAME = keccak256("DistributePaymentsCondition");

    INVMConfig internal immutable nvmConfig;
    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;
    LockPaymentCondition internal immutable lockCondition;
    TransferCreditsCondition internal immutable transferCondition;
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

    /// @dev The order being executed, kept in memory to stay clear of stack limits.
    struct Order {
        bytes32 agreementId;
        uint256 planId;
        address buyer;
        address creditsReceiver;
        uint256 numberOfPurchases;
    }

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _lockPaymentConditionAddress,
        address _transferConditionAddress,
        address _distributePaymentsConditionAddress
    ) AccessManaged(_authority) ERC2771Context(_trustedForwarder) {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        if (_transferConditionAddress == address(0)) revert InvalidTransferCreditsConditionAddress();
        if (_lockPaymentConditionAddress == address(0) || _distributePaymentsConditionAddress == address(0)) {
            revert InvalidAddress();
        }
        nvmConfig = INVMConfig(_nvmConfigAddress);
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
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
        _validate(_seed, _planId, _creditsReceiver);
        Order memory o = Order({
            agreementId: keccak256(
                abi.encode(NVM_CONTRACT_NAME, buyer, _seed, _planId, _numberOfPurchases, _params)
            ),
            planId: _planId,
            buyer: buyer,
            creditsReceiver: _creditsReceiver,
            numberOfPurchases: _numberOfPurchases
        });
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
        _validate(_seed, _planId, _creditsReceiver);
        Order memory o = Order({
            agreementId: keccak256(
                abi.encode(NVM_CONTRACT_NAME, _buyer, _seed, _planId, _creditsReceiver, _numberOfPurchases, _params)
            ),
            planId: _planId,
            buyer: _buyer,
            creditsReceiver: _creditsReceiver,
            numberOfPurchases: _numberOfPurchases
        });
        _execute(o, _params, true, _authorization);
    }

    function _validate(bytes32 _seed, uint256 _planId, address _creditsReceiver) private view {
        if (_seed == bytes32(0)) revert InvalidSeed(_seed);
        if (_planId == 0) revert InvalidPlanId(_planId);
        if (_creditsReceiver == address(0)) revert InvalidReceiver(_creditsReceiver);
        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
        address template = plan.price.templateAddress;
        if (template != address(0) && template != address(this)) {
            revert PlanWithInvalidTemplate(_planId, address(this));
        }
    }

    function _execute(
        Order memory o,
        bytes[] calldata _params,
        bool _withAuthorization,
        IERC3009.ReceiveAuthorization memory _authorization
    ) private {
        if (agreementStore.agreementExists(o.agreementId)) revert AgreementAlreadyRegistered(o.agreementId);

        bytes32[] memory conditionIds = new bytes32[](3);
        conditionIds[0] = keccak256(abi.encode(o.agreementId, LOCK_CONDITION_NAME));
        conditionIds[1] = keccak256(abi.encode(o.agreementId, TRANSFER_CONDITION_NAME));
        conditionIds[2] = keccak256(abi.encode(o.agreementId, DISTRIBUTE_CONDITION_NAME));
        IAgreement.ConditionState[] memory states = new IAgreement.ConditionState[](3);

        address[] memory hooks = assetsRegistry.getPlanHooks(o.planId);
        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).beforeAgreementRegistered(o.agreementId, o.buyer, o.planId, conditionIds, states, _params);
        }

        agreementStore.register(o.agreementId, o.buyer, o.planId, conditionIds, states, o.numberOfPurchases, _params);

        if (_withAuthorization) {
            lockCondition.fulfillWithAuthorization(conditionIds[0], o.agreementId, o.planId, o.buyer, _authorization);
        } else {
            lockCondition.fulfill{value: msg.value}(conditionIds[0], o.agreementId, o.planId, o.buyer);
        }

        bytes32[] memory required = new bytes32[](1);
        required[0] = conditionIds[0];
        transferCondition.fulfill(conditionIds[1], o.agreementId, o.planId, required, o.creditsReceiver);

        distributeCondition.fulfill(conditionIds[2], o.agreementId, o.planId, conditionIds[0], conditionIds[1]);

        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).afterAgreementCreated(o.agreementId, o.buyer, o.planId, conditionIds, _params);
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
