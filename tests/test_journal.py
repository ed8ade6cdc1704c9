"""The local transaction journal: reservation semantics, states, file safety and real multi-process use."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nvm_chain.chain.tx.journal import (
    Journal,
    Write,
    default_state_dir,
    intent_key,
    journal_path,
)
from nvm_chain.chain.tx.memory_journal import MemoryJournal
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import JournalError, ValidationError
from tests import faults

ROOT = Path(__file__).resolve().parent.parent
KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's 2nd dev key (public)
SIGNER = LocalSigner(KEY)
CHAIN = 31337
TO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SINK = "0x000000000000000000000000000000000000dEaD"


def sign(nonce: int, data: bytes = b"\x01\x02", *, value: int = 0, tip: int = 10**6, to: str = TO) -> tuple[bytes, str]:
    """Really sign an EIP-1559 transaction (no network)."""
    return SIGNER.sign_transaction({"type": 2, "chainId": CHAIN, "nonce": nonce, "gas": 100_000, "to": to,
                                    "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": tip, "value": value,
                                    "data": data})


def record(j: Journal, nonce: int, data: bytes = b"\x01\x02", *, tip: int = 10**6, replaces: str | None = None,
           value: int = 0, to: str = TO):
    raw, tx_hash = sign(nonce, data, tip=tip, value=value, to=to)
    return j.record_signed(tx_hash=tx_hash, nonce=nonce, raw=raw, to=to, value=value, data=data, gas=100_000,
                           max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=tip, action="Test.call",
                           replaces=replaces)


@pytest.fixture
def journal(request, tmp_path):
    """The account's journal on disk; in memory too for tests marked ``both``."""
    if getattr(request, "param", "disk") == "memory":
        yield Journal.in_memory(CHAIN, SIGNER.address)
        return
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        yield j


#: on disk (shared with other processes: every answer is read from the database) and in memory (its own writes
#: are the only ones: it answers some questions from what it knows of them)
both = pytest.mark.parametrize("journal", ["disk", "memory"], indirect=True)


# ---------------------------------------------------------------- location and file safety


def test_state_dir_resolution(tmp_path):
    assert default_state_dir({"NVM_STATE_DIR": "/x/s", "XDG_STATE_HOME": "/y"}) == Path("/x/s")
    assert default_state_dir({"XDG_STATE_HOME": "/y"}) == Path("/y/nvm-chain")
    assert default_state_dir({}) == Path.home() / ".local" / "state" / "nvm-chain"
    path = journal_path(CHAIN, SIGNER.address.lower(), tmp_path)
    assert path == tmp_path / "journal" / "31337" / f"{SIGNER.address}.sqlite"


def test_open_uses_env_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NVM_STATE_DIR", str(tmp_path / "state"))
    with Journal.open(CHAIN, SIGNER.address) as j:
        assert j.path == tmp_path / "state" / "journal" / "31337" / f"{SIGNER.address}.sqlite"
        assert j.reserve_nonce(0) == 0
    assert j.path.exists()


def test_private_modes_and_wal(tmp_path, journal):
    record(journal, journal.reserve_nonce(0))

    def mode(p):
        return stat.S_IMODE(os.stat(p).st_mode)

    assert mode(tmp_path / "journal") == 0o700
    assert mode(tmp_path / "journal" / "31337") == 0o700
    assert mode(journal.path) == 0o600
    for suffix in ("-wal", "-shm"):
        side = Path(str(journal.path) + suffix)
        assert side.exists() and mode(side) == 0o600
    assert journal._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_key_is_never_stored(tmp_path, journal):
    for n in range(3):
        entry = record(journal, journal.reserve_nonce(0), bytes([n]) * 40)
        journal.mark(entry.hash, "sent")
    journal.mark(entry.hash, "mined", block_number=7, gas_used=21_000, detail="ok")
    journal.close()
    key = bytes.fromhex(KEY[2:])
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".sqlite") for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 4096
    for needle in (key, KEY[2:].encode(), KEY[2:].upper().encode(), key.hex().encode("utf-16-le")):
        assert needle not in blob
    assert repr(journal).count(KEY[2:]) == 0 and SIGNER.address in repr(journal)


def test_wrong_file_is_refused(tmp_path, journal):
    journal.close()  # the last connection checkpoints the WAL into the file
    other = tmp_path / "other.sqlite"
    shutil.copyfile(journal.path, other)
    with pytest.raises(JournalError, match="not of"):
        Journal(other, 1, SIGNER.address)


def test_bad_inputs(journal):
    raw, tx_hash = sign(0)
    with pytest.raises(ValidationError):
        journal.record_signed(tx_hash="0x" + "00" * 32, nonce=0, raw=raw, to=TO, value=0, data=b"", gas=1,
                              max_fee_per_gas=1, max_priority_fee_per_gas=1)
    with pytest.raises(ValidationError):
        journal.reserve_nonce(-1)
    with pytest.raises(ValidationError):
        journal.mark(tx_hash, "signed")
    with pytest.raises(ValidationError):
        journal.mark(tx_hash, "bogus")  # type: ignore[arg-type]
    with pytest.raises(JournalError, match="not in the journal"):
        journal.mark(tx_hash, "sent")
    with pytest.raises(ValidationError):
        journal.list(status="nope")
    with pytest.raises(ValidationError):
        Journal.open(CHAIN, "0x1234", journal.path.parent)


# ---------------------------------------------------------------- reservation semantics


@both
def test_reservations_are_consecutive_and_follow_the_node(journal):
    assert [journal.reserve_nonce(0) for _ in range(3)] == [0, 1, 2]
    assert journal.reserve_nonce(10) == 10  # the node knows more (another machine): jump
    assert journal.reserve_nonce(2) == 3  # a stale (lagging) node count: the journal dominates
    assert journal.reservations() == [0, 1, 2, 3, 10]
    assert journal.resync(10) == [] and journal.reservations() == [10]  # the chain consumed 0..9


@both
def test_released_nonce_is_reused_before_going_higher(journal):
    first = [journal.reserve_nonce(5) for _ in range(4)]
    assert first == [5, 6, 7, 8]
    journal.release_nonce(6)
    journal.release_nonce(5)
    assert journal.reserve_nonce(5) == 5  # lowest released first
    assert journal.reserve_nonce(5) == 6
    assert journal.reserve_nonce(5) == 9
    journal.release_nonce(9)  # the newest: plain rollback
    assert journal.reserve_nonce(5) == 9
    journal.release_nonce(7)
    assert journal.reserve_nonce(8) == 10  # released 7 is below the node's count now: not reused
    assert journal.reserve_nonces(8, 3) == [11, 12, 13]


@both
def test_signed_transactions_hold_their_nonce_until_final(journal):
    entries = [record(journal, journal.reserve_nonce(0), bytes([n])) for n in range(4)]
    assert journal.reservations() == []  # recording turned the reservations into held rows
    assert journal.reserve_nonce(0) == 4
    journal.release_nonce(4)
    journal.mark(entries[0].hash, "sent")
    journal.mark(entries[0].hash, "mined", block_number=1, gas_used=50_000)
    journal.mark(entries[1].hash, "reverted", block_number=1)
    journal.mark(entries[2].hash, "not_sent", detail="underpriced")  # refused: its nonce is free again
    journal.mark(entries[3].hash, "maybe_sent")
    assert journal.reserve_nonce(0) == 2
    assert journal.reserve_nonce(0) == 4
    with pytest.raises(JournalError, match="is maybe_sent"):
        journal.release_nonce(3)
    signed = record(journal, journal.reserve_nonce(0))
    journal.release_nonce(signed.nonce)  # signed, never broadcast: released and marked not sent
    assert journal.get(signed.hash).status == "not_sent"
    assert journal.reserve_nonce(0) == signed.nonce


@both
def test_rerecording_identical_bytes(journal):
    entry = record(journal, journal.reserve_nonce(0))
    with pytest.raises(JournalError, match="already recorded as signed"):
        record(journal, 0)
    journal.mark(entry.hash, "not_sent")
    again = record(journal, journal.reserve_nonce(0))  # same nonce, same fees: the same bytes and hash
    assert again.hash == entry.hash and again.status == "signed" and again.detail is None


@both
def test_resync_after_a_reorg_drops_mined_rows_and_frees_their_nonces(journal):
    entries = [record(journal, journal.reserve_nonce(0), bytes([n])) for n in range(5)]
    for e in entries:
        journal.mark(e.hash, "sent")
        journal.mark(e.hash, "mined", block_number=e.nonce + 1)
    before = time.time()
    late = record(journal, journal.reserve_nonce(0), b"late")  # nonce 5, mined after the count was read
    journal.mark(late.hash, "mined", block_number=6)
    assert journal.reserve_nonce(3) == 6  # without resync, a stale count cannot hand out held nonces
    journal.release_nonce(6)
    dropped = journal.resync(3, fetched_at=before)  # the node's count went back to 3
    assert dropped == [entries[3].hash, entries[4].hash]
    assert journal.get(entries[4].hash).status == "dropped"
    assert "reorg" in journal.get(entries[4].hash).detail
    assert journal.get(late.hash).status == "mined"  # protected by fetched_at
    assert journal.get(entries[2].hash).status == "mined"
    assert journal.reserve_nonces(3, 3) == [3, 4, 6]


def test_abandoned_reservations_are_reused(tmp_path, journal):
    script = textwrap.dedent(f"""
        from nvm_chain.chain.tx.journal import Journal
        j = Journal.open({CHAIN}, {SIGNER.address!r}, {str(tmp_path)!r})
        print(j.reserve_nonces(0, 2))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0, 1]"  # that process exited without signing or releasing
    assert journal.reserve_nonce(0) == 0
    journal.stale_after = 0.0  # a live owner that never signed within stale_after is abandoned too
    time.sleep(0.01)
    assert journal.reserve_nonce(0) == 0


# ---------------------------------------------------------------- transactions


@both
def test_replacements_only_one_mined(journal):
    original = record(journal, journal.reserve_nonce(0), b"order")
    journal.mark(original.hash, "sent")
    faster = record(journal, 0, b"order", tip=2 * 10**6, replaces=original.hash)
    journal.mark(faster.hash, "sent")
    cancel = record(journal, 0, b"", tip=3 * 10**6, replaces=original.hash, to=SIGNER.address)
    journal.mark(cancel.hash, "sent")
    assert faster.intent_key == original.intent_key != cancel.intent_key
    assert [e.hash for e in journal.by_nonce(0)] == [original.hash, faster.hash, cancel.hash]
    journal.mark(faster.hash, "mined", block_number=3, block_hash="0x" + "ab" * 32, gas_used=21_000)
    states = {e.hash: (e.status, e.replaced_by) for e in journal.by_nonce(0)}
    assert states == {original.hash: ("replaced", faster.hash), faster.hash: ("mined", None),
                      cancel.hash: ("replaced", faster.hash)}
    journal.mark(cancel.hash, "mined", block_number=3)  # a reorg switched the winner
    assert journal.get(faster.hash).status == "replaced" and journal.get(cancel.hash).replaced_by is None
    assert journal.get(cancel.hash).replaces == original.hash
    assert journal.pending() == []


@both
def test_set_status_is_mark_without_reading_back(journal):
    original = record(journal, journal.reserve_nonce(0), b"order")
    assert journal.set_status(original.hash, "sent") is True
    faster = record(journal, 0, b"order", tip=2 * 10**6, replaces=original.hash)
    assert journal.set_status(faster.hash, "maybe_sent", detail="answer lost") is True
    sent_at = journal.get(faster.hash).sent_at
    assert sent_at is not None and journal.recorded_bytes(faster.hash) == faster.raw
    assert journal.set_status(faster.hash, "mined", block_number=4, gas_used=21_000) is True
    won, lost = journal.get(faster.hash), journal.get(original.hash)
    assert (won.status, won.block_number, won.gas_used, won.detail, won.sent_at) == ("mined", 4, 21_000,
                                                                                    "answer lost", sent_at)
    assert (lost.status, lost.replaced_by) == ("replaced", faster.hash)
    assert journal.set_status("0x" + "11" * 32, "sent") is False  # not ours: nothing written
    assert journal.get("0x" + "11" * 32) is None
    with pytest.raises(ValidationError, match="cannot mark"):
        journal.set_status(won.hash, "signed")


@pytest.mark.parametrize("mined_when_answered", [False, True])
@pytest.mark.parametrize("one_write", [True, False], ids=["record_next", "reserve-then-record"])
def test_one_engine_write_costs_few_statements(journal, mined_when_answered, one_write):
    """record_next → sent → mined as the sender does it (a batch: reserve → record → ...), or → mined-and-sent
    where the node mined the bytes before answering (send-if-succeeds); a statement count, not a timing."""
    for n in range(3):  # history the reservation must not scan
        journal.set_status(record(journal, journal.reserve_nonce(n)).hash, "mined", block_number=n)
    statements: list[str] = []
    journal._connection().set_trace_callback(statements.append)
    fields = dict(to=TO, value=0, data=b"\x01\x02", gas=100_000, max_fee_per_gas=2 * 10**9,
                  max_priority_fee_per_gas=10**6, action="Test.call")
    lost = []
    if one_write:  # the quiet rows are read with the held nonces
        nonce, raw, tx_hash = journal.record_next(3, sign, fetched_at=time.time(), quiet=(time.time(), lost.append),
                                                  **fields)
    else:
        nonce = journal.reserve_nonces(3, 1, fetched_at=time.time(), quiet=(time.time(), lost.append))[0]
        raw, tx_hash = sign(nonce)
        journal.record(tx_hash=tx_hash, nonce=nonce, raw=raw, **fields)
    if not mined_when_answered:
        journal.set_status(tx_hash, "sent")
    journal.set_status(tx_hash, "mined", block_number=9, gas_used=21_000, broadcast=mined_when_answered)
    journal._connection().set_trace_callback(None)
    # was 17 with a separate quiet-pending read, when each status change was a transaction of three or four
    # statements; then 11 with the reservation written and deleted around signing
    assert len(statements) == (5 if one_write else 9) + (1 if mined_when_answered else 2), statements
    assert sum(s == "BEGIN IMMEDIATE" for s in statements) == (1 if one_write else 2)
    assert nonce == 3 and lost == []
    entry = journal.get(tx_hash)
    assert (entry.status, entry.block_number, entry.gas_used) == ("mined", 9, 21_000)
    assert entry.sent_at is not None and journal.recorded_bytes(tx_hash) == raw and journal.reservations() == []


def record_next(j: Journal, count: int, data: bytes = b"\x01\x02", *, quiet=None, signer=None) -> tuple[int, str]:
    """``Journal.record_next`` signing really (``signer(nonce)``, default :func:`sign`); returns nonce and hash."""
    nonce, _, tx_hash = j.record_next(count, signer or (lambda n: sign(n, data)), to=TO, value=0, data=data,
                                      gas=100_000, max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**6,
                                      action="Test.call", quiet=quiet)
    return nonce, tx_hash


@both
def test_record_next_takes_the_lowest_free_nonce_and_records_without_a_reservation(journal):
    assert journal.reserve_nonce(0) == 0  # someone else's reservation, still being signed
    nonce, tx_hash = record_next(journal, 0, b"mint")
    entry = journal.get(tx_hash)
    assert nonce == 1 and (entry.status, entry.nonce, entry.to, entry.action) == ("signed", 1, TO, "Test.call")
    assert entry.raw == sign(1, b"mint")[0] and entry.sent_at is None and journal.recorded_bytes(tx_hash) is None
    assert entry.intent_key == intent_key(CHAIN, SIGNER.address, TO, 0, b"mint")
    assert journal.reservations() == [0]  # none written for nonce 1
    journal.release_nonce(0)
    assert record_next(journal, 0)[0] == 0  # a released nonce is handed out again first
    assert record_next(journal, 0)[0] == 2
    assert record_next(journal, 7)[0] == 7  # the node knows more (another machine): jump
    journal.set_status(tx_hash, "not_sent")  # refused: nonce 1 is free again, and the same bytes become signed
    assert record_next(journal, 0, b"mint") == (1, tx_hash) and journal.get(tx_hash).status == "signed"
    assert [e.nonce for e in journal.pending()] == [0, 1, 2, 7]


@both
def test_record_next_rolls_everything_back_when_signing_fails(journal):
    def unplugged(nonce):
        raise RuntimeError("hardware wallet unplugged")

    with pytest.raises(RuntimeError, match="unplugged"):
        record_next(journal, 0, signer=unplugged)
    with pytest.raises(ValidationError, match="not the hash"):  # bytes and hash that do not match
        record_next(journal, 0, signer=lambda n: (sign(n)[0], sign(n + 1)[1]))
    assert journal.list() == [] and journal.reservations() == []  # nothing recorded, nothing to release
    assert record_next(journal, 0)[0] == 0


@both
def test_record_next_all_signs_and_records_several_in_one_write_or_none_of_them(journal):
    def write(data: bytes, signer=None) -> Write:
        return Write(signer or (lambda n: sign(n, data)), TO, 0, data, 100_000, 2 * 10**9, 10**6, "Test.call")

    def unplugged(nonce):
        raise RuntimeError("hardware wallet unplugged")

    assert journal.reserve_nonce(0) == 0  # someone else's, still being signed
    with pytest.raises(RuntimeError, match="unplugged"):  # the second signature fails: the first is not kept
        journal.record_next_all(0, [write(b"a"), write(b"b", unplugged)])
    assert journal.list() == [] and journal.reservations() == [0]
    done = journal.record_next_all(0, [write(b"a"), write(b"b")])
    assert [(n, raw) for n, raw, _ in done] == [(1, sign(1, b"a")[0]), (2, sign(2, b"b")[0])]
    assert [(e.nonce, e.status) for e in journal.pending()] == [(1, "signed"), (2, "signed")]
    assert journal.reservations() == [0]
    with pytest.raises(ValidationError, match="nothing to record"):
        journal.record_next_all(0, [])


@both
def test_quiet_rows_are_refreshed_outside_the_write_before_a_nonce_is_taken(journal):
    """Pending rows at or above the node's count not sent nor recorded since ``since`` go to ``refresh``
    (outside the write: it asks a node), once; then the nonce is taken with what the refresh recorded."""
    entries = [record(journal, journal.reserve_nonce(0), bytes([n])) for n in range(3)]
    for e in entries:
        journal.mark(e.hash, "sent")
    refreshed = []

    def refresh(tx_hash):  # the node lost nonce 1's write and still has nonce 2's
        assert not _in_write(journal)
        refreshed.append(tx_hash)
        if tx_hash == entries[1].hash:
            journal.mark(tx_hash, "dropped", detail="unknown to the node")

    assert record_next(journal, 1, quiet=(time.time() + 1, refresh))[0] == 1  # nonce 0 is below the node's count
    assert refreshed == [entries[1].hash, entries[2].hash]
    assert record_next(journal, 1, quiet=(entries[2].sent_at, refresh))[0] == 3  # none quiet since then
    assert journal.reserve_nonces(1, 2, quiet=(time.time() + 1, refresh)) == [4, 5]  # the reservation path too
    assert len(refreshed) == 5 and journal.get(entries[2].hash).status == "sent"


def test_a_journal_made_with_the_status_index_still_works(tmp_path):
    """Journals created before the status index was dropped keep it: the same answers."""
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        db = j._connection()
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'txs_status'").fetchone() is None
        db.execute("CREATE INDEX txs_status ON txs (status)")  # as schema 1 first created it
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        first = record_next(j, 0)[1]
        j.mark(first, "mined", block_number=1)
        second = record_next(j, 0)[1]
        assert [e.hash for e in j.pending()] == [second] and [e.hash for e in j.list(status="mined")] == [first]
        assert j._connection().execute("SELECT name FROM sqlite_master WHERE name = 'txs_status'").fetchone()


@both
def test_mined_with_broadcast_is_sent_too_and_without_it_is_not(journal):
    """``broadcast=True`` records a write mined before the node answered as sent as well (its bytes left: they
    can be adopted); a receipt found for bytes never recorded sent does not make them ours."""
    kept = record(journal, journal.reserve_nonce(0))
    assert journal.set_status(kept.hash, "mined", block_number=1, broadcast=True) is True
    entry = journal.get(kept.hash)
    assert entry.status == "mined" and entry.sent_at is not None and journal.recorded_bytes(kept.hash) == kept.raw
    found = record(journal, journal.reserve_nonce(0))
    journal.mark(found.hash, "mined", block_number=2)
    assert journal.get(found.hash).sent_at is None and journal.recorded_bytes(found.hash) is None
    assert journal.mark(found.hash, "mined", broadcast=True).sent_at is not None
    assert journal.set_status("0x" + "11" * 32, "mined", broadcast=True) is False


@both
def test_record_is_record_signed_without_the_entry(journal):
    raw, tx_hash = sign(journal.reserve_nonce(0), b"mint", value=7)
    assert journal.record(tx_hash=tx_hash, nonce=0, raw=raw, to=TO.lower(), value=7, data=b"mint", gas=100_000,
                         max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**6, action="Test.call") is None
    entry = journal.get(tx_hash)
    assert (entry.status, entry.nonce, entry.to, entry.value, entry.raw) == ("signed", 0, TO, 7, raw)
    assert entry.intent_key == intent_key(CHAIN, SIGNER.address, TO, 7, b"mint") and journal.reservations() == []
    with pytest.raises(ValidationError, match="not the hash"):
        journal.record(tx_hash="0x" + "00" * 32, nonce=1, raw=raw, to=TO, value=7, data=b"mint", gas=1,
                      max_fee_per_gas=1, max_priority_fee_per_gas=1)
    with pytest.raises(JournalError, match="already recorded as signed"):
        journal.record(tx_hash=tx_hash, nonce=0, raw=raw, to=TO, value=7, data=b"mint", gas=100_000,
                      max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**6)


@both
def test_quiet_pending_finds_rows_pending_again_with_their_first_stamp(journal):
    """A dropped row resent, or a row not sent recorded again, is pending with the time it was first sent or
    recorded: found as soon as that is before ``since``."""
    first = record(journal, journal.reserve_nonce(0))
    assert journal.quiet_pending(0, first.created_at) == []
    assert journal.quiet_pending(0, first.created_at + 1e-3) == [first.hash]
    journal.set_status(first.hash, "sent")
    journal.set_status(first.hash, "dropped", detail="unknown to the node")
    first_sent = journal.get(first.hash).sent_at
    time.sleep(0.02)
    again = record(journal, journal.reserve_nonce(0), b"again")  # nonce 0 is free again
    journal.set_status(again.hash, "not_sent")
    journal.set_status(first.hash, "maybe_sent")  # resent, and lost again
    journal.set_status(first.hash, "dropped")
    assert journal.quiet_pending(0, time.time() + 1) == []  # nothing pending
    time.sleep(0.02)
    assert record(journal, journal.reserve_nonce(0), b"again").hash == again.hash  # pending again, first stamp kept
    assert journal.quiet_pending(0, again.created_at + 1e-3) == [again.hash]
    assert journal.quiet_pending(0, again.created_at) == []
    journal.set_status(again.hash, "not_sent")
    assert journal.quiet_pending(0, time.time() + 1) == []  # nothing pending
    journal.set_status(first.hash, "maybe_sent")  # resent: pending again, sent before the other one was recorded
    assert journal.get(first.hash).sent_at == first_sent
    assert journal.quiet_pending(0, first_sent + 1e-3) == [first.hash]
    assert journal.quiet_pending(1, time.time() + 1) == []
    journal.set_status(first.hash, "mined", block_number=1)
    assert journal.get(again.hash).status == "not_sent" and journal.quiet_pending(0, time.time() + 1) == []


def _in_write(journal: Journal) -> bool:
    if isinstance(journal, MemoryJournal):
        return journal._undo is not None
    return journal._connection().in_transaction


def test_in_memory_journals_are_separate_and_start_empty():
    other = "0x" + "22" * 20
    a, b = Journal.in_memory(CHAIN, SIGNER.address), Journal.in_memory(1, other)
    for j, chain, address in ((a, CHAIN, SIGNER.address), (b, 1, Journal.in_memory(1, other).address)):
        assert isinstance(j, MemoryJournal) and (j.chain_id, j.address, str(j.path)) == (chain, address, ":memory:")
    entry = record(a, a.reserve_nonce(0))
    assert a.get(entry.hash) is not None and b.get(entry.hash) is None and b.reserve_nonce(0) == 0
    assert Journal.in_memory(CHAIN, SIGNER.address).list() == []


@both
def test_recorded_bytes_only_for_what_we_broadcast(journal):
    entry = record(journal, journal.reserve_nonce(0))
    assert journal.recorded_bytes(entry.hash) is None  # signed, but not known to have left
    journal.mark(entry.hash, "maybe_sent")
    assert journal.recorded_bytes(entry.hash) == entry.raw
    assert journal.get(entry.hash).sent_at is not None
    journal.mark(entry.hash, "sent")
    assert journal.recorded_bytes(entry.hash.upper().replace("0X", "0x")) == entry.raw
    assert journal.recorded_bytes("0x" + "11" * 32) is None


@both
def test_pending_intent_list_and_filters(journal):
    a = record(journal, journal.reserve_nonce(0), b"mint", value=5)
    b = record(journal, journal.reserve_nonce(0), b"burn")
    journal.mark(a.hash, "sent")
    key = intent_key(CHAIN, SIGNER.address.lower(), TO.lower(), 5, b"mint")
    assert a.intent_key == key and a.value == 5 and a.action == "Test.call"
    assert journal.find_pending_intent(key).hash == a.hash
    assert [e.hash for e in journal.pending()] == [a.hash, b.hash]
    journal.mark(a.hash, "mined", block_number=2)
    assert journal.find_pending_intent(key) is None
    assert [e.hash for e in journal.list()] == [b.hash, a.hash]
    assert [e.hash for e in journal.list(status="mined")] == [a.hash]
    assert [e.hash for e in journal.list(1, status=["mined", "signed"])] == [b.hash]
    assert "raw" not in repr(journal.get(a.hash))


def _in_forked_child(work) -> bytes:
    """What ``work()`` returns (as text) when run in a forked child that then exits."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.write(write, str(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    out = os.read(read, 256)
    os.close(read)
    return out


def test_a_forked_child_gets_its_own_connection(journal):
    assert journal.reserve_nonce(0) == 0
    assert _in_forked_child(lambda: journal.reserve_nonce(0)) == b"1"  # not the parent's SQLite handle
    assert journal.reserve_nonce(0) == 1  # the child's reservation died with it: handed out again
    assert journal.reserve_nonce(0) == 2


def test_an_in_memory_journal_starts_empty_in_a_forked_child_and_after_close():
    journal = Journal.in_memory(CHAIN, SIGNER.address)
    assert journal.reserve_nonce(0) == 0
    # the child has a copy of the parent's object, emptied as a fresh in-memory database would be
    assert _in_forked_child(lambda: (journal.reservations(), journal.reserve_nonce(0))) == b"([], 0)"
    assert journal.reservations() == [0] and journal.reserve_nonce(0) == 1  # the parent's stays the parent's
    journal.close()
    assert journal.reservations() == [] and journal.list() == []


def _answers(j: Journal, hashes: list[str], keys: set[str]) -> object:
    """Everything a journal answers, times reduced to whether they are set."""
    def entry(e):
        return None if e is None else (*[getattr(e, f) for f in ("hash", "nonce", "status", "to", "action", "value",
                                                                  "calldata_hash", "intent_key", "gas", "replaces",
                                                                  "replaced_by", "block_number", "block_hash",
                                                                  "gas_used", "detail", "raw")],
                                       e.sent_at is not None)
    top = max([e.nonce for e in j.list(1000)], default=0) + 2
    return ([entry(e) for e in j.list(1000)], [entry(e) for e in j.pending()], j.reservations(),
            [[entry(e) for e in j.by_nonce(n)] for n in range(top)], j.quiet_pending(0, time.time() + 1000),
            [j.quiet_pending(n, 0.0) for n in range(top)], [entry(j.find_pending_intent(k)) for k in sorted(keys)],
            [j.recorded_bytes(h) for h in hashes], [entry(j.get(h)) for h in hashes])


def _random_step(j: Journal, op: int, floor: int, data: bytes, tip: int, count: int, fail: bool, quiet: float,
                 target: str, status: str, cutoff: float) -> object:
    """One journal operation; its answer, or the name of the error it raised."""
    def signing(d: bytes):
        return lambda n: (1 / 0) if fail and d == b"\x09" else sign(n, d, tip=tip)

    try:
        if op == 0:
            return j.reserve_nonces(floor, count)
        if op == 1:
            raw, tx_hash = sign(floor, data, tip=tip)
            return j.record_signed(tx_hash=tx_hash, nonce=floor, raw=raw, to=TO, value=0, data=data, gas=100_000,
                                   max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=tip, action="Test.call").hash
        if op == 2:
            writes = [Write(signing(d), TO, 0, d, 100_000, 2 * 10**9, tip, "Test.call") for d in (data, b"\x09")]
            return j.record_next_all(floor, writes[:count], quiet=(quiet, lambda h: None))
        if op == 3:
            return j.set_status(target, status, block_number=7 if status == "mined" else None, broadcast=True)
        if op == 4:
            return j.mark(target, status, detail="why").status  # type: ignore[arg-type]
        if op == 5:
            return j.release_nonce(floor)
        return j.resync(floor, fetched_at=cutoff)
    except (JournalError, ZeroDivisionError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("seed", range(3))
def test_the_in_memory_journal_answers_as_the_database_does(tmp_path, seed):
    """The same random operations on both kinds of journal: the same answers and errors after each one."""
    rng = random.Random(seed)
    disk, memory = Journal.open(CHAIN, SIGNER.address, tmp_path), Journal.in_memory(CHAIN, SIGNER.address)
    hashes: list[str] = ["0x" + "11" * 32]
    keys: set[str] = set()
    statuses = ["sent", "maybe_sent", "mined", "reverted", "dropped", "replaced", "not_sent"]
    for step in range(150):
        draw = (rng.randrange(7), rng.randrange(8), bytes([rng.randrange(4)]), rng.choice([10**6, 2 * 10**6]),
                rng.randrange(1, 3), rng.random() < 0.2, rng.choice([0.0, time.time() + 1000]), rng.choice(hashes),
                rng.choice(statuses), rng.choice([0.0, time.time() + 1000]))
        outcomes = [_random_step(j, *draw) for j in (disk, memory)]
        assert outcomes[0] == outcomes[1], (step, draw)
        for e in disk.list(1000):
            if e.hash not in hashes:
                hashes.append(e.hash)
            keys.add(e.intent_key)
        assert _answers(disk, hashes, keys) == _answers(memory, hashes, keys), (step, draw)
    assert len(hashes) > 20 and {e.status for e in disk.list(1000)} >= {"signed", "mined", "not_sent"}
    disk.close()


def test_existing_loose_modes_are_tightened(tmp_path):
    folder = tmp_path / "journal" / "31337"
    folder.mkdir(parents=True, mode=0o755)
    path = folder / f"{SIGNER.address}.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    os.chmod(folder, 0o755)
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        assert j.reserve_nonce(0) == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@both
def test_threads_share_one_journal(journal):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: journal.reserve_nonce(0), range(80)))
    assert sorted(got) == list(range(80))


# ---------------------------------------------------------------- several OS processes on one key

_WORKER = textwrap.dedent("""
    import json, os, sys, threading, time
    from nvm_chain.chain.tx.journal import Journal
    from nvm_chain.chain.tx.signer import LocalSigner

    state, key, release_every, me, other = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    one_write = sys.argv[6] == "1"  # record_next (signing inside the write) instead of reserve, sign, record
    signer = LocalSigner(key)
    shared = Journal.open(31337, signer.address, state)
    recorded, released, errors = [], [], []

    def sign(nonce, data):
        return signer.sign_transaction({"type": 2, "chainId": 31337, "nonce": nonce, "gas": 60000,
                                        "to": signer.address, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1,
                                        "data": data})

    def write(journal, data, give_back):
        # one write recorded sent: its nonce, or None when it was given back (released, e.g. the node refused it;
        # or its signing inside record_next failed and the write rolled back)
        fields = dict(to=signer.address, value=0, data=data, gas=60000, max_fee_per_gas=10**9,
                      max_priority_fee_per_gas=1)
        if one_write:
            def signing(nonce):
                if give_back:
                    released.append(nonce)
                    raise RuntimeError("signing failed")
                return sign(nonce, data)
            try:
                nonce, _, h = journal.record_next(0, signing, **fields)
            except RuntimeError:
                return None
        else:
            nonce = journal.reserve_nonce(0)
            if give_back:
                journal.release_nonce(nonce)
                released.append(nonce)
                return None
            raw, h = sign(nonce, data)
            journal.record_signed(tx_hash=h, nonce=nonce, raw=raw, **fields)
        journal.mark(h, "sent")
        return nonce

    def work(worker):
        # with releases, each thread is a separate client with its own connection
        journal = Journal.open(31337, signer.address, state) if release_every else shared
        try:
            attempt = 0
            for i in range(25):
                while True:
                    attempt += 1
                    nonce = write(journal, bytes([worker, i]) + me.encode(),
                                  release_every and attempt % release_every == 0)
                    if nonce is not None:
                        recorded.append(nonce)
                        time.sleep(0.01)  # hand the CPU over: on a busy machine one process could finish first
                        break
        except Exception as exc:
            errors.append(repr(exc))

    open(os.path.join(state, "ready-" + me), "w").close()
    while not os.path.exists(os.path.join(state, "ready-" + other)):  # start together
        time.sleep(0.005)
    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"recorded": recorded, "released": released, "errors": errors}))
""")


def _run_processes(tmp_path, release_every: int, one_write: bool) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), KEY, str(release_every), f"p{p}",
                               f"p{1 - p}", "1" if one_write else "0"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for p in range(2)]
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]
        outs.append(json.loads(stdout))
    return outs


one_write = pytest.mark.parametrize("one_write", [True, False], ids=["record_next", "reserve-then-record"])


@pytest.mark.slow
@one_write
def test_two_processes_four_threads_get_distinct_consecutive_nonces(tmp_path, one_write):
    outs = _run_processes(tmp_path, release_every=0, one_write=one_write)
    assert [o["errors"] for o in outs] == [[], []]
    nonces = outs[0]["recorded"] + outs[1]["recorded"]
    assert len(nonces) == 200 and sorted(nonces) == list(range(200))
    assert len(outs[0]["recorded"]) == len(outs[1]["recorded"]) == 100
    assert max(min(o["recorded"]) for o in outs) < 100  # the processes really interleaved
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        entries = j.list(1000)
        assert len(entries) == 200 and {e.status for e in entries} == {"sent"}
        assert sorted(e.nonce for e in entries) == list(range(200))
        assert j.reservations() == [] and j.reserve_nonce(0) == 200


@pytest.mark.slow
@one_write
def test_two_processes_with_releases_reuse_released_nonces(tmp_path, one_write):
    """Nonces given back (released, or a signing inside ``record_next`` that failed) are handed out again."""
    outs = _run_processes(tmp_path, release_every=3, one_write=one_write)
    assert [o["errors"] for o in outs] == [[], []]
    nonces = outs[0]["recorded"] + outs[1]["recorded"]
    released = outs[0]["released"] + outs[1]["released"]
    assert len(released) >= 2 * 4 * 12  # every third attempt was given back
    assert sorted(nonces) == list(range(200))  # no gap left: every released nonce was handed out again
    with Journal.open(CHAIN, SIGNER.address, tmp_path) as j:
        assert sorted(e.nonce for e in j.list(1000, status="sent")) == list(range(200))
        assert j.reserve_nonce(0) == 200


# ---------------------------------------------------------------- against anvil: a reorg drops a mined write

faults_sim, faulty = faults.faults_sim, faults.faulty  # the fixtures


def test_reorg_on_anvil_drops_a_mined_write_and_resync_frees_its_nonce(faulty, tmp_path):
    who = faulty.sim.account("agent")
    w3 = faulty.w3
    start = w3.eth.get_transaction_count(who.address, "pending")
    sink = w3.eth.get_balance(SINK)
    with Journal.open(31337, who.address, tmp_path) as j:
        nonce = j.reserve_nonce(start)
        base = w3.eth.get_block("latest")["baseFeePerGas"]
        fees = {"maxFeePerGas": 2 * base + 10**6, "maxPriorityFeePerGas": 10**6}
        raw, tx_hash = who.signer.sign_transaction({"type": 2, "chainId": 31337, "nonce": nonce, "gas": 21_000,
                                                    "to": SINK, "value": 5, **fees})
        j.record_signed(tx_hash=tx_hash, nonce=nonce, raw=raw, to=SINK, value=5, data=b"", gas=21_000,
                        max_fee_per_gas=fees["maxFeePerGas"], max_priority_fee_per_gas=10**6, action="transfer")
        w3.eth.send_raw_transaction(raw)
        j.mark(tx_hash, "sent")
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=5)
        assert receipt["status"] == 1
        j.mark(tx_hash, "mined", block_number=receipt["blockNumber"], gas_used=receipt["gasUsed"])
        assert j.reserve_nonce(start) == nonce + 1
        j.release_nonce(nonce + 1)

        faulty.anvil("anvil_reorg", [1, []])  # the block holding it is replaced by an empty one
        fetched_at = time.time()
        count = w3.eth.get_transaction_count(who.address, "pending")
        assert count == nonce and w3.eth.get_transaction_count(who.address) == nonce  # it is gone from the chain
        assert j.resync(count, fetched_at=fetched_at) == [tx_hash]
        assert j.get(tx_hash).status == "dropped" and j.reserve_nonce(count) == nonce
        j.release_nonce(nonce)

        assert j.recorded_bytes(tx_hash) == raw  # resume: the same signed bytes, exactly once
        j.mark(tx_hash, "maybe_sent")  # holds its nonce again before the bytes leave
        assert j.reserve_nonce(count) == nonce + 1
        w3.eth.send_raw_transaction(j.recorded_bytes(tx_hash))
        j.mark(tx_hash, "sent")
        assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=5)["status"] == 1
        assert faulty.nonce(who.address) == nonce + 1
        assert w3.eth.get_balance(SINK) == sink + 5
