// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {Roles} from "../common/Roles.sol";
import {ConditionBase} from "./ConditionBase.sol";

/// @title FiatSettlementCondition
/// @notice First condition of the fiat template: an off-chain settler holding FIAT_SETTLEMENT_ROLE
///         attests that the plan was paid in fiat. No funds move on chain.
contract FiatSettlementCondition is ConditionBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FiatSettlementCondition");

    error InvalidRole(address addr, uint64 expectedRole);
    error InvalidSettlementParams(bytes[] params);
    error OnlyPlanWithFiatPrice(uint256 planId);
    error SelfSettlementNotAllowed(address addr);

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress)
        ConditionBase(_authority, _assetsRegistryAddress, _agreementStoreAddress)
    {}

    /// @notice Marks the fiat settlement fulfilled. `_senderAddress` (the template's caller) must hold
    ///         FIAT_SETTLEMENT_ROLE and must not own the plan; the plan must have a fiat price.
    ///         `_params` are accepted as is (kept in the agreement by the template).
    function fulfill(
        bytes32 _conditionId,
        bytes32 _agreementId,
        uint256 _planId,
        address _senderAddress,
        bytes[] calldata _params
    ) external restricted nonReentrant {
        _params;
        (bool isSettler,) = IAccessManager(authority()).hasRole(Roles.FIAT_SETTLEMENT_ROLE, _senderAddress);
        if (!isSettler) revert InvalidRole(_senderAddress, Roles.FIAT_SETTLEMENT_ROLE);

        // v1.5.0 checks existence with agreementExists here (the other conditions read the agreement).
        if (!agreementStore.agreementExists(_agreementId)) revert AgreementNotFound(_agreementId);
        _requireNotFulfilled(_conditionId, _agreementId);

        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (plan.owner == _senderAddress) revert SelfSettlementNotAllowed(_senderAddress);
        if (plan.price.isCrypto) revert OnlyPlanWithFiatPrice(_planId);

        _markFulfilled(_agreementId, _conditionId);
    }
}
