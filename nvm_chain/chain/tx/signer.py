"""Local signing with a key the user holds (pure: no network).

The key lives only inside :class:`LocalSigner`, in a private attribute; ``repr``/``str`` show the address
and nothing else, and signing failures are re-raised without the original exception text, which could
quote its inputs.
"""

from __future__ import annotations

from typing import Any, NoReturn

from eth_account import Account
from eth_keys import keys
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from nvm_chain.errors import SigningError, ValidationError


class LocalSigner:
    """Signs transactions and EIP-712 messages with one private key."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: bytes | str):
        """Create a signer from a 32-byte key (bytes or 0x-hex).

        Raises:
            ValidationError: the value is not a valid secp256k1 private key (the message omits the value).
        """
        pk = _private_key(private_key)
        if pk is None:  # raised outside the except block: no exception context can carry the value
            raise ValidationError("invalid private key (expected 32 bytes as 0x-prefixed hex)")
        self._key = pk.to_bytes()
        self.address: ChecksumAddress = to_checksum_address(pk.public_key.to_canonical_address())

    def __repr__(self) -> str:
        return f"LocalSigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickle key material
        raise TypeError("LocalSigner cannot be pickled")

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[bytes, str]:
        """Sign a transaction dict; return (raw signed bytes, 0x tx hash).

        Raises:
            SigningError: the dict is not a signable transaction.
        """
        try:
            signed, failure = Account.sign_transaction(tx, self._key), None
        except Exception as exc:  # noqa: BLE001 - re-raised below without its context
            signed, failure = None, type(exc).__name__
        if signed is None:
            raise SigningError(f"could not sign transaction: {failure}")
        raw = bytes(signed.raw_transaction)
        return raw, "0x" + keccak(raw).hex()

    def sign_typed_data(
        self, domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any]
    ) -> tuple[int, bytes, bytes]:
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


def _private_key(value: bytes | str) -> PrivateKey | None:
    """The key object for 32 bytes (or 0x-hex), None when the value is not a usable secp256k1 key."""
    try:
        raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
        return keys.PrivateKey(raw)
    except Exception:  # noqa: BLE001 - any malformed input
        return None
