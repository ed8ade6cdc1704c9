"""`nvm-chain x402 …` (and the REST side of `nvm-chain plans`) through the real entry point, against the fake
REST backend of tests/rest served on 127.0.0.1 and the served devnet.

Commands run through ``nvm_chain.cli.main`` inside ``CliRunner.isolation``, so exit codes and messages are the
real ones. The API key comes from NVM_API_KEY only; the backend from NVM_ENVIRONMENT=custom + NVM_BACKEND_URL.
Every request body the backend recorded is asserted as wire JSON, and the key never appears in any output.
"""

from __future__ import annotations

import importlib
import json
import logging

import pytest

from nvm_chain.client import NvmChain
from nvm_chain.protocol.models import PlanMetadata
from nvm_chain.rest import decode_access_token, encode_access_token
from tests.rest.fake_backend import (
    AGENT_ID,
    PLAN_ID,
    SUBSCRIBER,
    VERIFIED,
    FakeBackend,
    Reply,
    envelope,
    plan_document,
)
from tests.rest.helpers import assert_no_secret, make_key
from tests.support import CliRun as Run
from tests.support import run_cli as run

CREDITS = 100
ENDPOINT = "https://agent.example/weather"
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_1"




@pytest.fixture(scope="module")
def key() -> str:
    return make_key("sandbox")


@pytest.fixture
def env(devnet, fake, key) -> dict[str, str]:
    """Read-only devnet access plus the REST fallback on the fake backend (custom environment)."""
    return devnet.env(None, NVM_API_KEY=key, NVM_ENVIRONMENT="custom", NVM_BACKEND_URL=fake.url,
                      NVM_X402_TOKEN="", NVM_FORMAT="")


def token_for(subscriber: str, plan_id: int | str, network: str = "eip155:84532") -> str:
    return encode_access_token({
        "x402Version": 2,
        "accepted": {"scheme": "nvm:erc4337", "network": network, "planId": str(plan_id), "extra": {}},
        "payload": {"signature": "0x" + "22" * 65,
                    "authorization": {"from": subscriber, "sessionKeysProvider": "zerodev", "sessionKeys": []}},
        "extensions": {},
    })


@pytest.fixture(scope="module")
def devnet_plan(devnet) -> int:
    """A free credits plan on the devnet that the subscriber ordered once (100 on-chain credits)."""
    sim = devnet.sim
    builder = NvmChain(sim.w3, sim.book, sim.account("builder").signer, network="local")
    subscriber = NvmChain(sim.w3, sim.book, sim.account("subscriber").signer, network="local")
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))
    plan_id = plans.register_credits_plan(PlanMetadata(name="Weather"), plans.get_free_price_config(),
                                          credits).plan_id
    subscriber.plans.order_plan(plan_id)
    return plan_id


def assert_clean(result: Run, key: str) -> None:
    assert_no_secret(result.out + result.err, key)
    assert "Traceback" not in result.err


# ---------------------------------------------------------------------------------------------- get-token


def test_get_token_posts_the_documented_body_and_prints_json(env, fake, key, caplog):
    caplog.set_level(logging.DEBUG, logger="nvm_chain.rest")
    result = run(["x402", "get-token", PLAN_ID, "--agent-id", AGENT_ID, "--delegation-id", "dlg-1",
                  "--spending-limit-cents", "500", "--format", "json"], env)
    assert result.code == 0, result.err
    body = {"accepted": {"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                         "extra": {"agentId": AGENT_ID}},
            "delegationConfig": {"delegationId": "dlg-1", "spendingLimitCents": 500}}
    assert (fake.last.method, fake.last.path, fake.last.body) == ("POST", "/api/v1/x402/permissions", body)
    assert fake.last.headers["authorization"] == f"Bearer {key}"
    out = result.json()
    assert out["accessToken"] == FakeBackend.mint(body)
    assert {k: out[k] for k in ("planId", "subscriber", "scheme", "network", "agentId", "tokenVersion")} == \
        {"planId": PLAN_ID, "subscriber": SUBSCRIBER, "scheme": "nvm:erc4337", "network": "eip155:84532",
         "agentId": AGENT_ID, "tokenVersion": 2}
    assert_clean(result, key)
    assert_no_secret(caplog.text, key)


def test_get_token_table_format_prints_the_bare_token_for_piping(env, fake, key):
    result = run(["x402", "get-token", PLAN_ID, "--token-version", "3", "--resource", ENDPOINT,
                  "--http-verb", "GET"], env)
    assert result.code == 0, result.err
    assert fake.last.body["resource"] == {"url": ENDPOINT} and fake.last.body["accepted"]["extra"]["httpVerb"] == "GET"
    assert fake.last.body["tokenVersion"] == 3 and "delegationConfig" not in fake.last.body
    assert decode_access_token(result.out.strip()).plan_id == int(PLAN_ID)  # stdout is only the token
    assert f"plan {PLAN_ID}, subscriber {SUBSCRIBER}" in result.err
    assert_clean(result, key)


def test_rest_commands_need_nvm_api_key_and_never_take_it_from_a_flag(env, fake, key):
    result = run(["x402", "get-token", PLAN_ID], {**env, "NVM_API_KEY": ""})
    assert result.code == 7 and "set NVM_API_KEY" in result.err
    assert run(["x402", "get-token", PLAN_ID, "--api-key", key], env).code == 2
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------- verify / settle


def test_verify_builds_the_payment_required_and_sends_the_token_from_the_environment(env, fake, key):
    token = token_for(SUBSCRIBER, PLAN_ID)
    result = run(["x402", "verify", "--plan-id", PLAN_ID, "--endpoint", ENDPOINT, "--agent-id", AGENT_ID,
                  "--http-verb", "POST", "--max-amount", "2", "--format", "json"], {**env, "NVM_X402_TOKEN": token})
    assert result.code == 0, result.err
    assert result.json() == VERIFIED
    assert (fake.last.method, fake.last.path) == ("POST", "/api/v1/x402/verify")
    assert fake.last.body == {
        "paymentRequired": {
            "x402Version": 2, "error": None,
            "resource": {"url": ENDPOINT, "description": None, "mimeType": None},
            "accepts": [{"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                         "extra": {"version": "1", "agentId": AGENT_ID, "httpVerb": "POST"}}],
            "extensions": {}},
        "x402AccessToken": token,
        "maxAmount": "2",
    }
    assert fake.last.headers["authorization"] == f"Bearer {key}"
    assert token not in result.out + result.err
    assert_clean(result, key)


def test_verify_refused_prints_the_answer_and_exits_9(env, fake, key, tmp_path):
    required = {"x402Version": 2, "error": None, "resource": {"url": "", "description": None, "mimeType": None},
                "accepts": [{"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                             "extra": {"version": "1", "agentId": None, "httpVerb": None}}], "extensions": {}}
    path = tmp_path / "payment-required.json"
    path.write_text(json.dumps(required))
    fake.script("POST", "/api/v1/x402/verify", Reply(body={"isValid": False, "invalidReason": "insufficient credits"}))
    token = token_for(SUBSCRIBER, PLAN_ID)
    result = run(["x402", "verify", "--payment-required", str(path), "-f", "json"], env, input=token + "\n")
    assert result.code == 9
    assert result.json() == {"isValid": False, "invalidReason": "insufficient credits"}
    assert "refused the token: insufficient credits" in result.err
    assert fake.last.body == {"paymentRequired": required, "x402AccessToken": token}  # stdin token, no maxAmount
    assert_clean(result, key)


def test_settle_sends_the_agent_request_id_and_reports_success(env, fake, key):
    token = token_for(SUBSCRIBER, PLAN_ID)
    result = run(["x402", "settle", "--plan-id", PLAN_ID, "--token", token, "--agent-request-id", "req-123",
                  "--format", "json"], env)
    assert result.code == 0, result.err
    assert result.json() == {"success": True, "payer": SUBSCRIBER, "transaction": "0x" + "ab" * 32,
                             "network": "eip155:84532", "creditsRedeemed": "1", "remainingBalance": "99"}
    assert (fake.last.path, fake.last.body["agentRequestId"], fake.last.body["x402AccessToken"]) == \
        ("/api/v1/x402/settle", "req-123", token)
    assert fake.last.body["paymentRequired"]["accepts"][0]["planId"] == PLAN_ID
    assert_clean(result, key)


def test_settle_with_success_false_on_http_200_exits_9(env, fake, key):
    fake.script("POST", "/api/v1/x402/settle",
                Reply(body={"success": False, "errorReason": "no credits and the auto-order reverted"}))
    token = token_for(SUBSCRIBER, PLAN_ID)
    result = run(["x402", "settle", "--plan-id", PLAN_ID, "--token", "-", "-f", "json"], env, input=token)
    assert result.code == 9
    out = result.json()
    assert (out["success"], out["errorReason"]) == (False, "no credits and the auto-order reverted")
    assert "auto-order reverted" in result.err
    assert_clean(result, key)


def test_api_errors_exit_9_with_the_key_masked(env, fake, key):
    fake.script("POST", "/api/v1/x402/settle",
                envelope(401, "BCK.AUTH.0001", f"bad key {key}", hint="check your key"),
                envelope(400, "BCK.X402.0059", "Access token already used"))
    token = token_for(SUBSCRIBER, PLAN_ID)
    first = run(["x402", "settle", "--plan-id", PLAN_ID, "--token", token], env)
    assert first.code == 9 and "HTTP 401" in first.err and "BCK.AUTH.0001" in first.err
    second = run(["x402", "settle", "--plan-id", PLAN_ID, "--token", token], env)
    assert second.code == 9 and "BCK.X402.0059" in second.err
    for result in (first, second):
        assert result.out == ""
        assert_clean(result, key)


def test_bad_payment_inputs_are_refused_before_any_request(env, fake, key):
    token_env = {**env, "NVM_X402_TOKEN": token_for(SUBSCRIBER, PLAN_ID)}
    both = run(["x402", "verify", "--plan-id", PLAN_ID, "--payment-required", "{}"], token_env)
    neither = run(["x402", "verify"], token_env)
    garbage = run(["x402", "verify", "--payment-required", "not json at all"], token_env)
    wrong_shape = run(["x402", "verify", "--payment-required", '{"accepts": [{"planId": "x"}]}'], token_env)
    no_token = run(["x402", "verify", "--plan-id", PLAN_ID], env)
    assert (both.code, neither.code, no_token.code) == (2, 2, 2)
    assert "not both" in both.err and "--plan-id" in neither.err and "no x402 access token" in no_token.err
    assert garbage.code == 3 and "must be JSON, a JSON file or base64 JSON" in garbage.err
    assert wrong_shape.code == 3 and "invalid --payment-required" in wrong_shape.err
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------- check (on chain)


def test_check_a_token_whose_subscriber_holds_credits(devnet, devnet_plan, fake):
    subscriber = devnet.sim.account("subscriber").address
    token = token_for(subscriber.lower(), devnet_plan, network=f"eip155:{devnet.sim.book.chain_id}")
    result = run(["x402", "check", token, "--format", "json"], devnet.env(None, NVM_FORMAT=""))
    assert result.code == 0, result.err
    out = result.json()
    assert (out["subscriber"], out["planId"], out["balance"], out["holdsCredits"]) == \
        (subscriber, str(devnet_plan), str(CREDITS), True)  # uint256 as decimal strings
    assert (out["validLocally"], out["planExists"], out["networkMatches"], out["planName"]) == (True, True, True, "")
    assert fake.requests == []  # no NVM_API_KEY: the chain alone
    higher = run(["x402", "check", token, "--min-credits", str(CREDITS + 1)], devnet.env(None, NVM_FORMAT=""))
    assert higher.code == 1 and f"holds {CREDITS} credits" in higher.err


def test_get_token_piped_into_check_for_a_subscriber_without_credits(devnet, env, fake, key, devnet_plan):
    # the default network (Base Sepolia) is not the devnet's: check refuses such a token before reading
    foreign = run(["x402", "get-token", str(devnet_plan)], env)
    refused = run(["x402", "check", "-f", "json"], env, input=foreign.out)
    assert refused.code == 3 and "minted for network 'eip155:84532'" in refused.err
    minted = run(["x402", "get-token", str(devnet_plan), "--x402-network", f"eip155:{devnet.sim.book.chain_id}"], env)
    assert minted.code == 0, minted.err
    document = plan_document(str(devnet_plan))
    fake.script("GET", f"/api/v1/protocol/plans/{devnet_plan}", Reply(body=document))
    result = run(["x402", "check", "-f", "json"], env, input=minted.out)
    assert result.code == 1
    out = result.json()
    assert (out["subscriber"], out["planExists"], out["balance"], out["holdsCredits"]) == \
        (SUBSCRIBER, True, "0", False)
    assert out["planName"] == document["metadata"]["main"]["name"]  # merged from REST with NVM_API_KEY
    assert f"{SUBSCRIBER} holds 0 credits of plan {devnet_plan}" in result.err
    assert_clean(result, key)
    # the API failing only costs the name: a one-line warning, the on-chain answer stands
    fake.script("GET", f"/api/v1/protocol/plans/{devnet_plan}", envelope(500, "BCK.COMMON.0500", "down"))
    degraded = run(["x402", "check", "-f", "json"], env, input=minted.out)
    assert (degraded.code, degraded.json()["planName"], degraded.json()["balance"]) == (1, "", "0")
    assert f"warning: plan {devnet_plan}: no metadata from the REST API" in degraded.err and "HTTP 500" in degraded.err
    assert_clean(degraded, key)


def test_check_flags_an_unknown_plan_and_refuses_a_malformed_token(devnet):
    env = devnet.env(None, NVM_FORMAT="")
    network = f"eip155:{devnet.sim.book.chain_id}"
    unknown = run(["x402", "check", token_for(SUBSCRIBER, 0xDEADBEEF, network), "-f", "json"], env)
    assert unknown.code == 1 and unknown.json()["planExists"] is False
    assert f"plan {0xDEADBEEF} does not exist on this chain" in unknown.err
    malformed = run(["x402", "check", "bm90LWEtdG9rZW4"], env)
    assert malformed.code == 3 and "invalid x402 access token" in malformed.err
    assert "bm90LWEtdG9rZW4" not in malformed.err and "Traceback" not in malformed.err


# ---------------------------------------------------------------------------------------------- plans (REST side)


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


needs_plans_cli = pytest.mark.skipif(not _importable("nvm_chain.cli.plans"),
                                     reason="nvm_chain.cli.plans is not available yet")


@needs_plans_cli
def test_plans_get_plan_shows_merged_metadata_only_with_an_api_key(env, fake, key, devnet_plan):
    document = plan_document(str(devnet_plan))
    document["metadata"]["main"]["name"] = "Weather plan"
    fake.script("GET", f"/api/v1/protocol/plans/{devnet_plan}", Reply(body=document))
    merged = run(["plans", "get-plan", str(devnet_plan), "--format", "json"], env)
    assert merged.code == 0, merged.err
    out = merged.json()
    assert (out["planId"], out["metadata"]["name"], out["metadata"]["planId"]) == \
        (str(devnet_plan), "Weather plan", str(devnet_plan))
    assert fake.count("GET", f"/api/v1/protocol/plans/{devnet_plan}") == 1
    assert_clean(merged, key)

    fake.reset()
    chain_only = run(["plans", "get-plan", str(devnet_plan), "--format", "json"], {**env, "NVM_API_KEY": ""})
    assert chain_only.code == 0, chain_only.err
    assert "metadata" not in chain_only.json() and chain_only.json()["owner"] == out["owner"]
    assert fake.requests == []


@needs_plans_cli
def test_plans_order_fiat_plan_prints_the_checkout_url(env, fake, key):
    as_json = run(["plans", "order-fiat-plan", PLAN_ID, "--format", "json"], env)
    assert as_json.code == 0, as_json.err
    assert as_json.json()["checkoutUrl"] == CHECKOUT_URL
    assert (fake.last.method, fake.last.path, fake.last.body) == \
        ("POST", "/api/v1/fiat/stripe/payment", {"planId": PLAN_ID, "sessionType": "embedded"})
    assert fake.last.headers["authorization"] == f"Bearer {key}"
    table = run(["plans", "order-fiat-plan", PLAN_ID], env)
    assert table.code == 0 and CHECKOUT_URL in table.out
    for result in (as_json, table):
        assert_clean(result, key)
