"""Every endpoint: the exact wire request (method, path, query, JSON body) and the parsed typed result."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError as PydanticValidationError

from nvm_chain.errors import ConfigurationError, RestResponseError, ValidationError
from nvm_chain.rest import (
    AgentAPIAttributes,
    AgentMetadata,
    AuthType,
    DelegationConfig,
    Endpoint,
    PaginationOptions,
    RestClient,
    X402TokenOptions,
    build_payment_required,
)

from .fake_backend import (
    AGENT_ID,
    CONTRACTS,
    CREDITS_CONTRACT,
    HOLDER,
    PLAN_ID,
    PLAN_ID_2,
    SUBSCRIBER,
    TEMPLATE,
    FakeBackend,
    Reply,
)
from .helpers import SUB_CHECKSUM, make_key


def test_get_deployment_info(public_client: RestClient, backend: FakeBackend) -> None:
    info = public_client.get_deployment_info()
    assert (backend.last.method, backend.last.path, backend.last.raw_body) == ("GET", "/", b"")
    assert info.version == "1.5.0" and info.chain_id == 84532
    assert len(info.contracts) == 19
    assert info.contracts["AssetsRegistry"].lower() == CONTRACTS["AssetsRegistry"]
    assert info.contracts["AssetsRegistry"] != CONTRACTS["AssetsRegistry"]  # checksummed
    with pytest.raises(PydanticValidationError):
        info.version = "2"  # type: ignore[misc]  # frozen


def test_get_plan_path_and_document(public_client: RestClient, backend: FakeBackend) -> None:
    plan = public_client.get_plan(hex(int(PLAN_ID)))  # hex input, decimal on the wire
    assert (backend.last.method, backend.last.path) == ("GET", f"/api/v1/protocol/plans/{PLAN_ID}")
    assert plan.plan_id == int(PLAN_ID)
    assert plan.name == f"Plan {PLAN_ID[:6]}"
    assert plan.is_crypto is True
    assert plan.template_address == TEMPLATE
    assert plan.amounts == (990000, 10000)
    assert plan.receivers[0] == HOLDER
    assert plan.credits_amount == 100
    assert (plan.access_limit, plan.currency, plan.fiat_payment_provider) == ("credits", "USDC", None)
    assert plan.raw["owner"] == HOLDER
    assert plan.model_dump(mode="json")["plan_id"] == PLAN_ID


def test_get_plan_rejects_bad_ids_before_sending(public_client: RestClient, backend: FakeBackend) -> None:
    for bad in ("abc", -1, 2**256, True, "1.5"):
        with pytest.raises(ValidationError):
            public_client.get_plan(bad)  # type: ignore[arg-type]
    assert backend.count() == 0


def test_get_plan_balance_defaults_to_key_account(client: RestClient, backend: FakeBackend) -> None:
    balance = client.get_plan_balance(int(PLAN_ID))
    assert backend.last.path == f"/api/v1/protocol/plans/{PLAN_ID}/balance/{SUB_CHECKSUM}"
    assert "authorization" not in backend.last.headers
    assert balance.plan_id == int(PLAN_ID)
    assert balance.balance == 100 and isinstance(balance.balance, int)
    assert balance.price_per_credit == Decimal("0.01")
    assert balance.holder_address == SUB_CHECKSUM
    assert balance.credits_contract == CREDITS_CONTRACT
    assert (balance.plan_name, balance.plan_type, balance.is_subscriber, balance.batch) == \
        ("Basic", "credits", True, None)


def test_get_plan_balance_explicit_holder_is_checksummed(public_client: RestClient, backend: FakeBackend) -> None:
    public_client.get_plan_balance(PLAN_ID, HOLDER.lower())
    assert backend.last.path.endswith(f"/balance/{HOLDER}")
    with pytest.raises(ConfigurationError):
        public_client.get_plan_balance(PLAN_ID)
    with pytest.raises(ValidationError):
        public_client.get_plan_balance(PLAN_ID, "0x1234")


def test_agents_of_plan_default_pagination(public_client: RestClient, backend: FakeBackend) -> None:
    page = public_client.get_agents_associated_to_plan(PLAN_ID)
    assert backend.last.path == f"/api/v1/protocol/plans/{PLAN_ID}/agents"
    assert backend.last.query == {"page": ["1"], "offset": ["10"]}
    assert (page.total, page.page, page.offset) == (25, 1, 10)
    assert [a.agent_id for a in page.items] == [int(AGENT_ID), 12]
    assert page.items[0].name == "Weather agent"


def test_agent_plans_custom_pagination(public_client: RestClient, backend: FakeBackend) -> None:
    page = public_client.get_agent_plans(AGENT_ID, PaginationOptions(page=3, offset=5, sort_by="created"))
    assert backend.last.path == f"/api/v1/protocol/agents/{AGENT_ID}/plans"
    assert backend.last.query == {"page": ["3"], "offset": ["5"]}  # the per-agent list takes page/offset only
    assert (page.page, page.offset) == (3, 5)
    assert [p.plan_id for p in page.items] == [int(PLAN_ID), int(PLAN_ID_2)]  # `planId` and `id` items


def test_list_without_items_array_is_a_response_error(public_client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", f"/api/v1/protocol/agents/{AGENT_ID}/plans",
                   Reply(body={"total": 0, "page": 1, "offset": 10}))
    with pytest.raises(RestResponseError, match="'plans' array"):
        public_client.get_agent_plans(AGENT_ID)


def test_get_agent(public_client: RestClient, backend: FakeBackend) -> None:
    agent = public_client.get_agent(AGENT_ID)
    assert (backend.last.method, backend.last.path) == ("GET", f"/api/v1/protocol/agents/{AGENT_ID}")
    assert agent.agent_id == int(AGENT_ID)
    assert agent.raw["plans"] == [PLAN_ID]


def test_update_agent_metadata_wire(client: RestClient, backend: FakeBackend) -> None:
    metadata = AgentMetadata(name="Weather agent", description="Forecasts", tags=("weather", "ai"))
    api = AgentAPIAttributes(
        endpoints=(Endpoint(verb="POST", url="https://agent.example/api/:agentId/forecast"),),
        open_endpoints=("https://agent.example/health",),
        auth_type=AuthType.BEARER,
        token="agent-api-token",
    )
    result = client.update_agent_metadata(AGENT_ID, metadata, api)
    assert (backend.last.method, backend.last.path) == ("PUT", f"/api/v1/protocol/agents/{AGENT_ID}")
    assert backend.last.body == {
        "metadataAttributes": {"name": "Weather agent", "description": "Forecasts", "tags": ["weather", "ai"]},
        "agentApiAttributes": {
            "endpoints": [{"verb": "POST", "url": "https://agent.example/api/:agentId/forecast"}],
            "openEndpoints": ["https://agent.example/health"],
            "authType": "bearer",
            "token": "agent-api-token",
        },
    }
    assert result.success is True and result.message == "Agent updated" and result.http_status == 200
    assert "agent-api-token" not in repr(api)


def test_x402_token_minimal_wire_and_result(client: RestClient, backend: FakeBackend) -> None:
    token = client.get_x402_access_token(PLAN_ID)
    assert (backend.last.method, backend.last.path) == ("POST", "/api/v1/x402/permissions")
    assert backend.last.body == {
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID, "extra": {}}
    }
    decoded = token.decode()
    assert decoded.plan_id == int(PLAN_ID)
    assert decoded.subscriber == SUBSCRIBER
    assert token.access_token not in repr(token)


def test_x402_token_full_options_wire(backend: FakeBackend) -> None:
    """payments-py's body: resource as an object, the verb in accepted.extra, tokenVersion, then the delegation."""
    options = X402TokenOptions(
        delegation_config=DelegationConfig(delegation_id="0b8e-uuid", spending_limit_cents=1000, duration_secs=3600,
                                           currency="usdc", plan_id=int(PLAN_ID)),
        resource="https://agent.example/api/forecast",
        http_verb="POST",
        token_version=3,
    )
    with RestClient(make_key("live"), base_url=backend.url) as live:
        token = live.get_x402_access_token(PLAN_ID, agent_id=AGENT_ID, token_options=options)
    assert backend.last.body == {
        "accepted": {"scheme": "nvm:erc4337", "network": "eip155:8453", "planId": PLAN_ID,
                     "extra": {"agentId": AGENT_ID, "httpVerb": "POST"}},
        "resource": {"url": "https://agent.example/api/forecast"},
        "tokenVersion": 3,
        "delegationConfig": {"delegationId": "0b8e-uuid", "spendingLimitCents": 1000, "durationSecs": 3600,
                             "currency": "usdc", "planId": PLAN_ID},
    }
    assert list(backend.last.body) == ["accepted", "resource", "tokenVersion", "delegationConfig"]
    assert token.token_version == 3  # the fake backend mints v3 when asked


def test_x402_token_card_scheme_defaults_to_stripe(client: RestClient, backend: FakeBackend) -> None:
    client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(scheme="nvm:card-delegation"))
    assert backend.last.body["accepted"]["network"] == "stripe"
    client.get_x402_access_token(PLAN_ID, token_options=X402TokenOptions(network="eip155:8453"))
    assert backend.last.body["accepted"]["network"] == "eip155:8453"


def test_blank_delegation_id_is_rejected() -> None:
    with pytest.raises(PydanticValidationError, match="delegation_id must not be empty"):
        DelegationConfig(delegation_id="  ")


def test_verify_wire_keeps_nulls_and_parses(client: RestClient, backend: FakeBackend) -> None:
    required = build_payment_required(PLAN_ID, endpoint="https://agent.example/weather", http_verb="GET")
    result = client.verify_permissions(required, "tok-abc", max_amount=5)
    assert (backend.last.method, backend.last.path) == ("POST", "/api/v1/x402/verify")
    assert backend.last.body == {
        "paymentRequired": {
            "x402Version": 2,
            "error": None,
            "resource": {"url": "https://agent.example/weather", "description": None, "mimeType": None},
            "accepts": [{"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                         "extra": {"version": "1", "agentId": None, "httpVerb": "GET"}}],
            "extensions": {},
        },
        "x402AccessToken": "tok-abc",
        "maxAmount": "5",
    }
    assert result.is_valid is True
    assert (result.payer, result.agent_request_id, result.url_matching) == (SUBSCRIBER, "req-123", "/weather")


def test_verify_invalid_with_agent_request(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", "/api/v1/x402/verify", Reply(body={
        "isValid": False, "invalidReason": "insufficient credits",
        "agentRequest": {"agentRequestId": "r1", "agentId": AGENT_ID, "urlMatching": "/x", "verbMatching": "GET",
                         "batch": False, "balance": {"planId": PLAN_ID, "planName": "B", "planType": "time",
                                                     "holderAddress": SUBSCRIBER, "balance": "0",
                                                     "creditsContract": CREDITS_CONTRACT, "isSubscriber": False,
                                                     "pricePerCredit": 0}}}))
    result = client.verify_permissions(build_payment_required(PLAN_ID), "tok")
    assert "maxAmount" not in backend.last.body
    assert result.is_valid is False and result.invalid_reason == "insufficient credits"
    assert result.agent_request is not None and result.agent_request.agent_id == int(AGENT_ID)
    assert result.agent_request.balance is not None and result.agent_request.balance.balance == 0


def test_settle_wire_and_success(client: RestClient, backend: FakeBackend) -> None:
    required = build_payment_required(PLAN_ID, agent_id=AGENT_ID)
    result = client.settle_permissions(required, "tok-abc", max_amount="2", agent_request_id="req-123")
    assert (backend.last.method, backend.last.path) == ("POST", "/api/v1/x402/settle")
    assert backend.last.body["x402AccessToken"] == "tok-abc"
    assert backend.last.body["maxAmount"] == "2"
    assert backend.last.body["agentRequestId"] == "req-123"
    assert backend.last.body["paymentRequired"]["accepts"][0]["extra"]["agentId"] == AGENT_ID
    assert result.success is True
    assert (result.credits_redeemed, result.remaining_balance) == (1, 99)
    assert result.transaction == "0x" + "ab" * 32 and result.order_tx is None


def test_settle_http_200_success_false_is_a_result_not_an_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", "/api/v1/x402/settle", Reply(body={"success": False, "errorReason": "auto-order reverted",
                                                               "payer": SUBSCRIBER}))
    result = client.settle_permissions(build_payment_required(PLAN_ID), "tok")
    assert result.success is False
    assert result.error_reason == "auto-order reverted"
    assert (result.transaction, result.network, result.credits_redeemed) == ("", "", None)


@pytest.mark.parametrize(
    "body",
    [
        {"checkoutUrl": "https://checkout.stripe.com/c/pay/cs_1", "sessionId": "cs_1"},
        {"checkoutLink": "https://checkout.stripe.com/c/pay/cs_1", "stripeCheckoutSessionId": "cs_1"},
        {"result": {"checkoutUrl": "https://checkout.stripe.com/c/pay/cs_1", "sessionId": "cs_1"}},
        {"result": {"checkoutLink": "https://checkout.stripe.com/c/pay/cs_1", "stripeCheckoutSessionId": "cs_1",
                    "paymentStatus": "unpaid"}},
    ],
    ids=["checkoutUrl", "checkoutLink", "result.checkoutUrl", "result.checkoutLink"],
)
def test_order_fiat_plan_variants(client: RestClient, backend: FakeBackend, body: dict) -> None:
    backend.script("POST", "/api/v1/fiat/stripe/payment", Reply(201, body))
    checkout = client.order_fiat_plan(int(PLAN_ID))
    assert backend.last.body == {"planId": PLAN_ID, "sessionType": "embedded"}
    assert checkout.checkout_url == "https://checkout.stripe.com/c/pay/cs_1"
    assert checkout.session_id == "cs_1"


def test_order_fiat_plan_default_ts_shape_and_missing_url(client: RestClient, backend: FakeBackend) -> None:
    checkout = client.order_fiat_plan(PLAN_ID)
    assert (checkout.client_reference_id, checkout.link_expires_at) == ("ref-1", "2026-09-02T00:00:00Z")
    backend.script("POST", "/api/v1/fiat/stripe/payment", Reply(201, {"result": {"sessionId": "cs_2"}}))
    with pytest.raises(RestResponseError, match="checkout_url"):
        client.order_fiat_plan(PLAN_ID)
