"""API-key parsing: prefixes → environments, `sub` → checksummed address, bad keys never echoed."""

from __future__ import annotations

import pytest

from nvm_chain.errors import ApiKeyError, NvmChainError, ValidationError
from nvm_chain.rest import parse_api_key

from .helpers import (
    O11Y_MARKER,
    SUB_CHECKSUM,
    assert_no_secret,
    b64url,
    make_jwt,
    make_key,
)


@pytest.mark.parametrize(
    ("prefix", "environment"),
    [
        ("sandbox", "sandbox"),
        ("live", "live"),
        ("sandbox-staging", "staging_sandbox"),
        ("live-staging", "staging_live"),
        ("SANDBOX", "sandbox"),
        ("nvm", None),
    ],
)
def test_prefix_maps_to_environment_and_sub_to_checksummed_address(prefix: str, environment: str | None) -> None:
    key = make_key(prefix)
    parsed = parse_api_key(key)
    assert parsed.environment == environment
    assert parsed.prefix == prefix
    assert parsed.account_address == SUB_CHECKSUM
    assert parsed.o11y is not None and parsed.o11y.get_secret_value() == O11Y_MARKER
    assert parsed.secret.get_secret_value() == key


def test_o11y_claim_is_optional_and_whitespace_is_stripped() -> None:
    parsed = parse_api_key("  " + make_key("live", o11y=None) + "\n")
    assert parsed.o11y is None
    assert parsed.environment == "live"
    assert not parsed.secret.get_secret_value().endswith("\n")


def test_parsed_key_hides_every_secret_part() -> None:
    key = make_key("sandbox")
    parsed = parse_api_key(key)
    for text in (repr(parsed), str(parsed), parsed.model_dump_json(), str(parsed.model_dump())):
        assert_no_secret(text, key)
    assert SUB_CHECKSUM in repr(parsed)


_NOT_OBJECT = b64url([1, 2])
_GARBAGE_MARKER = "GARBAGE-KEY-MARKER"


@pytest.mark.parametrize(
    "key",
    [
        "",
        _GARBAGE_MARKER,
        f"sandbox:{_GARBAGE_MARKER}:extra",
        "sandbox:",
        f":{make_jwt({'sub': '0x' + '1' * 40})}",
        f"sandbox:{_GARBAGE_MARKER}",
        f"sandbox:{_GARBAGE_MARKER}.{_GARBAGE_MARKER}",
        f"sandbox:!!{_GARBAGE_MARKER}.###.sig",
        f"sandbox:{b64url({'alg': 'none'})}.{_NOT_OBJECT}.{_GARBAGE_MARKER}",
        f"sandbox:{make_jwt({'o11y': _GARBAGE_MARKER})}",
        f"sandbox:{make_jwt({'sub': _GARBAGE_MARKER})}",
        f"sandbox:{make_jwt({'sub': '0x' + '1' * 40, 'o11y': 5})}",
    ],
    ids=["empty", "no-colon", "two-colons", "no-jwt", "no-prefix", "one-segment", "two-segments",
         "not-base64", "payload-not-object", "no-sub", "sub-not-address", "o11y-not-string"],
)
def test_bad_keys_raise_typed_error_without_the_key(key: str) -> None:
    with pytest.raises(ApiKeyError) as info:
        parse_api_key(key)
    err = info.value
    assert isinstance(err, ValidationError) and isinstance(err, ValueError) and isinstance(err, NvmChainError)
    assert str(err).startswith("Invalid NVM API Key")
    assert _GARBAGE_MARKER not in str(err) and _GARBAGE_MARKER not in repr(err)
    if key:
        assert key not in str(err)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(ApiKeyError):
        parse_api_key(12345)  # type: ignore[arg-type]
