"""The x402 token mint and the facilitator calls as payments-py sends them, on the wire of a real HTTP server.

Mint body: ``resource`` is an object ``{"url", …}``, the HTTP verb goes in ``accepted.extra.httpVerb``,
``tokenVersion`` at the top level, each only when given; a blank resource URL is refused before any request.
The version of a minted token is read from the token (a non-blank string nonce), never from the request.
Verify/settle take the token as ``x402_access_token=`` (payments-py), positionally, or as ``token=``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from nvm_chain.errors import ConfigurationError, ValidationError
from nvm_chain.rest import (
    X402_TOKEN_VERSION_V2,
    X402_TOKEN_VERSION_V3,
    DelegationConfig,
    PaymentResource,
    RestClient,
    X402AccessToken,
    X402TokenOptions,
    build_payment_required,
    decode_access_token,
    detect_access_token_version,
    encode_access_token,
    is_single_use_access_token,
)

from .fake_backend import AGENT_ID, PLAN_ID, SUBSCRIBER, FakeBackend, Reply
from .helpers import make_key

URL = "https://seller.example/api/v1/tasks"
PERMISSIONS = "/api/v1/x402/permissions"


def test_v3_mint_body_headers_and_detected_version(client: RestClient, backend: FakeBackend, api_key: str) -> None:
    options = X402TokenOptions(delegation_config=DelegationConfig(delegation_id="deleg-1"), resource=URL,
                               http_verb="POST", token_version=3)
    token = client.get_x402_access_token(PLAN_ID, AGENT_ID, options)
    sent = backend.last
    assert (sent.method, sent.path, sent.query) == ("POST", PERMISSIONS, {})
    assert sent.body == {
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                     "extra": {"agentId": AGENT_ID, "httpVerb": "POST"}},
        "resource": {"url": URL},
        "tokenVersion": 3,
        "delegationConfig": {"delegationId": "deleg-1"},
    }
    assert "httpVerb" not in sent.body and isinstance(sent.body["resource"], dict)
    assert (sent.headers["authorization"], sent.headers["content-type"], sent.headers["nevermined-version"]) == \
        (f"Bearer {api_key}", "application/json", "1.1")
    # what came back: a single-use token bound to the agent, resource and verb
    assert (token.token_version, is_single_use_access_token(token.access_token)) == (X402_TOKEN_VERSION_V3, True)
    authorization = token.decode().raw["payload"]["authorization"]
    assert (authorization["resourceUrl"], authorization["httpVerb"], authorization["agentId"]) == \
        (URL, "POST", AGENT_ID)
    assert token.decode().token_version == 3 and token.decode().subscriber == SUBSCRIBER


def test_resource_object_keeps_description_and_mime_type(client: RestClient, backend: FakeBackend) -> None:
    resource = PaymentResource(url=URL, description="Task runner", mime_type="application/json")
    client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource=resource))
    assert backend.last.body["resource"] == {"url": URL, "description": "Task runner", "mimeType": "application/json"}
    client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource={"url": URL}))
    assert backend.last.body["resource"] == {"url": URL}


def test_resource_and_verb_without_a_version_are_sent_and_a_v2_token_comes_back(
    client: RestClient, backend: FakeBackend
) -> None:
    """As payments-py: a v2 mint ignores them, and sending the URL stops the backend skipping endpoint checks."""
    token = client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource=URL, http_verb="GET"))
    assert backend.last.body == {
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                     "extra": {"httpVerb": "GET"}},
        "resource": {"url": URL},
    }
    assert token.token_version == X402_TOKEN_VERSION_V2


def test_options_left_out_are_absent_not_blank(client: RestClient, backend: FakeBackend) -> None:
    client.get_x402_access_token(PLAN_ID, AGENT_ID, X402TokenOptions())
    assert backend.last.body == {
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                     "extra": {"agentId": AGENT_ID}},
    }


def test_asking_for_v3_from_a_backend_that_mints_v2_reports_v2(client: RestClient, backend: FakeBackend) -> None:
    v2 = FakeBackend.mint({"accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID}})
    backend.script("POST", PERMISSIONS, Reply(201, {"accessToken": v2}))
    token = client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource=URL, token_version=3))
    assert backend.last.body["tokenVersion"] == 3
    assert (token.token_version, token.decode().is_single_use) == (2, False)


@pytest.mark.parametrize("resource", ["", "   ", PaymentResource(), PaymentResource(url="  ", description="d")],
                         ids=["empty", "blank", "object-without-url", "object-blank-url"])
def test_blank_resource_url_is_refused_before_any_request(
    client: RestClient, backend: FakeBackend, resource: Any
) -> None:
    with pytest.raises(ValidationError, match="resource.url must not be empty"):
        client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource=resource, token_version=3))
    assert backend.requests == []


@pytest.mark.parametrize("fields", [{"token_version": 4}, {"token_version": 1}, {"token_version": "3x"},
                                    {"delegation_config": {"delegation_id": " "}}],
                         ids=["version-4", "version-1", "version-text", "blank-delegation-id"])
def test_bad_options_are_refused_when_built(fields: dict[str, Any]) -> None:
    with pytest.raises(PydanticValidationError):
        X402TokenOptions(**fields)


# ---------------------------------------------------------------------------------------------- v3 detection


def token_with(**authorization: Any) -> str:
    return encode_access_token({
        "x402Version": 2,
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID, "extra": {}},
        "payload": {"signature": "0x" + "11" * 65,
                    "authorization": {"from": SUBSCRIBER, "sessionKeysProvider": "zerodev", "sessionKeys": [],
                                      **authorization}},
        "extensions": {},
    })


@pytest.mark.parametrize(("nonce", "version"), [("0x0123456789abcdef", 3), ("n", 3), ("", 2), ("   ", 2), (0, 2),
                                                 (123, 2)],
                         ids=["hex", "short", "empty", "blank", "zero", "integer"])
def test_only_a_non_blank_string_nonce_marks_v3(nonce: Any, version: int) -> None:
    token = token_with(nonce=nonce)
    assert detect_access_token_version(token) == version
    assert is_single_use_access_token(token) is (version == 3)
    decoded = decode_access_token(token)  # integer and blank nonces are still well-formed tokens
    assert (decoded.token_version, decoded.is_single_use, decoded.nonce) == (version, version == 3, nonce)
    assert X402AccessToken(access_token=token).token_version == version


@pytest.mark.parametrize("token", [None, "", "not-base64-json", encode_access_token({"payload": "x"}),
                                   encode_access_token({"payload": {"authorization": "x"}}),
                                   encode_access_token({"no": "payload"})],
                         ids=["none", "empty", "garbage", "payload-text", "authorization-text", "no-payload"])
def test_undecodable_tokens_count_as_reusable(token: Any) -> None:
    assert (detect_access_token_version(token), is_single_use_access_token(token)) == (2, False)


# ---------------------------------------------------------------------------------------------- verify / settle


REQUIRED = build_payment_required(PLAN_ID, endpoint=URL, agent_id=AGENT_ID, http_verb="POST")


@pytest.mark.parametrize("call", [
    lambda c: c.verify_permissions(payment_required=REQUIRED, x402_access_token="tok-1", max_amount="2"),
    lambda c: c.verify_permissions(REQUIRED, "tok-1", "2"),
    lambda c: c.verify_permissions(REQUIRED, token="tok-1", max_amount=2),
    lambda c: c.verify_permissions(REQUIRED, X402AccessToken(access_token="tok-1"), 2),
], ids=["payments-py-keywords", "positional", "token-keyword", "minted-object"])
def test_verify_takes_the_token_under_every_name(client: RestClient, backend: FakeBackend, call: Any) -> None:
    result = call(client)
    assert (backend.last.method, backend.last.path) == ("POST", "/api/v1/x402/verify")
    assert backend.last.body == {"paymentRequired": REQUIRED.to_wire(), "x402AccessToken": "tok-1", "maxAmount": "2"}
    assert backend.last.body["paymentRequired"]["resource"]["url"] == URL
    assert result.is_valid is True


@pytest.mark.parametrize("call", [
    lambda c: c.settle_permissions(payment_required=REQUIRED, x402_access_token="tok-1", max_amount="1",
                                   agent_request_id="req-9"),
    lambda c: c.settle_permissions(REQUIRED, "tok-1", 1, "req-9"),
    lambda c: c.settle_permissions(REQUIRED, token="tok-1", max_amount=1, agent_request_id="req-9"),
], ids=["payments-py-keywords", "positional", "token-keyword"])
def test_settle_takes_the_token_under_every_name(client: RestClient, backend: FakeBackend, call: Any) -> None:
    result = call(client)
    assert (backend.last.method, backend.last.path) == ("POST", "/api/v1/x402/settle")
    assert backend.last.body == {"paymentRequired": REQUIRED.to_wire(), "x402AccessToken": "tok-1", "maxAmount": "1",
                                 "agentRequestId": "req-9"}
    assert (result.success, result.credits_redeemed) == (True, 1)


def test_a_token_given_twice_or_not_at_all_is_refused_before_any_request(
    client: RestClient, backend: FakeBackend
) -> None:
    with pytest.raises(ValidationError, match="not both"):
        client.verify_permissions(REQUIRED, x402_access_token="a", token="b")
    with pytest.raises(ValidationError, match="not both"):
        client.settle_permissions(REQUIRED, "a", token="b")
    with pytest.raises(ConfigurationError, match="access token string is required"):
        client.settle_permissions(REQUIRED)
    assert backend.requests == []


def test_a_live_key_mints_for_base_mainnet(backend: FakeBackend) -> None:
    with RestClient(make_key("live"), base_url=backend.url) as live:
        live.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(resource=URL, http_verb="POST"))
    assert backend.last.body["accepted"]["network"] == "eip155:8453"
