"""Reads: eth_call with reverts decoded into typed errors (never signs or sends)."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.types import FilterParams, TxParams, Wei

from nvm_chain.chain.abi import registry
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.errors import ContractRevertError


def eth_call(w3: Web3, to: str, data: bytes, *, sender: str | None = None, value: int = 0,
             gas: int | None = None, action: str = "") -> bytes:
    """Run ``data`` against ``to`` at the latest block and return the raw result.

    Raises:
        ContractRevertError: the call reverted (decoded against every bundled ABI).
    """
    tx: TxParams = {"to": to, "data": data, "value": Wei(value)}
    if sender:
        tx["from"] = sender
    if gas:
        tx["gas"] = gas
    try:
        return bytes(w3.eth.call(tx))
    except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
        raw = revert_data(exc)
        if raw is None:
            raise
        raise ContractRevertError(registry().decode_revert(raw), raw, action=action) from None


def get_logs_chunked(w3: Web3, address: str | list[str], topics: list[Any], from_block: int, to_block: int,
                     *, chunk: int = 10_000, min_chunk: int = 16) -> list[Any]:
    """``eth_getLogs`` over ``[from_block, to_block]`` in block ranges the provider accepts.

    Starts with ``chunk`` blocks per request, halves the range when the provider refuses it (range or
    result-size limits) and grows it again after successes.

    Raises:
        the provider's error when even ``min_chunk`` blocks are refused.
    """
    addresses = to_checksum_address(address) if isinstance(address, str) else [to_checksum_address(a) for a in address]
    logs: list[Any] = []
    start, size = from_block, max(chunk, 1)
    while start <= to_block:
        end = min(start + size - 1, to_block)
        try:
            query: FilterParams = {"address": addresses, "topics": topics, "fromBlock": start, "toBlock": end}
            logs += w3.eth.get_logs(query)
        except Exception:
            if size <= min_chunk:
                raise
            size //= 2
            continue
        start = end + 1
        size = min(size * 2, chunk)
    return logs
