// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {INFT1155, INFT1155Expirable} from "../interfaces/INFT1155.sol";

/// @title TransferCreditsCondition
/// @notice Mints the plan's credits to the receiver once the required conditions are fulfilled.
///         Credits are minted on chain only when the plan has `credits.onchainMirror` and a non-zero amount.
contract TransferCreditsCondition is AccessManaged, ReentrancyGuardTransient {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("TransferCreditsCondition");

    IAsset internal immutable assetsRegistry;
    IAgreement internal immutable agreementStore;

    error AgreementNotFound(bytes32 agreementId);
    error ConditionAlreadyFulfilled(bytes32 agreementId, bytes32 conditionId);
    error ConditionPreconditionFailed(bytes32 agreementId, bytes32 conditionId);
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

    function hashConditionId(bytes32 _agreementId, bytes32 _conditionName) external pure returns (bytes32) {
        return keccak256(abi.encode(_agreementId, _conditionName));
    }

    /// @notice Marks the condition fulfilled and mints `amount · n` credits (expiring after
    ///         `durationSecs · n` seconds for time plans) of token id `_planId` to `_receiverAddress`.
    function fulfill(
        bytes32 _conditionId,
        bytes32 _agreementId,
        uint256 _planId,
        bytes32[] calldata _requiredConditions,
        address _receiverAddress
    ) external payable restricted nonReentrant {
        IAgreement.Agreement memory agreement = agreementStore.getAgreement(_agreementId);
        if (agreement.lastUpdated == 0) revert AgreementNotFound(_agreementId);
        if (agreementStore.getConditionState(_agreementId, _conditionId) == IAgreement.ConditionState.Fulfilled) {
            revert ConditionAlreadyFulfilled(_agreementId, _conditionId);
        }
        if (!agreementStore.areConditionsFulfilled(_agreementId, _conditionId, _requiredConditions)) {
            revert ConditionPreconditionFailed(_agreementId, _conditionId);
        }

        agreementStore.updateConditionStatus(_agreementId, _conditionId, IAgreement.ConditionState.Fulfilled);

        IAsset.CreditsConfig memory credits = assetsRegistry.getPlan(_planId).credits;
        if (credits.amount > 0 && credits.onchainMirror) {
            uint256 n = agreement.numberOfPurchases;
            if (credits.durationSecs > 0) {
                INFT1155Expirable(credits.nftAddress).mint(
                    _receiverAddress, _planId, credits.amount * n, credits.durationSecs * n, ""
                );
            } else {
                INFT1155(credits.nftAddress).mint(_receiverAddress, _planId, credits.amount * n, "");
            }
        }
    }
}
