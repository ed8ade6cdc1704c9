"""JSON-RPC 2.0 for the nodes this project runs itself: error objects, codes, and the request/batch envelope.

:class:`MethodTable` answers requests from a table of ``rpc_<method>`` methods; the devnet over eth-tester
(:class:`~nvm_chain.sim.devnet.methods.DevnetRpc`) and the revm node both build on it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "RpcError", "MethodTable", "invalid_params", "error_response", "dump", "MAX_BATCH",
    "PARSE_ERROR", "INVALID_REQUEST", "METHOD_NOT_FOUND", "INVALID_PARAMS", "INTERNAL_ERROR", "SERVER_ERROR",
    "REVERTED",
]

log = logging.getLogger(__name__)

MAX_BATCH = 1000

# JSON-RPC 2.0 / EIP-1474 error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # what geth uses for refused transactions and execution errors
REVERTED = 3  # geth: execution reverted, revert data in "data"


class RpcError(Exception):
    """A JSON-RPC error object: ``code``, ``message``, optional ``data`` and further ``members`` of a method's
    own (e.g. the ``index`` of the failing transaction of ``nvm_sendRawTransactionsIfAllSucceed``)."""

    def __init__(self, code: int, message: str, data: Any = None, members: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.members = members or {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        body.update(self.members)
        return body


def invalid_params(message: str) -> RpcError:
    """A -32602 error: the params of a request are malformed."""
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)


def dump(value: Any) -> bytes:
    """Compact JSON bytes (bytes values as 0x hex)."""
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


class MethodTable:
    """JSON-RPC 2.0 over this object's ``rpc_<method>`` methods: requests, batches and notifications, one
    method at a time under :attr:`lock`. Subclasses map their own exceptions in :meth:`translate`."""

    lock: Any

    def __init__(self, lock: Any = None):
        self.lock = lock or threading.RLock()
        self._methods: dict[str, Callable[[Any], Any]] = {
            name[len("rpc_"):]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }

    @property
    def methods(self) -> list[str]:
        """Names of the supported JSON-RPC methods."""
        return sorted(self._methods)

    def translate(self, method: str, exc: Exception) -> RpcError:
        """The answer for an exception a method raised (default: -32603 with its type and text)."""
        log.debug("%s failed", method, exc_info=True)
        return RpcError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")

    def call(self, method: str, params: Any = None) -> Any:
        """Run one method under the lock and return its JSON result.

        Raises:
            RpcError: unknown method (-32601), or what the method raised, through :meth:`translate`.
        """
        fn = self._methods.get(method)
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        try:
            with self.lock:
                return fn(params)
        except RpcError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the client, never kills the node
            raise self.translate(method, exc) from None

    def request(self, method: str, params: Any = None, request_id: Any = 0) -> dict[str, Any]:
        """One request as a response dict (``result`` or ``error``), for in-process providers."""
        try:
            return {"jsonrpc": "2.0", "id": request_id, "result": self.call(method, params)}
        except RpcError as exc:
            return error_response(request_id, exc)

    def handle(self, request: Any) -> dict[str, Any] | None:
        """Answer one decoded request object; None for a notification (no ``id``)."""
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return error_response(None, RpcError(INVALID_REQUEST, "invalid request: expected an object with a method"))
        request_id = request.get("id")
        if request_id is not None and not isinstance(request_id, (str, int, float)):
            return error_response(None, RpcError(INVALID_REQUEST, "invalid request: bad id"))
        answer = self.request(request["method"], request.get("params"), request_id)
        return answer if "id" in request else None

    def handle_json(self, body: bytes) -> bytes | None:
        """Answer one HTTP body (a request or a batch); None when it held only notifications."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return dump(error_response(None, RpcError(PARSE_ERROR, f"parse error: {exc}")))
        if isinstance(payload, list):
            if not payload:
                return dump(error_response(None, RpcError(INVALID_REQUEST, "invalid request: empty batch")))
            if len(payload) > MAX_BATCH:
                return dump(error_response(None, RpcError(INVALID_REQUEST,
                                                          f"invalid request: batch larger than {MAX_BATCH}")))
            answers = [a for a in (self.handle(item) for item in payload) if a is not None]
            return dump(answers) if answers else None
        answer = self.handle(payload)
        return None if answer is None else dump(answer)
