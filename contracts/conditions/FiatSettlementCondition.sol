// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {Roles} from "../common/Roles.sol";

/// @title FiatSettlementCondition
/// @notice First condition of the fiat template: an off-chain settler holding FIAT_SETTLEMENT_ROLE
///         attests that the plan was paid in fiat. No funds move on chain.
contract FiatSettlementCondition is AccessManaged, ReentrancyGuardTransient {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FiatSettlementCondition");

    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;

    error AgreementNotFound(bytes32 agreementId);
    error ConditionAlreadyFulfilled(bytes32 agreementId, bytes32 conditionId);
    error InvalidAgreementStoreAddress();
    error InvalidAssetsRegistryAddress();
    error InvalidRole(address addr, uint64 expectedRole);
    error InvalidSettlementParams(bytes[] params);
    error OnlyPlanWithFiatPrice(uint256 planId);
    error SelfSettlementNotAllowed(address addr);

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress)
        AccessManaged(_authority)
    {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
    }

    function hashConditionId(bytes32 _agreementId, bytes32 _conditionName) external pure returns (bytes32) {
        return keccak256(abi.encode(_agreementId, _conditionName));
    }

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

        if (!agreementStore.agreementExists(_agreementId)) revert AgreementNotFound(_agreementId);
        if (agreementStore.getConditionState(_agreementId, _conditionId) == IAgreement.ConditionState.Fulfilled) {
            revert ConditionAlreadyFulfilled(_agreementId, _conditionId);
        }

        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (plan.owner == _senderAddress) revert SelfSettlementNotAllowed(_senderAddress);
        if (plan.price.isCrypto) revert OnlyPlanWithFiatPrice(_planId);

        agreementStore.updateConditionStatus(_agreementId, _conditionId, IAgreement.ConditionState.Fulfilled);
    }
}
