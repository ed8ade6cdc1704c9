"""Benchmark: microseconds of transaction-journal work per engine write (prints figures; asserts nothing).

Three ways (four in memory) to journal the same writes, in one run, alternating their order between repetitions:

- ``before``: what ``Sender.send`` did before ``Journal.record_next``: ``quiet_pending`` → ``reserve_nonces`` →
  ``record`` → status changes, on journals that also have the status index (as journals created before it
  was dropped still have);
- ``reserve``: the same reservation path on journals as now created (what a batch still uses);
- ``record_next``: the nonce taken, the bytes "signed" and the row recorded in one write → status changes;
- ``dicts`` (in memory only): ``record_next`` on :class:`MemoryJournal`, what ``Journal.in_memory`` now gives
  (the other three run on SQLite's in-memory database there).

Signing is left out: every path is handed bytes signed before the clock starts (a real signature costs about
50-60 µs, the same on every path). The workload mirrors the docs-story scenario: 270 in-memory journals, one of
them (the agent's) starting with ``--rows`` mined rows and taking half the writes as send-if-succeeds writes
(recorded, then mined-and-sent in one status change), the others taking raw sends (recorded, sent, mined).
Then one file journal (WAL, ``synchronous=FULL``: its fsyncs dominate) on the file system of ``--dir``. Each
figure is µs per write (CPU time in memory, wall clock on file); the median of ``--reps`` repetitions comes last.
Last, several processes with several threads each on one file journal, every write really signed (inside the
write lock on the ``record_next`` path): writes per second, wall clock.

    python scripts/bench_journal.py [--reps 5] [--writes 14000] [--rows 7000] [--file-writes 300] [--dir DIR]
                                    [--processes 2] [--threads 4] [--shared-writes 25] [--only memory|file|shared]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvm_chain.chain.tx.journal import Journal  # noqa: E402
from nvm_chain.chain.tx.memory_journal import MemoryJournal  # noqa: E402
from nvm_chain.sim.accounts import test_account  # noqa: E402

SIGNER = test_account("bench-journal").signer  # a public test key (nvm_chain.sim.accounts.test_key)
CHAIN = 31337
TO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DATA = bytes.fromhex("f5298aca") + bytes(32 * 4)  # burn(holder, id, amount)-sized calldata
GAS, MAX_FEE, TIP = 300_000, 2 * 10**9, 10**6
JOURNALS = 270
PATHS = ("before", "reserve", "record_next")
MEMORY_PATHS = (*PATHS, "dicts")  # in memory: the three on SQLite's in-memory database, then MemoryJournal

Signed = list[tuple[bytes, str]]
Sign = Callable[[int], tuple[bytes, str]]


def sign_now(nonce: int) -> tuple[bytes, str]:
    """Really sign the benchmark's call with ``nonce``."""
    return SIGNER.sign_transaction({"type": 2, "chainId": CHAIN, "nonce": nonce, "gas": GAS, "to": TO, "value": 0,
                                    "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": TIP, "data": DATA})


def presign(count: int) -> Signed:
    """Signed bytes and hash of the benchmark's call for nonces ``0 .. count - 1``."""
    return [sign_now(n) for n in range(count)]


def write(path: str, journal: Journal, count: int, sign: Sign, kept: bool) -> int:
    """One engine write through ``path``, against a node whose pending count is ``count`` (every earlier write
    is mined); ``kept``: a send-if-succeeds node mined it before answering. Returns its nonce."""
    fields = dict(to=TO, value=0, data=DATA, gas=GAS, max_fee_per_gas=MAX_FEE, max_priority_fee_per_gas=TIP,
                  action="Bench.call")
    since = time.time() - 30.0
    if path == "record_next":
        nonce, _, tx_hash = journal.record_next(count, sign, quiet=(since, _never), **fields)
    else:
        for lost in journal.quiet_pending(count, since):
            _never(lost)
        nonce = journal.reserve_nonces(count, 1)[0]
        raw, tx_hash = sign(nonce)
        journal.record(tx_hash=tx_hash, nonce=nonce, raw=raw, **fields)
    if not kept:
        journal.set_status(tx_hash, "sent")
    journal.set_status(tx_hash, "mined", block_number=count + 1, gas_used=50_000, broadcast=kept)
    return nonce


def _never(tx_hash: str) -> None:
    raise AssertionError(f"no write is quiet in this benchmark ({tx_hash})")


def memory_journals(path: str, template: Journal, rows: int, signed: Signed) -> list[Journal]:
    """270 fresh in-memory journals, the first one with the agent's history (``rows`` mined writes): SQLite
    in-memory databases (a copy of ``template``; with the status index for ``before``), or MemoryJournals."""
    if path == "dicts":
        journals: list[Journal] = [MemoryJournal(CHAIN, SIGNER.address) for _ in range(JOURNALS)]
        for n in range(rows):
            write("record_next", journals[0], n, signed.__getitem__, kept=True)
        return journals
    journals = [sqlite_in_memory() for _ in range(JOURNALS)]
    template._connection().backup(journals[0]._connection())
    if path == "before":
        for journal in journals:
            journal._connection().execute("CREATE INDEX IF NOT EXISTS txs_status ON txs (status)")
    return journals


def sqlite_in_memory() -> Journal:
    """A journal in SQLite's in-memory database (what ``Journal.in_memory`` was before MemoryJournal)."""
    return Journal(Path(":memory:"), CHAIN, SIGNER.address, stale_after=None)


def run_memory(path: str, template: Journal, rows: int, writes: int, signed: Signed) -> float:
    """µs per write of ``writes`` writes: every other one to the agent's journal, the rest spread over the others."""
    journals = memory_journals(path, template, rows, signed)
    counts = [rows] + [0] * (JOURNALS - 1)
    plan = [0 if i % 2 == 0 else 1 + (i // 2) % (JOURNALS - 1) for i in range(writes)]
    start = time.process_time()  # CPU-bound: this process's CPU time, less disturbed by a busy machine
    for j in plan:
        write("record_next" if path == "dicts" else path, journals[j], counts[j], signed.__getitem__, kept=j == 0)
        counts[j] += 1
    return (time.process_time() - start) / writes * 1e6


def run_file(path: str, folder: Path, writes: int, signed: Signed) -> float:
    """µs per write of ``writes`` raw-send writes to a fresh file journal under ``folder``."""
    state = Path(tempfile.mkdtemp(dir=folder))
    with Journal.open(CHAIN, SIGNER.address, state) as journal:
        if path == "before":
            journal._connection().execute("CREATE INDEX IF NOT EXISTS txs_status ON txs (status)")
        start = time.perf_counter()  # the fsyncs are waits: wall clock
        for n in range(writes):
            write(path, journal, n, signed.__getitem__, kept=False)
        return (time.perf_counter() - start) / writes * 1e6


def contend(path: str, folder: Path, processes: int, threads: int, writes: int) -> float:
    """Writes per second (wall clock) of ``processes`` processes × ``threads`` threads on one file journal, each
    write really signed: inside the journal's write lock on the ``record_next`` path, outside it otherwise."""
    state = Path(tempfile.mkdtemp(dir=folder))
    Journal.open(CHAIN, SIGNER.address, state).close()  # created before the race
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(processes + 1)
    workers = [context.Process(target=_contender, args=(path, state, threads, writes, ready))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    ready.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    total = processes * threads * writes
    with Journal.open(CHAIN, SIGNER.address, state) as journal:
        nonces = sorted(e.nonce for e in journal.list(total + 1))
    if nonces != list(range(total)):
        raise SystemExit(f"{path}: the writes did not get distinct consecutive nonces")
    return total / elapsed


def _contender(path: str, state: Path, threads: int, writes: int, ready: threading.Barrier) -> None:
    """One process of :func:`contend`: its threads share one journal, as a sender's do."""
    journal = Journal.open(CHAIN, SIGNER.address, state)
    floor = [0]  # the highest nonce this process recorded: a lower bound of the node's count

    def work() -> None:
        for _ in range(writes):
            floor[0] = max(floor[0], write(path, journal, floor[0], sign_now, kept=False))

    ready.wait()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def report(title: str, figures: dict[str, list[float]], unit: str = "µs/write") -> None:
    print(title)
    for path, values in figures.items():
        runs = " ".join(f"{v:6.1f}" for v in values)
        print(f"  {path:<12} {runs}   median {statistics.median(values):6.1f} {unit}")
    for path in list(figures)[1:]:  # paired by repetition: robust to the machine's load drifting between repetitions
        change = statistics.median(v / b for v, b in zip(figures[path], figures["before"])) - 1
        print(f"  {path}: {change:+.0%} against before (median of the per-repetition ratios)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--writes", type=int, default=14000, help="writes per repetition over the 270 journals")
    parser.add_argument("--rows", type=int, default=7000, help="rows the agent's journal starts with")
    parser.add_argument("--file-writes", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=None, help="where the file journal goes (default: a temp dir)")
    parser.add_argument("--processes", type=int, default=2, help="processes sharing the file journal at the end")
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--shared-writes", type=int, default=25, help="writes per thread on the shared journal")
    parser.add_argument("--only", choices=["memory", "file", "shared"], action="append",
                        help="run only these parts (repeatable)")
    args = parser.parse_args(argv)
    parts = set(args.only or ["memory", "file", "shared"])

    def alternate(run: Callable[[str], float], paths: tuple[str, ...] = PATHS) -> dict[str, list[float]]:
        figures: dict[str, list[float]] = {p: [] for p in paths}
        for rep in range(args.reps):
            for path in paths if rep % 2 == 0 else paths[::-1]:
                figures[path].append(run(path))
        return figures

    signed = presign(max(args.rows + args.writes, args.file_writes))
    if "memory" in parts:
        template = sqlite_in_memory()
        for n in range(args.rows):  # the agent's history: mined writes
            write("reserve", template, n, signed.__getitem__, kept=True)
        report(f"{JOURNALS} in-memory journals, {args.writes} writes (agent's journal from {args.rows} rows), "
               f"{args.reps} repetitions",
               alternate(lambda p: run_memory(p, template, args.rows, args.writes, signed), MEMORY_PATHS))
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        if "file" in parts:
            report(f"file journal in {folder}, {args.file_writes} raw-send writes, {args.reps} repetitions",
                   alternate(lambda p: run_file(p, Path(folder), args.file_writes, signed)))
        if "shared" in parts:
            report(f"{args.processes} processes x {args.threads} threads on one file journal, {args.shared_writes} "
                   f"really signed writes per thread, {args.reps} repetitions",
                   alternate(lambda p: contend(p, Path(folder), args.processes, args.threads, args.shared_writes)),
                   unit="writes/s")


if __name__ == "__main__":
    main()
