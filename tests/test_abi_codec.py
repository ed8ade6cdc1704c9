"""The direct ABI codecs (chain/codec.py, and the id layouts of protocol/ids.py) against eth_abi on random types
and values: the same bytes, the same values (addresses checksummed), and the same exception class for what
eth_abi refuses."""

from __future__ import annotations

import random
from typing import Any

import eth_abi
import pytest

from nvm_chain.chain.abi import canonical_type, decode_output, encode_call, registry
from nvm_chain.chain.codec import checksum, decode_values, encode_values
from nvm_chain.protocol import ids

ELEMENTARY = ["address", "bool", "bytes32", "bytes4", "bytes1", "uint256", "uint8", "uint48", "bytes", "string",
              "int256"]  # int256: not handled directly, eth_abi's throughout


def _kind(rng: random.Random, depth: int = 0) -> Any:
    """A random ABI type as a tree: a name, ("tuple", [parts]) or ("array", item, length or None)."""
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return ("tuple", [_kind(rng, depth + 1) for _ in range(rng.randrange(1, 4))])
    if depth < 3 and roll < 0.4:
        return ("array", _kind(rng, depth + 1), rng.choice([None, None, 1, 2]))
    return rng.choice(ELEMENTARY)


def _name(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    if kind[0] == "tuple":
        return "(" + ",".join(_name(k) for k in kind[1]) + ")"
    return _name(kind[1]) + ("[]" if kind[2] is None else f"[{kind[2]}]")


def _value(rng: random.Random, kind: Any, bad: float) -> Any:
    """A random value of ``kind``; with probability ``bad`` per leaf one eth_abi may refuse or encode otherwise."""
    odd = rng.random() < bad
    if isinstance(kind, tuple):
        if kind[0] == "tuple":
            items = [_value(rng, k, bad) for k in kind[1]]
        else:
            length = kind[2] if kind[2] is not None else rng.randrange(4)
            items = [_value(rng, kind[1], bad) for _ in range(length + (odd and rng.random() < 0.3))]
        return rng.choice([items, tuple(items)]) if not odd or rng.random() < 0.5 else "not a list"
    raw = rng.randbytes(20)
    good = {
        "address": lambda: checksum("0x" + raw.hex()),
        "bool": lambda: rng.choice([True, False]),
        "bytes32": lambda: rng.randbytes(32), "bytes4": lambda: rng.randbytes(4), "bytes1": lambda: rng.randbytes(1),
        "uint256": lambda: rng.choice([0, 2**256 - 1, rng.randrange(2**256)]),
        "uint8": lambda: rng.randrange(256), "uint48": lambda: rng.randrange(2**48),
        "bytes": lambda: rng.randbytes(rng.randrange(70)),
        "string": lambda: rng.choice(["", "plan", "crédits ✓ " * rng.randrange(5)]),
        "int256": lambda: rng.randrange(-2**255, 2**255),
    }
    if not odd:
        return good[kind]()
    return rng.choice({
        "address": ["0x" + raw.hex(), "0x" + raw.hex().upper(), raw, "0x12", 5],
        "bool": [0, 1, None],
        "bytes32": [rng.randbytes(5), rng.randbytes(33), bytearray(32), "0x" + "ab" * 32],
        "bytes4": [b"", rng.randbytes(3), rng.randbytes(5)], "bytes1": [b"", b"ab", 1],
        "uint256": [2**256, -1, True, 1.0], "uint8": [256, -1, False], "uint48": [2**48, True],
        "bytes": [bytearray(b"ab"), "0xab", 3], "string": [b"text", "\ud800", 7], "int256": [2**255, 0.5],
    }[kind])


def _direct(kind: Any) -> bool:
    """Whether the direct codec supports ``kind`` (everything here but int256)."""
    if isinstance(kind, str):
        return kind != "int256"
    return all(_direct(k) for k in kind[1]) if kind[0] == "tuple" else _direct(kind[1])


def _checksummed(kind: Any, value: Any) -> Any:
    """eth_abi's decoded ``value`` of ``kind`` with its addresses checksummed, as decode_values gives them."""
    if kind == "address":
        return checksum(value)
    if isinstance(kind, tuple) and kind[0] == "tuple":
        return tuple(_checksummed(k, v) for k, v in zip(kind[1], value))
    if isinstance(kind, tuple):
        return tuple(_checksummed(kind[1], v) for v in value)
    return value


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return "raised", type(exc)


def test_random_values_encode_exactly_as_eth_abi_or_fail_like_it():
    rng = random.Random(20240612)
    refused = 0
    for _ in range(3000):
        kinds = [_kind(rng) for _ in range(rng.randrange(0, 4))]
        types = [_name(k) for k in kinds]
        values = [_value(rng, k, rng.choice([0.0, 0.0, 0.1])) for k in kinds]
        expected = _outcome(eth_abi.encode, types, values)
        assert _outcome(encode_values, types, values) == expected, (types, values)
        refused += expected[0] == "raised"
    assert 100 < refused < 2900  # both kinds of case were met


# the layouts protocol/ids.py hashes (agreement, agent and condition ids)
ID_LAYOUTS = [["bytes32", "address", "bytes32", "uint256", "uint256", "bytes[]"],
              ["bytes32", "address", "bytes32", "uint256", "address", "uint256", "bytes[]"],
              ["bytes32", "address", "bytes32", "uint256", "bytes[]"], ["bytes32", "address"], ["bytes32", "bytes32"]]


def test_id_layouts_encode_exactly_as_eth_abi_or_fail_like_it():
    rng = random.Random(20261201)
    refused = direct = 0
    for _ in range(3000):
        types = rng.choice(ID_LAYOUTS)
        kinds = [("array", "bytes", None) if t == "bytes[]" else t for t in types]
        values = [_value(rng, k, rng.choice([0.0, 0.0, 0.05])) for k in kinds]
        if types[-1] == "bytes[]" and rng.random() < 0.7:
            values[-1] = []
        expected = _outcome(eth_abi.encode, types, values)
        assert _outcome(ids._abi_encode, types, values) == expected, (types, values)
        refused += expected[0] == "raised"
        direct += values[-1] == [] or types[-1] != "bytes[]"
    assert 30 < refused < 2900 and direct > 1000  # refusals, and the direct path, were both met


def _mangled(rng: random.Random, data: bytes) -> bytes:
    """``data`` with one byte changed, cut short or lengthened, or moved offsets (often still decodable)."""
    choice = rng.randrange(4)
    if choice == 0 and data:
        i = rng.randrange(len(data))
        return data[:i] + bytes([rng.choice([1, 0x20, 0x40, 0xff])]) + data[i + 1:]
    if choice == 1:
        return data[:rng.randrange(len(data) + 1)]
    if choice == 2:
        return data + bytes(rng.choice([1, 32]))
    return data + rng.randbytes(32)


def test_random_encodings_decode_exactly_as_eth_abi_or_fail_like_it():
    rng = random.Random(99)
    direct = 0
    for _ in range(3000):
        kinds = [_kind(rng) for _ in range(rng.randrange(1, 4))]
        types = [_name(k) for k in kinds]
        data = eth_abi.encode(types, [_value(rng, k, 0.0) for k in kinds])
        if rng.random() < 0.5:
            data = _mangled(rng, data)
        kind, expected = _outcome(eth_abi.decode, types, data)
        if kind == "ok":
            expected = tuple(_checksummed(k, v) for k, v in zip(kinds, expected))
            assert decode_values(types, data) == expected, (types, data.hex())
            direct += 1
        else:
            with pytest.raises(expected):
                decode_values(types, data)
    assert direct > 1500


def test_protocol_calls_and_answers_round_trip_through_the_direct_codec():
    """An order's ``bytes[]``, a plan struct: the layouts the protocol sends and reads most."""
    from eth_utils import keccak

    order = registry()["FixedPaymentTemplate"].entry("order")
    types = ["bytes32", "uint256", "address", "uint256", "bytes[]"]
    args = (b"\x01" * 32, 7, checksum("0x" + "ab" * 20), 3, [b"", b"\x02" * 33])
    assert encode_call(order, args) == keccak(text=f"order({','.join(types)})")[:4] + eth_abi.encode(types, args)

    get_plan = registry()["AssetsRegistry"].entry("getPlan")
    price = (True, "0x" + "22" * 20, (1, 2), ("0x" + "33" * 20,) * 2, "0x" + "00" * 20, "0x" + "44" * 20,
             "0x" + "55" * 20)
    record = ("0x" + "11" * 20, price, (True, 1, False, 60, 5, 1, 10, "0x" + "66" * 20), 9)
    (output,) = get_plan["outputs"]
    plan = decode_output(get_plan, eth_abi.encode([canonical_type(output)], [record]))
    assert plan.lastUpdated == 9 and plan.price.amounts == (1, 2) and plan.credits.redemptionType == 1
    assert plan.owner == checksum("0x" + "11" * 20) and plan.credits.nftAddress == checksum("0x" + "66" * 20)
    assert plan.price.receivers == (checksum("0x" + "33" * 20),) * 2


def test_plain_values_and_canonical_encodings_never_reach_eth_abi(monkeypatch):
    """The direct codec takes every plain value and canonical encoding of the types it supports itself."""
    import nvm_chain.chain.codec as codec

    class Refusing:
        @staticmethod
        def encode(*args: Any) -> Any:
            raise AssertionError("eth_abi.encode called")

        decode = encode

    rng = random.Random(5)
    cases = []
    while len(cases) < 500:
        kinds = [_kind(rng) for _ in range(rng.randrange(1, 4))]
        types = [_name(k) for k in kinds]
        if all(_direct(k) for k in kinds):
            values = [_value(rng, k, 0.0) for k in kinds]
            cases.append((types, values, eth_abi.encode(types, values)))
    monkeypatch.setattr(codec, "eth_abi", Refusing)
    for types, values, data in cases:
        assert encode_values(types, values) == data
        assert len(decode_values(types, data)) == len(types)
