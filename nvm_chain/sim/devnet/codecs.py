"""JSON-RPC values in and out: hex quantities, data, addresses and hashes from params; eth-tester's blocks,
transactions, receipts and logs as a node answers them (hex quantities, camelCase keys); logs blooms; the chain
id a signed transaction commits to."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import rlp

from nvm_chain.protocol.hashing import keccak
from nvm_chain.sim.devnet.jsonrpc import SERVER_ERROR, RpcError, invalid_params
from nvm_chain.sim.revm_tx import checksum

ZERO_ADDRESS = "0x" + "00" * 20

_HEX = re.compile(r"0x[0-9a-fA-F]*")

# ---------------------------------------------------------------------------------------------- inbound


def quantity(value: Any, what: str = "quantity") -> int:
    """A hex quantity ("0x1a"); plain non-negative ints are accepted too, as most nodes do.

    Raises:
        RpcError: -32602 for anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) > 2:
        return int(value, 16)
    raise invalid_params(f"{what} must be a hex quantity, got {value!r}")


def data(value: Any, what: str = "data") -> bytes:
    """0x-prefixed hex bytes.

    Raises:
        RpcError: -32602 for anything else.
    """
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) % 2 == 0:
        return bytes.fromhex(value[2:])
    raise invalid_params(f"{what} must be 0x-prefixed hex bytes, got {value!r}")


def address(value: Any, what: str = "address") -> str:
    """A 20-byte hex address in any letter case, returned checksummed (as geth accepts it; cached).

    Raises:
        RpcError: -32602 for anything else.
    """
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) == 42:
        return checksum(value)
    raise invalid_params(f"{what} must be a 20-byte hex address, got {value!r}")


def hash32(value: Any, what: str = "hash") -> str:
    """A 32-byte hex hash, lower-cased.

    Raises:
        RpcError: -32602 for anything else.
    """
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) == 66:
        return value.lower()
    raise invalid_params(f"{what} must be a 32-byte hex hash, got {value!r}")


def boolean(value: Any, what: str) -> bool:
    """A JSON boolean.

    Raises:
        RpcError: -32602 for anything else.
    """
    if isinstance(value, bool):
        return value
    raise invalid_params(f"{what} must be true or false, got {value!r}")


def params(raw: Any, minimum: int, maximum: int) -> list[Any]:
    """Positional params padded with None up to ``maximum``.

    Raises:
        RpcError: -32602 when they are not an array of ``minimum`` to ``maximum`` entries.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        raise invalid_params("params must be an array")
    if not minimum <= len(raw) <= maximum:
        expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
        raise invalid_params(f"expected {expected} params, got {len(raw)}")
    return list(raw) + [None] * (maximum - len(raw))


def raw_chain_id(raw: bytes) -> int | None:
    """The chain id a signed transaction commits to; None for a pre-EIP-155 legacy one.

    Raises:
        RpcError: the bytes are not a transaction (-32000, as geth answers undecodable input).
    """
    try:
        if not raw:
            raise ValueError("empty input")
        if raw[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
            fields = rlp.decode(raw)
            v = int.from_bytes(fields[6], "big")
            return (v - 35) // 2 if v >= 35 else None
        fields = rlp.decode(raw[1:])
        if fields and isinstance(fields[0], list):  # blob network form: [tx, blobs, commitments, proofs]
            fields = fields[0]
        return int.from_bytes(fields[0], "big")
    except Exception as exc:  # noqa: BLE001
        raise RpcError(SERVER_ERROR, f"invalid transaction: {type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------------------------- blooms


@lru_cache(maxsize=16_384)
def bloom_bits(item: bytes) -> int:
    """The three bits an address or topic sets in a logs bloom (cached: logs repeat a few addresses and
    topics)."""
    digest = keccak(item)
    bits = 0
    for i in (0, 2, 4):
        bits |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bits


def bloom_of(items: Iterable[bytes]) -> int:
    """The logs bloom of these addresses and topics."""
    bloom = 0
    for item in items:
        bloom |= bloom_bits(item)
    return bloom


def bloom_hex(bloom: int) -> str:
    return "0x" + bloom.to_bytes(256, "big").hex()


def may_contain(bloom: int, item_hex: str) -> bool:
    """False when the bloom proves ``item_hex`` (an address or topic) is not in it."""
    bits = bloom_bits(bytes.fromhex(item_hex[2:]))
    return bloom & bits == bits


def _log_items(logs: list[dict[str, Any]]) -> Iterable[bytes]:
    for entry in logs:
        yield bytes.fromhex(entry["address"][2:])
        for topic in entry["topics"]:
            yield bytes.fromhex(topic[2:])


# ---------------------------------------------------------------------------------------------- outbound


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def out(value: Any) -> Any:
    """eth-tester value → JSON-RPC value: ints become hex quantities, bytes 0x data, keys camelCase."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(k): out(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [out(v) for v in value]
    return value


def fmt_tx(tx: dict[str, Any]) -> dict[str, Any]:
    """An eth-tester transaction as ``eth_getTransactionByHash`` answers it."""
    answer: dict[str, Any] = out({k: v for k, v in tx.items() if k != "data"})
    answer["input"] = tx.get("data", "0x")
    if not answer.get("to"):
        answer["to"] = None
    if answer.get("chainId") is None:
        answer.pop("chainId", None)
    return answer


def fmt_log(entry: dict[str, Any]) -> dict[str, Any]:
    """An eth-tester log as ``eth_getLogs`` answers it."""
    answer: dict[str, Any] = out({k: v for k, v in entry.items() if k != "type"})
    answer["removed"] = False
    return answer


def fmt_receipt(receipt: dict[str, Any]) -> dict[str, Any]:
    """An eth-tester receipt as ``eth_getTransactionReceipt`` answers it (with the logs bloom)."""
    answer: dict[str, Any] = out({k: v for k, v in receipt.items() if k not in ("logs", "state_root")})
    answer["logs"] = [fmt_log(e) for e in receipt["logs"]]
    answer["logsBloom"] = bloom_hex(bloom_of(_log_items(receipt["logs"])))
    if not answer.get("to"):
        answer["to"] = None
    return answer


def fmt_block(block: dict[str, Any], full: bool) -> dict[str, Any]:
    """An eth-tester block as ``eth_getBlockBy*`` answers it (transaction hashes, or objects when ``full``)."""
    rest = {k: v for k, v in block.items() if k not in ("transactions", "logs_bloom", "coinbase")}
    answer: dict[str, Any] = out(rest)
    answer["miner"] = block["coinbase"]
    answer["logsBloom"] = bloom_hex(block["logs_bloom"])
    txs = block["transactions"]
    answer["transactions"] = [fmt_tx(t) if isinstance(t, dict) else t for t in txs] if full else [
        t["hash"] if isinstance(t, dict) else t for t in txs]
    return answer
