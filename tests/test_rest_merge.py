"""Merged reads (on-chain plan + REST metadata) and the on-chain x402 token check.

Real chain (``world_embedded``, fees on) plus the real fake REST backend of tests/rest served on 127.0.0.1:
metadata merged when the API answers; a MetadataUnavailableWarning and the on-chain result alone when it is
unreachable, errors, times out or answers garbage; no request at all without a REST client.
"""

from __future__ import annotations

import socket
import time
import warnings

import pytest

from nvm_chain.errors import (
    InvalidAccessTokenError,
    MetadataUnavailableWarning,
    ValidationError,
    X402NetworkMismatchError,
)
from nvm_chain.protocol.models import Plan, PlanMetadata
from nvm_chain.rest import NO_RETRY, RestClient, X402TokenOptions, decode_access_token, encode_access_token
from nvm_chain.services.plans import PlanWithMetadata
from nvm_chain.services.x402 import X402TokenCheck, check_x402_token
from tests.conftest import World
from tests.rest.fake_backend import SUBSCRIBER, Reply, envelope, plan_document
from tests.rest.helpers import FAST_RETRY, assert_no_secret, make_key

CREDITS = 100
UNKNOWN_PLAN = 0xDEADBEEF


@pytest.fixture
def key() -> str:
    return make_key("sandbox")


def rest_client(url: str, key: str | None = None, **kw) -> RestClient:
    kw = {"read_timeout": 2.0, "connect_timeout": 2.0, "retry": FAST_RETRY, **kw}
    return RestClient(key, environment="custom", base_url=url, **kw)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connection refused


class Setup:
    """A free on-chain credits plan (100 credits per order) that the subscriber has ordered once."""

    def __init__(self, world):
        self.world = world
        self.builder, self.sub = world.client("builder"), world.client("subscriber")
        plans = self.builder.plans
        credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))
        self.plan_id = plans.register_credits_plan(PlanMetadata(name="Weather"), plans.get_free_price_config(),
                                                   credits).plan_id
        self.sub.plans.order_plan(self.plan_id)
        self.path = f"/api/v1/protocol/plans/{self.plan_id}"

    def reader(self, rest: RestClient | None):
        """The agent's client (it holds no credits) with ``rest`` as its REST fallback."""
        client = self.world.client("agent")
        client.rest = rest
        return client

    def token(self, subscriber: str, plan_id: int | None = None, **authorization) -> str:
        chain = self.world.sim.book.chain_id
        return encode_access_token({
            "x402Version": 2,
            "accepted": {"scheme": "nvm:erc4337", "network": f"eip155:{chain}",
                         "planId": str(plan_id or self.plan_id), "extra": {"version": "1", "agentId": "7"}},
            "payload": {"signature": "0x" + "11" * 65,
                        "authorization": {"from": subscriber.lower(), "sessionKeysProvider": "zerodev",
                                          "sessionKeys": [], **authorization}},
            "extensions": {},
        })


@pytest.fixture(scope="module")
def _ordered(_sim_fees):
    """The module's Setup, built once on the fees-on chain, and a snapshot of the chain right after it; the chain
    returns to its earlier state when the module is done."""
    chain = _sim_fees.chain
    before = chain.snapshot()
    try:
        built = Setup(World(_sim_fees, "embedded"))
        yield built, chain.snapshot()
    finally:
        chain.revert(before)


@pytest.fixture
def setup(_ordered):
    """The plan and the subscriber's order; whatever the test does to the chain is undone after it."""
    built, after = _ordered
    yield built
    built.world.sim.chain.revert(after)


def on_chain_fields(plan: Plan) -> dict:
    return {name: getattr(plan, name) for name in Plan.model_fields}


# ---------------------------------------------------------------------------------------------- merged reads


def test_get_plan_and_balance_merge_the_rest_document_with_the_chain(setup, fake, key):
    document = plan_document(str(setup.plan_id))
    document["metadata"]["main"].update(name="Weather plan", description="Forecasts", tags=["weather"])
    fake.script("GET", setup.path, Reply(body=document), Reply(body=document))
    client = setup.reader(rest_client(fake.url, key))
    chain_only = setup.reader(None).plans.get_plan(setup.plan_id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a successful merge warns nothing
        plan = client.plans.get_plan(setup.plan_id)
        balance = client.plans.get_plan_balance(setup.plan_id, setup.sub.address)

    assert isinstance(plan, PlanWithMetadata) and isinstance(plan, Plan)
    assert on_chain_fields(plan) == on_chain_fields(chain_only)  # the chain stays the source of truth
    assert (plan.name, plan.metadata.plan_id, plan.metadata.raw["metadata"]["main"]["tags"]) == \
        ("Weather plan", setup.plan_id, ["weather"])
    assert plan.model_dump(mode="json")["metadata"]["name"] == "Weather plan"
    assert (balance.plan_name, balance.balance, balance.is_subscriber) == ("Weather plan", CREDITS, True)
    # two public GETs of the plan document: no bearer key on a public read
    assert [(r.method, r.path) for r in fake.requests] == [("GET", setup.path)] * 2
    assert all("authorization" not in r.headers and r.headers["nevermined-version"] == "1.1" for r in fake.requests)


def test_plan_name_falls_back_to_the_documents_top_level_name(setup, fake):
    fake.script("GET", setup.path, Reply(body={"id": str(setup.plan_id), "name": "Legacy name"}))
    balance = setup.reader(rest_client(fake.url)).plans.get_plan_balance(setup.plan_id, setup.sub.address)
    assert (balance.plan_name, balance.balance) == ("Legacy name", CREDITS)


def test_unreachable_api_warns_and_returns_the_on_chain_result(setup, fake):
    client = setup.reader(rest_client(closed_port_url()))
    with pytest.warns(MetadataUnavailableWarning, match="could not reach the backend") as caught:
        plan = client.plans.get_plan(setup.plan_id)
        balance = client.plans.get_plan_balance(setup.plan_id, setup.sub.address)
    assert len(caught) == 2 and caught[0].filename == __file__  # points at the caller
    assert plan.metadata is None and plan.name == ""
    assert on_chain_fields(plan) == on_chain_fields(setup.reader(None).plans.get_plan(setup.plan_id))
    assert (balance.plan_name, balance.balance) == ("", CREDITS)


@pytest.mark.parametrize("reply, expected", [
    (envelope(500, "BCK.COMMON.0500", "Internal server error"), "HTTP 500"),
    (envelope(404, "BCK.PROTOCOL.0002", "Plan not found"), "HTTP 404"),
    (Reply(raw=b"<html>gateway</html>"), "not valid JSON"),
    (Reply(body={"metadata": {"main": {"name": "no id"}}}), "unexpected plan response shape"),
], ids=["500", "404-unknown-to-backend", "malformed-json", "wrong-shape"])
def test_api_errors_warn_and_keep_the_on_chain_balance(setup, fake, key, reply, expected):
    fake.script("GET", setup.path, reply)
    client = setup.reader(rest_client(fake.url, key))
    with pytest.warns(MetadataUnavailableWarning, match=expected) as caught:
        balance = client.plans.get_plan_balance(setup.plan_id, setup.sub.address)
    assert (balance.plan_name, balance.balance, balance.is_subscriber) == ("", CREDITS, True)
    assert fake.count("GET", setup.path) == 1  # 500/404 are not retried
    assert_no_secret(str(caught[0].message), key)


def test_api_error_text_echoing_the_key_is_masked_in_the_warning(setup, fake, key):
    fake.script("GET", setup.path, envelope(500, "BCK.COMMON.0500", f"boom for {key}", details={"key": key}))
    client = setup.reader(rest_client(fake.url, key))
    with pytest.warns(MetadataUnavailableWarning) as caught:
        client.plans.get_plan(setup.plan_id)
    assert "boom for" in str(caught[0].message)
    assert_no_secret(str(caught[0].message), key)


def test_a_timeout_is_bounded_by_the_rest_clients_timeout(setup, fake):
    fake.script("GET", setup.path, Reply(body=plan_document(str(setup.plan_id)), delay=1.5))
    client = setup.reader(rest_client(fake.url, read_timeout=0.3, retry=NO_RETRY))
    started = time.monotonic()
    with pytest.warns(MetadataUnavailableWarning, match="no answer within the timeout"):
        plan = client.plans.get_plan(setup.plan_id)
    assert time.monotonic() - started < 1.2
    assert plan.metadata is None and plan.plan_id == setup.plan_id


def test_without_a_rest_client_nothing_is_requested_and_nothing_warns(setup, fake):
    client = setup.reader(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = client.plans.get_plan(setup.plan_id)
        balance = client.plans.get_plan_balance(setup.plan_id, setup.sub.address)
    assert type(plan) is Plan and balance.plan_name == ""
    assert fake.requests == []


def test_a_plan_missing_on_chain_is_still_an_error_and_rest_is_not_asked(setup, fake):
    from nvm_chain.errors import PlanNotFoundError

    client = setup.reader(rest_client(fake.url))
    with pytest.raises(PlanNotFoundError):
        client.plans.get_plan(UNKNOWN_PLAN)
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------- x402 token check


def test_a_token_whose_subscriber_holds_credits(setup):
    result = check_x402_token(setup.reader(None), setup.token(setup.sub.address))
    assert isinstance(result, X402TokenCheck)
    assert (result.subscriber, result.plan_id, result.agent_id) == (setup.sub.address, setup.plan_id, "7")
    assert (result.valid_locally, result.plan_exists, result.onchain_mirror) == (True, True, True)
    assert (result.balance, result.holds_credits, result.token_version, result.network_matches) == \
        (CREDITS, True, 2, True)
    dumped = result.model_dump(mode="json", by_alias=True)
    assert (dumped["holdsCredits"], dumped["planId"]) == (True, str(setup.plan_id))
    # the bar can be raised above the balance
    above = check_x402_token(setup.reader(None), setup.token(setup.sub.address), min_credits=CREDITS + 1)
    assert (above.balance, above.holds_credits, above.min_credits) == (CREDITS, False, CREDITS + 1)


def test_a_token_minted_by_the_backend_for_a_subscriber_without_credits(setup, fake, key):
    network = f"eip155:{setup.world.sim.book.chain_id}"
    with rest_client(fake.url, key) as rest:
        # the fake mints for its fixed SUBSCRIBER, on the network asked for
        minted = rest.get_x402_access_token(setup.plan_id, token_options=X402TokenOptions(network=network))
        client = setup.reader(rest)
        fake.script("GET", setup.path, Reply(body=plan_document(str(setup.plan_id))))
        result = check_x402_token(client, minted)
    assert (result.subscriber, result.plan_exists, result.balance, result.holds_credits) == \
        (SUBSCRIBER, True, 0, False)
    assert result.plan_name == f"Plan {str(setup.plan_id)[:6]}"  # merged through get_plan_balance
    assert (result.network, result.network_matches) == (network, True)


@pytest.mark.parametrize("network", ["eip155:84532", "eip155:8453", "stripe"])
def test_a_token_of_another_network_is_a_typed_error_and_nothing_is_read(setup, fake, key, network):
    """A token minted for Base Sepolia (the sandbox default) cannot pay on the embedded chain."""
    chain = f"eip155:{setup.world.sim.book.chain_id}"
    client = setup.reader(rest_client(fake.url, key))
    token = encode_access_token({**decode_access_token(setup.token(setup.sub.address)).raw,
                                 "accepted": {"scheme": "nvm:erc4337", "network": network,
                                              "planId": str(setup.plan_id), "extra": {}}})
    with pytest.raises(X402NetworkMismatchError) as info:
        check_x402_token(client, token)
    assert isinstance(info.value, InvalidAccessTokenError) and isinstance(info.value, ValidationError)
    assert (info.value.token_network, info.value.chain_network) == (network, chain)
    assert f"minted for network '{network}', but the connected chain is {chain}" in str(info.value)
    assert fake.requests == []  # refused before the plan-name merge through REST


def test_a_card_delegation_token_names_a_provider_not_a_chain_and_is_checked(setup):
    token = encode_access_token({**decode_access_token(setup.token(setup.sub.address)).raw,
                                 "accepted": {"scheme": "nvm:card-delegation", "network": "stripe",
                                              "planId": str(setup.plan_id), "extra": {}}})
    result = check_x402_token(setup.reader(None), token)
    assert (result.network, result.network_matches, result.balance, result.holds_credits) == \
        ("stripe", False, CREDITS, True)
    foreign = encode_access_token({**decode_access_token(token).raw,
                                   "accepted": {"scheme": "nvm:card-delegation", "network": "eip155:84532",
                                                "planId": str(setup.plan_id), "extra": {}}})
    with pytest.raises(X402NetworkMismatchError):
        check_x402_token(setup.reader(None), foreign)


def test_a_single_use_v3_token_is_reported_as_version_3(setup):
    token = setup.token(setup.sub.address, nonce="0x" + "01" * 32)
    assert check_x402_token(setup.reader(None), token).token_version == 3


def test_a_token_for_a_plan_missing_on_chain_is_flagged_not_raised(setup):
    result = check_x402_token(setup.reader(None), setup.token(setup.sub.address, plan_id=UNKNOWN_PLAN))
    assert (result.plan_exists, result.balance, result.holds_credits, result.onchain_mirror) == \
        (False, 0, False, None)


@pytest.mark.parametrize("token", ["not-a-token", encode_access_token({"x402Version": 2}), "", "e30"],
                         ids=["not-base64-json", "missing-fields", "empty", "empty-object"])
def test_malformed_tokens_are_typed_errors_that_do_not_echo_the_token(setup, token):
    with pytest.raises(InvalidAccessTokenError) as info:
        check_x402_token(setup.reader(None), token)
    assert isinstance(info.value, ValidationError)
    assert token == "" or token not in str(info.value)


def test_min_credits_must_be_at_least_one(setup):
    with pytest.raises(ValidationError, match="min_credits"):
        check_x402_token(setup.reader(None), setup.token(setup.sub.address), min_credits=0)
