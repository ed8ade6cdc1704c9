// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title AgreementsStore data model and the calls the templates and conditions make.
interface IAgreement {
    enum ConditionState {
        Uninitialized,
        Unfulfilled,
        Fulfilled,
        Aborted
    }

    struct Agreement {
        uint256 planId;
        address agreementCreator;
        bytes32[] conditionIds;
        ConditionState[] conditionStates;
        bytes[] params;
        uint256 lastUpdated;
        uint256 numberOfPurchases;
    }

    event AgreementRegistered(bytes32 indexed agreementId, address indexed creator);
    event ConditionUpdated(bytes32 indexed agreementId, bytes32 indexed conditionId, ConditionState state);

    error AgreementAlreadyRegistered(bytes32 agreementId);
    error AgreementNotFound(bytes32 agreementId);
    error ConditionAlreadyFulfilled(bytes32 agreementId, bytes32 conditionId);
    error ConditionIdNotFound(bytes32 conditionId);
    error ConditionPreconditionFailed(bytes32 agreementId, bytes32 conditionId);
    error InvalidConditionIdsAndStatesLength();
    error InvalidNumberOfPurchases();
    error LockedAmountsAlreadySet(bytes32 agreementId);
    error MsgValueMustBeZeroForERC20Payments();
    error OnlyTemplateOrConditionRole(address caller);

    function register(
        bytes32 _agreementId,
        address _agreementCreator,
        uint256 _planId,
        bytes32[] calldata _conditionIds,
        ConditionState[] calldata _conditionStates,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) external;

    function updateConditionStatus(bytes32 _agreementId, bytes32 _conditionId, ConditionState _state) external;
    function getAgreement(bytes32 _agreementId) external view returns (Agreement memory);
    function agreementExists(bytes32 _agreementId) external view returns (bool);
    function getConditionState(bytes32 _agreementId, bytes32 _conditionId) external view returns (ConditionState state);
    function areConditionsFulfilled(bytes32 _agreementId, bytes32 _conditionId, bytes32[] calldata _dependantConditions)
        external
        view
        returns (bool);
    function setLockedAmounts(bytes32 _agreementId, uint256[] calldata _amounts) external;
    function getLockedAmounts(bytes32 _agreementId) external view returns (uint256[] memory);
}
