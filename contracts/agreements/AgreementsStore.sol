// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";

import {IAgreement} from "../interfaces/IAgreement.sol";
import {Roles} from "../common/Roles.sol";

/// @title AgreementsStore
/// @notice Registry of the agreements created by the templates and of the state of their conditions.
///         Also keeps the amounts quoted for external-price plans at lock time.
contract AgreementsStore is IAgreement, AccessManagedUUPSSurface {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("AgreementsStore");

    mapping(bytes32 agreementId => Agreement) private _agreements;
    mapping(bytes32 agreementId => uint256[]) private _lockedAmounts;
    mapping(bytes32 agreementId => bool) private _lockedAmountsSet;

    constructor(address _authority) AccessManaged(_authority) {}

    /// @dev Callers of the state-changing functions other than `register` must hold either the
    ///      template or the condition role (checked here, not via `restricted`).
    modifier onlyTemplateOrCondition() {
        IAccessManager manager = IAccessManager(authority());
        (bool isTemplate,) = manager.hasRole(Roles.CONTRACT_TEMPLATE_ROLE, msg.sender);
        if (!isTemplate) {
            (bool isCondition,) = manager.hasRole(Roles.CONTRACT_CONDITION_ROLE, msg.sender);
            if (!isCondition) revert OnlyTemplateOrConditionRole(msg.sender);
        }
        _;
    }

    /// @inheritdoc IAgreement
    function register(
        bytes32 _agreementId,
        address _agreementCreator,
        uint256 _planId,
        bytes32[] calldata _conditionIds,
        ConditionState[] calldata _conditionStates,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) external restricted {
        Agreement storage a = _agreements[_agreementId];
        if (a.lastUpdated != 0) revert AgreementAlreadyRegistered(_agreementId);
        if (_numberOfPurchases == 0) revert InvalidNumberOfPurchases();
        if (_conditionIds.length != _conditionStates.length) revert InvalidConditionIdsAndStatesLength();

        a.planId = _planId;
        a.agreementCreator = _agreementCreator;
        a.conditionIds = _conditionIds;
        a.conditionStates = _conditionStates;
        uint256 nParams = _params.length;
        for (uint256 i = 0; i < nParams; i++) {
            a.params.push(_params[i]);
        }
        a.lastUpdated = block.timestamp;
        a.numberOfPurchases = _numberOfPurchases;

        emit AgreementRegistered(_agreementId, _agreementCreator);
    }

    /// @inheritdoc IAgreement
    function updateConditionStatus(bytes32 _agreementId, bytes32 _conditionId, ConditionState _state)
        external
        onlyTemplateOrCondition
    {
        Agreement storage a = _agreements[_agreementId];
        if (a.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        uint256 index = _conditionIndex(a, _conditionId);
        a.conditionStates[index] = _state;
        a.lastUpdated = block.timestamp;
        emit ConditionUpdated(_agreementId, _conditionId, _state);
    }

    /// @inheritdoc IAgreement
    function setLockedAmounts(bytes32 _agreementId, uint256[] calldata _amounts) external onlyTemplateOrCondition {
        if (_agreements[_agreementId].lastUpdated == 0) revert AgreementNotFound(_agreementId);
        if (_lockedAmountsSet[_agreementId]) revert LockedAmountsAlreadySet(_agreementId);
        _lockedAmountsSet[_agreementId] = true;
        _lockedAmounts[_agreementId] = _amounts;
    }

    /// @inheritdoc IAgreement
    function getLockedAmounts(bytes32 _agreementId) external view returns (uint256[] memory) {
        return _lockedAmounts[_agreementId];
    }

    /// @inheritdoc IAgreement
    function getAgreement(bytes32 _agreementId) external view returns (Agreement memory) {
        return _agreements[_agreementId];
    }

    /// @inheritdoc IAgreement
    function agreementExists(bytes32 _agreementId) external view returns (bool) {
        return _agreements[_agreementId].lastUpdated != 0;
    }

    /// @inheritdoc IAgreement
    /// @dev Reverts AgreementNotFound / ConditionIdNotFound for unknown ids.
    function getConditionState(bytes32 _agreementId, bytes32 _conditionId)
        external
        view
        returns (ConditionState state)
    {
        Agreement storage a = _agreements[_agreementId];
        if (a.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        return a.conditionStates[_conditionIndex(a, _conditionId)];
    }

    /// @inheritdoc IAgreement
    /// @dev True iff every dependant condition of the agreement is Fulfilled. `_conditionId` names the
    ///      condition asking; a dependant that is not part of the agreement counts as not fulfilled.
    function areConditionsFulfilled(bytes32 _agreementId, bytes32 _conditionId, bytes32[] calldata _dependantConditions)
        external
        view
        returns (bool)
    {
        _conditionId; // the asking condition does not change the answer
        Agreement storage a = _agreements[_agreementId];
        if (a.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        uint256 nDeps = _dependantConditions.length;
        uint256 nConds = a.conditionIds.length;
        for (uint256 i = 0; i < nDeps; i++) {
            bool fulfilled = false;
            for (uint256 j = 0; j < nConds; j++) {
                if (a.conditionIds[j] == _dependantConditions[i]) {
                    fulfilled = a.conditionStates[j] == ConditionState.Fulfilled;
                    break;
                }
            }
            if (!fulfilled) return false;
        }
        return true;
    }

    /// @notice Generic agreement id helper (not used by the templates).
    function hashAgreementId(bytes32 _seed, address _creator) external pure returns (bytes32) {
        return keccak256(abi.encode(_seed, _creator));
    }

    function _conditionIndex(Agreement storage a, bytes32 _conditionId) private view returns (uint256) {
        uint256 n = a.conditionIds.length;
        for (uint256 i = 0; i < n; i++) {
            if (a.conditionIds[i] == _conditionId) return i;
        }
        revert ConditionIdNotFound(_conditionId);
    }
}
