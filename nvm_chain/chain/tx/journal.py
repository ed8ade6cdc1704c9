"""Local transaction journal: one SQLite database per (chain id, account), shared by threads and processes.

Design
======

Where. ``<state>/journal/<chainId>/<ChecksumAddress>.sqlite`` where ``<state>`` is ``$NVM_STATE_DIR``, else
``$XDG_STATE_HOME/nvm-chain``, else ``~/.local/state/nvm-chain``. Directories are 0700 and the file 0600 (SQLite
gives its ``-wal``/``-shm`` files the database's mode). WAL mode, ``synchronous=FULL`` and a busy timeout: every
write is one short transaction taking the write lock first (``BEGIN IMMEDIATE``, or a single statement, which SQLite
runs as one), so writers queue instead of failing. The journal holds no
key: only public data (signed bytes, hashes, intent, fees, statuses); its API never takes a signer (``record_next``
calls the caller's function of the nonce and keeps the signed bytes it returns).

States of a signed transaction (table ``txs``, one row per hash; replacements share a nonce)::

    signed      recorded after signing; the bytes are not yet known to have left (a crash right after a
                broadcast can leave a row here: treat it as possibly sent when resuming)
    sent        a node accepted the bytes
    maybe_sent  a transport error after the bytes left: a node may or may not have them
    mined       receipt with status 1          } final, unless a reorg drops them (``resync``)
    reverted    receipt with status 0          } (the nonce is consumed either way)
    dropped     was mined and a reorg removed it, or a node lost it: not mined, nonce free again
    replaced    another transaction with the same nonce was mined instead
    not_sent    refused by the node (or never broadcast): nonce free again

    pending = signed | sent | maybe_sent        holding its nonce = pending | mined | reverted

``sent_at`` is set the first time a row becomes ``sent`` or ``maybe_sent`` and never cleared:
:meth:`Journal.recorded_bytes` returns bytes only for such rows ("adoption only of what we sent": identical
bytes signed by another machine sharing the key are never mistaken for ours).

Nonce reservation (table ``reservations``: nonces handed out and not yet recorded as signed). Inside one
``BEGIN IMMEDIATE`` transaction, given the node's pending count ``n``:

1. forget abandoned reservations (owner process on this host is gone, or older than ``stale_after`` seconds
   without being signed). Reservations below ``n`` are kept: a lagging endpoint may report a lower count
   next time (``resync`` forgets them);
2. ``held`` = reserved nonces ∪ nonces of rows holding their nonce, all ``>= n``;
3. hand out the lowest ``k >= n`` not in ``held``.

Step 3 is ``max(n, highest held + 1)`` when nothing below the top is free, and otherwise the lowest free gap
first: a nonce given back with :meth:`~Journal.release_nonce` (or whose only transaction became
``not_sent``/``dropped``) is handed out again before going higher, so later transactions never queue behind
a hole. Recording a signed transaction turns its reservation into a held row; :meth:`~Journal.record_next` signs
with the nonce of step 3 and records the row inside the same write, so no reservation is written at all. Because
the whole step runs under SQLite's write lock, any number of threads and processes on one key get distinct nonces.
:meth:`~Journal.resync` handles a node count that went backwards (reorg): mined rows at or above it become
``dropped``, which frees their nonces for step 3.

Engine flow (one write): :meth:`~Journal.record_next` reserves the nonce, has the caller sign with it and records
the signed row in ONE write (a failure while signing rolls it back: nothing to release) → broadcast → ``mark(sent)``.
Several at once (a batch, writes kept together): :meth:`~Journal.record_next_all`, the same in one write for all of
them. Callers that sign elsewhere reserve first: ``reserve_nonces(node pending count, k)`` → sign each → ``record``
(turns each reservation into its row); signing failed → ``release_nonce``. Before any of them hands out a nonce,
the pending rows at or above the node's count that were neither sent nor recorded since ``lost_after`` (read in the
same pass as the held nonces, so free when there are none) are given to the caller's refresh outside the write, and
the write is done again. A transport error
after the bytes left → ``mark(maybe_sent)`` and resend the same bytes; a refusal → ``mark(not_sent)`` (frees the
nonce; no release needed); a receipt → ``mark(mined|reverted)``, which stamps ``sent_at`` too with
``broadcast=True`` when the node mined the bytes before answering (an embedded chain's send-if-succeeds: no ``sent``
step). "already known"/"nonce too low" may be adopted as ours only when ``recorded_bytes(hash)`` returns the bytes
just sent (so never on a first attempt, whose row is ``signed``). Resending a ``dropped`` row: ``mark(maybe_sent)``
first, which makes it hold its nonce again.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import re
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self, TypeVar, get_args

from nvm_chain.chain.codec import checksum
from nvm_chain.errors import JournalError, ValidationError
from nvm_chain.protocol.hashing import keccak

Status = Literal["signed", "sent", "maybe_sent", "mined", "reverted", "dropped", "replaced", "not_sent"]
STATUSES: frozenset[str] = frozenset(get_args(Status))
PENDING: frozenset[str] = frozenset({"signed", "sent", "maybe_sent"})
HOLDING: frozenset[str] = PENDING | {"mined", "reverted"}
BROADCAST_MARKS: frozenset[str] = frozenset({"sent", "maybe_sent"})

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    nonce INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    hash TEXT PRIMARY KEY,
    nonce INTEGER NOT NULL,
    raw TEXT NOT NULL,
    to_address TEXT,
    action TEXT NOT NULL,
    value TEXT NOT NULL,
    calldata_hash TEXT NOT NULL,
    intent_key TEXT NOT NULL,
    gas INTEGER NOT NULL,
    max_fee_per_gas TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    status TEXT NOT NULL,
    replaces TEXT,
    replaced_by TEXT,
    block_number INTEGER,
    block_hash TEXT,
    gas_used INTEGER,
    detail TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS txs_nonce ON txs (nonce);
CREATE INDEX IF NOT EXISTS txs_intent ON txs (intent_key);
"""
_COLUMNS = ("hash, nonce, raw, to_address, action, value, calldata_hash, intent_key, gas, max_fee_per_gas, "
            "max_priority_fee_per_gas, status, replaces, replaced_by, block_number, block_hash, gas_used, detail, "
            "created_at, updated_at, sent_at")
_INSERT = f"INSERT INTO txs ({_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMNS.split(',')))})"
_PENDING_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(PENDING)) + ")"
_HOLDING_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(HOLDING)) + ")"
#: a status change in one statement. The row ``?1`` gets status ``?2`` at time ``?3``, with its receipt summary and
#: detail where given (``?4``-``?7``) and ``sent_at`` stamped once when ``?8``; with a final status (``?9``) every
#: other row of its nonce that holds it becomes ``replaced`` by ``?1`` (only one of them can be mined)
_SET_STATUS = f"""UPDATE txs SET
    status = CASE WHEN hash = ?1 THEN ?2 ELSE 'replaced' END,
    updated_at = ?3,
    block_number = CASE WHEN hash = ?1 THEN COALESCE(?4, block_number) ELSE block_number END,
    block_hash = CASE WHEN hash = ?1 THEN COALESCE(?5, block_hash) ELSE block_hash END,
    gas_used = CASE WHEN hash = ?1 THEN COALESCE(?6, gas_used) ELSE gas_used END,
    detail = CASE WHEN hash = ?1 THEN COALESCE(?7, detail) ELSE detail END,
    sent_at = CASE WHEN hash = ?1 AND ?8 THEN COALESCE(sent_at, ?3) ELSE sent_at END,
    replaced_by = CASE WHEN hash != ?1 THEN ?1 WHEN ?9 THEN NULL ELSE replaced_by END
WHERE nonce = (SELECT nonce FROM txs WHERE hash = ?1) AND (hash = ?1 OR (?9 AND status IN {_HOLDING_SQL}))"""
_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_DETAIL_LIMIT = 500
_T = TypeVar("_T")
#: a pending row that may have been lost (``since``, and the caller's refresh of one hash)
Quiet = tuple[float, Callable[[str], object]]


@dataclass(frozen=True)
class Write:
    """A transaction for :meth:`Journal.record_next_all`: ``sign(nonce)`` returns its raw signed bytes and their
    hash; the other fields are what the journal keeps of it (as :meth:`Journal.record` takes them)."""

    sign: Callable[[int], tuple[bytes, str]]
    to: str | None
    value: int
    data: bytes
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    action: str = ""
    intent: bytes = b""


@dataclass(frozen=True)
class JournalEntry:
    """One signed transaction as recorded. Amounts are in wei, times are Unix seconds."""

    hash: str
    nonce: int
    status: str
    to: str | None
    action: str
    value: int
    calldata_hash: str
    intent_key: str
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    replaces: str | None
    replaced_by: str | None
    block_number: int | None
    block_hash: str | None
    gas_used: int | None
    detail: str | None
    created_at: float
    updated_at: float
    sent_at: float | None
    raw: bytes = field(repr=False)

    @property
    def pending(self) -> bool:
        """Not final yet: signed, sent or maybe sent."""
        return self.status in PENDING


def default_state_dir(env: dict[str, str] | None = None) -> Path:
    """``$NVM_STATE_DIR``, else ``$XDG_STATE_HOME/nvm-chain``, else ``~/.local/state/nvm-chain``."""
    env = dict(os.environ) if env is None else env
    if env.get("NVM_STATE_DIR"):
        return Path(env["NVM_STATE_DIR"]).expanduser()
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]).expanduser() / "nvm-chain"
    return Path.home() / ".local" / "state" / "nvm-chain"


def journal_path(chain_id: int, address: str, state_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the journal of ``address`` on ``chain_id`` lives (nothing is created).

    Raises:
        ValidationError: bad chain id or address.
    """
    root = Path(state_dir) if state_dir is not None else default_state_dir()
    return root / "journal" / str(_chain_id(chain_id)) / f"{_address(address)}.sqlite"


def calldata_hash(data: bytes) -> str:
    """0x-hex SHA-256 of calldata."""
    return "0x" + hashlib.sha256(data).hexdigest()


def intent_key(chain_id: int, sender: str, to: str | None, value: int, data: bytes) -> str:
    """0x-hex SHA-256 identifying "the same intent": chain, sender, recipient, value and calldata (not the
    nonce or fees, so a replacement with bumped fees has the intent of the transaction it replaces).

    Raises:
        ValidationError: bad chain id, address or value.
    """
    if value < 0:
        raise ValidationError("value must not be negative")
    return _intent(_intent_prefix(_chain_id(chain_id), _address(sender)), _address(to) if to is not None else None,
                   value, data)


def _intent_prefix(chain_id: int, sender: str) -> str:
    return f"nvm-chain-intent/1|{chain_id}|{sender.lower()}|"


def _intent(prefix: str, to: str | None, value: int, data: bytes) -> str:
    """:func:`intent_key` from the prefix of a checked chain id and sender, a checked recipient and value."""
    text = f"{prefix}{to.lower() if to is not None else 'create'}|{value}|{data.hex()}"
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


class Journal:
    """The transaction journal of one account on one chain. Thread-safe (one connection behind a lock,
    reopened after ``fork``) and process-safe (SQLite locking; each write takes the write lock first)."""

    def __init__(self, path: Path, chain_id: int, address: str, *, timeout: float = 30.0,
                 stale_after: float | None = 600.0):
        """Open the database at ``path`` (prefer :meth:`open`). ``timeout`` bounds each wait for another
        writer; a reservation older than ``stale_after`` seconds that was never signed is abandoned.

        Raises:
            JournalError: the file cannot be created or opened, or belongs to another chain or account.
        """
        self.path = path
        self.chain_id = _chain_id(chain_id)
        self.address = _address(address)
        self.timeout = timeout
        self.stale_after = stale_after
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._intent_prefix = _intent_prefix(self.chain_id, self.address)
        _JOURNALS.add(self)
        self._connect()

    @classmethod
    def open(cls, chain_id: int, address: str, state_dir: str | os.PathLike[str] | None = None, *,
             timeout: float = 30.0, stale_after: float | None = 600.0) -> Journal:
        """Open (creating if needed) the journal of ``address`` on ``chain_id`` under ``state_dir``
        (default :func:`default_state_dir`).

        Raises:
            ValidationError: bad chain id or address.
            JournalError: the directory or file cannot be created or opened.
        """
        path = journal_path(chain_id, address, state_dir)
        root = Path(state_dir) if state_dir is not None else default_state_dir()
        try:
            _private_dirs(root, path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot create the transaction journal {path}: {exc.strerror}") from None
        return cls(path, chain_id, address, timeout=timeout, stale_after=stale_after)

    @classmethod
    def in_memory(cls, chain_id: int, address: str) -> Journal:
        """A journal that lives as long as this object (for throw-away chains such as the embedded ones, whose
        chain id repeats across fresh chains): a :class:`~nvm_chain.chain.tx.memory_journal.MemoryJournal`.

        Raises:
            ValidationError: bad chain id or address.
        """
        from nvm_chain.chain.tx.memory_journal import MemoryJournal  # noqa: PLC0415 - it builds on this module

        return MemoryJournal(chain_id, address)

    def __repr__(self) -> str:
        return f"Journal(chain_id={self.chain_id}, address={self.address}, path={str(self.path)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (further calls reopen it)."""
        with self._lock:
            if self._conn is not None:  # never the parent's after a fork (see _forget_connections)
                self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ nonces

    def reserve_nonce(self, node_pending_count: int, *, fetched_at: float | None = None) -> int:
        """Reserve the next nonce: the lowest one at or above ``node_pending_count`` that no live reservation
        and no transaction holding its nonce uses (see the module notes). Give it back with
        :meth:`release_nonce` if it is never broadcast; :meth:`record_signed` turns it into a held row.

        Raises:
            ValidationError: negative count.
            JournalError: the database is unusable or stayed locked past ``timeout``.
        """
        return self.reserve_nonces(node_pending_count, 1, fetched_at=fetched_at)[0]

    def reserve_nonces(self, node_pending_count: int, count: int, *, fetched_at: float | None = None,
                       quiet: Quiet | None = None) -> builtins.list[int]:
        """Reserve ``count`` nonces at once (lowest free first, so gaps are filled; ascending). With
        ``fetched_at`` (``time.time()`` taken just before the count was read) the same write first does what
        :meth:`resync` does, so a count that went backwards (reorg) frees the nonces it dropped. With
        ``quiet=(since, refresh)`` the rows :meth:`quiet_pending` would return are first given to ``refresh``
        (outside the write, by nonce), then the nonces are reserved.

        Raises:
            ValidationError: negative node count or ``count < 1``.
            JournalError: as for :meth:`reserve_nonce`.
        """
        floor = _nonce(node_pending_count, "node pending count")
        if count < 1:
            raise ValidationError("count must be at least 1")
        return self._next_nonces(floor, count, fetched_at, quiet, self._reserve)

    def record_next(self, node_pending_count: int, sign: Callable[[int], tuple[bytes, str]], *, to: str | None,
                    value: int, data: bytes, gas: int, max_fee_per_gas: int, max_priority_fee_per_gas: int,
                    action: str = "", intent: bytes = b"", fetched_at: float | None = None,
                    quiet: Quiet | None = None) -> tuple[int, bytes, str]:
        """Take the next nonce as :meth:`reserve_nonces` does, call ``sign(nonce)`` (→ raw signed bytes and their
        hash) and record the result as :meth:`record` does, all in one write: no reservation is left behind, and
        an exception from ``sign`` (or a bad result) rolls everything back. ``sign`` runs under the write lock:
        keep it local (no network, no use of this journal). Returns the nonce, the raw bytes and the hash.

        Raises:
            ValidationError, JournalError: as for :meth:`reserve_nonces` and :meth:`record`.
        """
        write = Write(sign, to, value, data, gas, max_fee_per_gas, max_priority_fee_per_gas, action, intent)
        return self.record_next_all(node_pending_count, [write], fetched_at=fetched_at, quiet=quiet)[0]

    def record_next_all(self, node_pending_count: int, writes: Sequence[Write], *, fetched_at: float | None = None,
                        quiet: Quiet | None = None) -> builtins.list[tuple[int, bytes, str]]:
        """:meth:`record_next` for several transactions in one write: the ``len(writes)`` nonces
        :meth:`reserve_nonces` would hand out, ascending, each signed by its write and recorded; an exception from
        any ``sign`` rolls them all back. Returns (nonce, raw bytes, hash) per write, in order.

        Raises:
            ValidationError, JournalError: as for :meth:`reserve_nonces` and :meth:`record`.
        """
        Signed = builtins.list[tuple[int, bytes, str]]

        def sign_and_record(db: sqlite3.Connection, picked: builtins.list[int]) -> Signed:
            done: Signed = []
            for nonce, w in zip(picked, writes):
                raw, tx_hash = w.sign(nonce)
                row = self._row(tx_hash, nonce, raw, w.to, w.value, w.data, w.gas, w.max_fee_per_gas,
                                w.max_priority_fee_per_gas, w.action, None, w.intent)
                self._insert(db, row, read_back=False)
                done.append((nonce, raw, str(row[0])))
            return done

        if not writes:
            raise ValidationError("nothing to record")
        return self._next_nonces(_nonce(node_pending_count, "node pending count"), len(writes), fetched_at, quiet,
                                 sign_and_record)

    def _next_nonces(self, floor: int, count: int, fetched_at: float | None, quiet: Quiet | None,
                     then: Callable[[sqlite3.Connection, builtins.list[int]], _T]) -> _T:
        """In one write: align (see :meth:`_align`), pick the ``count`` lowest free nonces ``>= floor`` and return
        ``then(db, picked)``. Quiet rows found first are refreshed outside the write, and the write done again."""
        since = quiet[0] if quiet is not None else None
        while True:
            with self._write() as db:
                held, lost = self._align(db, floor, fetched_at, since)[1:]
                if not lost:
                    picked: builtins.list[int] = []
                    candidate = floor
                    while len(picked) < count:
                        if candidate not in held:
                            picked.append(candidate)
                        candidate += 1
                    return then(db, picked)
            assert quiet is not None
            for tx_hash in lost:
                quiet[1](tx_hash)
            since = None  # refreshed: a row the node still has stays pending and is not asked about again

    def release_nonce(self, nonce: int) -> None:
        """Give back a nonce that was never broadcast: its reservation is dropped and its transactions still
        ``signed`` become ``not_sent``, so the next reservation hands it out again before going higher.

        Raises:
            ValidationError: negative nonce.
            JournalError: a transaction with this nonce is sent, maybe sent, mined or reverted (it holds it).
        """
        nonce = _nonce(nonce, "nonce")
        with self._write() as db:
            out = db.execute("SELECT hash, status FROM txs WHERE nonce = ? AND status IN (?, ?, ?, ?)",
                             (nonce, "sent", "maybe_sent", "mined", "reverted")).fetchone()
            if out:
                raise JournalError(f"nonce {nonce} cannot be released: transaction {out[0]} is {out[1]}")
            self._unreserve(db, nonce)
            db.execute("UPDATE txs SET status = 'not_sent', updated_at = ? WHERE nonce = ? AND status = 'signed'",
                       (time.time(), nonce))

    def resync(self, node_count: int, *, fetched_at: float | None = None) -> builtins.list[str]:
        """Align with a node whose pending count is ``node_count`` (call it when the count went backwards,
        e.g. after a reorg): transactions recorded ``mined``/``reverted`` at a nonce ``>= node_count`` become
        ``dropped`` (their nonces are free again); reservations below ``node_count`` and abandoned ones are
        forgotten. ``fetched_at`` (``time.time()`` taken just before the count was read) protects rows marked
        mined after that moment by another process. Returns the hashes marked dropped.

        Raises:
            ValidationError: negative count.
            JournalError: the database is unusable.
        """
        floor = _nonce(node_count, "node count")
        with self._write() as db:
            return self._align(db, floor, time.time() if fetched_at is None else fetched_at, None)[0]

    def _align(self, db: sqlite3.Connection, floor: int, cutoff: float | None,
               since: float | None) -> tuple[builtins.list[str], set[int], builtins.list[str]]:
        """Forget abandoned reservations and, with a ``cutoff`` (resync), those below ``floor`` and the mined
        rows at or above it recorded before ``cutoff`` (marked dropped). Returns the hashes dropped, the nonces
        ``>= floor`` still held by a reservation or a transaction and, with ``since``, the hashes of the pending
        rows ``>= floor`` quiet since then (:meth:`quiet_pending`), by nonce. Two reads, writes only when needed."""
        now = time.time()
        forget, held = [], set()
        for nonce, host, pid, created in db.execute("SELECT nonce, host, pid, created_at FROM reservations"):
            if (cutoff is not None and nonce < floor) or self._abandoned(host, pid, created, now):
                forget.append((nonce,))
            elif nonce >= floor:
                held.add(nonce)
        if forget:
            db.executemany("DELETE FROM reservations WHERE nonce = ?", forget)
        dropped, lost = [], []
        for nonce, tx_hash, status, updated, stamp in db.execute(  # "+status": by the nonce index, not every mined row
                "SELECT nonce, hash, status, updated_at, COALESCE(sent_at, created_at) FROM txs "
                f"WHERE nonce >= ? AND +status IN {_HOLDING_SQL} ORDER BY nonce, rowid", (floor,)):
            if cutoff is not None and status in ("mined", "reverted") and updated <= cutoff:
                dropped.append(tx_hash)
                continue
            held.add(nonce)
            if since is not None and stamp < since and status in PENDING:
                lost.append(tx_hash)
        if dropped:
            db.executemany("UPDATE txs SET status = 'dropped', detail = ?, updated_at = ? WHERE hash = ?",
                           [(f"dropped by a reorg, not mined (node count {floor})", time.time(), h) for h in dropped])
        return dropped, held, lost

    def reservations(self) -> builtins.list[int]:
        """Nonces currently reserved and not yet signed (ascending; abandoned ones included until the next
        write forgets them)."""
        with self._read() as db:
            return [n for (n,) in db.execute("SELECT nonce FROM reservations ORDER BY nonce")]

    # ------------------------------------------------------------------ transactions

    def record_signed(self, *, tx_hash: str, nonce: int, raw: bytes, to: str | None, value: int, data: bytes,
                      gas: int, max_fee_per_gas: int, max_priority_fee_per_gas: int, action: str = "",
                      replaces: str | None = None, intent: bytes = b"") -> JournalEntry:
        """Record a signed transaction (status ``signed``) before it is broadcast; its nonce's reservation
        becomes this held row. ``replaces`` is the hash of the transaction it speeds up or cancels; ``intent``
        stands for the calldata in its :func:`intent_key` when given (e.g. an order without its random seed). Recording
        the same bytes again after they became ``not_sent``/``dropped`` resets them to ``signed``.

        Raises:
            ValidationError: ``tx_hash`` is not the keccak of ``raw``, or a bad nonce, address or amount.
            JournalError: the same hash is already recorded and still holds its nonce.
        """
        entry = self._record(tx_hash, nonce, raw, to, value, data, gas, max_fee_per_gas, max_priority_fee_per_gas,
                             action, replaces, intent, read_back=True)
        assert entry is not None
        return entry

    def record(self, *, tx_hash: str, nonce: int, raw: bytes, to: str | None, value: int, data: bytes, gas: int,
               max_fee_per_gas: int, max_priority_fee_per_gas: int, action: str = "", replaces: str | None = None,
               intent: bytes = b"") -> None:
        """What :meth:`record_signed` does, without building the entry (the engine's path).

        Raises:
            ValidationError, JournalError: as for :meth:`record_signed`.
        """
        self._record(tx_hash, nonce, raw, to, value, data, gas, max_fee_per_gas, max_priority_fee_per_gas, action,
                     replaces, intent, read_back=False)

    def _record(self, tx_hash: str, nonce: int, raw: bytes, to: str | None, value: int, data: bytes, gas: int,
                max_fee_per_gas: int, max_priority_fee_per_gas: int, action: str, replaces: str | None,
                intent: bytes, *, read_back: bool) -> JournalEntry | None:
        row = self._row(tx_hash, nonce, raw, to, value, data, gas, max_fee_per_gas, max_priority_fee_per_gas, action,
                        replaces, intent)
        with self._write() as db:
            entry = self._insert(db, row, read_back=read_back)
            self._unreserve(db, nonce)
        return entry

    def _row(self, tx_hash: str, nonce: int, raw: bytes, to: str | None, value: int, data: bytes, gas: int,
             max_fee_per_gas: int, max_priority_fee_per_gas: int, action: str, replaces: str | None,
             intent: bytes) -> tuple[object, ...]:
        """The checked ``txs`` row of a transaction just signed (status ``signed``)."""
        digest = "0x" + keccak(raw).hex()
        if tx_hash != digest and _tx_hash(tx_hash) != digest:  # a signer's own lowercase hex needs no format check
            raise ValidationError("tx_hash is not the hash of the raw signed bytes")
        tx_hash, nonce = digest, _nonce(nonce, "nonce")
        recipient = _address(to) if to is not None else None
        replaced = _tx_hash(replaces) if replaces is not None else None
        for what, amount in (("value", value), ("gas", gas), ("max_fee_per_gas", max_fee_per_gas),
                             ("max_priority_fee_per_gas", max_priority_fee_per_gas)):
            if amount < 0:
                raise ValidationError(f"{what} must not be negative")
        now = time.time()
        return (tx_hash, nonce, raw.hex(), recipient, action, str(value), calldata_hash(data),
                _intent(self._intent_prefix, recipient, value, intent or data), gas, str(max_fee_per_gas),
                str(max_priority_fee_per_gas), "signed", replaced, None, None, None, None, None, now, now, None)

    def _insert(self, db: sqlite3.Connection, row: tuple[object, ...], *, read_back: bool) -> JournalEntry | None:
        """Insert ``row`` (from :meth:`_row`), or reset to ``signed`` the same bytes recorded before that no longer
        hold their nonce. Returns the entry with ``read_back``."""
        tx_hash = str(row[0])
        try:
            db.execute(_INSERT, row)
            return _entry(row) if read_back else None
        except sqlite3.IntegrityError:  # recorded before (or a bad row: raised again below)
            existing = db.execute("SELECT status FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
            if existing is None:
                raise
            if existing[0] in HOLDING:
                raise JournalError(f"transaction {tx_hash} is already recorded as {existing[0]}") from None
            db.execute("UPDATE txs SET status = 'signed', replaced_by = NULL, block_number = NULL, "
                       "block_hash = NULL, gas_used = NULL, detail = NULL, updated_at = ? WHERE hash = ?",
                       (row[-2], tx_hash))
        return self._get(db, tx_hash) if read_back else None

    def mark(self, tx_hash: str, status: Status, *, block_number: int | None = None, block_hash: str | None = None,
             gas_used: int | None = None, detail: str | None = None, broadcast: bool = False) -> JournalEntry:
        """Set the status of a recorded transaction, with its receipt summary (block, gas) or a short
        ``detail`` (why not sent, the revert's name; never put secrets there). ``sent``/``maybe_sent`` stamp
        ``sent_at`` once, and so does any status with ``broadcast`` (e.g. ``mined`` recorded straight after the
        broadcast, by a node that mined the bytes before answering). ``mined``/``reverted`` turn every other row
        with the same nonce that was pending or mined into ``replaced`` (only one of a nonce's transactions can be
        mined) and name the winner in their ``replaced_by``. Returns the updated entry.

        Raises:
            ValidationError: unknown status, or ``signed`` (only :meth:`record_signed` sets it).
            JournalError: no transaction with that hash is recorded.
        """
        params = self._status_change(tx_hash, status, block_number, block_hash, gas_used, detail, broadcast)
        with self._write() as db:
            entry = self._get(db, str(params[0])) if self._set_status(db, params) else None
            if entry is None:
                raise JournalError(f"transaction {params[0]} is not in the journal")
        return entry

    def set_status(self, tx_hash: str, status: Status, *, block_number: int | None = None,
                   block_hash: str | None = None, gas_used: int | None = None, detail: str | None = None,
                   broadcast: bool = False) -> bool:
        """What :meth:`mark` does, in one statement and without reading the entry back (the engine's path): True
        when done, False (nothing written) when the journal does not have ``tx_hash``.

        Raises:
            ValidationError: as for :meth:`mark`.
            JournalError: the database is unusable or stayed locked past ``timeout``.
        """
        return self._set_status_now(
            self._status_change(tx_hash, status, block_number, block_hash, gas_used, detail, broadcast))

    def _set_status_now(self, params: tuple[object, ...]) -> bool:
        """:meth:`_set_status` as a write of its own (one statement: SQLite makes it a transaction)."""
        return self._write_one(_SET_STATUS, params) > 0

    def _set_status(self, db: sqlite3.Connection, params: tuple[object, ...]) -> bool:
        """Apply a status change (``_SET_STATUS``'s parameters); False when the hash is not recorded."""
        return db.execute(_SET_STATUS, params).rowcount > 0

    def _reserve(self, db: sqlite3.Connection, picked: builtins.list[int]) -> builtins.list[int]:
        """Record ``picked`` as reserved by this process, now; returns them."""
        now = time.time()
        db.executemany("INSERT INTO reservations (nonce, host, pid, created_at) VALUES (?, ?, ?, ?)",
                       [(n, self._host, self._pid, now) for n in picked])
        return picked

    def _unreserve(self, db: sqlite3.Connection, nonce: int) -> None:
        db.execute("DELETE FROM reservations WHERE nonce = ?", (nonce,))

    @staticmethod
    def _status_change(tx_hash: str, status: Status, block_number: int | None, block_hash: str | None,
                       gas_used: int | None, detail: str | None, broadcast: bool) -> tuple[object, ...]:
        """The checked parameters of ``_SET_STATUS``."""
        tx_hash, status = _tx_hash(tx_hash), _mark_status(status)
        return (tx_hash, status, time.time(), block_number, block_hash, gas_used,
                detail[:_DETAIL_LIMIT] if detail is not None else None, broadcast or status in BROADCAST_MARKS,
                status in ("mined", "reverted"))

    def get(self, tx_hash: str) -> JournalEntry | None:
        """The recorded transaction ``tx_hash``, or None.

        Raises:
            ValidationError: not a 32-byte 0x-hex hash.
        """
        tx_hash = _tx_hash(tx_hash)
        with self._read() as db:
            return self._get(db, tx_hash)

    def by_nonce(self, nonce: int) -> builtins.list[JournalEntry]:
        """Every transaction recorded with ``nonce`` (the original and its replacements), oldest first."""
        with self._read() as db:
            return self._select(db, "WHERE nonce = ? ORDER BY created_at, rowid", (_nonce(nonce, "nonce"),))

    def pending(self) -> builtins.list[JournalEntry]:
        """Transactions not final yet (signed, sent, maybe sent), by nonce then age."""
        with self._read() as db:
            return self._select(db, f"WHERE status IN {_PENDING_SQL} ORDER BY nonce, created_at, rowid", ())

    def quiet_pending(self, min_nonce: int, since: float) -> builtins.list[str]:
        """Hashes of the pending transactions with a nonce ``>= min_nonce`` neither sent nor (never sent)
        recorded since ``since`` (Unix seconds), by nonce then age: those a node may have lost."""
        min_nonce = _nonce(min_nonce, "nonce")
        with self._read() as db:
            return [h for (h,) in db.execute(  # "+status": by the nonce index (a node's count is above most rows)
                f"SELECT hash FROM txs WHERE nonce >= ? AND +status IN {_PENDING_SQL} "
                "AND COALESCE(sent_at, created_at) < ? ORDER BY nonce, created_at, rowid", (min_nonce, since))]

    def find_pending_intent(self, key: str) -> JournalEntry | None:
        """The newest pending transaction whose :func:`intent_key` is ``key`` (e.g. an identical order from
        an earlier run that may still be mined), or None."""
        with self._read() as db:
            found = self._select(db, f"WHERE intent_key = ? AND status IN {_PENDING_SQL} "
                                     "ORDER BY created_at DESC, rowid DESC LIMIT 1", (key,))
        return found[0] if found else None

    def recorded_bytes(self, tx_hash: str) -> bytes | None:
        """The raw bytes of ``tx_hash`` if this journal recorded broadcasting them (the row was marked
        ``sent`` or ``maybe_sent`` at some point), else None. A node answering "already known" or
        "nonce too low" for these exact bytes is then talking about our own transaction.

        Raises:
            ValidationError: not a 32-byte 0x-hex hash.
        """
        tx_hash = _tx_hash(tx_hash)
        with self._read() as db:
            row = db.execute("SELECT raw FROM txs WHERE hash = ? AND sent_at IS NOT NULL", (tx_hash,)).fetchone()
        return bytes.fromhex(row[0]) if row else None

    def list(self, limit: int = 50, status: str | Iterable[str] | None = None) -> builtins.list[JournalEntry]:
        """The newest ``limit`` transactions, optionally only those with ``status`` (one or several).

        Raises:
            ValidationError: unknown status or ``limit < 1``.
        """
        wanted = _listing(limit, status)
        where = f"WHERE status IN ({_marks(wanted)}) " if wanted else ""
        with self._read() as db:
            return self._select(db, where + "ORDER BY created_at DESC, rowid DESC LIMIT ?", (*wanted, limit))

    # ------------------------------------------------------------------ internals

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the transaction journal {self.path}: {exc}") from None
        self._conn, self._pid = conn, os.getpid()
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise JournalError(f"{self.path} was written by a newer nvm-chain (schema {version})")
                if version < _SCHEMA_VERSION:
                    _create_schema(db)
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('chain_id', ?), ('address', ?)",
                               (str(self.chain_id), self.address))
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("chain_id") != str(self.chain_id) or meta.get("address") != self.address:
                raise JournalError(f"{self.path} is the journal of {meta.get('address')} on chain "
                                   f"{meta.get('chain_id')}, not of {self.address} on chain {self.chain_id}")
            return conn
        except BaseException as exc:
            self._conn = None
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"cannot open the transaction journal {self.path}: {exc}") from None
            raise

    def _wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. Another process creating the same journal at the same moment can hold the lock this
        needs, and SQLite does not wait for it here: retry until ``timeout``."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _after_fork(self) -> None:
        self._conn = None

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn  # None after close, and in a forked child (see _forget_connections)
        return conn if conn is not None else self._connect()

    def _write_one(self, sql: str, params: tuple[object, ...]) -> int:
        """Run one statement that is the whole change: SQLite makes it a transaction of its own, which takes the
        write lock first (waiting up to ``timeout``) as ``BEGIN IMMEDIATE`` does. Returns the rows changed."""
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(sql, params).rowcount
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the transaction journal {self.path}: {exc}") from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise JournalError(f"transaction journal {self.path} is unavailable: {exc}") from None
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise JournalError(f"cannot write the transaction journal {self.path}: {exc}") from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot read the transaction journal {self.path}: {exc}") from None

    def _abandoned(self, host: str, pid: int, created: float, now: float) -> bool:
        """Whether a reservation is abandoned: older than ``stale_after``, or its process on this host is gone."""
        if self.stale_after is not None and now - created > self.stale_after:
            return True
        return host == self._host and pid != self._pid and not _alive(pid)

    def _get(self, db: sqlite3.Connection, tx_hash: str) -> JournalEntry | None:
        found = self._select(db, "WHERE hash = ?", (tx_hash,))
        return found[0] if found else None

    @staticmethod
    def _select(db: sqlite3.Connection, where: str, params: tuple[object, ...]) -> builtins.list[JournalEntry]:
        rows = db.execute(f"SELECT {_COLUMNS} FROM txs {where}", params).fetchall()
        return [_entry(r) for r in rows]


_JOURNALS: weakref.WeakSet[Journal] = weakref.WeakSet()


def _create_schema(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")


def _forget_connections() -> None:
    """In a forked child: never use (nor close) the parent's SQLite handles; each journal reconnects when next
    used (an in-memory one to a fresh database: the parent's stays the parent's)."""
    for journal in _JOURNALS:
        journal._after_fork()


os.register_at_fork(after_in_child=_forget_connections)


def _entry(r: tuple) -> JournalEntry:  # type: ignore[type-arg]
    (tx_hash, nonce, raw, to, action, value, cd_hash, key, gas, max_fee, tip, status, replaces, replaced_by,
     block_number, block_hash, gas_used, detail, created, updated, sent) = r
    return JournalEntry(tx_hash, nonce, status, to, action, int(value), cd_hash, key, gas, int(max_fee), int(tip),
                        replaces, replaced_by, block_number, block_hash, gas_used, detail, created, updated, sent,
                        bytes.fromhex(raw))


def _listing(limit: int, status: str | Iterable[str] | None) -> builtins.list[str]:
    """The statuses :meth:`Journal.list` asks for (none: all), checked with its ``limit``.

    Raises:
        ValidationError: unknown status or ``limit < 1``.
    """
    if limit < 1:
        raise ValidationError("limit must be at least 1")
    wanted = [status] if isinstance(status, str) else builtins.list(status or [])
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise ValidationError(f"unknown status {unknown[0]!r}")
    return wanted


def _marks(items: Iterable[object]) -> str:
    return ", ".join("?" for _ in items)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _private_dirs(root: Path, leaf: Path) -> None:
    """Create ``root`` … ``leaf`` as needed; the directories from ``root`` down are made 0700."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = root
    for part in leaf.relative_to(root).parts:
        current = current / part
        current.mkdir(mode=0o700, exist_ok=True)
    current = leaf
    while True:
        if current.stat().st_uid == os.getuid():
            os.chmod(current, 0o700)
        if current == root:
            break
        current = current.parent


def _chain_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError("chain id must be a positive integer")
    return value


def _nonce(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{what} must be a non-negative integer")
    return value


def _address(value: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValidationError("expected a 0x-prefixed 20-byte hex address")
    return checksum(value)


def _mark_status(status: Status) -> Status:
    if status not in STATUSES or status == "signed":
        raise ValidationError(f"cannot mark a transaction {status!r}; use one of "
                              f"{', '.join(sorted(STATUSES - {'signed'}))}")
    return status


def _tx_hash(value: str) -> str:
    text = value.lower() if isinstance(value, str) else ""
    if not _HASH.fullmatch(text):
        raise ValidationError("expected a 0x-prefixed 32-byte hex transaction hash")
    return text
