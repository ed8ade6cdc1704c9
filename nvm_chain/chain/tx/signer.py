"""Local signing with a key the user holds (pure: no network).

The key lives only inside :class:`LocalSigner`, in private attributes (its bytes and a cached coincurve key
object); ``repr``/``str`` show the address and nothing else, pickling is refused, and signing failures are
re-raised without the original exception text, which could quote its inputs.

EIP-1559 (type-2) transactions with the usual fields are signed directly on the cached key object: the
unsigned payload is RLP-encoded here (ints, bytes and lists only), hashed with keccak and signed with
``sign_recoverable`` (RFC 6979, low-s), which gives the very bytes eth-account gives, several times faster. Any
other transaction goes through eth-account.

Each such signature is remembered with its signer's address (:func:`signer_of`, the last few thousand), so a node
running in this process (the embedded revm chain) need not recover the sender of bytes signed here: recovering
them would give that address, since the signature was made by its key over that digest.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NoReturn

from coincurve import PrivateKey as _CurveKey
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from nvm_chain.chain.rlp import rlp_encode, rlp_prefix
from nvm_chain.errors import SigningError, ValidationError
from nvm_chain.protocol.hashing import keccak

_UINT256 = 2**256
_TYPE2_FIELDS = frozenset({"type", "chainId", "nonce", "gas", "maxFeePerGas", "maxPriorityFeePerGas", "value",
                           "data", "to", "accessList"})
_TYPE2_INTS = ("chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas")
#: the signer of each signature made here, keyed by digest + r + s + yParity; forgotten all at once when full
_SIGNED: dict[bytes, str] = {}
_SIGNED_LIMIT = 4096


def signer_of(digest: bytes, signature: bytes) -> str | None:
    """The checksummed address of the :class:`LocalSigner` of this process that made ``signature`` (``r || s ||
    yParity``, 65 bytes) over ``digest`` among its recent type-2 signatures; None when it is not one of them
    (then recover it)."""
    return _SIGNED.get(digest + signature)


class LocalSigner:
    """Signs transactions and EIP-712 messages with one private key."""

    __slots__ = ("_key", "_curve", "address")

    def __init__(self, private_key: bytes | str):
        """Create a signer from a 32-byte key (bytes or 0x-hex).

        Raises:
            ValidationError: the value is not a valid secp256k1 private key (the message omits the value).
        """
        pk = _private_key(private_key)
        if pk is None:  # raised outside the except block: no exception context can carry the value
            raise ValidationError("invalid private key (expected 32 bytes as 0x-prefixed hex)")
        self._key = pk.to_bytes()
        self._curve = _CurveKey(self._key)
        self.address: ChecksumAddress = to_checksum_address(pk.public_key.to_canonical_address())

    def __repr__(self) -> str:
        return f"LocalSigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickle (or copy) key material
        raise TypeError("LocalSigner cannot be pickled")

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[bytes, str]:
        """Sign a transaction dict; return (raw signed bytes, 0x tx hash).

        Raises:
            SigningError: the dict is not a signable transaction.
        """
        fields = _type2_fields(tx)
        if fields is not None:
            raw = self._sign_type2(fields)
        else:
            try:
                signed, failure = Account.sign_transaction(tx, self._key), None
            except Exception as exc:  # noqa: BLE001 - re-raised below without its context
                signed, failure = None, type(exc).__name__
            if signed is None:
                raise SigningError(f"could not sign transaction: {failure}")
            raw = bytes(signed.raw_transaction)
        return raw, "0x" + keccak(raw).hex()

    def _sign_type2(self, fields: list[Any]) -> bytes:
        """The signed envelope ``0x02 || rlp([...fields, yParity, r, s])`` of an unsigned type-2 field list."""
        body = b"".join([rlp_encode(x) for x in fields])  # the items, shared by the unsigned and signed lists
        digest = keccak(b"\x02" + rlp_prefix(len(body), 0xC0) + body)
        try:
            signature, failure = self._curve.sign_recoverable(digest, hasher=None), None
        except Exception as exc:  # noqa: BLE001 - re-raised below without its context
            signature, failure = b"", type(exc).__name__
        if failure is not None:
            raise SigningError(f"could not sign transaction: {failure}")
        if len(_SIGNED) >= _SIGNED_LIMIT:
            _SIGNED.clear()
        _SIGNED[digest + signature] = self.address
        r, s, parity = signature[:32], signature[32:64], signature[64]
        body += rlp_encode(parity) + rlp_encode(r.lstrip(b"\x00")) + rlp_encode(s.lstrip(b"\x00"))
        return b"\x02" + rlp_prefix(len(body), 0xC0) + body

    def sign_typed_data(self, domain: dict[str, Any], types: dict[str, Any],
                        message: dict[str, Any]) -> tuple[int, bytes, bytes]:
        """Sign EIP-712 typed data; return (v, r, s).

        Raises:
            SigningError: the typed data is malformed.
        """
        try:
            signed, failure = Account.sign_typed_data(self._key, domain, types, message), None
        except Exception as exc:  # noqa: BLE001 - re-raised below without its context
            signed, failure = None, type(exc).__name__
        if signed is None:
            raise SigningError(f"could not sign typed data: {failure}")
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@lru_cache(maxsize=4096)
def _address_bytes(value: str) -> bytes | None:
    """The 20 bytes of a checksummed address (what eth-account accepts as ``to``); else None."""
    if len(value) != 42 or value[:2] != "0x":
        return None
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        return None
    return raw if to_checksum_address(raw) == value else None


def _type2_fields(tx: dict[str, Any]) -> list[Any] | None:
    """The unsigned RLP field list of a plain type-2 transaction, None when the dict needs eth-account
    (another type, an access list, unusual field shapes: eth-account then decides, and refuses what is bad)."""
    if tx.get("type") != 2 or not tx.keys() <= _TYPE2_FIELDS or tx.get("accessList"):
        return None
    ints = [tx.get(k) for k in _TYPE2_INTS]
    value = tx.get("value", 0)
    for v in (*ints, value):
        if type(v) is not int or not 0 <= v < _UINT256:
            return None
    data: Any = tx.get("data", b"")
    if isinstance(data, str):
        if data[:2] != "0x":
            return None
        try:
            data = bytes.fromhex(data[2:])
        except ValueError:
            return None
    elif not isinstance(data, (bytes, bytearray)):
        return None
    to = tx.get("to")
    if to is None or to == b"" or to == "":
        target = b""
    elif isinstance(to, str):
        target = _address_bytes(to)  # type: ignore[assignment]
        if target is None:
            return None
    else:
        return None
    return [*ints, target, value, bytes(data), []]


def _private_key(value: bytes | str) -> PrivateKey | None:
    """The key object for 32 bytes (or 0x-hex), None when the value is not a usable secp256k1 key."""
    try:
        raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
        return PrivateKey(raw)
    except Exception:  # noqa: BLE001 - any malformed input
        return None
