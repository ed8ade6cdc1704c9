"""Signed transactions as a node receives them (pure): decode, recover the sender, intrinsic gas.

Supports legacy (EIP-155 or not), EIP-2930 (type 1) and EIP-1559 (type 2) transactions. Failures raise
:class:`TxDecodeError` with geth's wording, so callers can answer ``eth_sendRawTransaction`` as a node does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import rlp
from coincurve import PublicKey

from nvm_chain.chain.codec import checksum as cached_checksum
from nvm_chain.chain.rlp import rlp_encode, rlp_prefix
from nvm_chain.chain.tx.signer import signer_of
from nvm_chain.protocol.hashing import keccak


def checksum(address: Any) -> str:
    """EIP-55 form of a 20-byte address given as bytes or hex (cached: a node sees the same few addresses)."""
    if isinstance(address, (bytes, bytearray)):
        return cached_checksum("0x" + bytes(address).hex())
    return cached_checksum(address.lower())


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

TX_GAS = 21_000
TX_CREATE_GAS = 53_000
TX_DATA_ZERO_GAS = 4
TX_DATA_NONZERO_GAS = 16
ACCESS_LIST_ADDRESS_GAS = 2_400
ACCESS_LIST_KEY_GAS = 1_900
INITCODE_WORD_GAS = 2
MAX_INITCODE_SIZE = 2 * 24_576


class TxDecodeError(ValueError):
    """The bytes are not a valid signed transaction (the message is worded like geth's)."""


@dataclass(frozen=True)
class SignedTx:
    """A decoded signed transaction; ``sender`` is recovered from the signature."""

    raw: bytes
    hash: bytes
    type: int
    chain_id: int | None
    nonce: int
    gas: int
    max_fee: int  # gasPrice for legacy and type-1 transactions
    max_priority_fee: int  # gasPrice for legacy and type-1 transactions
    to: str | None
    value: int
    data: bytes
    access_list: tuple[tuple[str, tuple[int, ...]], ...]
    v: int
    r: int
    s: int
    sender: str

    def effective_price(self, base_fee: int) -> int:
        """Wei per gas paid in a block with ``base_fee`` (EIP-1559: base fee plus the capped tip)."""
        return min(self.max_fee, base_fee + self.max_priority_fee)

    def intrinsic_gas(self) -> int:
        """Gas charged before execution: base, calldata, access list and (creations) initcode words."""
        zeros = self.data.count(0)
        gas = TX_CREATE_GAS if self.to is None else TX_GAS
        gas += zeros * TX_DATA_ZERO_GAS + (len(self.data) - zeros) * TX_DATA_NONZERO_GAS
        gas += sum(ACCESS_LIST_ADDRESS_GAS + ACCESS_LIST_KEY_GAS * len(keys) for _, keys in self.access_list)
        if self.to is None:
            gas += INITCODE_WORD_GAS * ((len(self.data) + 31) // 32)
        return gas


def _int(value: object, what: str) -> int:
    if not isinstance(value, bytes):
        raise TxDecodeError(f"rlp: expected {what} as a byte string")
    if value[:1] == b"\x00":
        raise TxDecodeError(f"rlp: non-canonical integer (leading zero bytes) for {what}")
    return int.from_bytes(value, "big")


def _to(value: object) -> str | None:
    if not isinstance(value, bytes) or len(value) not in (0, 20):
        raise TxDecodeError("rlp: input string too long for common.Address")
    return checksum(value) if value else None


def _access_list(value: object) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if not isinstance(value, list):
        raise TxDecodeError("rlp: expected an access list")
    entries = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], bytes) and len(item[0]) == 20
                and isinstance(item[1], list) and all(isinstance(k, bytes) and len(k) == 32 for k in item[1])):
            raise TxDecodeError("rlp: malformed access list entry")
        entries.append((checksum(item[0]), tuple(int.from_bytes(k, "big") for k in item[1])))
    return tuple(entries)


def _recover(message_hash: bytes, parity: int, r: int, s: int) -> str:
    if parity not in (0, 1) or not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise TxDecodeError("invalid transaction v, r, s values")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((parity,))
    known = signer_of(message_hash, signature)  # signed in this process: recovery would give this address
    if known is not None:
        return known
    try:
        key = PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except Exception:  # noqa: BLE001 - coincurve raises ValueError or its own errors
        raise TxDecodeError("invalid sender") from None
    return _address_of(key.format(compressed=False))


@lru_cache(maxsize=4096)
def _address_of(public_key: bytes) -> str:
    """The checksummed address of an uncompressed public key (memoised: a node sees the same few senders)."""
    return checksum(keccak(public_key[1:])[12:])


def decode_signed(raw: bytes) -> SignedTx:
    """Decode a signed transaction and recover its sender.

    Raises:
        TxDecodeError: malformed bytes, an unsupported type, or an invalid signature.
    """
    if not raw:
        raise TxDecodeError("typed transaction too short")
    try:
        if raw[0] >= 0xC0:
            return _legacy(raw, rlp.decode(raw))
        if raw[0] in (1, 2):
            flat = _flat_rlp_list(raw, 1)
            if flat is None:
                return _typed(raw, raw[0], rlp.decode(raw[1:]))
            fields, starts = flat
            unsigned = raw[starts[0]:starts[-3]] if len(starts) >= 3 else None
            return _typed(raw, raw[0], fields, unsigned)
    except rlp.DecodingError as exc:
        raise TxDecodeError(f"rlp: {exc}") from None
    raise TxDecodeError("transaction type not supported")


def _legacy(raw: bytes, fields: object) -> SignedTx:
    if not isinstance(fields, list) or len(fields) != 9:
        raise TxDecodeError("rlp: a legacy transaction has 9 fields")
    nonce, price, gas = (_int(f, w) for f, w in zip(fields[:3], ("nonce", "gasPrice", "gas")))
    to, value, data = _to(fields[3]), _int(fields[4], "value"), fields[5]
    v, r, s = (_int(f, w) for f, w in zip(fields[6:], "vrs"))
    if not isinstance(data, bytes):
        raise TxDecodeError("rlp: expected input as a byte string")
    if v in (27, 28):
        chain_id, parity, signed = None, v - 27, rlp_encode(fields[:6])
    elif v >= 35:
        chain_id, parity = (v - 35) // 2, (v - 35) % 2
        signed = rlp_encode(fields[:6] + [chain_id, 0, 0])
    else:
        raise TxDecodeError("invalid transaction v, r, s values")
    sender = _recover(keccak(signed), parity, r, s)
    return SignedTx(raw, keccak(raw), 0, chain_id, nonce, gas, price, price, to, value, data, (), v, r, s, sender)


def _flat_rlp_list(raw: bytes, pos: int) -> tuple[list[Any], list[int]] | None:
    """The items of the canonical RLP list that fills ``raw[pos:]``, with each item's offset, when every item
    is a byte string or an empty list (a transaction without an access list); None for anything else, which
    ``rlp.decode`` then decodes or refuses in its own words. Whatever this returns, ``rlp.decode`` returns too."""
    end = len(raw)
    items: list[Any] = []
    starts: list[int] = []
    try:
        head = raw[pos]
        if head < 0xC0:
            return None
        if head <= 0xF7:
            length, pos = head - 0xC0, pos + 1
        else:
            size = head - 0xF7
            length = int.from_bytes(raw[pos + 1:pos + 1 + size], "big")
            if raw[pos + 1] == 0 or length < 56:
                return None
            pos += 1 + size
        if pos + length != end:
            return None
        while pos < end:
            starts.append(pos)
            head = raw[pos]
            if head < 0x80:
                items.append(raw[pos:pos + 1])
                pos += 1
            elif head <= 0xB7:
                length = head - 0x80
                if length == 1 and raw[pos + 1] < 0x80:
                    return None
                items.append(raw[pos + 1:pos + 1 + length])
                pos += 1 + length
            elif head <= 0xBF:
                size = head - 0xB7
                length = int.from_bytes(raw[pos + 1:pos + 1 + size], "big")
                if raw[pos + 1] == 0 or length < 56:
                    return None
                pos += 1 + size
                items.append(raw[pos:pos + length])
                pos += length
            elif head == 0xC0:
                items.append([])
                pos += 1
            else:
                return None
    except IndexError:
        return None
    return (items, starts) if pos == end else None


def _typed(raw: bytes, kind: int, fields: object, unsigned: bytes | None = None) -> SignedTx:
    """A type-1 or type-2 transaction from its decoded fields; ``unsigned`` is the encoding of the fields
    before the signature (without the list prefix) when the caller has it from ``raw``."""
    count = 11 if kind == 1 else 12
    if not isinstance(fields, list) or len(fields) != count:
        raise TxDecodeError(f"rlp: a type-{kind} transaction has {count} fields")
    chain_id, nonce = _int(fields[0], "chainId"), _int(fields[1], "nonce")
    if kind == 1:
        tip = max_fee = _int(fields[2], "gasPrice")
        rest = fields[3:]
    else:
        tip, max_fee = _int(fields[2], "maxPriorityFeePerGas"), _int(fields[3], "maxFeePerGas")
        rest = fields[4:]
    gas, to, value, data, access = _int(rest[0], "gas"), _to(rest[1]), _int(rest[2], "value"), rest[3], rest[4]
    if not isinstance(data, bytes):
        raise TxDecodeError("rlp: expected input as a byte string")
    parity, r, s = _int(rest[5], "yParity"), _int(rest[6], "r"), _int(rest[7], "s")
    if unsigned is None:
        payload = rlp_encode(fields[:-3])
    else:
        payload = rlp_prefix(len(unsigned), 0xC0) + unsigned
    sender = _recover(keccak(bytes((kind,)) + payload), parity, r, s)
    return SignedTx(raw, keccak(raw), kind, chain_id, nonce, gas, max_fee, tip, to, value, data,
                    _access_list(access), parity, r, s, sender)
