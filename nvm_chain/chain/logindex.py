"""On-disk index of scanned log ranges: what was already fetched, per chain and query (chain access helper).

Where. ``<state>/scans/<chainId>/<genesis hash, 16 hex>.sqlite``, ``<state>`` being the directory of
:func:`nvm_chain.chain.tx.journal.default_state_dir` (``$NVM_STATE_DIR``, else XDG state home, else
``~/.local/state/nvm-chain``). Keying by the genesis hash keeps fresh dev chains, whose chain id repeats, apart.

What. Per query (a filter: address and topics, see :meth:`nvm_chain.chain.logscan.LogQuery.key`): the block
ranges already scanned (disjoint, merged) and the logs found in them. Only confirmed blocks are recorded (the
scanner stops ``confirmations`` blocks below the head and re-scans the tail every time).

Reorgs and stale chains. The index keeps a checkpoint: the number and hash of the highest block recorded.
Before use, :meth:`LogIndex.verify` compares that hash with the chain's block of that number; if the chain no
longer has it (a reorg deeper than the confirmations, or another chain with the same genesis), everything is
forgotten and scanned again. A matching hash vouches for every block below it (each block commits to its
parent).

The file holds public chain data only. SQLite in WAL mode with a busy timeout: several processes may share it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nvm_chain.chain.tx.journal import default_state_dir

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ranges (query TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ranges_by_query ON ranges (query, start);
CREATE TABLE IF NOT EXISTS logs (query TEXT NOT NULL, block INTEGER NOT NULL, log_index INTEGER NOT NULL,
                                 log TEXT NOT NULL, PRIMARY KEY (query, block, log_index));
"""

Range = tuple[int, int]


def index_path(chain_id: int, genesis_hash: str, state_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the index of the chain (``chain_id``, ``genesis_hash`` as 0x-hex) lives (nothing is created)."""
    root = Path(state_dir) if state_dir is not None else default_state_dir()
    return root / "scans" / str(int(chain_id)) / f"{genesis_hash.lower().removeprefix('0x')[:16]}.sqlite"


class LogIndex:
    """The scanned ranges and their logs for one chain. Raises :class:`sqlite3.Error` or :class:`OSError`
    when the file cannot be used (callers fall back to scanning without it)."""

    def __init__(self, path: Path, chain_id: int, genesis_hash: str, *, timeout: float = 30.0):
        """Open (creating if needed) the index at ``path`` for that chain."""
        self.path, self.chain_id, self.genesis_hash = path, int(chain_id), genesis_hash.lower()
        self.timeout = timeout
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        with self._db() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:  # a cache: rebuilt, not migrated
                for statement in ("DROP TABLE IF EXISTS meta", "DROP TABLE IF EXISTS ranges",
                                  "DROP TABLE IF EXISTS logs", *_SCHEMA.split(";"),
                                  f"PRAGMA user_version = {_SCHEMA_VERSION}"):
                    if statement.strip():
                        db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('genesis', ?)", (self.genesis_hash,))
            if self._meta(db, "genesis") != self.genesis_hash:  # same 16-hex prefix, another chain
                self._forget(db)
                db.execute("UPDATE meta SET value = ? WHERE key = 'genesis'", (self.genesis_hash,))

    @classmethod
    def open(cls, chain_id: int, genesis_hash: str, state_dir: str | os.PathLike[str] | None = None) -> LogIndex:
        """The index of that chain under ``state_dir`` (default: the user's state directory)."""
        return cls(index_path(chain_id, genesis_hash, state_dir), chain_id, genesis_hash)

    def __repr__(self) -> str:
        return f"LogIndex(chain_id={self.chain_id}, path={str(self.path)!r})"

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> tuple[int, str] | None:
        """(number, 0x-hash) of the highest block recorded, None when nothing is."""
        with self._db() as db:
            number, block_hash = self._meta(db, "checkpoint_number"), self._meta(db, "checkpoint_hash")
        return (int(number), block_hash) if number is not None and block_hash is not None else None

    def forget(self) -> None:
        """Drop every range, log and the checkpoint (the chain no longer matches)."""
        with self._db() as db:
            self._forget(db)

    # ------------------------------------------------------------------ ranges and logs

    def ranges(self, query: str) -> list[Range]:
        """The block ranges scanned for ``query``, inclusive, sorted and disjoint."""
        with self._db() as db:
            return [(a, b) for a, b in db.execute(
                "SELECT start, stop FROM ranges WHERE query = ? ORDER BY start", (query,))]

    def logs(self, query: str, ranges: Sequence[Range]) -> list[dict[str, Any]]:
        """The recorded logs of ``query`` inside ``ranges``, in block and log order."""
        found: list[dict[str, Any]] = []
        with self._db() as db:
            for start, stop in ranges:
                found += [json.loads(text) for (text,) in db.execute(
                    "SELECT log FROM logs WHERE query = ? AND block BETWEEN ? AND ? ORDER BY block, log_index",
                    (query, start, stop))]
        return found

    def record(self, query: str, scanned: Sequence[Range], logs: Sequence[dict[str, Any]],
               checkpoint: tuple[int, str]) -> None:
        """Add the ``scanned`` ranges of ``query`` with the ``logs`` found in them (JSON-ready dicts with
        ``blockNumber`` and ``logIndex``), and raise the checkpoint to ``checkpoint`` (number, 0x-hash of a
        block at or above every recorded range) when it is higher. One transaction."""
        with self._db() as db:
            db.executemany("INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?)",
                           [(query, log["blockNumber"], log["logIndex"], json.dumps(log)) for log in logs])
            merged = merge_ranges([*self._ranges(db, query), *scanned])
            db.execute("DELETE FROM ranges WHERE query = ?", (query,))
            db.executemany("INSERT INTO ranges VALUES (?, ?, ?)", [(query, a, b) for a, b in merged])
            current = self._meta(db, "checkpoint_number")
            if current is None or int(current) < checkpoint[0]:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [("checkpoint_number", str(checkpoint[0])), ("checkpoint_hash", checkpoint[1])])

    # ------------------------------------------------------------------ internals

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one ``BEGIN IMMEDIATE`` transaction, committed on success, closed after."""
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # a cache: a power cut may lose the last ranges, no more
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _meta(db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _ranges(db: sqlite3.Connection, query: str) -> list[Range]:
        return [(a, b) for a, b in db.execute("SELECT start, stop FROM ranges WHERE query = ?", (query,))]

    @staticmethod
    def _forget(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM ranges")
        db.execute("DELETE FROM logs")
        db.execute("DELETE FROM meta WHERE key IN ('checkpoint_number', 'checkpoint_hash')")


def merge_ranges(ranges: Sequence[Range]) -> list[Range]:
    """Inclusive block ranges sorted, with overlapping and adjacent ones merged."""
    merged: list[Range] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def subtract_ranges(want: Range, have: Sequence[Range]) -> list[Range]:
    """The parts of ``want`` not covered by ``have`` (sorted, disjoint), in order."""
    gaps: list[Range] = []
    cursor, stop = want
    for a, b in merge_ranges(have):
        if b < cursor or a > stop:
            continue
        if a > cursor:
            gaps.append((cursor, a - 1))
        cursor = max(cursor, b + 1)
        if cursor > stop:
            break
    if cursor <= stop:
        gaps.append((cursor, stop))
    return gaps


def intersect_ranges(want: Range, have: Sequence[Range]) -> list[Range]:
    """The parts of ``want`` covered by ``have``, in order."""
    start, stop = want
    return [(max(a, start), min(b, stop)) for a, b in merge_ranges(have) if b >= start and a <= stop]
