// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IVault} from "../interfaces/IVault.sol";
import {TokenUtils} from "../utils/TokenUtils.sol";

/// @title DistributePaymentsCondition
/// @notice Last condition of the crypto templates: pays the plan receivers out of the vault when the
///         release condition is fulfilled, otherwise refunds the agreement creator.
contract DistributePaymentsCondition is AccessManaged, ReentrancyGuardTransient {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("DistributePaymentsCondition");

    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;
    IVault internal immutable vault;

    error AgreementNotFound(bytes32 agreementId);
    error ConditionAlreadyFulfilled(bytes32 agreementId, bytes32 conditionId);
    error ConditionPreconditionFailed(bytes32 agreementId, bytes32 conditionId);
    error InvalidAgreementStoreAddress();
    error InvalidAssetsRegistryAddress();
    error InvalidVaultAddress();
    error LockedAmountsReceiversLengthMismatch(uint256 lockedLength, uint256 receiversLength);

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress, address _vaultAddress)
        AccessManaged(_authority)
    {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        if (_agreementStoreAddress == address(0)) revert InvalidAgreementStoreAddress();
        if (_vaultAddress == address(0)) revert InvalidVaultAddress();
        assetsRegistry = IAsset(_assetsRegistryAddress);
        agreementStore = IAgreement(_agreementStoreAddress);
        vault = IVault(_vaultAddress);
    }

    function hashConditionId(bytes32 _agreementId, bytes32 _conditionName) external pure returns (bytes32) {
        return keccak256(abi.encode(_agreementId, _conditionName));
    }

    /// @notice Requires `_lockCondition` fulfilled. If `_releaseCondition` is fulfilled, pays
    ///         `amounts[i] · n` to `receivers[i]`; otherwise refunds `Σamounts · n` to the agreement creator.
    ///         External-price plans use the amounts locked in the AgreementsStore.
    function fulfill(
        bytes32 _conditionId,
        bytes32 _agreementId,
        uint256 _planId,
        bytes32 _lockCondition,
        bytes32 _releaseCondition
    ) external payable restricted nonReentrant {
        IAgreement.Agreement memory agreement = agreementStore.getAgreement(_agreementId);
        if (agreement.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        if (_stateOf(_agreementId, _conditionId) == IAgreement.ConditionState.Fulfilled) {
            revert ConditionAlreadyFulfilled(_agreementId, _conditionId);
        }
        if (_stateOf(_agreementId, _lockCondition) != IAgreement.ConditionState.Fulfilled) {
            revert ConditionPreconditionFailed(_agreementId, _conditionId);
        }

        IAsset.PriceConfig memory price = assetsRegistry.getPlan(_planId).price;
        uint256[] memory amounts = price.amounts;
        if (price.externalPriceAddress != address(0)) {
            amounts = agreementStore.getLockedAmounts(_agreementId);
            if (amounts.length != price.receivers.length) {
                revert LockedAmountsReceiversLengthMismatch(amounts.length, price.receivers.length);
            }
        }

        uint256 n = agreement.numberOfPurchases;
        if (_stateOf(_agreementId, _releaseCondition) == IAgreement.ConditionState.Fulfilled) {
            uint256 count = price.receivers.length;
            for (uint256 i = 0; i < count; i++) {
                _pay(price.tokenAddress, amounts[i] * n, price.receivers[i]);
            }
        } else {
            _pay(price.tokenAddress, TokenUtils.sum(amounts) * n, agreement.agreementCreator);
        }

        agreementStore.updateConditionStatus(_agreementId, _conditionId, IAgreement.ConditionState.Fulfilled);
    }

    function _stateOf(bytes32 _agreementId, bytes32 _conditionId) private view returns (IAgreement.ConditionState) {
        return agreementStore.getConditionState(_agreementId, _conditionId);
    }

    function _pay(address _token, uint256 _amount, address _receiver) private {
        if (_token == address(0)) {
            vault.withdrawNativeToken(_amount, _receiver);
        } else {
            vault.withdrawERC20(_token, _amount, _receiver);
        }
    }
}
