// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {TokenUtils} from "../utils/TokenUtils.sol";
import {VaultConditionBase} from "./ConditionBase.sol";

/// @title DistributePaymentsCondition
/// @notice Last condition of the crypto templates: pays the plan receivers out of the vault when the
///         release condition is fulfilled, otherwise refunds the agreement creator.
contract DistributePaymentsCondition is VaultConditionBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("DistributePaymentsCondition");

    error ConditionPreconditionFailed(bytes32 agreementId, bytes32 conditionId);
    error LockedAmountsReceiversLengthMismatch(uint256 lockedLength, uint256 receiversLength);

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress, address _vaultAddress)
        VaultConditionBase(_authority, _assetsRegistryAddress, _agreementStoreAddress, _vaultAddress)
    {}

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
        IAgreement.Agreement memory agreement = _checkAgreement(_conditionId, _agreementId);
        if (!_isFulfilled(_agreementId, _lockCondition)) {
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
        bool release = _isFulfilled(_agreementId, _releaseCondition);
        _markFulfilled(_agreementId, _conditionId); // before paying out, as v1.5.0 (ConditionUpdated first)
        if (release) {
            uint256 count = price.receivers.length;
            for (uint256 i = 0; i < count; i++) {
                _pay(price.tokenAddress, amounts[i] * n, price.receivers[i]);
            }
        } else {
            _pay(price.tokenAddress, TokenUtils.sum(amounts) * n, agreement.agreementCreator);
        }
    }

    function _pay(address _token, uint256 _amount, address _receiver) private {
        if (_token == address(0)) {
            vault.withdrawNativeToken(_amount, _receiver);
        } else {
            vault.withdrawERC20(_token, _amount, _receiver);
        }
    }
}
