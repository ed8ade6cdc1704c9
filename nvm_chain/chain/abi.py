"""ABI registry of the protocol artifacts (pure: reads the bundled JSON files, no network).

Loads every ``abis/<Contract>.json`` once and indexes it three ways: contract name → ABI, 4-byte
selector → custom error (across all artifacts, so an error bubbling up from an inner contract or a
library still decodes), and topic0 → event. Also decodes revert data into :class:`RevertReason`.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import eth_abi
from eth_utils import keccak

from nvm_chain.chain.codec import decode_values, encode_values, word_reader
from nvm_chain.errors import ConfigurationError

# nvm_chain/abis is a symlink to the top-level abis/ folder; wheels carry the files themselves.
ABI_DIR = Path(__file__).resolve().parent / "abis"

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


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
    plan = _plan(entry)
    return plan.selector + encode_values(plan.inputs, args)


@dataclass(frozen=True, slots=True)
class _EntryPlan:
    """What encoding a call of one ABI entry and decoding its outputs need, computed once per entry."""

    entry: dict[str, Any]  # held so that its id() is not reused while the plan is cached
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    namers: tuple[Callable[[Any], Any] | None, ...]  # per output, see _namer
    structs: bool  # whether an output holds a struct (decoded as named tuples)


_PLANS: dict[int, _EntryPlan] = {}


def _plan(entry: dict[str, Any]) -> _EntryPlan:
    """The plan of an ABI entry (memoised by identity: the registry's entries live as long as the process)."""
    plan = _PLANS.get(id(entry))
    if plan is None or plan.entry is not entry:
        outputs = entry.get("outputs") or []
        namers = tuple(_namer(o) for o in outputs)
        plan = _EntryPlan(entry, selector(entry), tuple(canonical_type(i) for i in entry["inputs"]),
                          tuple(canonical_type(o) for o in outputs), namers, any(n is not None for n in namers))
        _PLANS[id(entry)] = plan
    return plan


def encode_constructor(artifact: Artifact, args: Sequence[Any] = ()) -> bytes:
    """Creation code of ``artifact`` with its ABI-encoded constructor arguments appended."""
    code = bytes.fromhex(artifact.bytecode.removeprefix("0x"))
    ctor = [e for e in artifact.abi if e["type"] == "constructor"]
    if not ctor:
        return code
    return code + encode_values([canonical_type(i) for i in ctor[0]["inputs"]], args)


def decode_output(entry: dict[str, Any], data: bytes) -> Any:
    """Decode a function's return data: the single value, or a tuple for several outputs. Structs come back as
    named tuples with the ABI's field names (``plan.lastUpdated``), still indexable by position.

    Raises:
        eth_abi.exceptions.DecodingError: ``data`` does not hold the outputs (see ``BoundContract.read``).
    """
    plan = _plan(entry)
    values = decode_values(plan.outputs, data)
    if plan.structs:
        values = tuple(v if name is None else name(v) for name, v in zip(plan.namers, values))
    return values[0] if len(values) == 1 else values


def _namer(param: dict[str, Any]) -> Callable[[Any], Any] | None:
    """What turns a decoded value of ``param`` into one with every struct (ABI tuple) a named tuple of its
    components; None when it holds no struct."""
    components = param.get("components")
    if not components:
        return None
    kind = param["type"]
    if kind.endswith("]"):  # an array of structs
        item = _namer({**param, "type": kind[:kind.rindex("[")]})
        assert item is not None
        return lambda value: tuple(item(v) for v in value)
    struct = _struct(re.sub(r"\W", "", param.get("internalType", "").split(".")[-1].split("[")[0]) or "Struct",
                     tuple(c.get("name") or f"field{i}" for i, c in enumerate(components)))
    fields = [_namer(c) for c in components]
    return lambda value: struct(*(v if name is None else name(v) for name, v in zip(fields, value)))


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


@dataclass(frozen=True, eq=False)
class _EventDecoder:
    """What decoding one event ABI entry needs, computed once: the indexed parameters (name, type, whether
    the topic holds a hash), the non-indexed names and types, and the canonical signature. Compared and hashed
    by identity (each is built once per registry and event)."""

    name: str
    signature: str
    indexed: tuple[tuple[str, tuple[str], bool, Callable[[bytes], Any] | None], ...]  # (name, (type,), hashed,
    # the word reader of the type if it is one word)
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
                indexed.append((param["name"], (kind,), hashed, word_reader(kind)))
            else:
                names.append(param["name"])
                types.append(kind)
        return cls(entry["name"], signature(entry), tuple(indexed), tuple(names), tuple(types),
                   tuple(i["name"] for i in entry["inputs"]))

    def decode(self, topics: Sequence[bytes], data: bytes, address: str) -> DecodedEvent:
        values = dict(zip(self.plain_names, decode_values(self.plain_types, data))) if self.plain_types else {}
        for (name, kind, hashed, read), topic in zip(self.indexed, topics[1:]):
            value = topic if hashed else read(topic) if read is not None and len(topic) == 32 else None
            values[name] = value if value is not None else decode_values(kind, topic)[0]
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
    topics = tuple(map(bytes, log["topics"]))
    decoder = _decoder_of(topics, abis, contract)
    if decoder is None:
        return None
    event = _decoded(decoder, log["address"], topics, bytes(log["data"]))
    return DecodedEvent(event.name, dict(event.args), event.address, event.signature)


def event_name(log: Any, abis: AbiRegistry | None = None, contract: str | None = None) -> str | None:
    """The name :func:`decode_log` would give ``log``, without decoding its arguments; None when unknown."""
    decoder = _decoder_of(tuple(map(bytes, log["topics"])), abis, contract)
    return None if decoder is None else decoder.name


def _decoder_of(topics: tuple[bytes, ...], abis: AbiRegistry | None, contract: str | None) -> _EventDecoder | None:
    """The decoder of a log with these topics: the first event of its topic0 with as many indexed parameters."""
    if not topics:
        return None
    for decoder in _event_decoders(abis or registry(), contract, topics[0]):
        if len(decoder.indexed) == len(topics) - 1:
            return decoder
    return None


@lru_cache(maxsize=4096)
def _decoded(decoder: _EventDecoder, address: str, topics: tuple[bytes, ...], data: bytes) -> DecodedEvent:
    """One log decoded, memoised: the same log recurs (a subscriber's redemptions of one plan, an agent's
    repeated payments). Its arguments are immutable values; :func:`decode_log` hands out its own ``args``."""
    return decoder.decode(topics, data, address)
