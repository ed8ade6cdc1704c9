"""Masking of API keys and bearer tokens in text (pure: no I/O).

REST fallback helper. Every message the REST layer builds from data it does not control (error bodies, URLs)
passes through :class:`Redactor` before it reaches an exception, a repr or a log line. The ``nvm_chain.rest``
logger also carries a :class:`RedactingFilter` as a second line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

#: A JWT (header.payload.signature); every JWT starts with ``eyJ`` (base64 of ``{"``).
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)\S+")

LOGGER_NAME = "nvm_chain.rest"


class Redactor:
    """Replaces known secrets, bearer credentials and anything JWT-shaped with ``***``."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a full key is masked before its JWT part is.
        self._secrets = tuple(sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secret(s)>)"

    def text(self, value: str) -> str:
        """Return ``value`` with every known secret, bearer token and JWT masked."""
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        value = _BEARER_RE.sub(lambda m: m.group(1) + MASK, value)
        return _JWT_RE.sub(MASK, value)

    def value(self, value: Any) -> Any:
        """Mask strings inside ``value`` recursively (dicts, lists, tuples); other values pass through."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


_DEFAULT = Redactor()


class RedactingFilter(logging.Filter):
    """Logging filter that masks bearer tokens and JWT-shaped strings in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _DEFAULT.text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def get_logger() -> logging.Logger:
    """Return the ``nvm_chain.rest`` logger, with a :class:`RedactingFilter` attached once."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
