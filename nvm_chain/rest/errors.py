"""Exceptions of the REST fallback (pure: no I/O).

Classified by what the caller can do about them, all rooted at :class:`nvm_chain.errors.NvmChainError`:

- :class:`RestTimeout` (also ``TimeoutError``) and :class:`RestConnectionError` (also ``ConnectionError``):
  the request may not have reached the backend; retry later. GETs were already retried.
- :class:`RestClientError` (4xx): fix the request, the key or the permissions; subclasses
  :class:`RestAuthError` (401/403), :class:`RestNotFoundError` (404, also ``LookupError``),
  :class:`RestRateLimitError` (429) and :class:`AccessTokenAlreadyUsedError` (``BCK.X402.0059``).
- :class:`RestServerError` (5xx): report it, or retry later.
- :class:`RestResponseError`: the backend answered 2xx with malformed JSON or an unexpected shape, or a
  non-2xx/4xx/5xx status.

Messages are masked by the transport before an exception is built: no API key or bearer token appears in
``str()``/``repr()`` of these exceptions.
"""

from __future__ import annotations

from typing import Any

from nvm_chain.errors import ConfigurationError, NvmChainError, ValidationError

__all__ = [
    "AccessTokenAlreadyUsedError",
    "ApiKeyError",
    "ConfigurationError",
    "InvalidAccessTokenError",
    "RestAuthError",
    "RestClientError",
    "RestConnectionError",
    "RestError",
    "RestNotFoundError",
    "RestRateLimitError",
    "RestResponseError",
    "RestServerError",
    "RestTimeout",
    "ValidationError",
    "X402_TOKEN_ALREADY_USED_CODE",
]

#: Backend code for a v3 x402 token that was already settled once.
X402_TOKEN_ALREADY_USED_CODE = "BCK.X402.0059"


class ApiKeyError(ValidationError):
    """Raised when an NVM API key is malformed; the message never contains the key."""


class InvalidAccessTokenError(ValidationError):
    """Raised when an x402 access token cannot be decoded or does not have the documented shape."""


class RestError(NvmChainError):
    """Raised when a call to the Nevermined REST API fails.

    Attributes: ``status`` (HTTP status or ``None`` when no response arrived), ``code`` (the API's error code
    such as ``BCK.X402.0059``, else ``http_<status>`` for a non-2xx status, else the class's code: ``timeout``,
    ``network_error``, ``invalid_response``), ``message``, ``hint``,
    ``details``, ``method``, ``path`` and ``retry_after`` (seconds, from a ``Retry-After`` header).
    """

    default_code = "rest_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        details: Any = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        failed_status = status is not None and not 200 <= status < 300
        self.code = code or (f"http_{status}" if failed_status else self.default_code)
        self.hint = hint
        self.details = details
        self.method = method
        self.path = path
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.hint:
            text += f" — {self.hint}"
        if self.details not in (None, "", [], {}):
            text += f" ({self.details})"
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{where}{text} ({status}{self.code})"


class RestTimeout(RestError, TimeoutError):
    """Raised when the backend did not answer within the configured timeout (after retries, for GETs)."""

    default_code = "timeout"


class RestConnectionError(RestError, ConnectionError):
    """Raised when the backend could not be reached (DNS, refused, reset, TLS) after retries, for GETs."""

    default_code = "network_error"


class RestClientError(RestError):
    """Raised for a 4xx answer: the request, key or permissions must change before retrying."""


class RestAuthError(RestClientError):
    """Raised for 401/403: the API key is missing, invalid, or not allowed to do this."""


class RestNotFoundError(RestClientError, LookupError):
    """Raised for 404: the plan, agent or route does not exist on this backend."""


class RestRateLimitError(RestClientError):
    """Raised for 429 once retries are exhausted (or at once for non-idempotent calls); see ``retry_after``."""


class AccessTokenAlreadyUsedError(RestClientError):
    """Raised when the backend reports ``BCK.X402.0059``: a single-use (v3) x402 token was already settled."""


class RestServerError(RestError):
    """Raised for a 5xx answer (after retries on 503, for GETs)."""


class RestResponseError(RestError):
    """Raised when a response is not the JSON the API documents (malformed JSON, wrong shape, odd status)."""

    default_code = "invalid_response"
