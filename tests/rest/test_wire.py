"""Wire helpers: uint256 parsing and JavaScript-safe JSON numbers."""

from __future__ import annotations

import pytest

from nvm_chain.errors import ValidationError
from nvm_chain.rest.redaction import Redactor
from nvm_chain.rest.transport import RetryPolicy, parse_retry_after
from nvm_chain.rest.wire import UINT256_MAX, js_safe, to_uint256


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("42", 42), (" 42 ", 42), ("0x2a", 42), ("0X2A", 42),
                                                 (str(UINT256_MAX), UINT256_MAX)])
def test_to_uint256_accepts(value, expected: int) -> None:
    assert to_uint256(value) == expected


@pytest.mark.parametrize("value", [-1, UINT256_MAX + 1, True, 1.0, None, "", "0x", "4 2", "١٢", "1e3"])
def test_to_uint256_rejects(value) -> None:
    with pytest.raises(ValidationError):
        to_uint256(value)


def test_js_safe_stringifies_only_unsafe_ints() -> None:
    assert js_safe({"a": 2**53 - 1, "b": [2**53, -(2**60)], "c": True, "d": "x"}) == {
        "a": 2**53 - 1, "b": [str(2**53), str(-(2**60))], "c": True, "d": "x"}


def test_retry_after_parsing_and_delay() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a past date
    policy = RetryPolicy(backoff_base=0.5, backoff_max=1.0, retry_after_cap=10)
    assert [policy.delay(n, None) for n in (1, 2, 3)] == [0.5, 1.0, 1.0]
    assert policy.delay(1, 99) == 10


def test_redactor_masks_known_secrets_bearer_and_jwts() -> None:
    redactor = Redactor(["sandbox:supersecretvalue"])
    text = redactor.text("k=sandbox:supersecretvalue auth=Bearer abc.def jwt=eyJhbGciOi.eyJzdWIi.c2ln end")
    assert text == "k=*** auth=Bearer *** jwt=*** end"
    assert "supersecret" not in repr(redactor)
