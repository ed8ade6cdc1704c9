// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IHook} from "../interfaces/IHook.sol";
import {INVMConfig} from "../interfaces/INVMConfig.sol";

/// @title TemplateBase
/// @notice Shared plumbing of the agreement templates: the registry / store / config wiring, the errors of
///         the v1.5.0 templates, order validation, condition-id derivation, registration with the plan hooks,
///         and the ERC-2771 context (the buyer is `_msgSender()`).
abstract contract TemplateBase is AccessManagedUUPSSurface, ERC2771Context {
    INVMConfig internal immutable nvmConfig;
    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;

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

    /// @dev An order being executed (creator = the buyer, or the settler for fiat), kept in memory to stay
    ///      clear of stack limits.
    struct Order {
        bytes32 agreementId;
        uint256 planId;
        address creator;
        address creditsReceiver;
        uint256 numberOfPurchases;
    }

    /// @dev Checks the registry and the store addresses; the concrete template checks its conditions after.
    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress
    ) AccessManaged(_authority) ERC2771Context(_trustedForwarder) {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        nvmConfig = INVMConfig(_nvmConfigAddress);
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
    }

    // ------------------------------------------------------------------ validation

    function _requireSeedAndPlanId(bytes32 _seed, uint256 _planId) internal pure {
        if (_seed == bytes32(0)) revert InvalidSeed(_seed);
        if (_planId == 0) revert InvalidPlanId(_planId);
    }

    /// @dev Seed, plan id and receiver must be set; the plan must exist and be bound to this template or none.
    function _validateOrder(bytes32 _seed, uint256 _planId, address _creditsReceiver) internal view {
        _requireSeedAndPlanId(_seed, _planId);
        if (_creditsReceiver == address(0)) revert InvalidReceiver(_creditsReceiver);
        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
        address template = plan.price.templateAddress;
        if (template != address(0) && template != address(this)) {
            revert PlanWithInvalidTemplate(_planId, address(this));
        }
    }

    function _requireNewAgreement(bytes32 _agreementId) internal view {
        if (agreementStore.agreementExists(_agreementId)) revert AgreementAlreadyRegistered(_agreementId);
    }

    // ------------------------------------------------------------------ condition ids

    /// @dev conditionId = keccak256(abi.encode(agreementId, NVM_CONTRACT_NAME of the condition)).
    function _deriveConditionIds(bytes32 _agreementId, bytes32 _name0, bytes32 _name1)
        internal
        pure
        returns (bytes32[] memory ids)
    {
        ids = new bytes32[](2);
        ids[0] = keccak256(abi.encode(_agreementId, _name0));
        ids[1] = keccak256(abi.encode(_agreementId, _name1));
    }

    function _deriveConditionIds(bytes32 _agreementId, bytes32 _name0, bytes32 _name1, bytes32 _name2)
        internal
        pure
        returns (bytes32[] memory ids)
    {
        ids = new bytes32[](3);
        ids[0] = keccak256(abi.encode(_agreementId, _name0));
        ids[1] = keccak256(abi.encode(_agreementId, _name1));
        ids[2] = keccak256(abi.encode(_agreementId, _name2));
    }

    // ------------------------------------------------------------------ registration and hooks

    /// @dev Reads the plan hooks, runs `beforeAgreementRegistered` on each, then registers the agreement with
    ///      all its conditions Uninitialized. Returns the hooks for `_afterAgreementCreated`.
    function _registerAgreement(
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] memory _conditionIds,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) internal returns (address[] memory hooks) {
        IAgreement.ConditionState[] memory states = new IAgreement.ConditionState[](_conditionIds.length);
        hooks = assetsRegistry.getPlanHooks(_planId);
        _beforeAgreementRegistered(hooks, _agreementId, _creator, _planId, _conditionIds, states, _params);
        agreementStore.register(_agreementId, _creator, _planId, _conditionIds, states, _numberOfPurchases, _params);
    }

    function _beforeAgreementRegistered(
        address[] memory _hooks,
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] memory _conditionIds,
        IAgreement.ConditionState[] memory _states,
        bytes[] calldata _params
    ) private {
        for (uint256 i = 0; i < _hooks.length; i++) {
            IHook(_hooks[i]).beforeAgreementRegistered(
                _agreementId, _creator, _planId, _conditionIds, _states, _params
            );
        }
    }

    function _afterAgreementCreated(
        address[] memory _hooks,
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] memory _conditionIds,
        bytes[] calldata _params
    ) internal {
        for (uint256 i = 0; i < _hooks.length; i++) {
            IHook(_hooks[i]).afterAgreementCreated(_agreementId, _creator, _planId, _conditionIds, _params);
        }
    }

    // ------------------------------------------------------------------ ERC-2771

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
