"""ABI registry of the protocol artifacts (pure: reads the bundled JSON files, no network).

Loads every ``abis/<Contract>.json`` once and indexes it three ways: contract name → ABI, 4-byte
selector → custom error (across all artifacts, so an error bubbling up from an inner contract or a
library still decodes), and topic0 → event. Also decodes revert data into :class:`RevertReason`.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import eth_abi
from eth_utils import keccak, to_checksum_address

from nvm_chain.errors import ConfigurationError

# nvm_chain/abis is a symlink to the top-level abis/ folder; wheels carry the files themselves.
ABI_DIR = Path(__file__).resolve().parent / "abis"

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


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


def decode_values(types: list[str], data: bytes) -> tuple[Any, ...]:
    """``eth_abi.decode`` with every address checksummed (plain words of static types are sliced directly)."""
    fast = _static_words(types, data)
    if fast is not None:
        return fast
    return tuple(_checksummed(t, v) for t, v in zip(types, eth_abi.decode(types, data)))


_WORD_KINDS = frozenset({"address", "bool", "bytes32"} | {f"uint{8 * i}" for i in range(1, 33)})


def _static_words(types: list[str], data: bytes) -> tuple[Any, ...] | None:
    """The values of ``types`` when each is one plain word (address, bool, bytes32, uintN) and ``data`` holds
    exactly those words, well padded; None otherwise (eth_abi then decodes, and rejects what is malformed)."""
    if len(data) != 32 * len(types) or not all(t in _WORD_KINDS for t in types):
        return None
    values: list[Any] = []
    for i, kind in enumerate(types):
        word = data[32 * i:32 * i + 32]
        if kind == "bytes32":
            values.append(word)
            continue
        number = int.from_bytes(word, "big")
        if kind == "address":
            if number >> 160:
                return None
            values.append(checksum("0x" + word[12:].hex()))
        elif kind == "bool":
            if number > 1:
                return None
            values.append(number == 1)
        else:
            if number >> int(kind[4:]):
                return None
            values.append(number)
    return tuple(values)


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter: tuples expanded, e.g. ``(bool,address)[]``."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def signature(entry: dict[str, Any]) -> str:
    """The canonical signature of a function, event or error ABI entry, e.g. ``mint(address,uint256)``."""
    return f"{entry['name']}({','.join(canonical_type(i) for i in entry['inputs'])})"


def selector(entry: dict[str, Any]) -> bytes:
    """The 4-byte selector of a function or error ABI entry."""
    return _signature_hash(signature(entry))[:4]


def topic0(entry: dict[str, Any]) -> bytes:
    """The topic0 (keccak of the canonical signature) of an event ABI entry."""
    return _signature_hash(signature(entry))


@lru_cache(maxsize=4096)
def _signature_hash(text: str) -> bytes:
    """keccak of a canonical signature, memoised: the same few functions are called over and over."""
    return keccak(text=text)


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI and creation bytecode."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: str
    _entries: dict[tuple[str, str, int | None], dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False)  # entries found so far

    def entry(self, name: str, kind: str = "function", arity: int | None = None) -> dict[str, Any]:
        """The ABI entry called ``name`` (of ``arity`` inputs when the name is overloaded).

        Raises:
            ConfigurationError: no such entry, or an ambiguous overload.
        """
        key = (name, kind, arity)
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        found = [e for e in self.abi if e.get("type") == kind and e.get("name") == name]
        if arity is not None:
            found = [e for e in found if len(e["inputs"]) == arity]
        if len(found) != 1:
            raise ConfigurationError(f"{self.name} has {len(found)} {kind}s named {name!r} (arity {arity})")
        self._entries[key] = found[0]
        return found[0]


@dataclass(frozen=True)
class RevertReason:
    """A decoded revert: a custom error, ``Error(string)`` or ``Panic(uint256)``.

    ``name`` is the error name (``"Error"`` and ``"Panic"`` for the built-ins), ``args`` the decoded
    arguments by parameter name, ``signature`` the canonical signature and ``data`` the raw bytes.
    """

    name: str
    args: dict[str, Any]
    signature: str
    data: bytes

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args.items())
        return f"{self.name}({inner})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class AbiRegistry:
    """Artifacts by contract name, errors by selector, events by topic0."""

    def __init__(self, artifacts: dict[str, Artifact]):
        self.artifacts = artifacts
        self.errors: dict[bytes, dict[str, Any]] = {}
        self.events: dict[bytes, list[dict[str, Any]]] = {}
        for art in artifacts.values():
            for e in art.abi:
                if e["type"] == "error":
                    self.errors.setdefault(selector(e), e)
                elif e["type"] == "event":
                    bucket = self.events.setdefault(topic0(e), [])
                    if all(_indexed(x) != _indexed(e) for x in bucket):
                        bucket.append(e)  # ERC-20 and ERC-721 Transfer share topic0, not indexing

    def __getitem__(self, name: str) -> Artifact:
        try:
            return self.artifacts[name]
        except KeyError:
            raise ConfigurationError(f"no artifact for contract {name!r} in abis/") from None

    def decode_revert(self, data: bytes) -> RevertReason | None:
        """Decode revert data; None when it is empty or matches no known error."""
        if len(data) < 4:
            return None
        sel, body = data[:4], data[4:]
        if sel == ERROR_STRING_SELECTOR:
            (msg,) = eth_abi.decode(["string"], body)
            return RevertReason("Error", {"message": msg}, "Error(string)", data)
        if sel == PANIC_SELECTOR:
            (code,) = eth_abi.decode(["uint256"], body)
            return RevertReason("Panic", {"code": code}, "Panic(uint256)", data)
        entry = self.errors.get(sel)
        if entry is None:
            return None
        values = decode_values([canonical_type(i) for i in entry["inputs"]], body)
        names = [i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"])]
        return RevertReason(entry["name"], dict(zip(names, values)), signature(entry), data)


def _indexed(event: dict[str, Any]) -> tuple[bool, ...]:
    return tuple(bool(i.get("indexed")) for i in event["inputs"])


@cache
def registry() -> AbiRegistry:
    """The registry of the bundled artifacts (loaded once).

    Raises:
        ConfigurationError: the abis/ folder is missing or empty.
    """
    files = sorted(ABI_DIR.glob("*.json"))
    if not files:
        raise ConfigurationError(f"no contract artifacts found in {ABI_DIR}")
    arts = {}
    for f in files:
        raw = json.loads(f.read_text())
        arts[raw["contractName"]] = Artifact(raw["contractName"], tuple(raw["abi"]), raw["bytecode"])
    return AbiRegistry(arts)


def encode_call(entry: dict[str, Any], args: Sequence[Any]) -> bytes:
    """Calldata for a function ABI entry: selector followed by the ABI-encoded arguments."""
    types = [canonical_type(i) for i in entry["inputs"]]
    words = _word_args(types, args)
    return selector(entry) + (words if words is not None else eth_abi.encode(types, list(args)))


def _word_args(types: list[str], args: Sequence[Any]) -> bytes | None:
    """The encoding of ``args`` when each is one plain word of its type (a checksummed address, a bool, 32 bytes,
    an in-range uintN), laid out directly; None otherwise (eth_abi then encodes, and refuses what is bad)."""
    if len(types) != len(args):
        return None
    words = []
    for kind, value in zip(types, args):
        if kind == "address":
            if not is_checksummed(value):
                return None
            words.append(bytes(12) + bytes.fromhex(value[2:]))
        elif kind == "bool":
            if type(value) is not bool:
                return None
            words.append(int(value).to_bytes(32, "big"))
        elif kind == "bytes32":
            if type(value) is not bytes or len(value) != 32:
                return None
            words.append(value)
        elif kind in _WORD_KINDS:  # uintN
            if type(value) is not int or value < 0 or value >> int(kind[4:]):
                return None
            words.append(value.to_bytes(32, "big"))
        else:
            return None
    return b"".join(words)


def encode_constructor(artifact: Artifact, args: Sequence[Any] = ()) -> bytes:
    """Creation code of ``artifact`` with its ABI-encoded constructor arguments appended."""
    code = bytes.fromhex(artifact.bytecode.removeprefix("0x"))
    ctor = [e for e in artifact.abi if e["type"] == "constructor"]
    if not ctor:
        return code
    return code + eth_abi.encode([canonical_type(i) for i in ctor[0]["inputs"]], list(args))


def decode_output(entry: dict[str, Any], data: bytes) -> Any:
    """Decode a function's return data: the single value, or a tuple for several outputs. Structs come back as
    named tuples with the ABI's field names (``plan.lastUpdated``), still indexable by position.

    Raises:
        eth_abi.exceptions.DecodingError: ``data`` does not hold the outputs (see ``BoundContract.read``).
    """
    outputs = entry["outputs"]
    values = tuple(_named(o, v) for o, v in zip(outputs, decode_values([canonical_type(o) for o in outputs], data)))
    return values[0] if len(values) == 1 else values


def _named(param: dict[str, Any], value: Any) -> Any:
    """``value`` with every struct (ABI tuple) turned into a named tuple of its components."""
    components = param.get("components")
    if not components:
        return value
    kind = param["type"]
    if kind.endswith("]"):  # an array of structs
        inner = {**param, "type": kind[:kind.rindex("[")]}
        return tuple(_named(inner, v) for v in value)
    struct = _struct(re.sub(r"\W", "", param.get("internalType", "").split(".")[-1].split("[")[0]) or "Struct",
                     tuple(c.get("name") or f"field{i}" for i, c in enumerate(components)))
    return struct(*(_named(c, v) for c, v in zip(components, value)))


@cache
def _struct(name: str, fields: tuple[str, ...]) -> Any:
    return namedtuple(name, fields, rename=True)  # built from the ABI at run time


@dataclass(frozen=True)
class DecodedEvent:
    """One log decoded against the registry: event name, arguments by name, emitting address."""

    name: str
    args: dict[str, Any]
    address: str
    signature: str


@dataclass(frozen=True)
class _EventDecoder:
    """What decoding one event ABI entry needs, computed once: the indexed parameters (name, type, whether
    the topic holds a hash), the non-indexed names and types, and the canonical signature."""

    name: str
    signature: str
    indexed: tuple[tuple[str, str, bool], ...]
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]
    order: tuple[str, ...]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> _EventDecoder:
        indexed, names, types = [], [], []
        for param in entry["inputs"]:
            kind = canonical_type(param)
            if param.get("indexed"):
                hashed = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
                indexed.append((param["name"], kind, hashed))
            else:
                names.append(param["name"])
                types.append(kind)
        return cls(entry["name"], signature(entry), tuple(indexed), tuple(names), tuple(types),
                   tuple(i["name"] for i in entry["inputs"]))

    def decode(self, topics: list[bytes], data: bytes, address: str) -> DecodedEvent:
        values = dict(zip(self.plain_names, decode_values(list(self.plain_types), data))) if self.plain_types else {}
        for (name, kind, hashed), topic in zip(self.indexed, topics[1:]):
            values[name] = topic if hashed else decode_values([kind], topic)[0]
        return DecodedEvent(self.name, {n: values[n] for n in self.order}, address, self.signature)


@cache
def _event_decoders(abis: AbiRegistry, contract: str | None, topic: bytes) -> tuple[_EventDecoder, ...]:
    """The decoders to try for ``topic`` (the emitting contract's own events first), memoised per registry."""
    own = [e for e in abis.artifacts[contract].abi if e["type"] == "event" and topic0(e) == topic] \
        if contract in abis.artifacts else []
    return tuple(_EventDecoder.of(e) for e in own + abis.events.get(topic, []))


def decode_log(log: Any, abis: AbiRegistry | None = None, contract: str | None = None) -> DecodedEvent | None:
    """Decode a receipt log (web3 AttributeDict or dict); None when its topic0 is unknown.

    With ``contract`` (the name of the emitting contract, known from its address) that artifact's events
    are tried first. Events sharing a topic0 (ERC-20 vs ERC-721 ``Transfer``) are told apart by their
    number of topics.
    """
    topics = [bytes(t) for t in log["topics"]]
    if not topics:
        return None
    for decoder in _event_decoders(abis or registry(), contract, topics[0]):
        if len(decoder.indexed) == len(topics) - 1:
            return decoder.decode(topics, bytes(log["data"]), log["address"])
    return None
