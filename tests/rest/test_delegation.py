"""The delegation API (rest-api.md §2.3) on the wire of a real HTTP server: create, list, payment methods.

Every call is authenticated (``Authorization: Bearer <key>``); bad input is refused before any request; the
typed results parse the documented shapes; a delegation token never shows in a repr.
"""

from __future__ import annotations

from typing import Any

import pytest

from nvm_chain.errors import ConfigurationError, RestClientError, RestResponseError, ValidationError
from nvm_chain.rest import (
    CreateDelegationPayload,
    CreateDelegationResponse,
    DelegationAPI,
    DelegationConfig,
    DelegationSummary,
    PaymentMethodSummary,
    RestClient,
    X402TokenOptions,
)

from .fake_backend import DELEGATION_ID, PLAN_ID, SUBSCRIBER, FakeBackend, Reply, envelope

CREATE = "/api/v1/delegation/create"


def test_create_delegation_wire_and_result(client: RestClient, backend: FakeBackend, api_key: str) -> None:
    payload = CreateDelegationPayload(provider="erc4337", spending_limit_cents=10_000, duration_secs=604_800,
                                      currency="usdc")
    created = client.create_delegation(payload)
    sent = backend.last
    assert (sent.method, sent.path, sent.query) == ("POST", CREATE, {})
    assert sent.body == {"provider": "erc4337", "spendingLimitCents": 10000, "durationSecs": 604800,
                         "currency": "usdc"}
    assert (sent.headers["authorization"], sent.headers["nevermined-version"]) == (f"Bearer {api_key}", "1.1")
    assert isinstance(created, CreateDelegationResponse)
    assert (created.delegation_id, created.delegation_token) == (DELEGATION_ID, "dlg-token-SECRET")
    assert "dlg-token-SECRET" not in repr(created)


def test_create_delegation_sends_every_optional_field_in_payments_py_order(
    client: RestClient, backend: FakeBackend
) -> None:
    payload = {"provider": "stripe", "providerPaymentMethodId": "pm_1", "spending_limit_cents": 500,
               "duration_secs": 3600, "currency": "usd", "plan_id": int(PLAN_ID), "merchantAccountId": "acct_1",
               "max_transactions": 3, "api_key_id": "key-1"}  # a mapping, snake_case and camelCase mixed
    client.create_delegation(payload)
    assert backend.last.body == {"provider": "stripe", "providerPaymentMethodId": "pm_1", "spendingLimitCents": 500,
                                 "durationSecs": 3600, "currency": "usd", "planId": PLAN_ID,
                                 "merchantAccountId": "acct_1", "maxTransactions": 3, "apiKeyId": "key-1"}
    assert list(backend.last.body) == ["provider", "providerPaymentMethodId", "spendingLimitCents", "durationSecs",
                                       "currency", "planId", "merchantAccountId", "maxTransactions", "apiKeyId"]


@pytest.mark.parametrize("payload", [
    {"provider": "erc4337", "spending_limit_cents": 100, "duration_secs": 60},  # no currency
    {"provider": "paypal", "spending_limit_cents": 100, "duration_secs": 60, "currency": "usd"},
    {"provider": "erc4337", "spending_limit_cents": -1, "duration_secs": 60, "currency": "usdc"},
    {"provider": "erc4337", "spending_limit_cents": 100, "duration_secs": 60, "currency": "btc"},
    {"provider": "erc4337", "spending_limit_cents": 100, "duration_secs": 60, "currency": "usdc", "plan_id": "x"},
], ids=["no-currency", "unknown-provider", "negative-limit", "unknown-currency", "bad-plan-id"])
def test_bad_payloads_are_refused_before_any_request(
    client: RestClient, backend: FakeBackend, payload: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="invalid delegation payload"):
        client.create_delegation(payload)
    assert backend.requests == []


def test_a_visa_delegation_refused_by_the_backend_is_a_typed_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", CREATE, envelope(400, "BCK.VISA.0014", "Visa delegations must be created in the browser"))
    payload = CreateDelegationPayload(provider="visa", spending_limit_cents=100, duration_secs=60, currency="usd",
                                      plan_id=PLAN_ID)
    with pytest.raises(RestClientError) as info:
        client.create_delegation(payload)
    assert (info.value.status, info.value.code) == (400, "BCK.VISA.0014")
    assert backend.count("POST", CREATE) == 1  # a POST is never retried


def test_create_without_a_delegation_id_is_a_response_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", CREATE, Reply(201, {"delegationToken": "t"}))
    with pytest.raises(RestResponseError, match="delegation_id|delegationId"):
        client.create_delegation(CreateDelegationPayload(provider="erc4337", spending_limit_cents=1, duration_secs=1,
                                                         currency="usdc"))


def test_list_delegations(client: RestClient, backend: FakeBackend) -> None:
    delegations = client.list_delegations()
    assert (backend.last.method, backend.last.path, backend.last.query, backend.last.raw_body) == \
        ("GET", "/api/v1/delegation", {}, b"")
    assert backend.last.headers["authorization"].startswith("Bearer ")
    assert all(isinstance(d, DelegationSummary) for d in delegations)
    first, second = delegations
    assert (first.id, first.spending_limit_cents, first.spent_cents, first.duration_secs, first.currency,
            first.status, first.expires_at) == \
        (DELEGATION_ID, 10000, 250, 604800, "usdc", "active", "2026-09-08T00:00:00Z")
    assert (second.card_id, second.status, second.created_at) == ("card-uuid-1", "expired", None)


@pytest.mark.parametrize(("provider", "query", "ids"), [
    (None, {}, ["pm_1", SUBSCRIBER]),
    ("erc4337", {"provider": ["erc4337"]}, [SUBSCRIBER]),
    ("stripe", {"provider": ["stripe"]}, ["pm_1"]),
])
def test_list_payment_methods(
    client: RestClient, backend: FakeBackend, provider: str | None, query: dict, ids: list[str]
) -> None:
    methods = client.list_payment_methods(provider)
    assert (backend.last.method, backend.last.path, backend.last.query) == ("GET", "/api/v1/payment-methods", query)
    assert [m.id for m in methods] == ids
    assert all(isinstance(m, PaymentMethodSummary) for m in methods)


def test_payment_method_fields(client: RestClient) -> None:
    card, wallet = client.list_payment_methods()
    assert (card.type, card.brand, card.last4, card.exp_month, card.exp_year, card.provider) == \
        ("card", "visa", "4242", 12, 2028, "stripe")
    assert (wallet.type, wallet.brand, wallet.last4, wallet.exp_month, wallet.provider) == \
        ("crypto_wallet", "ethereum", SUBSCRIBER[-4:], None, "erc4337")


def test_unknown_provider_is_refused_before_any_request(client: RestClient, backend: FakeBackend) -> None:
    with pytest.raises(ValidationError, match="provider must be one of"):
        client.list_payment_methods("paypal")
    assert backend.requests == []


@pytest.mark.parametrize("call", [
    lambda c: c.list_delegations(), lambda c: c.list_payment_methods(),
    lambda c: c.create_delegation(CreateDelegationPayload(provider="erc4337", spending_limit_cents=1,
                                                          duration_secs=1, currency="usdc")),
], ids=["list-delegations", "payment-methods", "create"])
def test_every_delegation_call_needs_an_api_key(public_client: RestClient, backend: FakeBackend, call: Any) -> None:
    with pytest.raises(ConfigurationError, match="needs an NVM API key"):
        call(public_client)
    assert backend.requests == []


@pytest.mark.parametrize(("path", "body", "call"), [
    ("/api/v1/delegation", {"delegations": []}, lambda c: c.list_delegations()),
    ("/api/v1/payment-methods", [{"id": "pm_x"}], lambda c: c.list_payment_methods()),
], ids=["object-not-array", "item-without-brand"])
def test_unexpected_list_shapes_are_response_errors(
    client: RestClient, backend: FakeBackend, path: str, body: Any, call: Any
) -> None:
    backend.script("GET", path, Reply(body=body))
    with pytest.raises(RestResponseError, match="unexpected .* response shape"):
        call(client)


def test_delegation_api_create_first_then_mint(client: RestClient, backend: FakeBackend) -> None:
    """payments-py's flow through ``payments.delegation``: create, then mint against the delegation ID."""
    delegation = DelegationAPI(client)
    created = delegation.create_delegation(CreateDelegationPayload(provider="erc4337", spending_limit_cents=10_000,
                                                                   duration_secs=604_800, currency="usdc"))
    listed = delegation.list_delegations()
    methods = delegation.list_payment_methods(provider="erc4337")
    options = X402TokenOptions(delegation_config=DelegationConfig(delegation_id=created.delegation_id))
    client.get_x402_access_token(PLAN_ID, token_options=options)
    assert [(r.method, r.path) for r in backend.requests] == [
        ("POST", CREATE), ("GET", "/api/v1/delegation"), ("GET", "/api/v1/payment-methods"),
        ("POST", "/api/v1/x402/permissions")]
    assert backend.last.body["delegationConfig"] == {"delegationId": DELEGATION_ID}
    assert (listed[0].id, [m.provider for m in methods]) == (DELEGATION_ID, ["erc4337"])
    assert "DelegationAPI(RestClient(" in repr(delegation)
