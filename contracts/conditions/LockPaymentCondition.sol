// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAsset} from "../interfaces/IAsset.sol";
import {IERC3009} from "../interfaces/IERC3009.sol";
import {TokenUtils} from "../utils/TokenUtils.sol";
import {VaultConditionBase} from "./ConditionBase.sol";

/// @notice Price oracle of plans with an external (smart-contract) price.
interface INeverminedExternalPrice {
    function quote(uint256 planId) external returns (uint256[] memory amounts);
}

/// @title LockPaymentCondition
/// @notice First condition of the crypto templates: moves the payment of the agreement into the vault.
contract LockPaymentCondition is VaultConditionBase {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("LockPaymentCondition");

    error InvalidPayerAddress();
    error InvalidTransactionAmount(uint256 msgValue, uint256 amount);
    error MsgValueMustBeZeroForERC20Payments();
    error NativeTokenNotSupportedForAuthorization();
    error NeverminedFeesNotIncluded(uint256[] amounts, address[] receivers);
    error QuotedAmountsReceiversLengthMismatch(uint256 quotedLength, uint256 receiversLength);
    error UnsupportedPriceTypeOption();
    error ZeroAmountNotSupportedForAuthorization();

    constructor(address _authority, address _assetsRegistryAddress, address _agreementStoreAddress, address _vaultAddress)
        VaultConditionBase(_authority, _assetsRegistryAddress, _agreementStoreAddress, _vaultAddress)
    {}

    /// @notice Takes the payment of `_senderAddress` (native: msg.value; ERC-20: pulled by the vault).
    function fulfill(bytes32 _conditionId, bytes32 _agreementId, uint256 _planId, address _senderAddress)
        external
        payable
        restricted
        nonReentrant
    {
        uint256 n = _checkAgreement(_conditionId, _agreementId).numberOfPurchases;
        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (!plan.price.isCrypto) revert UnsupportedPriceTypeOption();

        uint256[] memory amounts;
        if (plan.price.externalPriceAddress != address(0)) {
            amounts = INeverminedExternalPrice(plan.price.externalPriceAddress).quote(_planId);
            if (amounts.length != plan.price.receivers.length) {
                revert QuotedAmountsReceiversLengthMismatch(amounts.length, plan.price.receivers.length);
            }
            agreementStore.setLockedAmounts(_agreementId, amounts);
        } else {
            _checkFees(_planId, plan.price);
            amounts = plan.price.amounts;
        }

        uint256 total = TokenUtils.sum(amounts) * n;
        if (total > 0) {
            address token = plan.price.tokenAddress;
            if (token == address(0)) {
                if (msg.value != total) revert InvalidTransactionAmount(msg.value, total);
                vault.depositNativeToken{value: total}();
            } else {
                if (msg.value != 0) revert MsgValueMustBeZeroForERC20Payments();
                vault.depositERC20(token, total, _senderAddress);
            }
        }

        _markFulfilled(_agreementId, _conditionId);
    }

    /// @notice Takes an ERC-20 payment through an EIP-3009 receiveWithAuthorization signed by `_from`.
    ///         The authorization nonce is the agreement id.
    function fulfillWithAuthorization(
        bytes32 _conditionId,
        bytes32 _agreementId,
        uint256 _planId,
        address _from,
        IERC3009.ReceiveAuthorization calldata _authorization
    ) external restricted nonReentrant {
        if (_from == address(0)) revert InvalidPayerAddress();
        uint256 n = _checkAgreement(_conditionId, _agreementId).numberOfPurchases;
        IAsset.Plan memory plan = assetsRegistry.getPlan(_planId);
        if (!plan.price.isCrypto || plan.price.externalPriceAddress != address(0)) {
            revert UnsupportedPriceTypeOption();
        }
        address token = plan.price.tokenAddress;
        if (token == address(0)) revert NativeTokenNotSupportedForAuthorization();
        _checkFees(_planId, plan.price);

        uint256 total = TokenUtils.sum(plan.price.amounts) * n;
        if (total == 0) revert ZeroAmountNotSupportedForAuthorization();

        _markFulfilled(_agreementId, _conditionId); // before the deposit, as v1.5.0 (ConditionUpdated first)
        vault.depositERC20WithAuthorization(
            token,
            _from,
            total,
            _authorization.validAfter,
            _authorization.validBefore,
            _agreementId,
            _authorization.v,
            _authorization.r,
            _authorization.s
        );
    }

    function _checkFees(uint256 _planId, IAsset.PriceConfig memory _price) private view {
        if (!assetsRegistry.areNeverminedFeesIncluded(_planId)) {
            revert NeverminedFeesNotIncluded(_price.amounts, _price.receivers);
        }
    }
}
