"""x402 access tokens: decode, encode and validate locally (pure: no I/O, no signature check).

REST fallback helper. A token is **not** a JWT: it is base64 (URL-safe, unpadded when we encode it) of a JSON
x402 v2 PaymentPayload::

    {"x402Version": 2,
     "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": "<uint256>", "extra": {...}},
     "payload": {"signature": "0x…", "authorization": {"from": "0x…", "sessionKeysProvider": …,
                 "sessionKeys": […], "nonce"?: "…"}},
     "extensions": {}}

A token whose ``authorization.nonce`` is a string with non-blank content is a single-use v3 token (the
predicate payments-py and the backend use); otherwise (no nonce, a blank one, a number) it is a reusable v2
bearer credential. Validation here checks the shape only; whether the subscriber holds credits, and whether
the signature is genuine, must be checked elsewhere (on-chain, or by the facilitator). Error messages name the
offending field but never echo the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

import pydantic
from pydantic import Field

from nvm_chain.errors import InvalidAccessTokenError, ValidationError
from nvm_chain.rest.payment_required import X402_SCHEMES, X402Scheme
from nvm_chain.rest.wire import UINT256_MAX, Address, WireModel, to_address

SUPPORTED_X402_VERSIONS: frozenset[int] = frozenset({2})
MAX_TOKEN_LENGTH = 64 * 1024
_SIGNATURE_RE = re.compile(r"^0x(?:[0-9a-fA-F]{2})+$")
#: The reusable bearer token the backend mints by default.
X402_TOKEN_VERSION_V2 = 2
#: The single-use token bound to one seller endpoint (its signature covers agent, resource, verb and a nonce).
X402_TOKEN_VERSION_V3 = 3


def is_v3_nonce(nonce: Any) -> bool:
    """Whether an ``authorization.nonce`` value marks a v3 token: a string with non-blank content."""
    return isinstance(nonce, str) and nonce.strip() != ""


class X402Token(WireModel):
    """A decoded, shape-checked x402 access token.

    ``subscriber`` (``payload.authorization.from``, checksummed) and ``plan_id`` (``accepted.planId`` as int)
    are what an on-chain credits check needs; ``raw`` is the exact decoded JSON (used by
    :func:`encode_access_token`, so re-encoding loses nothing).
    """

    x402_version: int
    scheme: X402Scheme
    network: str
    plan_id: int
    agent_id: str | None = None
    signature: str = Field(repr=False)
    subscriber: Address
    session_keys_provider: str | None = None
    nonce: str | int | None = None
    raw: dict[str, Any] = Field(repr=False)

    @property
    def token_version(self) -> int:
        """3 for a single-use token (``authorization.nonce`` a non-blank string), else 2."""
        return X402_TOKEN_VERSION_V3 if is_v3_nonce(self.nonce) else X402_TOKEN_VERSION_V2

    @property
    def is_single_use(self) -> bool:
        return self.token_version == 3


def _fail(message: str) -> InvalidAccessTokenError:
    return InvalidAccessTokenError(f"invalid x402 access token: {message}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(f"'{where}' must be a JSON object")
    return value


def validate_access_token(payload: Mapping[str, Any]) -> X402Token:
    """Check a decoded token payload against the documented v2/v3 shape and return it typed.

    Raises:
        InvalidAccessTokenError: wrong ``x402Version``, unknown ``accepted.scheme``, empty ``accepted.network``,
            ``accepted.planId`` not a uint256 decimal string, ``payload.signature`` not ``0x`` hex, or
            ``payload.authorization.from`` not an address.
    """
    doc = _object(dict(payload) if isinstance(payload, Mapping) else payload, "token")
    version = doc.get("x402Version")
    if isinstance(version, bool) or version not in SUPPORTED_X402_VERSIONS:
        raise _fail(f"'x402Version' must be one of {sorted(SUPPORTED_X402_VERSIONS)}")
    accepted = _object(doc.get("accepted"), "accepted")
    scheme = accepted.get("scheme")
    if scheme not in X402_SCHEMES:
        raise _fail(f"'accepted.scheme' must be one of {sorted(X402_SCHEMES)}")
    network = accepted.get("network")
    if not isinstance(network, str) or not network.strip():
        raise _fail("'accepted.network' must be a non-empty string")
    plan = accepted.get("planId")
    if not isinstance(plan, str) or not (plan.isascii() and plan.isdigit()) or int(plan) > UINT256_MAX:
        raise _fail("'accepted.planId' must be a uint256 decimal string")
    extra = accepted.get("extra") or {}
    _object(extra, "accepted.extra")
    agent = extra.get("agentId")
    body = _object(doc.get("payload"), "payload")
    signature = body.get("signature")
    if not isinstance(signature, str) or not _SIGNATURE_RE.match(signature):
        raise _fail("'payload.signature' must be 0x-prefixed hex")
    authorization = _object(body.get("authorization"), "payload.authorization")
    try:
        subscriber = to_address(authorization.get("from"), what="'payload.authorization.from'")
    except ValidationError:
        raise _fail("'payload.authorization.from' must be an address") from None
    nonce = authorization.get("nonce")
    if nonce is not None and (isinstance(nonce, bool) or not isinstance(nonce, (str, int))):
        raise _fail("'payload.authorization.nonce' must be a string")
    provider = authorization.get("sessionKeysProvider")
    try:
        return X402Token(
            x402_version=version,
            scheme=scheme,
            network=network,
            plan_id=int(plan),
            agent_id=None if agent is None else str(agent),
            signature=signature,
            subscriber=subscriber,
            session_keys_provider=provider if isinstance(provider, str) else None,
            nonce=nonce,
            raw=doc,
        )
    except pydantic.ValidationError:
        raise _fail("unexpected field types") from None


def _b64_decode(token: str) -> bytes:
    padded = token + "=" * (-len(token) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_", validate=True)  # URL-safe first
    except (binascii.Error, ValueError):
        return base64.b64decode(padded, validate=True)  # then standard


def decode_access_token(token: str) -> X402Token:
    """Decode an x402 access token (URL-safe base64, re-padded; standard base64 as fallback) and validate it.

    Raises:
        InvalidAccessTokenError: not a string, too long, not base64, not a JSON object, or a bad shape
            (see :func:`validate_access_token`).
    """
    if not isinstance(token, str) or not token.strip():
        raise _fail("expected a non-empty string")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise _fail(f"longer than {MAX_TOKEN_LENGTH} characters")
    try:
        payload = json.loads(_b64_decode(token).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise _fail("not base64-encoded JSON") from None
    return validate_access_token(_object(payload, "token"))


def _decode_json(token: str) -> Any:
    """The JSON inside a token (lenient: no shape check), or ``None``."""
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        return json.loads(_b64_decode(token.strip()).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


def is_single_use_access_token(token: str | None) -> bool:
    """Whether ``token`` is a single-use v3 token: its ``payload.authorization.nonce`` is a non-blank string.

    Read from the token itself, never from the version asked for at mint (a backend without v3 support drops
    ``tokenVersion`` silently). Anything that does not decode counts as reusable. Never raises.
    """
    doc = _decode_json(token) if token else None
    body = doc.get("payload") if isinstance(doc, dict) else None
    authorization = body.get("authorization") if isinstance(body, dict) else None
    return isinstance(authorization, dict) and is_v3_nonce(authorization.get("nonce"))


def detect_access_token_version(token: str | None) -> int:
    """3 for a single-use token (see :func:`is_single_use_access_token`), else 2. Never raises."""
    return X402_TOKEN_VERSION_V3 if is_single_use_access_token(token) else X402_TOKEN_VERSION_V2


def decode_access_token_or_none(token: str) -> X402Token | None:
    """Like :func:`decode_access_token` but return ``None`` instead of raising. Never raises."""
    try:
        return decode_access_token(token)
    except InvalidAccessTokenError:
        return None


def encode_access_token(payload: X402Token | Mapping[str, Any]) -> str:
    """Encode a token payload as compact JSON in URL-safe base64 without padding.

    An :class:`X402Token` is encoded from its ``raw`` JSON, so ``encode(decode(t))`` decodes to the same payload.

    Raises:
        ValidationError: the payload is not JSON-serialisable.
    """
    doc = payload.raw if isinstance(payload, X402Token) else dict(payload)
    try:
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"token payload is not JSON-serialisable: {type(exc).__name__}") from None
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")
