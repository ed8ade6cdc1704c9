"""RLP encoding of byte strings, non-negative ints and (nested) lists of them: the bytes ``rlp.encode`` gives,
without pyrlp's per-item serializer inference (the signer and the embedded revm node encode on every
transaction; decoding stays with pyrlp, which words the errors)."""

from __future__ import annotations

from typing import Any


def rlp_encode(item: Any) -> bytes:
    """RLP of ``item``.

    Raises:
        TypeError: another kind of value (a negative int or an unsupported type).
    """
    kind = type(item)
    if kind is bytes or kind is bytearray:
        data: bytes = item
        if len(data) == 1 and data[0] < 0x80:
            return bytes(data)
        return rlp_prefix(len(data), 0x80) + data
    if kind is int and item >= 0:
        number: int = item
        if number < 0x80:
            return bytes((number,)) if number else b"\x80"
        length = (number.bit_length() + 7) // 8
        return rlp_prefix(length, 0x80) + number.to_bytes(length, "big")
    if kind is list or kind is tuple:
        payload = b"".join([rlp_encode(x) for x in item])
        return rlp_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"cannot RLP-encode {kind.__name__}")


def rlp_prefix(length: int, offset: int) -> bytes:
    """The header of a payload of ``length`` bytes: ``offset`` 0x80 for a byte string, 0xC0 for a list."""
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size
