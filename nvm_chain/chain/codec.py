"""ABI values to bytes and back (pure: no network): ``eth_abi``'s encoding and decoding with checksummed
addresses, where canonical layouts of the common types (address, bool, uintN, bytesN, bytes, string, arrays and
tuples of them) are written and read directly, and anything else is left to ``eth_abi``, which encodes, decodes
or refuses it with its own errors. Also the memoised EIP-55 checksum every layer uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import eth_abi
from eth_utils import to_checksum_address


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    """``to_checksum_address``, memoised: a client meets the same few addresses over and over."""
    return to_checksum_address(address)


def is_checksummed(value: Any) -> bool:
    """Whether ``value`` is a 0x address string in its EIP-55 form."""
    if not isinstance(value, str) or len(value) != 42 or value[:2] != "0x":
        return False
    try:
        return checksum(value) == value
    except ValueError:  # not hex
        return False


def _checksummed(kind: str, value: Any) -> Any:
    """Checksum every address inside a decoded value of ABI type ``kind``."""
    if kind == "address":
        return checksum(value)
    if kind.endswith("]"):
        inner = kind[: kind.rindex("[")]
        return tuple(_checksummed(inner, v) for v in value)
    if kind.startswith("("):
        return tuple(_checksummed(t, v) for t, v in zip(_split_tuple(kind), value))
    return value


def _split_tuple(kind: str) -> list[str]:
    """Component types of a canonical tuple type ``(a,b,(c,d)[])``."""
    parts, depth, start = [], 0, 1
    for i, ch in enumerate(kind[1:-1], start=1):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(kind[start:i])
            start = i + 1
    parts.append(kind[start:-1])
    return [p for p in parts if p]


def decode_values(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """``eth_abi.decode`` with every address checksummed. A canonical encoding (what ``abi.encode`` lays out:
    each tail right after the previous one, zero padding, exact length) of supported types is read directly;
    anything else goes to eth_abi, which decodes it or raises."""
    codec = _codec(types if type(types) is tuple else tuple(types))
    if codec is not None:
        decoded = codec.decode(data, 0)
        if decoded is not None and decoded[1] == len(data):
            return decoded[0]  # type: ignore[no-any-return]
    return tuple(_checksummed(t, v) for t, v in zip(types, eth_abi.decode(list(types), data)))


def encode_values(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """``eth_abi.encode(types, values)``: plain values of supported types (checksummed addresses, bools, in-range
    ints, bytes of the right length, str, lists or tuples of them) are laid out directly, anything else goes to
    eth_abi, which encodes it or refuses it with its own error."""
    codec = _codec(types if type(types) is tuple else tuple(types))
    encoded = None if codec is None else codec.encode(values)
    return encoded if encoded is not None else eth_abi.encode(list(types), list(values))


@dataclass(frozen=True, slots=True)
class _Coder:
    """The direct codec of one ABI type. ``size``: its bytes in a head (None: dynamic, an offset word in the
    head); ``encode(value)``: its encoding; ``decode(data, at)``: ``(value, end)`` of the encoding at ``at``
    (a dynamic value's tail); ``word(w)``: the value of a one-word type from its 32 bytes (None for other
    types). Each answers None for what it leaves to eth_abi (no decoded value is None)."""

    size: int | None
    encode: Callable[[Any], bytes | None]
    decode: Callable[[bytes, int], tuple[Any, int] | None]
    word: Callable[[bytes], Any] | None = None


@lru_cache(maxsize=1024)
def _codec(types: tuple[str, ...]) -> _Coder | None:
    """The direct codec of a list of ABI types (a tuple of them), None when one is not supported."""
    parts = _coders(types)
    return None if parts is None else _tuple_coder(parts)


def _coders(kinds: Sequence[str]) -> list[_Coder] | None:
    """The direct codecs of ``kinds``; None when one is not supported."""
    parts = []
    for kind in kinds:
        part = _coder(kind)
        if part is None:
            return None
        parts.append(part)
    return parts


@lru_cache(maxsize=1024)
def _coder(kind: str) -> _Coder | None:
    """The direct codec of a canonical ABI type: address, bool, uintN, bytesN, bytes, string, T[k], T[] and
    tuples of them; None for another type (intN, fixed, function …)."""
    if kind.endswith("]"):
        inner, length = kind[:kind.rindex("[")], kind[kind.rindex("[") + 1:-1]
        item = _coder(inner)
        if item is None or (length and not length.isdigit()):
            return None
        return _tuple_coder([item] * int(length)) if length else _list_coder(item)
    if kind.startswith("("):
        parts = _coders(_split_tuple(kind))
        return None if parts is None else _tuple_coder(parts)
    if kind == "address":
        return _word_coder(_encode_address, _address_word)
    if kind == "bool":
        return _word_coder(_encode_bool, _bool_word)
    if kind == "bytes":
        return _Coder(None, _encode_bytes, _decode_bytes)
    if kind == "string":
        return _Coder(None, _encode_string, _decode_string)
    if kind.startswith("uint") and kind[4:] in _BIT_SIZES:
        return _uint_coder(int(kind[4:]))
    if kind.startswith("bytes") and kind[5:] in _BYTE_SIZES:
        return _fixed_bytes_coder(int(kind[5:]))
    return None


_BIT_SIZES = frozenset(str(n) for n in range(8, 257, 8))
_BYTE_SIZES = frozenset(str(n) for n in range(1, 33))
_ADDRESS_PAD = bytes(12)
_TRUE = (1).to_bytes(32, "big")
_FALSE = bytes(32)


def word_reader(kind: str) -> Callable[[bytes], Any] | None:
    """The word reader of ``kind`` when it is a one-word type the codec reads directly."""
    coder = _coder(kind)
    return None if coder is None else coder.word


def _word_coder(encode: Callable[[Any], bytes | None], word: Callable[[bytes], Any]) -> _Coder:
    """The codec of a one-word type from its encoder and its word reader."""
    def decode(data: bytes, at: int) -> tuple[Any, int] | None:
        end = at + 32
        value = word(data[at:end]) if end <= len(data) else None
        return None if value is None else (value, end)

    return _Coder(32, encode, decode, word)


def _number(data: bytes, at: int) -> int | None:
    """The 32-byte big-endian number at ``at``; None past the end of ``data``."""
    return int.from_bytes(data[at:at + 32], "big") if at + 32 <= len(data) else None


def _encode_address(value: Any) -> bytes | None:
    return _ADDRESS_PAD + bytes.fromhex(value[2:]) if is_checksummed(value) else None


def _address_word(word: bytes) -> str | None:
    return checksum("0x" + word[12:].hex()) if word[:12] == _ADDRESS_PAD else None


def _encode_bool(value: Any) -> bytes | None:
    if type(value) is not bool:
        return None
    return _TRUE if value else _FALSE


def _bool_word(word: bytes) -> bool | None:
    return True if word == _TRUE else False if word == _FALSE else None


def _uint_coder(bits: int) -> _Coder:
    def encode(value: Any) -> bytes | None:
        if type(value) is not int or value < 0 or value >> bits:
            return None
        return value.to_bytes(32, "big")

    def word(raw: bytes) -> int | None:
        number = int.from_bytes(raw, "big")
        return None if number >> bits else number

    return _word_coder(encode, word)


def _fixed_bytes_coder(size: int) -> _Coder:
    pad = bytes(32 - size)

    def encode(value: Any) -> bytes | None:
        return value + pad if type(value) is bytes and len(value) == size else None

    def word(raw: bytes) -> bytes | None:
        return raw[:size] if raw[size:] == pad else None

    return _word_coder(encode, word)


def _padded(raw: bytes) -> bytes:
    """``len(raw)`` as a word, then ``raw`` zero-padded to whole words."""
    return len(raw).to_bytes(32, "big") + raw + bytes(-len(raw) % 32)


def _encode_bytes(value: Any) -> bytes | None:
    return _padded(value) if type(value) is bytes else None


def _encode_string(value: Any) -> bytes | None:
    if type(value) is not str:
        return None
    try:
        return _padded(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _decode_bytes(data: bytes, at: int) -> tuple[bytes, int] | None:
    size = _number(data, at)
    if size is None:
        return None
    start = at + 32
    end = start + size + -size % 32
    if end > len(data) or data.count(0, start + size, end) != end - start - size:
        return None
    return data[start:start + size], end


def _decode_string(data: bytes, at: int) -> tuple[str, int] | None:
    decoded = _decode_bytes(data, at)
    if decoded is None:
        return None
    try:
        return decoded[0].decode("utf-8"), decoded[1]
    except UnicodeDecodeError:
        return None


def _tuple_coder(parts: list[_Coder]) -> _Coder:
    """Components laid out as a tuple: static ones in the head, dynamic ones as offsets to tails that follow."""
    head = _head_size(parts)
    count = len(parts)
    words = [p.word for p in parts if p.word is not None]
    flat = len(words) == count  # one word each: read in one pass

    def encode(values: Any) -> bytes | None:
        if not isinstance(values, (list, tuple)) or len(values) != count:
            return None
        return _encode_parts(parts, head, values)

    def decode(data: bytes, at: int) -> tuple[tuple[Any, ...], int] | None:
        if not flat:
            return _decode_parts(parts, head, data, at)
        end = at + head
        if end > len(data):
            return None
        values = [read(data[i:i + 32]) for read, i in zip(words, range(at, end, 32))]
        return None if None in values else (tuple(values), end)

    return _Coder(head if all(p.size is not None for p in parts) else None, encode, decode)


def _list_coder(item: _Coder) -> _Coder:
    """``T[]``: the item count, then a tuple of that many items."""
    width = 32 if item.size is None else item.size
    read = item.word

    def encode(values: Any) -> bytes | None:
        if not isinstance(values, (list, tuple)):
            return None
        count = len(values)
        encoded = _encode_parts([item] * count, width * count, values)
        return None if encoded is None else count.to_bytes(32, "big") + encoded

    def decode(data: bytes, at: int) -> tuple[tuple[Any, ...], int] | None:
        count = _number(data, at)
        if count is None or at + 32 + width * count > len(data):
            return None
        start, end = at + 32, at + 32 + width * count
        if read is None:
            return _decode_parts([item] * count, width * count, data, start)
        values = [read(data[i:i + 32]) for i in range(start, end, 32)]
        return None if None in values else (tuple(values), end)

    return _Coder(None, encode, decode)


def _head_size(parts: Sequence[_Coder]) -> int:
    return sum(32 if p.size is None else p.size for p in parts)


def _encode_parts(parts: Sequence[_Coder], head: int, values: Sequence[Any]) -> bytes | None:
    """``values`` encoded by ``parts`` (as many), as a tuple whose head takes ``head`` bytes."""
    heads, tails, offset = [], [], head
    for part, value in zip(parts, values):
        encoded = part.encode(value)
        if encoded is None:
            return None
        if part.size is None:
            heads.append(offset.to_bytes(32, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads + tails)


def _decode_parts(parts: Sequence[_Coder], head: int, data: bytes, at: int) -> tuple[tuple[Any, ...], int] | None:
    """The values of a tuple of ``parts`` encoded at ``at`` (head of ``head`` bytes), and where its encoding
    ends; each tail must start right where the previous one ended, at the offset its head word gives."""
    values = []
    position, tail = at, at + head
    for part in parts:
        if part.size is None:
            if _number(data, position) != tail - at:
                return None
            decoded = part.decode(data, tail)
            if decoded is None:
                return None
            value, tail = decoded
            position += 32
        else:
            decoded = part.decode(data, position)
            if decoded is None:
                return None
            value, position = decoded
        values.append(value)
    return tuple(values), tail
