"""Event scans, the parts that need no node: the range-size policy, how provider refusals are read, the
on-disk index of scanned ranges, and the CLI's progress bar. (The scans themselves run against real nodes
in tests/test_scans.py.)"""

from __future__ import annotations

import io
import os
import stat

import pytest
from web3.exceptions import Web3RPCError

from nvm_chain.chain.getlogs import RATE_LIMITED, REFUSED, ChunkSizer, classify
from nvm_chain.chain.logindex import LogIndex, index_path, intersect_ranges, merge_ranges, subtract_ranges
from nvm_chain.chain.logscan import LogQuery, from_record, to_record
from nvm_chain.chain.rpc import RetryPolicy
from nvm_chain.cli.output import ProgressBar, progress_bar

GENESIS = "0x" + "ab" * 32


def rpc_error(message: str, code: int = -32000, data: object = None) -> Web3RPCError:
    """A JSON-RPC error as web3 raises it."""
    error = {"code": code, "message": message, **({"data": data} if data is not None else {})}
    return Web3RPCError(repr(error), rpc_response={"jsonrpc": "2.0", "id": 1, "error": error})


# ---------------------------------------------------------------------------------------------- sizing


def test_range_size_converges_on_a_2000_block_limit_and_stays_there():
    sizer, sizes, refusals = ChunkSizer(10_000), [], 0
    for _ in range(40):
        sizes.append(sizer.size)
        if sizer.size > 2000:
            assert sizer.refused()
            refusals += 1
        else:
            sizer.succeeded()
    # halve to a size that works, then close in on the limit (back to the last good size after a refusal) and
    # settle once within 12.5% of the smallest refused size
    assert sizes[:9] == [10_000, 5000, 2500, 1250, 1875, 2187, 1875, 2031, 1875]
    assert set(sizes[9:]) == {1875} and refusals == 5


def test_range_size_grows_back_after_successes_and_retries_the_limit_only_after_a_long_streak():
    sizer = ChunkSizer(1000, maximum=8000, forget_after=4)
    assert sizer.refused() and sizer.size == 500  # a dense block range: 1000 refused
    sizes = []
    for _ in range(6):
        sizer.succeeded()
        sizes.append(sizer.size)
    # below the ceiling (1000) only half-way towards it; after 4 successes the ceiling is forgotten
    assert sizes == [750, 875, 937, 1874, 3748, 7496]
    sizer.succeeded()
    assert sizer.size == 8000  # capped at maximum


def test_range_size_takes_the_providers_suggestion_and_stops_at_the_minimum():
    sizer = ChunkSizer(10_000, minimum=16)
    assert sizer.refused(suggested=2000) and sizer.size == 2000
    assert sizer.refused(suggested=50_000) and sizer.size == 1000  # a suggestion above the size is ignored
    for expected in (500, 250, 125, 62, 31, 16):
        assert sizer.refused() and sizer.size == expected
    assert sizer.refused() is False and sizer.size == 16
    with pytest.raises(ValueError):
        ChunkSizer(10, minimum=20)


def test_rate_limit_backoff_is_bounded_jittered_and_honours_retry_after():
    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=4.0, max_retry_after=30.0)
    assert policy.backoff(1, retry_after=2.5) == 2.5
    assert policy.backoff(1, retry_after=120) == 30.0  # capped
    for attempt, nominal in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)):
        for _ in range(20):
            assert nominal * 0.5 <= policy.backoff(attempt) <= nominal * 1.5


# ---------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("message", [
    "query returned more than 10000 results",  # geth, Infura (code -32005)
    "block range is too wide",
    "exceed maximum block range: 2000",
    "eth_getLogs is limited to a 10,000 range",
    "ranges over 10000 blocks are not supported on freetier",
    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
    "query timeout exceeded",
])
def test_range_and_result_limits_of_common_providers_are_refusals(message):
    assert classify(rpc_error(message, -32005)).kind == REFUSED
    assert classify(rpc_error(message, -32602)).kind == REFUSED


def test_a_suggested_range_is_read_from_the_refusal():
    message = ("Log response size exceeded. Based on your parameters, this block range should work: "
               "[0x1e8480, 0x1e8c4f]")
    assert classify(rpc_error(message, -32602)).suggested == 2000  # 2,000,000 .. 2,001,999


def test_rate_limits_are_told_apart_from_refusals():
    infura = rpc_error("project ID request rate exceeded", -32005, {"rate": {"backoff_seconds": 30}})
    assert (classify(infura).kind, classify(infura).retry_after) == (RATE_LIMITED, 30.0)
    assert classify(rpc_error("Your app has exceeded its compute units per second capacity", 429)).kind \
        == RATE_LIMITED
    assert classify(rpc_error("limit exceeded", -32005)).kind == RATE_LIMITED  # bare -32005: a rate limit
    assert classify(rpc_error("execution reverted", 3)).kind is None
    assert classify(ValueError("something else")).kind is None


# ---------------------------------------------------------------------------------------------- ranges


def test_range_arithmetic():
    assert merge_ranges([(10, 20), (0, 4), (5, 7), (19, 30), (40, 41)]) == [(0, 7), (10, 30), (40, 41)]
    assert subtract_ranges((0, 100), [(10, 20), (30, 40)]) == [(0, 9), (21, 29), (41, 100)]
    assert subtract_ranges((15, 35), [(10, 20), (30, 40)]) == [(21, 29)]
    assert subtract_ranges((12, 18), [(10, 20)]) == []
    assert subtract_ranges((0, 5), []) == [(0, 5)]
    assert intersect_ranges((15, 35), [(10, 20), (30, 40)]) == [(15, 20), (30, 35)]


# ---------------------------------------------------------------------------------------------- index


def a_log(block: int, index: int) -> dict:
    return {"address": "0x1B093EE52104e407dfC80A28B07e62834AAB4Ae4", "topics": [bytes([block % 256]) * 32],
            "data": b"\x01\x02", "blockNumber": block, "logIndex": index, "blockHash": b"\xbb" * 32,
            "transactionHash": b"\xcc" * 32}


def test_the_index_records_ranges_and_logs_per_query(tmp_path):
    index = LogIndex.open(84532, GENESIS, tmp_path)
    assert index.path == tmp_path / "scans" / "84532" / "abababababababab.sqlite"
    assert index_path(84532, GENESIS, tmp_path) == index.path
    q1, q2 = "plans-of-a", "plans-of-b"
    index.record(q1, [(100, 199)], [to_record(a_log(150, 0)), to_record(a_log(120, 3))], (199, "0x" + "11" * 32))
    index.record(q1, [(200, 299)], [to_record(a_log(250, 1))], (299, "0x" + "22" * 32))
    index.record(q2, [(500, 600)], [], (250, "0x" + "33" * 32))  # a lower checkpoint does not replace it
    assert index.ranges(q1) == [(100, 299)] and index.ranges(q2) == [(500, 600)]
    assert [(log["blockNumber"], log["logIndex"]) for log in index.logs(q1, [(0, 1000)])] == \
        [(120, 3), (150, 0), (250, 1)]
    assert index.logs(q1, [(140, 200)]) == [to_record(a_log(150, 0))]
    assert from_record(index.logs(q1, [(250, 250)])[0]) == a_log(250, 1)
    assert index.checkpoint() == (299, "0x" + "22" * 32)
    # the file is the user's alone
    assert stat.S_IMODE(os.stat(index.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(index.path.parent).st_mode) == 0o700
    # reopened by another process: the same content; forget drops everything
    again = LogIndex.open(84532, GENESIS, tmp_path)
    assert again.ranges(q1) == [(100, 299)]
    again.forget()
    assert index.ranges(q1) == [] and index.logs(q1, [(0, 1000)]) == [] and index.checkpoint() is None


def test_another_chain_with_the_same_chain_id_gets_its_own_index(tmp_path):
    first = LogIndex.open(31337, GENESIS, tmp_path)
    first.record("q", [(1, 10)], [], (10, "0x" + "11" * 32))
    fresh = LogIndex.open(31337, "0x" + "cd" * 32, tmp_path)
    assert fresh.path != first.path and fresh.ranges("q") == []
    # same 16-hex prefix, different genesis: the old content is dropped rather than reused
    twin = LogIndex.open(31337, GENESIS[:18] + "ff" * 24, tmp_path)
    assert twin.path == first.path and twin.ranges("q") == [] and first.checkpoint() is None


def test_query_keys_ignore_case_and_tell_filters_apart():
    a = LogQuery("0x1B093EE52104e407dfC80A28B07e62834AAB4Ae4", ("0xAB", None, "0xCD"))
    assert a.key() == LogQuery(a.address.lower(), ("0xab", None, "0xcd")).key()
    assert a.key() != LogQuery(a.address, ("0xab", None, "0xce")).key()
    assert a.key() != LogQuery(a.address, (("0xab", "0xcd"),)).key()
    assert LogQuery(a.address, (("0xab", "0xcd"),)).params() == {"address": a.address, "topics": [["0xab", "0xcd"]]}


# ---------------------------------------------------------------------------------------------- progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_bar_draws_after_a_delay_throttled_and_ends_its_line():
    out, clock = io.StringIO(), Clock()
    with ProgressBar("scanning", stream=out, delay=0.5, interval=0.1, width=10, clock=clock) as bar:
        bar(0, 200_000)
        clock.now = 0.2
        bar(2000, 200_000)
        assert out.getvalue() == ""  # a short scan stays silent
        clock.now = 0.6
        bar(50_000, 200_000)
        clock.now = 0.65
        bar(52_000, 200_000)  # within the interval: not redrawn
        clock.now = 0.7
        bar(200_000, 200_000)
    assert out.getvalue() == ("\rscanning [##--------]  25% 50,000/200,000 blocks"
                              "\rscanning [##########] 100% 200,000/200,000 blocks\n")


def test_the_progress_bar_is_off_for_json_and_without_a_terminal(monkeypatch):
    out = io.StringIO()
    with ProgressBar("scanning", stream=out, enabled=False, delay=0) as bar:
        bar(1, 2)
    assert out.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    assert progress_bar("scanning", "table").enabled and progress_bar("scanning", None).enabled
    assert not progress_bar("scanning", "json").enabled
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not progress_bar("scanning", "table").enabled
