"""Event scans: the logs of a filter over a block range, from the on-disk index where the range was scanned
before and from the node elsewhere (chain access; never signs or sends).

A :class:`LogScanner` serves one operation: it reads the head once, checks the index's checkpoint once
(:mod:`nvm_chain.chain.logindex`), then for each :class:`LogQuery` fetches only the block ranges the index lacks,
in chunks the provider accepts (:mod:`nvm_chain.chain.getlogs`), and records what it fetched below
``head - confirmations`` as the chunks arrive (written every ``flush_every`` seconds and when a scan ends,
fails or is interrupted, so that it keeps its progress). The unconfirmed
tail is fetched every time and never recorded. ``progress(done, total)`` (blocks fetched from the node, out of
those to fetch) is called before the first request and after each chunk.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from nvm_chain.chain.getlogs import ChunkSizer, get_logs_chunked
from nvm_chain.chain.logindex import LogIndex, Range, intersect_ranges, subtract_ranges
from nvm_chain.chain.rpc import RetryPolicy
from nvm_chain.errors import ScanIndexWarning

#: blocks below the head that are never recorded in the index (re-scanned every time); Base's unsafe head
#: rarely reorgs by more than a few blocks
DEFAULT_CONFIRMATIONS = 64

Progress = Callable[[int, int], None]
Log = dict[str, Any]


@dataclass(frozen=True)
class LogQuery:
    """An ``eth_getLogs`` filter: one contract and topic positions (None: any; a tuple: any of these)."""

    address: str
    topics: tuple[str | tuple[str, ...] | None, ...]

    def key(self) -> str:
        """A stable text identifying the filter (the index's key)."""
        topics = [list(t) if isinstance(t, tuple) else t for t in self.topics]
        return json.dumps([self.address.lower(), [_lower(t) for t in topics]], separators=(",", ":"))

    def params(self) -> dict[str, Any]:
        """``address`` and ``topics`` of the ``eth_getLogs`` filter."""
        return {"address": self.address, "topics": [list(t) if isinstance(t, tuple) else t for t in self.topics]}


def _lower(topic: Any) -> Any:
    return [t.lower() for t in topic] if isinstance(topic, list) else topic.lower() if topic else topic


def normalize(log: Any) -> Log:
    """A web3 log as a plain dict: ``address`` (checksummed), ``topics`` (bytes), ``data`` (bytes),
    ``blockNumber``, ``logIndex``, ``blockHash`` and ``transactionHash`` (bytes)."""
    return {"address": to_checksum_address(log["address"]), "topics": [bytes(t) for t in log["topics"]],
            "data": bytes(log["data"]), "blockNumber": int(log["blockNumber"]), "logIndex": int(log["logIndex"]),
            "blockHash": bytes(log["blockHash"]), "transactionHash": bytes(log["transactionHash"])}


def to_record(log: Log) -> dict[str, Any]:
    """A normalized log in JSON-ready form (hex strings)."""
    return {**log, "topics": ["0x" + t.hex() for t in log["topics"]], "data": "0x" + log["data"].hex(),
            "blockHash": "0x" + log["blockHash"].hex(), "transactionHash": "0x" + log["transactionHash"].hex()}


def from_record(record: dict[str, Any]) -> Log:
    """The inverse of :func:`to_record`."""
    return {**record, "topics": [bytes.fromhex(t[2:]) for t in record["topics"]],
            "data": bytes.fromhex(record["data"][2:]), "blockHash": bytes.fromhex(record["blockHash"][2:]),
            "transactionHash": bytes.fromhex(record["transactionHash"][2:])}


def open_index(chain_id: int, genesis: str, state_dir: str | os.PathLike[str] | None = None) -> LogIndex | None:
    """The on-disk index of that chain (:meth:`LogIndex.open`); None, with a :class:`ScanIndexWarning`, when
    the state directory cannot hold it."""
    try:
        return LogIndex.open(chain_id, genesis, state_dir)
    except (OSError, sqlite3.Error) as exc:
        warnings.warn(ScanIndexWarning(f"no log index under the state directory, scanning without it: {exc}"),
                      stacklevel=3)
        return None


class LogScanner:
    """Scans for one operation (see the module notes). ``index`` None: everything comes from the node."""

    def __init__(self, w3: Web3, *, index: LogIndex | None = None, confirmations: int = DEFAULT_CONFIRMATIONS,
                 progress: Progress | None = None, sizer: ChunkSizer | None = None,
                 policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 flush_every: float = 1.0):
        if confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        self.w3, self.index, self.confirmations, self.progress = w3, index, confirmations, progress
        self.sizer, self.policy, self.sleep = sizer or ChunkSizer(), policy, sleep
        self.flush_every, self.clock = flush_every, time.monotonic
        self._pending: dict[str, tuple[list[Range], list[dict[str, Any]]]] = {}
        self._flushed = self.clock()
        self._head: tuple[int, str] | None = None
        self._checked = False
        self._safe_hash: str | None = None

    def scan(self, queries: Sequence[LogQuery], from_block: int, to_block: int | None = None) -> list[list[Log]]:
        """The logs of each query in ``[from_block, to_block]`` (None: the head; a later block is clamped to
        it), each list in block and log order.

        Raises:
            LogScanError: the node refused a range even at the smallest size.
            NodeUnavailableError: rate-limited beyond the retry policy.
            the provider's exception for any other failure.
        """
        head = self._latest()
        end = head if to_block is None else min(to_block, head)
        if from_block > end:
            return [[] for _ in queries]
        self._verify()
        plans: list[tuple[LogQuery, list[Log], list[Range]]] = []
        for query in queries:
            have = self._indexed(query)
            recorded = self._recorded(query, intersect_ranges((from_block, end), have))
            if recorded is None:  # the index failed on the way: fetch everything
                recorded, have = [], []
            plans.append((query, recorded, subtract_ranges((from_block, end), have)))
        total = sum(b - a + 1 for _, _, gaps in plans for a, b in gaps)
        done = 0
        if self.progress is not None and total:
            self.progress(0, total)
        results = []
        for query, logs, gaps in plans:
            for start, stop in gaps:

                def on_chunk(a: int, b: int, chunk: list[Any], query: LogQuery = query, logs: list[Log] = logs) -> None:
                    nonlocal done
                    found = [normalize(log) for log in chunk]
                    logs.extend(found)
                    self._record(query, (a, b), found)
                    done += b - a + 1
                    if self.progress is not None:
                        self.progress(done, total)

                try:
                    get_logs_chunked(self.w3, query.params(), start, stop, sizer=self.sizer, policy=self.policy,
                                     on_chunk=on_chunk, sleep=self.sleep)
                finally:  # what was fetched is kept, even when the scan fails or is interrupted
                    self._flush()
            results.append(sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"])))
        return results

    # ------------------------------------------------------------------ head and index

    def _latest(self) -> int:
        if self._head is None:
            block = self.w3.eth.get_block("latest")
            self._head = (int(block["number"]), _hex(block["hash"]))
        return self._head[0]

    @property
    def _safe(self) -> int:
        return self._latest() - self.confirmations

    def _block_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except Exception:  # noqa: BLE001 - BlockNotFound and its relatives differ between backends
            return None
        return _hex(block["hash"]) if block is not None else None

    def _verify(self) -> None:
        """Forget the index when the chain no longer has its checkpoint block (once per scanner)."""
        if self._checked or self.index is None:
            return
        self._checked = True
        checkpoint = self._use_index(self.index.checkpoint)
        if checkpoint is None:
            return
        number, recorded = checkpoint
        actual = self._block_hash(number) if number <= self._latest() else None
        if actual != recorded:
            self._use_index(self.index.forget)
        elif number == self._safe:
            self._safe_hash = actual

    def _indexed(self, query: LogQuery) -> list[Range]:
        index = self.index
        return [] if index is None else self._use_index(lambda: index.ranges(query.key())) or []

    def _recorded(self, query: LogQuery, ranges: list[Range]) -> list[Log] | None:
        """The recorded logs of ``query`` in ``ranges``; None when the index failed."""
        if self.index is None or not ranges:
            return []
        index = self.index
        records = self._use_index(lambda: index.logs(query.key(), ranges))
        return None if records is None else [from_record(r) for r in records]

    def _record(self, query: LogQuery, scanned: Range, logs: list[Log]) -> None:
        """Queue the confirmed part of a fetched chunk for the index (written once ``flush_every`` seconds have
        passed since the last write, and when the query's scan ends or fails)."""
        safe = self._safe
        if self.index is None or scanned[0] > safe:
            return
        ranges, records = self._pending.setdefault(query.key(), ([], []))
        ranges.append((scanned[0], min(scanned[1], safe)))
        records += [to_record(log) for log in logs if log["blockNumber"] <= safe]
        if self.clock() - self._flushed >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        """Write the queued ranges and logs, with the safe block as checkpoint."""
        pending, self._pending, self._flushed = self._pending, {}, self.clock()
        if self.index is None or not pending:
            return
        if self._safe_hash is None:
            self._safe_hash = self._block_hash(self._safe)
            if self._safe_hash is None:  # the node lost that block meanwhile: record nothing
                return
        index, checkpoint = self.index, (self._safe, self._safe_hash)
        for key, (ranges, records) in pending.items():
            self._use_index(partial(index.record, key, ranges, records, checkpoint))
            if self.index is None:  # it failed: warned once, nothing more to write
                return

    def _use_index(self, action: Callable[[], Any]) -> Any:
        """``action()``; on a storage failure, warn once, drop the index and return None."""
        try:
            return action()
        except (OSError, ValueError, sqlite3.Error) as exc:
            warnings.warn(ScanIndexWarning(f"log index {self.index!r} unusable, scanning without it: {exc}"),
                          stacklevel=4)
            self.index = None
            return None


def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()
