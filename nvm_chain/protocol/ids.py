"""Identifier formulas of protocol v1.5.0 (pure; docs/protocol.md#ids).

``price`` and ``credits`` are the ABI tuples of ``IAsset.PriceConfig`` and ``IAsset.CreditsConfig`` in
field order::

    price   = (is_crypto, token, amounts, receivers, external_price, fee_controller, template)
    credits = (is_fixed, redemption_type, onchain_mirror, duration_secs, amount, min, max, nft)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import eth_abi

from nvm_chain.protocol.hashing import keccak

PRICE_TYPE = "(bool,address,uint256[],address[],address,address,address)"
CREDITS_TYPE = "(bool,uint8,bool,uint256,uint256,uint256,uint256,address)"

FIXED_PAYMENT_TEMPLATE = keccak(b"FixedPaymentTemplate")
PAY_AS_YOU_GO_TEMPLATE = keccak(b"PayAsYouGoTemplate")
FIAT_PAYMENT_TEMPLATE = keccak(b"FiatPaymentTemplate")

#: NVM_CONTRACT_NAME of each condition: keccak256 of the contract name
CONDITION_NAMES = {
    name: keccak(name.encode())
    for name in ("LockPaymentCondition", "TransferCreditsCondition", "DistributePaymentsCondition",
                 "FiatSettlementCondition")
}


def plan_id(price: tuple[Any, ...], credits: tuple[Any, ...], creator: str, nonce: int = 0) -> int:
    """planId = uint256(keccak256(abi.encode(price, credits, creator, nonce)))."""
    return int.from_bytes(keccak(eth_abi.encode([PRICE_TYPE, CREDITS_TYPE, "address", "uint256"],
                                                [price, credits, creator, nonce])), "big")


def agent_id(seed: bytes, creator: str) -> int:
    """agentId = uint256(keccak256(abi.encode(bytes32 seed, address creator)))."""
    return int.from_bytes(keccak(eth_abi.encode(["bytes32", "address"], [seed, creator])), "big")


def fixed_agreement_id(buyer: str, seed: bytes, plan: int, number_of_purchases: int = 1,
                       params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``FixedPaymentTemplate.order`` (the credits receiver is not part of it)."""
    return keccak(eth_abi.encode(["bytes32", "address", "bytes32", "uint256", "uint256", "bytes[]"],
                                 [FIXED_PAYMENT_TEMPLATE, buyer, seed, plan, number_of_purchases, list(params)]))


def fixed_authorization_agreement_id(buyer: str, seed: bytes, plan: int, credits_receiver: str,
                                     number_of_purchases: int = 1, params: Sequence[bytes] = ()) -> bytes:
    """agreementId (and EIP-3009 nonce) of ``FixedPaymentTemplate.orderWithAuthorization``."""
    return keccak(eth_abi.encode(
        ["bytes32", "address", "bytes32", "uint256", "address", "uint256", "bytes[]"],
        [FIXED_PAYMENT_TEMPLATE, buyer, seed, plan, credits_receiver, number_of_purchases, list(params)]))


def pay_as_you_go_agreement_id(payer: str, seed: bytes, plan: int, params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``PayAsYouGoTemplate.order`` and ``orderWithAuthorization``."""
    return keccak(eth_abi.encode(["bytes32", "address", "bytes32", "uint256", "bytes[]"],
                                 [PAY_AS_YOU_GO_TEMPLATE, payer, seed, plan, list(params)]))


def fiat_agreement_id(settler: str, seed: bytes, plan: int, credits_receiver: str,
                      number_of_purchases: int = 1, params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``FiatPaymentTemplate.order`` (the settler is the sender)."""
    return keccak(eth_abi.encode(
        ["bytes32", "address", "bytes32", "uint256", "address", "uint256", "bytes[]"],
        [FIAT_PAYMENT_TEMPLATE, settler, seed, plan, credits_receiver, number_of_purchases, list(params)]))


def condition_id(agreement: bytes, condition: str) -> bytes:
    """conditionId = keccak256(abi.encode(agreementId, NVM_CONTRACT_NAME of the condition))."""
    return keccak(eth_abi.encode(["bytes32", "bytes32"], [agreement, CONDITION_NAMES[condition]]))
