"""``eth_getLogs`` over long block ranges on real providers (chain access; never signs or sends).

Providers cap what one ``eth_getLogs`` may cover: a block range (2,000, 10,000 blocks… depending on the
provider and plan) or a number of results (geth and Infura: 10,000). They refuse with a JSON-RPC error, or an
HTTP 4xx, in their own words; :func:`classify` recognises the common ones. :class:`ChunkSizer` halves the range
on a refusal (or takes the range the provider suggests, as Alchemy does) and grows it back after successes,
without retrying a size known to be refused until ``forget_after`` successes in a row (a result-count limit
depends on how dense the logs are, so an old refusal says little about later blocks).

Rate-limited answers (HTTP 429, JSON-RPC ``-32005``, "rate limit" / "too many requests" texts) are retried by
:func:`get_logs` under :data:`SCAN_RETRY`: bounded attempts, jittered exponential backoff, and a
``Retry-After`` header (or Infura's ``backoff_seconds``) honoured up to a cap. Errors raised from here never
carry the provider's exception text (a ``requests`` error names the URL, which may hold an API key).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from nvm_chain.chain.rpc import RANGE_WORDS, RATE_CODES, RATE_WORDS, RetryPolicy, retry_after_seconds
from nvm_chain.errors import LogScanError, NodeUnavailableError

REFUSED = "refused"
RATE_LIMITED = "rate-limited"

_SUGGESTED = re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """What a failed ``eth_getLogs`` means: ``kind`` is :data:`REFUSED` (range or result limit),
    :data:`RATE_LIMITED`, or None (anything else); ``retry_after`` in seconds when the provider said;
    ``suggested`` a range size the provider says it accepts."""

    kind: str | None
    retry_after: float | None = None
    suggested: int | None = None


def classify(exc: BaseException) -> Failure:
    """Read a provider's refusal out of a web3 exception (JSON-RPC error or HTTP error); never raises."""
    response = getattr(exc, "response", None)  # requests.HTTPError
    status = getattr(response, "status_code", None)
    code, text, data = _rpc_error(exc)
    if response is not None:
        text = f"{text} {getattr(response, 'text', '') or ''}"
    headers = getattr(response, "headers", None) or {}
    retry_after = retry_after_seconds(headers.get("Retry-After"))
    if retry_after is None and isinstance(data, dict) and isinstance(data.get("rate"), dict):
        retry_after = retry_after_seconds(data["rate"].get("backoff_seconds"))  # Infura
    if status == 429 or RATE_WORDS.search(text):
        return Failure(RATE_LIMITED, retry_after)
    if status == 413 or RANGE_WORDS.search(text):
        hint = _SUGGESTED.search(text)
        suggested = int(hint[2], 16) - int(hint[1], 16) + 1 if hint else None
        return Failure(REFUSED, suggested=suggested if suggested and suggested > 0 else None)
    if code in RATE_CODES:
        return Failure(RATE_LIMITED, retry_after)
    return Failure(None)


def _rpc_error(exc: BaseException) -> tuple[int | None, str, Any]:
    """(code, message, data) of a JSON-RPC error carried by ``exc`` (web3's Web3RPCError, or a ValueError
    holding the error dict); (None, "", None) for anything else."""
    response = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    if error is None and exc.args and isinstance(exc.args[0], dict):
        error = exc.args[0]
    if isinstance(error, dict):
        code = error.get("code")
        return code if isinstance(code, int) else None, str(error.get("message", "")), error.get("data")
    if isinstance(error, str):
        return None, error, None
    return None, "", None


#: how a rate-limited ``eth_getLogs`` is retried (the provider's policy, more patient: scans are long)
SCAN_RETRY = RetryPolicy(attempts=6, base_delay=0.5, max_delay=8.0, max_retry_after=30.0)


class ChunkSizer:
    """The block-range size of the next ``eth_getLogs``.

    Starts at ``initial``. :meth:`refused` takes the provider's suggestion when it gave one, else goes back to
    the last size that worked (once), else halves (never below ``minimum``); the refused size becomes a
    ceiling. :meth:`succeeded` doubles the size up to ``maximum``, but near the ceiling only half-way towards it,
    and not at all once within 12.5% of it (so sizes settle just under the provider's limit instead of bouncing
    off it), and forgets the ceiling after ``forget_after`` successes in a row (limits on results depend on how
    dense the logs are)."""

    def __init__(self, initial: int = 10_000, *, minimum: int = 1, maximum: int = 100_000, forget_after: int = 256):
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self.size, self.minimum, self.maximum, self.forget_after = initial, minimum, maximum, forget_after
        self.ceiling: int | None = None  # smallest size refused since the last reset
        self.good: int | None = None  # the last size that worked
        self._streak = 0

    def refused(self, suggested: int | None = None, attempted: int | None = None) -> bool:
        """Shrink after a refusal of the current size (or of ``attempted`` blocks, when the range asked for was
        cut shorter by the end of the scan). Returns False when it is already at ``minimum``."""
        self._streak = 0
        if attempted is not None and attempted < self.size:
            self.size = max(attempted, self.minimum)
        self.ceiling = self.size if self.ceiling is None else min(self.ceiling, self.size)
        if self.size <= self.minimum:
            return False
        if suggested is not None and suggested < self.size:
            smaller = suggested
        elif self.good is not None and self.good < self.size:
            smaller = self.good
        else:
            smaller = self.size // 2
        self.good = None  # refused again at that size: halve next time
        self.size = max(self.minimum, smaller)
        return True

    def succeeded(self) -> None:
        """Grow after a successful request of the current size."""
        self.good = self.size
        self._streak += 1
        if self.ceiling is not None and self._streak >= self.forget_after:
            self.ceiling, self._streak = None, 0
        grown = min(self.size * 2, self.maximum)
        if self.ceiling is not None and grown >= self.ceiling:
            close = self.ceiling - self.size <= self.size // 8  # within 12.5% of the limit: good enough
            grown = self.size if close else (self.size + self.ceiling) // 2
        self.size = grown


def get_logs(w3: Web3, params: dict[str, Any], *, policy: RetryPolicy | None = None,
             sleep: Callable[[float], None] = time.sleep) -> list[Any]:
    """One ``eth_getLogs``, retried while the provider answers "rate limited" (see :data:`SCAN_RETRY`).

    Raises:
        NodeUnavailableError: still rate-limited after the policy's attempts.
        the provider's exception for anything else (a refused range included: see :func:`classify`).
    """
    policy = policy or SCAN_RETRY
    for attempt in range(1, policy.attempts + 1):
        try:
            return list(w3.eth.get_logs(params))  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - every provider raises its own class
            failure = classify(exc)
            if failure.kind != RATE_LIMITED:
                raise
            if attempt == policy.attempts:
                raise NodeUnavailableError(
                    f"eth_getLogs: the node kept answering 'rate limited' ({policy.attempts} attempts)") from None
            sleep(policy.backoff(attempt, failure.retry_after))
    raise AssertionError("unreachable")


def get_logs_chunked(w3: Web3, params: dict[str, Any], from_block: int, to_block: int, *,
                     sizer: ChunkSizer | None = None, policy: RetryPolicy | None = None,
                     on_chunk: Callable[[int, int, list[Any]], None] | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> list[Any]:
    """``eth_getLogs`` with filter ``params`` (address, topics) over ``[from_block, to_block]`` in ranges the
    provider accepts, sized by ``sizer``; ``on_chunk(start, end, logs)`` after each accepted range.

    Raises:
        LogScanError: a range of ``sizer.minimum`` blocks is still refused.
        NodeUnavailableError: rate-limited beyond the policy.
        the provider's exception for any other failure.
    """
    sizer = sizer or ChunkSizer()
    logs: list[Any] = []
    start = from_block
    while start <= to_block:
        end = min(start + sizer.size - 1, to_block)
        try:
            chunk = get_logs(w3, {**params, "fromBlock": start, "toBlock": end}, policy=policy, sleep=sleep)
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify(exc)
            if failure.kind != REFUSED:
                raise
            if not sizer.refused(failure.suggested, attempted=end - start + 1):
                raise LogScanError(f"the node refused eth_getLogs over blocks {start}..{end} even at "
                                   f"{end - start + 1} block(s) (too many logs, or a provider limit)",
                                   (start, end)) from None
            continue
        if end - start + 1 == sizer.size:  # a range cut short by to_block says nothing about the size
            sizer.succeeded()
        logs += chunk
        if on_chunk is not None:
            on_chunk(start, end, chunk)
        start = end + 1
    return logs
