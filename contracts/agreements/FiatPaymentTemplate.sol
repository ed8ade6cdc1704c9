// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {FiatSettlementCondition} from "../conditions/FiatSettlementCondition.sol";
import {TransferCreditsCondition} from "../conditions/TransferCreditsCondition.sol";
import {TemplateBase} from "./TemplateBase.sol";

/// @title FiatPaymentTemplate
/// @notice Records a plan paid off chain in fiat: fiat settlement (attested by a FIAT_SETTLEMENT_ROLE
///         holder, the caller) → transfer credits. ERC-2771 aware.
contract FiatPaymentTemplate is TemplateBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("FiatPaymentTemplate");

    /// @dev NVM_CONTRACT_NAME of the conditions, used to derive the condition ids.
    bytes32 private constant FIAT_CONDITION_NAME = keccak256("FiatSettlementCondition");
    bytes32 private constant TRANSFER_CONDITION_NAME = keccak256("TransferCreditsCondition");

    FiatSettlementCondition internal immutable fiatSettlementCondition;
    TransferCreditsCondition internal immutable transferCondition;

    constructor(
        address _trustedForwarder,
        address _nvmConfigAddress,
        address _authority,
        address _assetsRegistryAddress,
        address _agreementStoreAddress,
        address _fiatSettlementConditionAddress,
        address _transferConditionAddress
    ) TemplateBase(_trustedForwarder, _nvmConfigAddress, _authority, _assetsRegistryAddress, _agreementStoreAddress) {
        if (_fiatSettlementConditionAddress == address(0)) revert InvalidFiatSettlementConditionAddress();
        if (_transferConditionAddress == address(0)) revert InvalidTransferCreditsConditionAddress();
        fiatSettlementCondition = FiatSettlementCondition(_fiatSettlementConditionAddress);
        transferCondition = TransferCreditsCondition(_transferConditionAddress);
    }

    /// @notice Called by the settler (FIAT_SETTLEMENT_ROLE, not the plan owner) once the buyer paid in fiat;
    ///         mints `amount · n` credits to `_creditsReceiver`. The agreement creator is the settler.
    /// @dev agreementId = keccak256(abi.encode(NVM_CONTRACT_NAME, settler, seed, planId, creditsReceiver, n, params)).
    function order(
        bytes32 _seed,
        uint256 _planId,
        address _creditsReceiver,
        uint256 _numberOfPurchases,
        bytes[] calldata _params
    ) external {
        address settler = _msgSender();
        _validateOrder(_seed, _planId, _creditsReceiver);
        bytes32 agreementId = keccak256(
            abi.encode(NVM_CONTRACT_NAME, settler, _seed, _planId, _creditsReceiver, _numberOfPurchases, _params)
        );
        Order memory o = Order(agreementId, _planId, settler, _creditsReceiver, _numberOfPurchases);
        _execute(o, _params);
    }

    function _execute(Order memory o, bytes[] calldata _params) private {
        _requireNewAgreement(o.agreementId);
        bytes32[] memory conditionIds =
            _deriveConditionIds(o.agreementId, FIAT_CONDITION_NAME, TRANSFER_CONDITION_NAME);
        address[] memory hooks =
            _registerAgreement(o.agreementId, o.creator, o.planId, conditionIds, o.numberOfPurchases, _params);

        fiatSettlementCondition.fulfill(conditionIds[0], o.agreementId, o.planId, o.creator, _params);

        bytes32[] memory required = new bytes32[](1);
        required[0] = conditionIds[0];
        transferCondition.fulfill(conditionIds[1], o.agreementId, o.planId, required, o.creditsReceiver);

        _afterAgreementCreated(hooks, o.agreementId, o.creator, o.planId, conditionIds, _params);
    }
}
