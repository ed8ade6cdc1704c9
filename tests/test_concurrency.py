"""Several workers on one key, counted from chain state: OS processes and threads sharing the account's on-disk
journal against a real anvil. Every reported success must be a transaction mined once; every write asked once
must execute once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nvm_chain.sim.accounts import test_key

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SINK = "0x" + "6b" * 20

_WORKER = textwrap.dedent("""
    import json, sys, threading
    from nvm_chain.chain.tx.types import TxRequest
    from nvm_chain.client import NvmChain

    url, book, state, threads, per, identical, offset = sys.argv[1:8]
    client = NvmChain.connect("local", rpc_url=url, address_book=book, private_key=sys.stdin.readline().strip(),
                              state_dir=state, receipt_timeout=60)
    token = client.book["MockERC20"]
    sink = bytes.fromhex("6b" * 20)
    results = []

    def work(t):
        for i in range(int(per)):
            amount = 1 if identical == "1" else int(offset) + t * int(per) + i + 1
            data = bytes.fromhex("a9059cbb") + bytes(12) + sink + amount.to_bytes(32, "big")
            try:
                receipt = client.sender.send(TxRequest(token, data, 100_000, action="transfer"), simulate=False)
                results.append(["ok", receipt.tx_hash, amount])
            except Exception as exc:  # every outcome is reported, none hidden
                results.append([type(exc).__name__, getattr(exc, "tx_hash", None), amount])

    workers = [threading.Thread(target=work, args=(t,)) for t in range(int(threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(json.dumps(results))
""")


def _balance(w3, token: str, holder: str) -> int:
    data = w3.eth.call({"to": token, "data": bytes.fromhex("70a08231") + bytes(12) + bytes.fromhex(holder[2:])})
    return int.from_bytes(data, "big")


def _run(chain, tmp_path, processes: int, threads: int, per: int, identical: bool) -> list[list]:
    sim = chain.sim
    book = tmp_path / "book.json"
    book.write_text(json.dumps(sim.book.to_json()))
    key = "0x" + test_key("builder").hex() + "\n"  # on stdin: never in a process listing
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, chain.anvil_url, str(book), str(tmp_path / "state"),
                               str(threads), str(per), "1" if identical else "0", str(p * threads * per)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for p in range(processes)]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(key, timeout=600)
        assert proc.returncode == 0, err[-2000:]
        outcomes += json.loads(out)
    return outcomes


@pytest.mark.parametrize("identical", [True, False], ids=["identical-calldata", "different-calldata"])
def test_two_processes_with_four_threads_each_on_one_key(faulty, tmp_path, identical):
    sim, address = faulty.sim, faulty.sim.account("builder").address
    token = sim.book["MockERC20"]
    before_nonce, before = faulty.nonce(address), _balance(faulty.direct, token, SINK)
    outcomes = _run(faulty, tmp_path, processes=2, threads=4, per=25, identical=identical)
    ok = [o for o in outcomes if o[0] == "ok"]
    assert len(outcomes) == 200 and len(ok) == 200, {o[0] for o in outcomes}
    assert len({o[1] for o in ok}) == 200  # 200 distinct transactions
    assert faulty.nonce(address) == before_nonce + 200
    expected = 200 if identical else sum(range(1, 201))
    assert _balance(faulty.direct, token, SINK) - before == expected  # each write executed exactly once


def test_eight_threads_on_one_client(faulty, tmp_path):
    address = faulty.sim.account("builder").address
    token = faulty.sim.book["MockERC20"]
    before_nonce, before = faulty.nonce(address), _balance(faulty.direct, token, SINK)
    outcomes = _run(faulty, tmp_path, processes=1, threads=8, per=50, identical=True)
    assert [o[0] for o in outcomes].count("ok") == 400
    assert faulty.nonce(address) == before_nonce + 400
    assert _balance(faulty.direct, token, SINK) - before == 400
