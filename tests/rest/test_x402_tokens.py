"""x402 access tokens: decode/encode round trips, base64 variants and shape validation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from nvm_chain.errors import InvalidAccessTokenError, ValidationError
from nvm_chain.rest import (
    X402AccessToken,
    decode_access_token,
    decode_access_token_or_none,
    encode_access_token,
    validate_access_token,
)

from .fake_backend import PLAN_ID, SUBSCRIBER

SIGNATURE = "0x" + "5a" * 65


def payload(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "x402Version": 2,
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                     "extra": {"version": "1", "agentId": "77"}},
        "payload": {"signature": SIGNATURE,
                    "authorization": {"from": SUBSCRIBER.lower(), "sessionKeysProvider": "zerodev",
                                      "sessionKeys": [{"id": "k1", "data": "0xabcd"}]}},
        "extensions": {},
    }
    for dotted, value in changes.items():
        node = doc
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


_DELETE = object()


def test_round_trip_is_compact_urlsafe_unpadded_and_lossless() -> None:
    original = payload()
    token = encode_access_token(original)
    assert "=" not in token and "+" not in token and "/" not in token
    padded = token + "=" * (-len(token) % 4)
    assert base64.urlsafe_b64decode(padded) == json.dumps(original, separators=(",", ":")).encode()
    decoded = decode_access_token(token)
    assert decoded.raw == original
    assert decoded.plan_id == int(PLAN_ID)
    assert decoded.subscriber == SUBSCRIBER  # checksummed
    assert (decoded.scheme, decoded.network, decoded.agent_id) == ("nvm:erc4337", "eip155:84532", "77")
    assert (decoded.token_version, decoded.is_single_use, decoded.session_keys_provider) == (2, False, "zerodev")
    assert encode_access_token(decoded) == token
    assert SIGNATURE not in repr(decoded)


def test_standard_padded_base64_is_accepted() -> None:
    # Find a payload whose standard encoding uses '+' or '/', so the URL-safe attempt cannot succeed.
    for filler in range(200):
        doc = payload(extensions={"pad": "?" * filler + "~>"})
        token = base64.b64encode(json.dumps(doc).encode()).decode()
        if "+" in token or "/" in token:
            break
    assert "+" in token or "/" in token
    assert decode_access_token(token).raw == doc
    assert decode_access_token(token.rstrip("=")).raw == doc  # re-padded


def test_v3_token_is_single_use() -> None:
    decoded = decode_access_token(encode_access_token(payload(payload__authorization__nonce="0x" + "01" * 32)))
    assert decoded.token_version == 3 and decoded.is_single_use
    assert decoded.nonce == "0x" + "01" * 32
    assert decode_access_token(encode_access_token(payload(payload__authorization__nonce=""))).token_version == 2


def test_card_delegation_scheme_is_valid() -> None:
    decoded = validate_access_token(payload(accepted__scheme="nvm:card-delegation", accepted__network="stripe"))
    assert (decoded.scheme, decoded.network) == ("nvm:card-delegation", "stripe")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"x402Version": 1}, "x402Version"),
        ({"x402Version": "2"}, "x402Version"),
        ({"x402Version": True}, "x402Version"),
        ({"accepted": _DELETE}, "accepted"),
        ({"accepted__scheme": "exact"}, "accepted.scheme"),
        ({"accepted__network": " "}, "accepted.network"),
        ({"accepted__planId": int(PLAN_ID)}, "accepted.planId"),
        ({"accepted__planId": "0x10"}, "accepted.planId"),
        ({"accepted__planId": "-1"}, "accepted.planId"),
        ({"accepted__planId": str(2**256)}, "accepted.planId"),
        ({"accepted__extra": "v1"}, "accepted.extra"),
        ({"payload": "sig"}, "payload"),
        ({"payload__signature": "5a5a"}, "payload.signature"),
        ({"payload__signature": "0x"}, "payload.signature"),
        ({"payload__signature": "0x123"}, "payload.signature"),
        ({"payload__signature": "0xzz"}, "payload.signature"),
        ({"payload__authorization": _DELETE}, "payload.authorization"),
        ({"payload__authorization__from": "0x1234"}, "payload.authorization.from"),
        ({"payload__authorization__nonce": ["n"]}, "payload.authorization.nonce"),
    ],
)
def test_shape_violations_name_the_field(changes: dict[str, Any], field: str) -> None:
    token = encode_access_token(payload(**changes))
    with pytest.raises(InvalidAccessTokenError, match=f"'{field}'") as info:
        decode_access_token(token)
    assert isinstance(info.value, ValidationError) and isinstance(info.value, ValueError)
    assert token not in str(info.value)
    assert decode_access_token_or_none(token) is None


@pytest.mark.parametrize(
    "token",
    ["", "   ", "!!!not-base64!!!", base64.urlsafe_b64encode(b"not json").decode(),
     base64.urlsafe_b64encode(b"[1,2]").decode(), base64.urlsafe_b64encode(b"\xff\xfe").decode(), "A" * 70_000,
     base64.urlsafe_b64encode(b"[" * 40_000).decode()[:60_000]],
    ids=["empty", "blank", "not-base64", "not-json", "json-list", "not-utf8", "too-long", "deeply-nested"],
)
def test_undecodable_tokens(token: str) -> None:
    with pytest.raises(InvalidAccessTokenError, match="invalid x402 access token"):
        decode_access_token(token)
    assert decode_access_token_or_none(token) is None


def test_lenient_decoder_never_raises_on_non_strings() -> None:
    assert decode_access_token_or_none(None) is None  # type: ignore[arg-type]
    assert decode_access_token_or_none(b"abc") is None  # type: ignore[arg-type]


def test_encode_rejects_non_json() -> None:
    with pytest.raises(ValidationError):
        encode_access_token({"x": object()})
    with pytest.raises(ValidationError):
        encode_access_token({"x": float("nan")})


def test_minted_token_model_decodes() -> None:
    minted = X402AccessToken.from_wire({"accessToken": encode_access_token(payload()), "expiresAt": "later"})
    assert minted.decode().subscriber == SUBSCRIBER
    assert minted.raw["expiresAt"] == "later"
    assert minted.access_token not in repr(minted)
