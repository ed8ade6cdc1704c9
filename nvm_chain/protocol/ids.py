"""Identifier formulas of protocol v1.5.0 (pure; docs/protocol.md#ids).

``price`` and ``credits`` are the ABI tuples of ``IAsset.PriceConfig`` and ``IAsset.CreditsConfig`` in
field order::

    price   = (is_crypto, token, amounts, receivers, external_price, fee_controller, template)
    credits = (is_fixed, redemption_type, onchain_mirror, duration_secs, amount, min, max, nft)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
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


_EMPTY_BYTES_LIST = bytes(32)  # the tail of an empty bytes[]: its length word


@lru_cache(maxsize=4096)
def _address_word(address: str) -> bytes:
    """An address as eth_abi encodes it (and validates it: checksum, length); memoised per address."""
    return eth_abi.encode(["address"], [address])


def _abi_encode(types: list[str], values: list[Any]) -> bytes:
    """``eth_abi.encode(types, values)``. Directly when every value is a plain word (32 bytes for ``bytes32``,
    an address string, an in-range int for ``uint256``) and a last ``bytes[]`` is empty, as every id the client
    computes is; anything else goes to eth_abi, which encodes it or refuses it with its own error."""
    words = []
    for kind, value in zip(types, values):
        if kind == "bytes32" and type(value) is bytes and len(value) == 32:
            words.append(value)
        elif kind == "uint256" and type(value) is int and 0 <= value and not value >> 256:
            words.append(value.to_bytes(32, "big"))
        elif kind == "address" and type(value) is str:
            words.append(_address_word(value))
        elif kind == "bytes[]" and len(words) == len(types) - 1 and type(value) is list and not value:
            words += ((32 * len(types)).to_bytes(32, "big"), _EMPTY_BYTES_LIST)
        else:
            return eth_abi.encode(types, values)
    return b"".join(words)


def plan_id(price: tuple[Any, ...], credits: tuple[Any, ...], creator: str, nonce: int = 0) -> int:
    """planId = uint256(keccak256(abi.encode(price, credits, creator, nonce)))."""
    return int.from_bytes(keccak(eth_abi.encode([PRICE_TYPE, CREDITS_TYPE, "address", "uint256"],
                                                [price, credits, creator, nonce])), "big")


def agent_id(seed: bytes, creator: str) -> int:
    """agentId = uint256(keccak256(abi.encode(bytes32 seed, address creator)))."""
    return int.from_bytes(keccak(_abi_encode(["bytes32", "address"], [seed, creator])), "big")


def fixed_agreement_id(buyer: str, seed: bytes, plan: int, number_of_purchases: int = 1,
                       params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``FixedPaymentTemplate.order`` (the credits receiver is not part of it)."""
    return keccak(_abi_encode(["bytes32", "address", "bytes32", "uint256", "uint256", "bytes[]"],
                                 [FIXED_PAYMENT_TEMPLATE, buyer, seed, plan, number_of_purchases, list(params)]))


def fixed_authorization_agreement_id(buyer: str, seed: bytes, plan: int, credits_receiver: str,
                                     number_of_purchases: int = 1, params: Sequence[bytes] = ()) -> bytes:
    """agreementId (and EIP-3009 nonce) of ``FixedPaymentTemplate.orderWithAuthorization``."""
    return keccak(_abi_encode(
        ["bytes32", "address", "bytes32", "uint256", "address", "uint256", "bytes[]"],
        [FIXED_PAYMENT_TEMPLATE, buyer, seed, plan, credits_receiver, number_of_purchases, list(params)]))


def pay_as_you_go_agreement_id(payer: str, seed: bytes, plan: int, params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``PayAsYouGoTemplate.order`` and ``orderWithAuthorization``."""
    return keccak(_abi_encode(["bytes32", "address", "bytes32", "uint256", "bytes[]"],
                                 [PAY_AS_YOU_GO_TEMPLATE, payer, seed, plan, list(params)]))


def fiat_agreement_id(settler: str, seed: bytes, plan: int, credits_receiver: str,
                      number_of_purchases: int = 1, params: Sequence[bytes] = ()) -> bytes:
    """agreementId of ``FiatPaymentTemplate.order`` (the settler is the sender)."""
    return keccak(_abi_encode(
        ["bytes32", "address", "bytes32", "uint256", "address", "uint256", "bytes[]"],
        [FIAT_PAYMENT_TEMPLATE, settler, seed, plan, credits_receiver, number_of_purchases, list(params)]))


def condition_id(agreement: bytes, condition: str) -> bytes:
    """conditionId = keccak256(abi.encode(agreementId, NVM_CONTRACT_NAME of the condition))."""
    return keccak(_abi_encode(["bytes32", "bytes32"], [agreement, CONDITION_NAMES[condition]]))
