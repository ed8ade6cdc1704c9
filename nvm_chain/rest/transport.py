"""HTTP transport of the REST fallback: headers, JSON, retries and error mapping (httpx, sync).

REST fallback: HTTP only, never signs or sends transactions. Only idempotent GETs are retried — on 429 and 503
(honouring ``Retry-After``, capped) and on connection errors and timeouts — with exponential backoff and a
bounded number of attempts. POST/PUT/DELETE are sent exactly once. TLS verification is always on and there is
no switch to turn it off. The API key is sent only on authenticated calls and is masked in every log line and
exception (see :mod:`nvm_chain.rest.redaction`).
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from nvm_chain.errors import (
    AccessTokenAlreadyUsedError,
    ConfigurationError,
    RestAuthError,
    RestClientError,
    RestConnectionError,
    RestError,
    RestNotFoundError,
    RestRateLimitError,
    RestResponseError,
    RestServerError,
    RestTimeout,
)
from nvm_chain.rest.api_key import NvmApiKey
from nvm_chain.rest.redaction import Redactor, get_logger
from nvm_chain.rest.wire import js_safe

#: Backend API contract version sent as ``Nevermined-Version``.
DEFAULT_API_VERSION = "1.1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_log = get_logger()

#: Backend code for a v3 x402 token that was already settled once.
X402_TOKEN_ALREADY_USED_CODE = "BCK.X402.0059"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of idempotent GETs: ``max_attempts`` in total, backoff ``base * 2**(n-1)`` capped at
    ``backoff_max``, a ``Retry-After`` honoured up to ``retry_after_cap`` seconds, on ``retry_statuses``."""

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 503})

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or min(self.backoff_base, self.backoff_max, self.retry_after_cap) < 0:
            raise ConfigurationError("RetryPolicy needs max_attempts >= 1 and non-negative delays")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))


NO_RETRY = RetryPolicy(max_attempts=1)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``); never unverified."""
    context = httpx.create_ssl_context(verify=True, trust_env=True)
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ConfigurationError("TLS context does not verify certificates")
    return context


def parse_retry_after(value: str | None) -> float | None:
    """Return a ``Retry-After`` header (seconds, or an HTTP date) as seconds from now; ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN → None


def _message_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return "; ".join(str(v) for v in value)
    return None


class HttpTransport:
    """Sends JSON requests to one backend and returns parsed JSON, raising :class:`RestError` subclasses."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: NvmApiKey | None = None,
        api_version: str = DEFAULT_API_VERSION,
        organization_id: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ConfigurationError("timeouts must be positive")
        self._api_key = api_key
        self._api_version = api_version
        self._organization_id = organization_id
        self._retry = retry
        self._sleep = sleep
        secrets: list[str] = []
        if api_key is not None:
            key = api_key.secret.get_secret_value()
            secrets += [key, key.split(":", 1)[-1]]
            if api_key.o11y is not None:
                secrets.append(api_key.o11y.get_secret_value())
        self.redactor = Redactor(secrets)
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            verify=_tls_context(),
        )

    def __repr__(self) -> str:
        return f"HttpTransport(base_url={str(self._client.base_url)!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _headers(self, authenticated: bool) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Nevermined-Version": self._api_version,
        }
        if self._organization_id:
            headers["X-Current-Org-Id"] = self._organization_id
        if authenticated:
            if self._api_key is None:
                raise ConfigurationError("this call needs an NVM API key (Authorization: Bearer)")
            headers["Authorization"] = f"Bearer {self._api_key.secret.get_secret_value()}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request (retrying idempotent ones per the policy) and return the parsed JSON (``None``
        for an empty 2xx body).

        Raises:
            ConfigurationError: an authenticated call without an API key.
            RestTimeout, RestConnectionError: no answer, after retries for GETs.
            RestClientError (and subclasses), RestServerError: a 4xx/5xx answer.
            RestResponseError: a 2xx answer that is not JSON, or an unexpected status.
        """
        method = method.upper()
        headers = self._headers(authenticated)
        content = None
        if body is not None:
            content = json.dumps(js_safe(body), separators=(",", ":"), allow_nan=False).encode("utf-8")
        attempts = self._retry.max_attempts if method in _IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            started = time.monotonic()
            try:
                response = self._client.request(method, path, headers=headers, content=content, params=params)
            except httpx.TimeoutException as exc:
                error: RestError = RestTimeout(
                    f"no answer within the timeout ({type(exc).__name__})", method=method, path=path
                )
                cause: BaseException | None = exc
                retry_after = None
            except httpx.TransportError as exc:
                error = RestConnectionError(
                    f"could not reach the backend: {type(exc).__name__}: {self.redactor.text(str(exc))}",
                    method=method,
                    path=path,
                )
                cause, retry_after = exc, None
            except httpx.DecodingError as exc:
                raise RestResponseError(
                    "response body could not be decoded", method=method, path=path
                ) from exc
            else:
                _log.debug(
                    "%s %s -> %s in %.0f ms", method, path, response.status_code, 1000 * (time.monotonic() - started)
                )
                if last or response.status_code not in self._retry.retry_statuses:
                    return self._handle(method, path, response)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                error, cause = self._error(method, path, response), None
            if last:
                raise error from cause
            delay = self._retry.delay(attempt, retry_after)
            _log.info(
                "retrying %s %s in %.2fs after %s (attempt %d/%d)",
                method, path, delay, error.code, attempt + 1, attempts,
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _handle(self, method: str, path: str, response: httpx.Response) -> Any:
        if not 200 <= response.status_code < 300:
            raise self._error(method, path, response)
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise RestResponseError(
                "response is not valid JSON", status=response.status_code, method=method, path=path
            ) from None

    def _error(self, method: str, path: str, response: httpx.Response) -> RestError:
        status = response.status_code
        try:
            body = response.json() if response.content.strip() else None
        except ValueError:
            body = None
        code = hint = details = None
        message = None
        if isinstance(body, dict):
            raw_code = body.get("code")
            code = str(raw_code) if isinstance(raw_code, (str, int)) and not isinstance(raw_code, bool) else None
            message = _message_text(body.get("message")) or _message_text(body.get("error"))
            hint = body.get("hint") if isinstance(body.get("hint"), str) else None
            details = body.get("details")
        if message is None:
            text = response.text.strip() if body is None else ""
            message = text[:300] or response.reason_phrase or "request failed"
        if code is not None and not code.strip():
            code = None
        cls: type[RestError]
        if code == X402_TOKEN_ALREADY_USED_CODE and status < 500:
            cls = AccessTokenAlreadyUsedError
        elif status in (401, 403):
            cls = RestAuthError
        elif status == 404:
            cls = RestNotFoundError
        elif status == 429:
            cls = RestRateLimitError
        elif 400 <= status < 500:
            cls = RestClientError
        elif 500 <= status < 600:
            cls = RestServerError
        else:
            cls = RestResponseError
        redact = self.redactor
        return cls(
            redact.text(message),
            status=status,
            code=redact.text(code) if code else None,
            hint=redact.text(hint) if hint else None,
            details=redact.value(details),
            method=method,
            path=path,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
