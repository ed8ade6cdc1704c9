"""JSON-RPC over HTTP to one or more endpoints, with bounded retries and failover (chain access).

:class:`FailoverProvider` is the web3 provider of every networked client. For each request it tries the
endpoints in order and retries what a node or gateway may answer differently a moment later — transport
errors (refused, reset, timed out), HTTP 429 and 5xx, and JSON-RPC rate-limit errors (-32005) — with jittered
exponential backoff that honours ``Retry-After``. Attempts are bounded by :class:`RetryPolicy` and by the
caller's deadline (:meth:`FailoverProvider.deadline`). When nothing answers it raises
:class:`~nvm_chain.errors.NodeUnavailableError` naming the endpoints (host only: a key in a URL's path, query
or user part is never shown), never a raw ``requests`` exception.

``eth_sendRawTransaction`` is the exception: it goes to each endpoint at most once per call, and the error
says whether the bytes may have reached a node (``maybe_delivered``). Resending the same signed bytes is
idempotent, but what the answer to a resend means depends on whether an earlier attempt got through, so the
transaction engine (:mod:`nvm_chain.chain.tx.sender`) decides when to resend.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import Web3
from web3._utils.method_formatters import get_error_formatters
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from nvm_chain.errors import ConfigurationError, NodeUnavailableError

#: ``nvm_sendRawTransactionIfSucceeds(raw)``, answered by the embedded chains' providers (which set
#: ``supports_send_if_succeeds``): the signed transaction is kept (mined) only if it succeeds; a failing one leaves
#: no trace and is answered as ``eth_call`` answers it (a revert: code 3 with the revert bytes in ``data``). One
#: execution per write instead of a simulation followed by the same execution.
SEND_IF_SUCCEEDS = "nvm_sendRawTransactionIfSucceeds"
#: ``nvm_sendRawTransactionsIfAllSucceed(raw, raw, …)``, answered by the embedded chains' providers (which set
#: ``supports_send_if_all_succeed``): the signed transactions (the params, in order) are executed one after the
#: other, each mined in a block of its own as ``eth_sendRawTransaction`` mines one, and kept only if every one
#: succeeds; the answer is the list of their hashes. Otherwise nothing is kept (state, nonces, balances, block
#: number and the next block's timestamp as before) and the first failure is answered as
#: :data:`SEND_IF_SUCCEEDS` answers it (same code, message and data), with one more member, ``index``: its
#: position in the params. An approve and the order it pays for, without simulating the order first.
SEND_IF_ALL_SUCCEED = "nvm_sendRawTransactionsIfAllSucceed"
#: methods never retried by the provider (the sender resends signed bytes itself)
SEND_METHODS = frozenset({"eth_sendRawTransaction", SEND_IF_SUCCEEDS, SEND_IF_ALL_SUCCEED})
#: how providers word "slow down" and "that range or result is too large" (-32005 means either, by provider)
RANGE_WORDS = re.compile(
    r"query returned more than|more than \d[\d,]* (results|logs)|block range|range (is )?too (large|wide|big)"
    r"|ranges? over \d|response size|response too large|(too many|max(imum)?) (results|blocks|logs)"
    r"|limited to .{0,30}range|exceeds? (the )?max|query timeout", re.IGNORECASE)
RATE_WORDS = re.compile(
    r"rate.?limit|too many requests|request rate|requests per second|compute units|capacity|throughput|quota",
    re.IGNORECASE)
RATE_CODES = frozenset({-32005, 429})


def answers_json(w3: Web3) -> bool:
    """Whether ``w3``'s provider answers plain JSON-RPC (hex quantities, as a node sends them: the failover HTTP
    provider, the revm node), so that :func:`plain_result` may skip web3's request and result formatters."""
    return getattr(w3.provider, "answers_json", False)


def plain_result(w3: Web3, method: str, params: list[Any]) -> Any:
    """The raw ``result`` of ``method(params)`` sent straight to an :func:`answers_json` provider (``params``
    already in JSON-RPC form). The answer is checked by web3's own validation with web3's error formatters of
    ``method``, so a JSON-RPC error raises exactly what ``w3.eth`` raises for it (e.g. a revert of ``eth_call``
    becomes ``ContractLogicError`` with its data); transport errors are the provider's, as through web3.

    Raises:
        Web3RPCError (or the subclass web3 picks), BadResponseFormat: as web3 raises them.
    """
    endpoint = RPCEndpoint(method)
    response = w3.provider.make_request(endpoint, params)
    if type(response) is dict and response.get("jsonrpc") == "2.0" and type(response.get("id")) is int \
            and "result" in response and "error" not in response:
        return response["result"]  # what web3's validation lets through unchanged (a well-formed answer)
    return w3.manager.formatted_response(response, params, get_error_formatters(endpoint))


def is_rate_limit(code: object, message: str) -> bool:
    """Whether a JSON-RPC error means "slow down" (retry later), not "ask for less" (a range or result limit)."""
    if RATE_WORDS.search(message):
        return True
    return code in RATE_CODES and not RANGE_WORDS.search(message)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in total per request (over all endpoints), backoff from ``base_delay``
    doubling up to ``max_delay`` (±50% jitter), a ``Retry-After`` honoured up to ``max_retry_after`` seconds,
    and per-attempt ``connect_timeout``/``read_timeout`` (shortened to the caller's deadline)."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 4.0
    max_retry_after: float = 15.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay * random.uniform(0.5, 1.5)


def endpoint_label(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, plus ``/…`` when it has a path or query: what messages show of an
    endpoint (RPC URLs often carry an API key in the path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<malformed URL>"
    if parts.scheme not in ("http", "https") or not host or any(len(label) > 63 for label in host.split(".")):
        return "<malformed URL>"
    if sum(c in "0123456789abcdef" for c in host.lower()) >= 32:  # a key pasted as a host name
        return f"{parts.scheme}://<host not shown>{port}"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


@dataclass(frozen=True)
class _Failure:
    """One attempt that failed in a way worth another try (internal): why, whether the request may have
    reached a node, and the server's ``Retry-After``."""

    reason: str
    delivered: bool
    retry_after: float | None = None


class FailoverProvider(JSONBaseProvider):
    """A web3 provider over ``urls`` (tried in order), with the retry and failover policy above."""

    answers_json = True  # make_request returns the node's JSON-RPC answer as is (hex quantities)

    def __init__(self, urls: Sequence[str], policy: RetryPolicy | None = None,
                 session: requests.Session | None = None):
        """Raises:
            ConfigurationError: no URL, or a URL that is not http(s) (the message shows no URL part that
                could hold a key).
        """
        super().__init__()
        if not urls:
            raise ConfigurationError("no RPC URL given")
        for url in urls:
            if endpoint_label(url) == "<malformed URL>":
                raise ConfigurationError("an RPC URL is not an http(s) URL (value not shown)")
        self._urls = tuple(urls)
        self.endpoints = tuple(endpoint_label(u) for u in urls)
        self.policy = policy or RetryPolicy()
        self._session = session or requests.Session()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"FailoverProvider({', '.join(self.endpoints)})"

    @property
    def urls(self) -> tuple[str, ...]:
        """The endpoint URLs, in the order they are tried (they may hold credentials: never print them)."""
        return self._urls

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Bound every request of this thread inside the block to end within ``seconds`` from now."""
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.deadline = previous

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Send one JSON-RPC request; the node's answer, a JSON-RPC error included.

        Raises:
            NodeUnavailableError: no endpoint answered within the policy's attempts or the deadline.
        """
        body = self.encode_rpc_request(method, params)
        sending = method in SEND_METHODS
        attempts = len(self._urls) if sending else max(self.policy.attempts, len(self._urls))
        last: _Failure | None = None
        delivered = False
        for attempt in range(1, attempts + 1):
            index = (attempt - 1) % len(self._urls)
            outcome = self._post(index, body, allow_rate_limit_retry=not sending)
            if not isinstance(outcome, _Failure):
                return outcome
            last, delivered = outcome, delivered or outcome.delivered
            if attempt == attempts:
                break
            wait = self.policy.backoff(attempt, last.retry_after)
            remaining = self._remaining()
            if remaining is not None and wait >= remaining:
                break
            if not sending or index == len(self._urls) - 1:
                time.sleep(wait)
        assert last is not None
        where = ", ".join(self.endpoints)
        raise NodeUnavailableError(f"{method}: no answer from {where} ({last.reason})", self.endpoints,
                                   maybe_delivered=delivered)

    def _remaining(self) -> float | None:
        deadline = getattr(self._local, "deadline", None)
        return None if deadline is None else deadline - time.monotonic()

    def _post(self, index: int, body: bytes, *, allow_rate_limit_retry: bool) -> RPCResponse | _Failure:
        label = self.endpoints[index]
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            return _Failure("deadline reached", delivered=False)
        read = self.policy.read_timeout if remaining is None else max(min(self.policy.read_timeout, remaining), 0.05)
        connect = min(self.policy.connect_timeout, read)
        try:
            answer = self._session.post(self._urls[index], data=body, timeout=(connect, read),
                                        headers={"Content-Type": "application/json"})
        except requests.ConnectTimeout:
            return _Failure(f"{label}: connection timed out", delivered=False)
        except requests.ConnectionError as exc:
            # refused before anything was sent vs. dropped after the request went out
            refused = "refused" in str(exc).lower() or "failed to establish" in str(exc).lower()
            return _Failure(f"{label}: connection {'refused' if refused else 'lost'}",
                            delivered=not refused)
        except requests.Timeout:
            return _Failure(f"{label}: no answer in {read:.3g} s", delivered=True)
        except requests.RequestException as exc:
            return _Failure(f"{label}: {type(exc).__name__}", delivered=True)
        status = answer.status_code
        if status == 429 or status >= 500:
            return _Failure(f"{label}: HTTP {status}", delivered=status != 429 and status != 503,
                            retry_after=retry_after_seconds(answer.headers.get("Retry-After")))
        if status >= 400:
            raise NodeUnavailableError(f"{label} answered HTTP {status} (check the URL and its credentials)",
                                       self.endpoints)
        try:
            response = json.loads(answer.content)
        except ValueError:
            return _Failure(f"{label}: answer is not JSON", delivered=True)
        error = response.get("error") if isinstance(response, dict) else None
        if allow_rate_limit_retry and isinstance(error, dict) and is_rate_limit(error.get("code"),
                                                                                 str(error.get("message", ""))):
            return _Failure(f"{label}: rate limited ({error.get('message', '')[:80]})", delivered=True)
        return response  # type: ignore[no-any-return]


def retry_after_seconds(value: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (or a provider's backoff field) given in seconds; None for anything
    else (an HTTP date, NaN, nothing): the backoff applies then."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(seconds, 0.0) if seconds == seconds else None
