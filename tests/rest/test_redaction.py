"""Masking rules: "Bearer" in any letter case, and secrets in dict keys as well as values."""

from __future__ import annotations

import logging

import pytest

from nvm_chain.errors import RestClientError
from nvm_chain.rest import RestClient
from nvm_chain.rest.redaction import Redactor, get_logger

from .fake_backend import PLAN_ID, FakeBackend, envelope
from .helpers import FAST_RETRY, assert_no_secret

OPAQUE = "opaque-session-token-4f1c9a"  # neither a known secret nor JWT-shaped: only the bearer rule masks it
KEY = "sandbox:known-api-key-value-7d2e"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_a_bearer_credential_is_masked_whatever_the_case_of_the_scheme(scheme):
    assert Redactor().text(f"Authorization: {scheme} {OPAQUE} sent") == f"Authorization: {scheme} *** sent"


def test_a_secret_held_in_a_dict_key_is_masked():
    redactor = Redactor([KEY])
    value = {KEY: "owner", "plain": {f"bearer {OPAQUE}": [KEY, "kept"]}, "n": 7}
    assert redactor.value(value) == {"***": "owner", "plain": {"bearer ***": ["***", "kept"]}, "n": 7}


def test_the_rest_logger_masks_a_lowercase_bearer_token(caplog):
    with caplog.at_level(logging.DEBUG, logger="nvm_chain.rest"):
        get_logger().warning("retrying with authorization: bearer %s", OPAQUE)
    assert OPAQUE not in caplog.text and "bearer ***" in caplog.text


def test_an_error_body_echoing_credentials_is_masked_in_message_and_detail_keys(fake: FakeBackend, api_key: str):
    """Over real HTTP: the backend echoes an upper-case bearer token in the message and uses the API key and
    the token as keys of its details object."""
    fake.script("POST", "/api/v1/x402/permissions", envelope(
        400, "BCK.COMMON.0001", f"bad header AUTHORIZATION: BEARER {OPAQUE}",
        details={api_key: "unknown key", f"BEARER {OPAQUE}": "refused"}))
    with RestClient(api_key, base_url=fake.url, read_timeout=2.0, retry=FAST_RETRY) as client:
        with pytest.raises(RestClientError) as info:
            client.get_x402_access_token(PLAN_ID)
    err = info.value
    assert err.details == {"***": "unknown key", "BEARER ***": "refused"}
    assert err.message == "bad header AUTHORIZATION: BEARER ***"
    for text in (str(err), repr(err), str(err.details), str(err.args)):
        assert OPAQUE not in text
        assert_no_secret(text, api_key)
