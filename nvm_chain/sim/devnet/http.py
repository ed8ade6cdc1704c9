"""The devnet over HTTP: :class:`DevnetServer`, JSON-RPC 2.0 on 127.0.0.1 in front of one embedded chain.

Layer: simulation: serves the embedded chain; never used against real networks. It binds to the loopback
address only, and every account it knows is a test account. Browsers may call it (CORS ``*``), like anvil.

An eth-tester chain is answered by :class:`~nvm_chain.sim.devnet.methods.DevnetRpc`; a revm chain by its own
node (:class:`~nvm_chain.sim.revm_node.RevmNode`). Either way clients see a standard node: hex quantities,
camelCase fields, ``null`` for unknown transactions, batches, JSON-RPC error objects, and reverts shaped as
geth/anvil shape them (``{"code": 3, "message": "execution reverted", "data": "0x…"}``).

    >>> with DevnetServer(sim.chain, port=8545) as server:   # doctest: +SKIP
    ...     Web3(Web3.HTTPProvider(server.url)).eth.chain_id
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nvm_chain.errors import ConfigurationError
from nvm_chain.sim.devnet.jsonrpc import (
    INVALID_REQUEST,
    SERVER_ERROR,
    MethodTable,
    RpcError,
    dump,
    error_response,
)
from nvm_chain.sim.devnet.methods import DevnetRpc

__all__ = ["DevnetServer", "LOOPBACK", "MAX_BODY_BYTES"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a contract deployment is tens of KiB; batches stay far below this


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: web3's requests session reuses the connection
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stalls
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.log_requests:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes = b"", *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        if body:
            self.send_header("Content-Type", "application/json")
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _refuse(self, status: HTTPStatus, code: int, message: str) -> None:
        self._send(status, dump(error_response(None, RpcError(code, message))), close=True)

    def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight of browser tools
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, INVALID_REQUEST, "invalid request: use POST with a JSON-RPC body")

    def do_POST(self) -> None:  # noqa: N802
        if self.server.stopping:
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, SERVER_ERROR, "the devnet is shutting down")
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._refuse(HTTPStatus.LENGTH_REQUIRED, INVALID_REQUEST, "invalid request: Content-Length required")
            return
        length = int(length_header)
        if length > self.server.max_body:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, INVALID_REQUEST,
                         f"invalid request: body larger than {self.server.max_body} bytes")
            return
        body = self.rfile.read(length)
        answer = self.server.rpc.handle_json(body)
        if answer is None:
            self._send(HTTPStatus.NO_CONTENT)
        else:
            self._send(HTTPStatus.OK, answer)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], rpc: MethodTable, max_body: int, log_requests: bool):
        self.rpc = rpc
        self.max_body = max_body
        self.log_requests = log_requests
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN, a DNS round-trip a loopback server never needs
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class DevnetServer:
    """JSON-RPC over HTTP in front of one embedded chain, on 127.0.0.1 only.

    The socket is bound on construction, so :attr:`url` is known before :meth:`start` (``port=0`` picks a
    free port). Use as a context manager, or call :meth:`start`/:meth:`serve_forever` and :meth:`stop`.
    """

    def __init__(self, chain: Any, host: str = LOOPBACK, port: int = 0, *, max_body: int = MAX_BODY_BYTES,
                 log_requests: bool = False):
        """Bind ``host``:``port`` for ``chain`` (an :class:`~nvm_chain.sim.chain.EmbeddedChain`).

        Raises:
            ConfigurationError: ``host`` is not 127.0.0.1, the port is out of range, or ``chain`` has no
                eth-tester (a remote :class:`~nvm_chain.sim.chain.RpcChain` is already a node).
            OSError: the port is taken.
        """
        if host != LOOPBACK:
            raise ConfigurationError(f"the devnet binds to {LOOPBACK} only (test accounts, no auth), not {host!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int between 0 and 65535, got {port!r}")
        node = getattr(chain, "node", None)  # an engine that answers JSON-RPC itself (RevmChain's RevmNode)
        rpc = DevnetRpc(chain) if getattr(chain, "tester", None) is not None else node
        if not isinstance(rpc, MethodTable):
            raise ConfigurationError("the devnet serves an embedded (eth-tester or revm) chain only")
        if not isinstance(max_body, int) or max_body <= 0:
            raise ConfigurationError(f"max_body must be a positive int, got {max_body!r}")
        self.rpc = rpc
        self._httpd = _HttpServer((host, port), self.rpc, max_body, log_requests)
        self._thread: threading.Thread | None = None
        self._started = False
        self._serving_ident: int | None = None
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:8545``."""
        return f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"DevnetServer({self.url}, {'stopped' if self._closed else 'open'})"

    def start(self) -> DevnetServer:
        """Serve in a background daemon thread; returns self.

        Raises:
            RuntimeError: already serving, or stopped.
        """
        self._claim()
        self._thread = threading.Thread(target=self._serve, name=f"nvm-devnet-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` or an exception such as KeyboardInterrupt; the
        socket is closed on the way out.

        Raises:
            RuntimeError: already serving, or stopped.
        """
        self._claim()
        self._serve()

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection (idempotent; callable from any thread,
        including a signal handler interrupting :meth:`serve_forever`)."""
        if self._closed:
            return
        self._httpd.stopping = True
        if not self._started:
            self._close()
            return
        if self._serving_ident == threading.get_ident():
            # inside the serving thread (signal handler): shutdown() would wait for ourselves
            threading.Thread(target=self._httpd.shutdown, daemon=True).start()
            return
        self._httpd.shutdown()  # returns once the serve loop has exited (even if it had not begun yet)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _claim(self) -> None:
        if self._closed:
            raise RuntimeError("this DevnetServer was stopped; create a new one")
        if self._started:
            raise RuntimeError("this DevnetServer is already serving")
        self._started = True

    def _serve(self) -> None:
        self._serving_ident = threading.get_ident()
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._serving_ident = None
            self._close()

    def _close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._httpd.stopping = True
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> DevnetServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
