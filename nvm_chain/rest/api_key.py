"""NVM API key parsing (pure: no I/O, no signature verification).

REST fallback helper. A key is ``<prefix>:<jwt>``; the lower-cased prefix names the environment it was minted
for (``sandbox``, ``live``, ``sandbox-staging``, ``live-staging``). The JWT payload is decoded **without**
verifying its signature, as the official SDKs do: ``sub`` is the account address, ``o11y`` (optional here) the
observability key. The key is held as a ``SecretStr`` and never appears in a repr, a log line or an error.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import SecretStr

from nvm_chain.errors import ApiKeyError, ValidationError
from nvm_chain.rest.environments import EnvironmentName
from nvm_chain.rest.wire import Address, WireModel, to_address

#: Key prefix (lower-cased) → environment, as in the official SDKs.
API_KEY_PREFIX_TO_ENVIRONMENT: dict[str, EnvironmentName] = {
    "sandbox": "sandbox",
    "live": "live",
    "sandbox-staging": "staging_sandbox",
    "live-staging": "staging_live",
}


class NvmApiKey(WireModel):
    """A parsed NVM API key. ``secret`` is masked in every repr; use ``secret.get_secret_value()`` to send it."""

    secret: SecretStr
    prefix: str
    environment: EnvironmentName | None
    account_address: Address
    o11y: SecretStr | None = None


def _b64url_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiKeyError(f"Invalid NVM API Key: the JWT {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise ApiKeyError(f"Invalid NVM API Key: the JWT {what} is not a JSON object")
    return value


def parse_api_key(key: str) -> NvmApiKey:
    """Parse ``<prefix>:<jwt>`` into an :class:`NvmApiKey` (environment, account address, o11y key).

    An unrecognised prefix gives ``environment=None`` (the caller must then name the environment).

    Raises:
        ApiKeyError: wrong number of ``:``-separated parts, a JWT that is not three base64url segments with
            JSON header and payload, or a missing/invalid ``sub`` address. The message never contains the key.
    """
    if not isinstance(key, str):
        raise ApiKeyError("Invalid NVM API Key: expected a string")
    key = key.strip()
    parts = key.split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ApiKeyError("Invalid NVM API Key: expected exactly one ':' between a prefix and a JWT")
    prefix, jwt = parts
    segments = jwt.split(".")
    if len(segments) != 3 or not segments[0] or not segments[1]:
        raise ApiKeyError("Invalid NVM API Key: the part after ':' is not a JWT (header.payload.signature)")
    _b64url_json(segments[0], "header")
    claims = _b64url_json(segments[1], "payload")
    if "sub" not in claims:
        raise ApiKeyError("Invalid NVM API Key: no 'sub' claim (account address)")
    try:
        address = to_address(claims["sub"], what="'sub' claim")
    except ValidationError:
        raise ApiKeyError("Invalid NVM API Key: the 'sub' claim is not an Ethereum address") from None
    o11y = claims.get("o11y")
    if o11y is not None and not isinstance(o11y, str):
        raise ApiKeyError("Invalid NVM API Key: the 'o11y' claim is not a string")
    return NvmApiKey(
        secret=SecretStr(key),
        prefix=prefix,
        environment=API_KEY_PREFIX_TO_ENVIRONMENT.get(prefix.lower()),
        account_address=address,
        o11y=SecretStr(o11y) if o11y else None,
    )
