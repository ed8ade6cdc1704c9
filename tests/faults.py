"""A fault-injecting HTTP JSON-RPC proxy for tests, and a pytest fixture putting it in front of anvil.

:class:`FaultProxy` is a real threaded HTTP server on 127.0.0.1 (free port) that forwards JSON-RPC requests to
an upstream node. Faults are programmed per method (``"*"`` matches any, ``"batch"`` matches a batched array)
as rules checked in the order they were added: the first rule whose ``when`` accepts the call and that has
uses left handles it (``times=None``: forever). A ``when`` receives the :class:`Call` (method, params and
``index``, the 1-based count of that method's requests), so a rule can target "the 3rd receipt poll" or one
transaction hash. :meth:`FaultProxy.forward` rules let calls through, so rules can be sequenced.

Faults: HTTP errors before forwarding (:meth:`~FaultProxy.fail`, optional ``Retry-After``), a lost answer
after forwarding (:meth:`~FaultProxy.lose_answer`: 504 or the socket closed), :meth:`~FaultProxy.hang`
(S seconds, or until the client gives up), :meth:`~FaultProxy.reset` (TCP RST, before or after forwarding),
:meth:`~FaultProxy.rpc_error` (a JSON-RPC error reply without forwarding, e.g. a false "already known") and
:meth:`~FaultProxy.rewrite` (forward, then replace the result), and :meth:`~FaultProxy.limit_log_range` (refuse
``eth_getLogs`` over too many blocks, as range-limited providers do). Every request is recorded with its outcome.

Usage in a test module (or list ``tests.faults`` in a conftest's ``pytest_plugins``)::

    from tests import faults

    faults_sim, faulty = faults.faults_sim, faults.faulty  # the fixtures

    def test_x(faulty):
        faulty.proxy.lose_answer("eth_sendRawTransaction", how="504")
        ...  # faulty.w3 goes through the proxy, faulty.direct straight to anvil
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

import pytest

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Call:
    """One JSON-RPC call seen by the proxy (each element of a batch is one call, ``batch=True``)."""

    method: str
    params: Any
    index: int  # 1-based count of requests for this method, this one included
    batch: bool = False
    outcome: str = "pending"  # forwarded, http 503, lost 504, lost close, hung, reset, rpc error, rewritten, ...
    at: float = field(default_factory=time.monotonic)


@dataclass
class Rule:
    """A programmed fault (see the module notes). ``uses`` counts how often it fired."""

    method: str
    kind: str  # forward | http | lose | hang | reset | rpc_error | rewrite
    times: int | None = 1
    when: Callable[[Call], bool] | None = None
    status: int = 503
    retry_after: str | None = None
    how: str = "504"  # lose: "504" or "close"
    seconds: float | None = None  # hang: None = until the client gives up (or the proxy stops)
    forward: bool = True  # hang/reset: forward the request (after hanging / before resetting)
    code: int = -32000
    message: str = ""
    result: Any = None  # rewrite: a value, or a function of the upstream result
    uses: int = 0

    def takes(self, call: Call) -> bool:
        if self.method not in ("*", call.method) or (self.times is not None and self.uses >= self.times):
            return False
        return self.when is None or self.when(call)


class FaultProxy:
    """A fault-injecting JSON-RPC proxy in front of ``upstream`` (start/stop it, or use ``with``)."""

    def __init__(self, upstream: str, *, upstream_timeout: float = 30.0):
        parts = urlsplit(upstream)
        self.upstream = upstream
        self._up = (parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/")
        self.upstream_timeout = upstream_timeout
        self._rules: list[Rule] = []
        self._calls: list[Call] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Listen on 127.0.0.1 (a free port); ``url`` is set. Returns self."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop: release hanging requests, close every connection, join every thread (bounded by
        ``timeout``). Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def open_connections(self) -> int:
        """Client connections currently open."""
        return self._server.open_connections() if self._server else 0

    # ------------------------------------------------------------------ programming

    def add(self, rule: Rule) -> Rule:
        """Append a rule (checked after the earlier ones). Returns it (``rule.uses`` counts its hits)."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def forward(self, method: str, times: int | None = 1, when: Callable[[Call], bool] | None = None) -> Rule:
        """Let ``times`` matching calls through untouched (to sequence the rules after it)."""
        return self.add(Rule(method, "forward", times, when))

    def fail(self, method: str, status: int = 503, times: int | None = 1, *, retry_after: float | str | None = None,
             when: Callable[[Call], bool] | None = None) -> Rule:
        """Answer HTTP ``status`` (503, 500, 429, …) without forwarding, with ``Retry-After`` if given."""
        after = None if retry_after is None else str(retry_after)
        return self.add(Rule(method, "http", times, when, status=status, retry_after=after))

    def lose_answer(self, method: str, how: str = "504", times: int | None = 1,
                    when: Callable[[Call], bool] | None = None) -> Rule:
        """Forward, then lose the node's answer: reply HTTP 504 (``how="504"``) or close the socket without
        answering (``how="close"``)."""
        if how not in ("504", "close"):
            raise ValueError("how must be '504' or 'close'")
        return self.add(Rule(method, "lose", times, when, how=how))

    def hang(self, method: str, seconds: float | None = None, times: int | None = 1, *, forward: bool = True,
             when: Callable[[Call], bool] | None = None) -> Rule:
        """Hold the request ``seconds`` (even if the client gives up meanwhile: a slow node), or with None
        until the client disconnects; then forward it (unless ``forward=False``) and answer the client if it
        is still there, else close. Stopping the proxy ends every hang without forwarding."""
        return self.add(Rule(method, "hang", times, when, seconds=seconds, forward=forward))

    def reset(self, method: str, times: int | None = 1, *, after_forward: bool = False,
              when: Callable[[Call], bool] | None = None) -> Rule:
        """Reset the TCP connection (RST), before forwarding or, with ``after_forward``, after it."""
        return self.add(Rule(method, "reset", times, when, forward=after_forward))

    def rpc_error(self, method: str, message: str, code: int = -32000, times: int | None = 1,
                  when: Callable[[Call], bool] | None = None) -> Rule:
        """Reply a JSON-RPC error without forwarding (e.g. a false "already known", "nonce too low",
        "replacement transaction underpriced")."""
        return self.add(Rule(method, "rpc_error", times, when, code=code, message=message))

    def limit_log_range(self, max_blocks: int, message: str | None = None, code: int = -32000,
                        times: int | None = None) -> Rule:
        """Refuse ``eth_getLogs`` over more than ``max_blocks`` blocks with a JSON-RPC error, as range-limited
        providers do (default message: "block range too large, max is N blocks"); smaller ranges go through.
        A range with a tag (``latest``…) or a ``blockHash`` is let through."""
        return self.rpc_error("eth_getLogs", message or f"block range too large, max is {max_blocks} blocks", code,
                              times, when=lambda call: (log_range(call) or 0) > max_blocks)

    def rewrite(self, method: str, result: Any, times: int | None = 1,
                when: Callable[[Call], bool] | None = None) -> Rule:
        """Forward, then replace the result by ``result`` (or ``result(upstream_result)`` if callable)."""
        return self.add(Rule(method, "rewrite", times, when, result=result))

    def clear(self) -> None:
        """Forget every rule and every recorded call."""
        with self._lock:
            self._rules.clear()
            self._calls.clear()
            self._counts.clear()

    # ------------------------------------------------------------------ records

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first (only ``method``'s if given)."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def count(self, method: str, outcome: str | None = None) -> int:
        """How many ``method`` calls arrived (only those that ended in ``outcome`` if given)."""
        return sum(1 for c in self.calls(method) if outcome is None or c.outcome == outcome)

    # ------------------------------------------------------------------ handling (handler threads)

    def _admit(self, method: str, params: Any, batch: bool) -> Call:
        with self._lock:
            self._counts[method] = self._counts.get(method, 0) + 1
            call = Call(method, params, self._counts[method], batch)
            self._calls.append(call)
            return call

    def _rule_for(self, call: Call) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.takes(call):
                    rule.uses += 1
                    return rule
        return None

    def _forward(self, body: bytes) -> Answer:
        host, port, path = self._up
        conn = http.client.HTTPConnection(host, port, timeout=self.upstream_timeout)
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, {"Content-Type": resp.getheader("Content-Type", "application/json")}, resp.read()
        finally:
            conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    block_on_close = True
    proxy: FaultProxy

    def __init__(self, *args: Any, **kwargs: Any):
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self._sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self._sockets.discard(request)
        super().shutdown_request(request)

    def open_connections(self) -> int:
        with self._sockets_lock:
            return len(self._sockets)

    def close_connections(self) -> None:
        with self._sockets_lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like web3's requests session
    server: _Server
    timeout = 60  # an idle keep-alive connection is dropped after this

    def log_message(self, format: str, *args: Any) -> None:
        pass

    _calls: list[Call]

    def do_POST(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, list):
            calls = [proxy._admit(str(p.get("method")), p.get("params"), True) for p in payload
                     if isinstance(p, dict)]
            head = proxy._admit("batch", [c.method for c in calls], True)
        else:
            method = str(payload.get("method")) if isinstance(payload, dict) else "?"
            head = proxy._admit(method, payload.get("params") if isinstance(payload, dict) else None, False)
            calls = [head]
        self._calls = calls if head in calls else [*calls, head]
        try:
            self._apply(proxy._rule_for(head), body, payload)
        except OSError as exc:  # upstream unreachable, or the client went away mid-answer
            self._settle(f"error {type(exc).__name__}")
            self.close_connection = True

    def _settle(self, outcome: str) -> None:
        """Record the outcome before the client can see it (a test reads it right after its answer)."""
        for call in self._calls:
            call.outcome = outcome

    def _apply(self, rule: Rule | None, body: bytes, payload: Any) -> None:
        proxy = self.server.proxy
        kind = rule.kind if rule else "forward"
        if rule is None or kind == "forward":
            self._settle("forwarded")
            self._answer(*proxy._forward(body))
            return
        if kind == "http":
            headers = {"Content-Type": "text/plain"}
            if rule.retry_after is not None:
                headers["Retry-After"] = rule.retry_after
            self._settle(f"http {rule.status}")
            self._answer(rule.status, headers, f"injected HTTP {rule.status}\n".encode())
            return
        if kind == "rpc_error":
            rid = payload.get("id") if isinstance(payload, dict) else None
            error = {"jsonrpc": "2.0", "id": rid, "error": {"code": rule.code, "message": rule.message}}
            self._settle("rpc error")
            self._answer(200, {"Content-Type": "application/json"}, json.dumps(error).encode())
            return
        if kind == "lose":
            proxy._forward(body)
            if rule.how == "504":
                self._settle("lost 504")
                self._answer(504, {"Content-Type": "text/plain"}, b"injected gateway timeout\n")
                return
            self._settle("lost close")
            self.close_connection = True  # nothing written: the client sees the socket close
            return
        if kind == "reset":
            if rule.forward:
                proxy._forward(body)
            self._settle("reset after forward" if rule.forward else "reset")
            self._reset()
            return
        if kind == "hang":
            present = self._hold(rule.seconds)
            if proxy._stopping.is_set():
                self._settle("hung, proxy stopped")
                self.close_connection = True
                return
            if not rule.forward:
                self._settle("hung")
                self.close_connection = True
                return
            reply = proxy._forward(body)
            if not present:
                self._settle("hung, forwarded, client gone")
                self.close_connection = True
                return
            self._settle("hung, forwarded")
            self._answer(*reply)
            return
        if kind == "rewrite":
            status, headers, answer = proxy._forward(body)
            data = json.loads(answer)
            if isinstance(data, dict) and "result" in data:
                data["result"] = rule.result(data["result"]) if callable(rule.result) else rule.result
            self._settle("rewritten")
            self._answer(status, headers, json.dumps(data).encode())
            return
        raise ValueError(f"unknown fault kind {kind!r}")

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # with linger 0: RST instead of FIN
        self.close_connection = True

    def _hold(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (even if the client leaves meanwhile) or, with None, until the client disconnects;
        either ends early when the proxy stops. Returns whether the client is still connected."""
        stopping = self.server.proxy._stopping
        deadline = None if seconds is None else time.monotonic() + seconds
        present = True
        while not stopping.is_set():
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                break
            if not present:
                stopping.wait(left)
                continue
            readable, _, _ = select.select([self.connection], [], [], left)
            if readable and not self._peek():
                present = False
                if deadline is None:
                    break
        return present

    def _peek(self) -> bool:
        """False once the client closed its side."""
        try:
            return bool(self.connection.recv(1, socket.MSG_PEEK))
        except OSError:
            return False


def log_range(call: Call) -> int | None:
    """The number of blocks an ``eth_getLogs`` call covers; None when a bound is a tag or absent."""
    params = call.params[0] if isinstance(call.params, list) and call.params else None
    if not isinstance(params, dict):
        return None
    low, high = params.get("fromBlock"), params.get("toBlock")
    if not (isinstance(low, str) and isinstance(high, str) and low.startswith("0x") and high.startswith("0x")):
        return None
    return int(high, 16) - int(low, 16) + 1


# ---------------------------------------------------------------- direct JSON-RPC helper


def post(url: str, payload: Any, timeout: float = 10.0) -> tuple[int, dict[str, str], Any]:
    """POST ``payload`` as JSON to ``url`` on a fresh connection; returns (status, headers, body: JSON when it
    parses, else text). Transport errors (reset, closed, timeout) propagate as ``OSError``s."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("POST", parts.path or "/", json.dumps(payload).encode(), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One JSON-RPC call; returns ``result``. Raises RuntimeError on an HTTP or JSON-RPC error."""
    status, _, body = post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout)
    if status != 200 or not isinstance(body, dict) or "error" in body:
        raise RuntimeError(f"{method}: HTTP {status}: {body}")
    return body["result"]


# ---------------------------------------------------------------- fixture: anvil + protocol + proxy


class FaultyChain:
    """The protocol (fees on) deployed on anvil, with a fresh :class:`FaultProxy` in front of it.

    ``w3`` talks through the proxy (no web3 retries, 5 s request timeout), ``direct`` straight to anvil (to
    check effects on chain), ``anvil_url``/``url`` are the two endpoints."""

    def __init__(self, sim: Any, anvil_url: str, proxy: FaultProxy):
        from web3 import Web3

        from nvm_chain.chain.rpc import FailoverProvider, RetryPolicy

        self.sim = sim
        self.anvil_url = anvil_url
        self.proxy = proxy
        self.url = proxy.url
        # what NvmChain.connect builds: our failover provider (bounded retries), short timeouts for tests
        self.w3 = Web3(FailoverProvider([proxy.url], RetryPolicy(attempts=4, base_delay=0.05, read_timeout=5.0)))
        self.w3.middleware_onion.remove("validation")
        self.direct = sim.w3

    def client(self, account: str, **options: Any) -> Any:
        """An NvmChain acting as the named test account, through the proxy (``options``: ``state_dir``,
        ``receipt_timeout``, ``refuse_duplicates`` …)."""
        from nvm_chain.client import NvmChain

        return NvmChain(self.w3, self.sim.book, self.sim.account(account).signer, network="local", **options)

    def anvil(self, method: str, params: list[Any] | None = None) -> Any:
        """A JSON-RPC call straight to anvil (``evm_mine``, ``anvil_reorg``, ``evm_setAutomine``, …)."""
        return rpc(self.anvil_url, method, params)

    def nonce(self, address: str, block: str = "latest") -> int:
        """The account's transaction count on anvil (not through the proxy)."""
        return int(self.anvil("eth_getTransactionCount", [address, block]), 16)


@pytest.fixture(scope="session")
def faults_sim() -> Iterator[tuple[Any, str]]:
    """A dedicated anvil (Prague) with the protocol deployed (fees on): (Simulation, anvil url)."""
    from web3 import Web3

    from nvm_chain.chain.tx.signer import LocalSigner
    from nvm_chain.sim import RpcChain, Simulation
    from tests.anvil import ANVIL, ANVIL_KEY, Anvil

    if not ANVIL.exists():
        pytest.skip("anvil not installed (run `npm install`)")
    node = Anvil()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None))
        yield Simulation.start(fees=True, chain=RpcChain(w3), owner=LocalSigner(ANVIL_KEY)), node.url
    finally:
        node.stop()


@pytest.fixture
def faulty(faults_sim) -> Iterator[FaultyChain]:
    """Anvil with the protocol + a fresh fault proxy in front; chain state, automine and mempool are restored
    after the test and the proxy is stopped."""
    sim, url = faults_sim
    snapshot = rpc(url, "evm_snapshot")
    with FaultProxy(url) as proxy:
        try:
            yield FaultyChain(sim, url, proxy)
        finally:
            rpc(url, "evm_setAutomine", [True])
            rpc(url, "anvil_dropAllTransactions")
            rpc(url, "evm_revert", [snapshot])
