"""Test helpers: fake NVM API keys with recognisable secret parts, and a fast retry policy."""

from __future__ import annotations

import base64
import json
from typing import Any

from eth_utils import to_checksum_address

from nvm_chain.rest import RetryPolicy

#: Recognisable parts of the fake key: none of them may ever show up in a repr, log line or error.
SIGNATURE_MARKER = "c2VjcmV0LXNpZ25hdHVyZS1NQVJLRVI"
O11Y_MARKER = "o11y-SECRET-MARKER"
SUB = "0x9a1d0c4b8b3f1a6ae2bb1e3c0d5e7f9a1b2c3d4e"
SUB_CHECKSUM = to_checksum_address(SUB)
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02, retry_after_cap=1.0)


def b64url(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: Any, header: Any = None, signature: str = SIGNATURE_MARKER) -> str:
    return f"{b64url(header or {'alg': 'ES256K', 'typ': 'JWT'})}.{b64url(claims)}.{signature}"


def make_key(prefix: str = "sandbox", **claims: Any) -> str:
    """``<prefix>:<jwt>`` with ``sub``/``o11y`` defaults; pass ``claim=None`` to drop a claim."""
    merged = {"sub": SUB, "o11y": O11Y_MARKER, **claims}
    return f"{prefix}:{make_jwt({k: v for k, v in merged.items() if v is not None})}"


def secret_parts(key: str) -> list[str]:
    """Every piece of a key that must stay hidden."""
    return [key, key.split(":", 1)[1], SIGNATURE_MARKER, O11Y_MARKER]


def assert_no_secret(text: str, key: str) -> None:
    for part in secret_parts(key):
        assert part not in text, "secret leaked"
