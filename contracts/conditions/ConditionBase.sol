// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title ConditionBase
/// @notice Shared plumbing of the conditions: the registry / store wiring, the condition-id hash and the
///         agreement and condition-state checks made before a condition is marked Fulfilled.
abstract contract ConditionBase is AccessManagedUUPSSurface, ReentrancyGuardTransient {
    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;

    error AgreementNotFound(bytes32 agreementId);
    error ConditionAlreadyFulfilled(bytes32 agreementId, bytes32 conditionId);
    error InvalidAgreementStoreAddress();
    error InvalidAssetsRegistryAddress();

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress)
        AccessManaged(_authority)
    {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
    }

    /// @notice Conditions ids are keccak256(abi.encode(agreementId, conditionContractName)).
    function hashConditionId(bytes32 _agreementId, bytes32 _conditionName) external pure returns (bytes32) {
        return keccak256(abi.encode(_agreementId, _conditionName));
    }

    /// @dev Reverts if the agreement is unknown (read with getAgreement) or the condition already fulfilled.
    function _checkAgreement(bytes32 _conditionId, bytes32 _agreementId)
        internal
        view
        returns (IAgreement.Agreement memory agreement)
    {
        agreement = agreementStore.getAgreement(_agreementId);
        if (agreement.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        _requireNotFulfilled(_conditionId, _agreementId);
    }

    function _requireNotFulfilled(bytes32 _conditionId, bytes32 _agreementId) internal view {
        if (_isFulfilled(_agreementId, _conditionId)) revert ConditionAlreadyFulfilled(_agreementId, _conditionId);
    }

    function _isFulfilled(bytes32 _agreementId, bytes32 _conditionId) internal view returns (bool) {
        return agreementStore.getConditionState(_agreementId, _conditionId) == IAgreement.ConditionState.Fulfilled;
    }

    function _markFulfilled(bytes32 _agreementId, bytes32 _conditionId) internal {
        agreementStore.updateConditionStatus(_agreementId, _conditionId, IAgreement.ConditionState.Fulfilled);
    }
}

/// @title VaultConditionBase
/// @notice A condition that also moves funds through the PaymentsVault (lock and distribute).
abstract contract VaultConditionBase is ConditionBase {
    IVault internal immutable vault;

    error InvalidVaultAddress();

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress, address _vaultAddress)
        ConditionBase(_authority, _assetsRegistryAddress, _agreementStoreAddress)
    {
        if (_vaultAddress == address(0)) revert InvalidVaultAddress();
        vault = IVault(_vaultAddress);
    }
}
