"""The in-memory transaction journal: :class:`~nvm_chain.chain.tx.journal.Journal` kept in Python dicts.

An in-memory journal belongs to one object of one process (the journals of the embedded chains, which die with
them), so nothing else writes it and it needs no database: each write is a few dict operations under the
journal's lock (with the signed row's checks, less than half of an in-memory SQLite database's write:
``scripts/bench_journal.py --only memory``). It keeps the same rows
(the ``txs`` columns, in order), answers every method as the SQLite journal does (the journal tests run on both),
and undoes a failed write completely, as a rolled-back transaction would. Like an in-memory database, it starts
empty in a forked child and after :meth:`close`.
"""

from __future__ import annotations

import builtins
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nvm_chain.chain.tx.journal import (
    _JOURNALS,
    HOLDING,
    PENDING,
    Journal,
    JournalEntry,
    _address,
    _chain_id,
    _entry,
    _intent_prefix,
    _listing,
    _nonce,
    _tx_hash,
)
from nvm_chain.errors import JournalError

# positions in a row (the ``txs`` columns, then the insertion order standing for SQLite's rowid)
_HASH, _NONCE, _RAW, _INTENT, _STATUS = 0, 1, 2, 7, 11
_REPLACED_BY, _BLOCK, _BLOCK_HASH, _GAS_USED, _DETAIL, _CREATED, _UPDATED, _SENT, _ROWID = range(13, 22)
_COLUMN_COUNT = 21
Row = list[Any]


class MemoryJournal(Journal):
    """A :class:`Journal` of one account on one chain held in memory by this object (thread-safe)."""

    def __init__(self, chain_id: int, address: str):
        """An empty journal of ``address`` on ``chain_id``.

        Raises:
            ValidationError: bad chain id or address.
        """
        self.path = Path(":memory:")
        self.chain_id = _chain_id(chain_id)
        self.address = _address(address)
        self.timeout = 30.0
        self.stale_after = None
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._intent_prefix = _intent_prefix(self.chain_id, self.address)
        self._undo: list[Callable[[], None]] | None = None  # inside a write: how to take each change back
        self._forget()
        _JOURNALS.add(self)

    def _forget(self) -> None:
        """Start empty."""
        self._rows: dict[str, Row] = {}  # by hash
        self._nonces: dict[int, list[Row]] = {}  # by nonce, in insertion order
        self._intents: dict[str, list[Row]] = {}  # by intent key, in insertion order
        self._reserved: dict[int, tuple[str, int, float]] = {}  # nonce → host, pid, created
        self._top = -1  # the highest nonce of any row
        self._count = 0  # rows inserted: the next row's place in insertion order

    def close(self) -> None:
        """Forget everything, as closing an in-memory database does."""
        with self._lock:
            self._forget()

    def _after_fork(self) -> None:
        self._pid = os.getpid()
        self._forget()

    # ------------------------------------------------------------------ the storage Journal's writes use

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self._lock:
            outer, self._undo = self._undo, []
            try:
                yield None
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            else:
                if outer is not None:  # a write inside a write: taken back with the outer one
                    outer.extend(self._undo)
            finally:
                self._undo = outer

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._lock:
            yield None

    def _remember(self, undo: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(undo)

    def _change(self, row: Row, changes: dict[int, Any]) -> None:
        before = row.copy()
        for position, value in changes.items():
            row[position] = value
        self._remember(lambda: row.__setitem__(slice(None), before))

    def _unreserve(self, db: Any, nonce: int) -> None:
        held = self._reserved.pop(nonce, None)
        if held is not None:
            self._remember(lambda: self._reserved.__setitem__(nonce, held))

    def _reserve(self, db: Any, picked: builtins.list[int]) -> builtins.list[int]:
        now = time.time()
        for nonce in picked:
            self._reserved[nonce] = (self._host, self._pid, now)

        def undo() -> None:
            for n in picked:
                del self._reserved[n]

        self._remember(undo)
        return picked

    def _align(self, db: Any, floor: int, cutoff: float | None,
               since: float | None) -> tuple[builtins.list[str], set[int], builtins.list[str]]:
        now = time.time()
        held = set()
        for nonce, (host, pid, created) in builtins.list(self._reserved.items()):
            if (cutoff is not None and nonce < floor) or self._abandoned(host, pid, created, now):
                self._unreserve(db, nonce)
            elif nonce >= floor:
                held.add(nonce)
        dropped: builtins.list[Row] = []
        lost: builtins.list[str] = []
        for nonce in range(floor, self._top + 1):
            for row in self._nonces.get(nonce, ()):
                status = row[_STATUS]
                if status not in HOLDING:
                    continue
                if cutoff is not None and status in ("mined", "reverted") and row[_UPDATED] <= cutoff:
                    dropped.append(row)
                    continue
                held.add(nonce)
                stamp = row[_SENT] if row[_SENT] is not None else row[_CREATED]
                if since is not None and stamp < since and status in PENDING:
                    lost.append(row[_HASH])
        for row in dropped:
            self._change(row, {_STATUS: "dropped", _UPDATED: time.time(),
                               _DETAIL: f"dropped by a reorg, not mined (node count {floor})"})
        return [row[_HASH] for row in dropped], held, lost

    def _insert(self, db: Any, row: tuple[object, ...], *, read_back: bool) -> JournalEntry | None:
        existing = self._rows.get(str(row[_HASH]))
        if existing is None:
            self._count += 1
            stored: Row = [*row, self._count]
            lists = (self._nonces.setdefault(stored[_NONCE], []), self._intents.setdefault(stored[_INTENT], []))
            for rows in lists:
                rows.append(stored)
            self._rows[stored[_HASH]] = stored
            self._top = max(self._top, stored[_NONCE])

            def undo() -> None:
                del self._rows[stored[_HASH]]
                for rows in lists:
                    rows.remove(stored)

            self._remember(undo)
            return _entry(row) if read_back else None
        if existing[_STATUS] in HOLDING:
            raise JournalError(f"transaction {existing[_HASH]} is already recorded as {existing[_STATUS]}")
        self._change(existing, {_STATUS: "signed", _REPLACED_BY: None, _BLOCK: None, _BLOCK_HASH: None,
                                _GAS_USED: None, _DETAIL: None, _UPDATED: row[_UPDATED]})
        return _as_entry(existing) if read_back else None

    def _set_status(self, db: Any, params: tuple[object, ...]) -> bool:
        tx_hash, status, now, block_number, block_hash, gas_used, detail, stamp, final = params
        row = self._rows.get(str(tx_hash))
        if row is None:
            return False
        for other in self._nonces[row[_NONCE]]:
            if other is row:
                self._change(row, {
                    _STATUS: status, _UPDATED: now,
                    _BLOCK: row[_BLOCK] if block_number is None else block_number,
                    _BLOCK_HASH: row[_BLOCK_HASH] if block_hash is None else block_hash,
                    _GAS_USED: row[_GAS_USED] if gas_used is None else gas_used,
                    _DETAIL: row[_DETAIL] if detail is None else detail,
                    _SENT: now if stamp and row[_SENT] is None else row[_SENT],
                    _REPLACED_BY: None if final else row[_REPLACED_BY]})
            elif final and other[_STATUS] in HOLDING:
                self._change(other, {_STATUS: "replaced", _UPDATED: now, _REPLACED_BY: tx_hash})
        return True

    def _set_status_now(self, params: tuple[object, ...]) -> bool:
        with self._lock:
            return self._set_status(None, params)

    def _get(self, db: Any, tx_hash: str) -> JournalEntry | None:
        row = self._rows.get(tx_hash)
        return None if row is None else _as_entry(row)

    # ------------------------------------------------------------------ the methods that read or write SQL directly

    def release_nonce(self, nonce: int) -> None:  # noqa: D102 - as Journal.release_nonce
        nonce = _nonce(nonce, "nonce")
        with self._write() as db:
            rows = self._nonces.get(nonce, [])
            for row in rows:
                if row[_STATUS] in ("sent", "maybe_sent", "mined", "reverted"):
                    raise JournalError(f"nonce {nonce} cannot be released: transaction {row[_HASH]} is "
                                       f"{row[_STATUS]}")
            self._unreserve(db, nonce)
            now = time.time()
            for row in rows:
                if row[_STATUS] == "signed":
                    self._change(row, {_STATUS: "not_sent", _UPDATED: now})

    def reservations(self) -> builtins.list[int]:  # noqa: D102 - as Journal.reservations
        with self._lock:
            return sorted(self._reserved)

    def by_nonce(self, nonce: int) -> builtins.list[JournalEntry]:  # noqa: D102 - as Journal.by_nonce
        nonce = _nonce(nonce, "nonce")
        with self._lock:
            return _entries(sorted(self._nonces.get(nonce, ()), key=_by_age))

    def pending(self) -> builtins.list[JournalEntry]:  # noqa: D102 - as Journal.pending
        with self._lock:
            return _entries(sorted((r for r in self._rows.values() if r[_STATUS] in PENDING),
                                   key=lambda r: (r[_NONCE], *_by_age(r))))

    def quiet_pending(self, min_nonce: int, since: float) -> builtins.list[str]:  # noqa: D102 - as Journal's
        min_nonce = _nonce(min_nonce, "nonce")
        with self._lock:
            return [r[_HASH] for n in range(min_nonce, self._top + 1)
                    for r in sorted(self._nonces.get(n, ()), key=_by_age)
                    if r[_STATUS] in PENDING and (r[_SENT] if r[_SENT] is not None else r[_CREATED]) < since]

    def find_pending_intent(self, key: str) -> JournalEntry | None:  # noqa: D102 - as Journal's
        with self._lock:
            found = [r for r in self._intents.get(key, ()) if r[_STATUS] in PENDING]
            return _as_entry(max(found, key=_by_age)) if found else None

    def recorded_bytes(self, tx_hash: str) -> bytes | None:  # noqa: D102 - as Journal.recorded_bytes
        tx_hash = _tx_hash(tx_hash)
        with self._lock:
            row = self._rows.get(tx_hash)
            return bytes.fromhex(row[_RAW]) if row is not None and row[_SENT] is not None else None

    def list(self, limit: int = 50, status: str | Iterable[str] | None = None) -> builtins.list[JournalEntry]:  # noqa: D102
        wanted = _listing(limit, status)
        with self._lock:
            rows = [r for r in self._rows.values() if not wanted or r[_STATUS] in wanted]
            return _entries(sorted(rows, key=_by_age, reverse=True)[:limit])


def _by_age(row: Row) -> tuple[float, int]:
    return row[_CREATED], row[_ROWID]


def _as_entry(row: Row) -> JournalEntry:
    return _entry(tuple(row[:_COLUMN_COUNT]))


def _entries(rows: Iterable[Row]) -> builtins.list[JournalEntry]:
    return [_as_entry(r) for r in rows]
