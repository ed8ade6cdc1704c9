// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAsset} from "../interfaces/IAsset.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {INFT1155, INFT1155Expirable} from "../interfaces/INFT1155.sol";
import {ConditionBase} from "./ConditionBase.sol";

/// @title TransferCreditsCondition
/// @notice Mints the plan's credits to the receiver once the required conditions are fulfilled.
///         Credits are minted on chain only when the plan has `credits.onchainMirror` and a non-zero amount.
contract TransferCreditsCondition is ConditionBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("TransferCreditsCondition");

    error ConditionPreconditionFailed(bytes32 agreementId, bytes32 conditionId);

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress)
        ConditionBase(_authority, _assetsRegistryAddress, _agreementStoreAddress)
    {}

    /// @notice Marks the condition fulfilled and mints `amount · n` credits (expiring after
    ///         `durationSecs · n` seconds for time plans) of token id `_planId` to `_receiverAddress`.
    function fulfill(
        bytes32 _conditionId,
        bytes32 _agreementId,
        uint256 _planId,
        bytes32[] calldata _requiredConditions,
        address _receiverAddress
    ) external payable restricted nonReentrant {
        IAgreement.Agreement memory agreement = _checkAgreement(_conditionId, _agreementId);
        if (!agreementStore.areConditionsFulfilled(_agreementId, _conditionId, _requiredConditions)) {
            revert ConditionPreconditionFailed(_agreementId, _conditionId);
        }

        _markFulfilled(_agreementId, _conditionId);

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
