// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IHook} from "../interfaces/IHook.sol";
import {INVMConfig} from "../interfaces/INVMConfig.sol";
import {FiatSettlementCondition} from "../conditions/FiatSettlementCondition.sol";
import {TransferCreditsCondition} from "../conditions/TransferCreditsCondition.sol";

/// @title FiatPaymentTemplate
/// @notice Records a plan paid off chain in fiat: fiat settlement (attested by a FIAT_SETTLEMENT_ROLE
///         holder, the caller) → transfer credits. ERC-2771 aware.
contract FiatPaymentTemplate is AccessManaged, ERC2771Context {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FiatPaymentTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant FIAT_CONDITION_NAME = keccak256("FiatSettlementCondition");
    bytes32 private constant TRANSFER_CONDITION_NAME = keccak256("TransferCreditsCondition");

    INVMConfig internal immutable nvmConfig;
    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;
    FiatSettlementCondition internal immutable fiatSettlementCondition;
    TransferCreditsCondition internal immutable transferCondition;

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
        address settler;
        address creditsReceiver;
        uint256 numberOfPurchases;
    }

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _fiatSettlementConditionAddress,
        address _transferConditionAddress
    ) AccessManaged(_authority) ERC2771Context(_trustedForwarder) {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        if (_fiatSettlementConditionAddress == address(0)) revert InvalidFiatSettlementConditionAddress();
        if (_transferConditionAddress == address(0)) revert InvalidTransferCreditsConditionAddress();
        nvmConfig = INVMConfig(_nvmConfigAddress);
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
        fiatSettlementCondition = FiatSettlementCondition(_fiatSettlementConditionAddress);
        transferCondition = TransferCreditsCondition(_transferConditionAddress);
    }

    /// @notice Called by the settler (FIAT_SETTLEMENT_ROLE, not the plan owner) once the buyer paid in fiat;
    ///         mints `amount · n` credits to `_creditsReceiver`. The agreement creator is the settler.
    /// @dev agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, settler, seed, planId, creditsReceiver, n, params)).
    function order(
        bytes32 _seed,
        uint256 _planId,
        address _creditsReceiver,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) external {
        address settler = _msgSender();
        if (_seed == bytes32(0)) revert InvalidSeed(_seed);
        if (_planId == 0) revert InvalidPlanId(_planId);
        if (_creditsReceiver == address(0)) revert InvalidReceiver(_creditsReceiver);
        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
        address template = plan.price.templateAddress;
        if (template != address(0) && template != address(this)) {
            revert PlanWithInvalidTemplate(_planId, address(this));
        }

        Order memory o = Order({
            agreementId: keccak256(
                abi.encode(NVM_CONTRACT_NAME, settler, _seed, _planId, _creditsReceiver, _numberOfPurchases, _params)
            ),
            planId: _planId,
            settler: settler,
            creditsReceiver: _creditsReceiver,
            numberOfPurchases: _numberOfPurchases
        });
        _execute(o, _params);
    }

    function _execute(Order memory o, bytes[] calldata _params) private {
        if (agreementStore.agreementExists(o.agreementId)) revert AgreementAlreadyRegistered(o.agreementId);

        bytes32[] memory conditionIds = new bytes32[](2);
        conditionIds[0] = keccak256(abi.encode(o.agreementId, FIAT_CONDITION_NAME));
        conditionIds[1] = keccak256(abi.encode(o.agreementId, TRANSFER_CONDITION_NAME));
        IAgreement.ConditionState[] memory states = new IAgreement.ConditionState[](2);

        address[] memory hooks = assetsRegistry.getPlanHooks(o.planId);
        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).beforeAgreementRegistered(o.agreementId, o.settler, o.planId, conditionIds, states, _params);
        }

        agreementStore.register(o.agreementId, o.settler, o.planId, conditionIds, states, o.numberOfPurchases, _params);

        fiatSettlementCondition.fulfill(conditionIds[0], o.agreementId, o.planId, o.settler, _params);

        bytes32[] memory required = new bytes32[](1);
        required[0] = conditionIds[0];
        transferCondition.fulfill(conditionIds[1], o.agreementId, o.planId, required, o.creditsReceiver);

        for (uint256 i = 0; i < hooks.length; i++) {
            IHook(hooks[i]).afterAgreementCreated(o.agreementId, o.settler, o.planId, conditionIds, _params);
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
