"""payments-py programs on nvm-chain: ``Payments``/``PaymentOptions``, the docs' "Payments and Balance" sections and
Complete Example (embedded chain and anvil), every PlansAPI/AgentsAPI method of the class reference called with
payments-py's keyword names, REST calls checked on the wire (a real HTTP server on 127.0.0.1), and the money
traps refused before anything is signed (nonces, token and credit balances unchanged on chain).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nvm_chain import (
    AgentAPIAttributes,
    AgentMetadata,
    ClampedAmountError,
    ConfigurationError,
    OffchainCreditsError,
    PaginationOptions,
    PaymentOptions,
    Payments,
    PlanMetadata,
    PlanRedemptionType,
    ValidationError,
    get_dynamic_credits_config,
    get_erc20_price_config,
    get_expirable_duration_config,
    get_fiat_price_config,
    get_fixed_credits_config,
    set_onchain_mirror,
    set_redemption_type,
)
from nvm_chain.sim import SANDBOX_ERC20
from nvm_chain.sim.accounts import test_key
from tests.rest.helpers import make_key

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "payments_docs_example.py"
STORY = ["Initial balance: 0", "Is subscriber: False", "Order success: True", "Final balance: 100",
         "Is subscriber: True", "Minted 50 additional credits", "Updated balance: 150"]
ZERO_ADDRESS = "0x" + "00" * 20
API = AgentAPIAttributes(endpoints=[{"verb": "POST", "url": "https://agent.example/query"}])


def payments(world, account: str, **options) -> Payments:
    return Payments.get_instance(PaymentOptions(simulation=world.sim, account=account, **options))


def erc20(world, token: str, holder: str) -> int:
    return world.proto.call("MockERC20", "balanceOf", holder, at=token)


def nonce(world, who: str) -> int:
    return world.sim.w3.eth.get_transaction_count(world.address(who))


def story(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("Created plan: ")]


# ---------------------------------------------------------------------------------------------- results as dicts


def test_results_read_like_payments_py_dicts_with_camel_case_keys():
    from nvm_chain import OrderResult, TxResult

    tx = TxResult(tx_hash="0x" + "ab" * 32, block_number=7, gas_used=21_000)
    order = OrderResult(agreement_id="0x01", plan_id=2**200, template="FixedPaymentTemplate", payer=ZERO_ADDRESS,
                        sender=ZERO_ADDRESS, credits_receiver=None, number_of_purchases=1, token=ZERO_ADDRESS,
                        amount_paid=20, credits_received=100, seed="0x02", tx=tx)
    assert order["success"] is True and order.success is True
    assert order["planId"] == str(2**200) and order.plan_id == 2**200  # wire form by key, int by attribute
    assert order["plan_id"] == order["planId"] and order["amountPaid"] == "20" and order["creditsReceived"] == 100
    assert order["txHash"] == tx.tx_hash and order["tx"]["blockNumber"] == 7  # a property, and a nested model
    assert "agreementId" in order and "nope" not in order and order.get("nope", 5) == 5
    with pytest.raises(KeyError):
        order["nope"]


# ---------------------------------------------------------------------------------------------- the entry point


@pytest.mark.slow
def test_options_hide_secrets_and_two_instances_share_the_embedded_simulation():
    key = "0x" + test_key("builder").hex()
    options = PaymentOptions(network="embedded", private_key=key, nvm_api_key=make_key("sandbox"))
    assert key[2:] not in repr(options) and "sandbox:" not in repr(options)

    builder = Payments.get_instance(PaymentOptions(network="embedded", private_key=key))
    subscriber = Payments.get_instance(PaymentOptions(network="embedded", account="subscriber"))
    assert builder.chain.simulation is subscriber.chain.simulation
    assert builder.account_address == builder.get_account_address() != subscriber.account_address
    assert key[2:] not in repr(builder)
    with pytest.raises(ConfigurationError, match="not both"):
        Payments.get_instance(PaymentOptions(network="embedded", private_key=key, account="builder"))
    with pytest.raises(ConfigurationError, match="unknown account"):
        Payments.get_instance(PaymentOptions(network="embedded", account="nobody"))
    for rest_only in (lambda: builder.x402.get_x402_access_token(1), builder.delegation.list_delegations,
                      lambda: builder.plans.order_fiat_plan(1)):
        with pytest.raises(ConfigurationError, match="nvm_api_key"):
            rest_only()


def test_the_network_follows_the_environment_like_payments_py():
    live = Payments(PaymentOptions(nvm_api_key=make_key("live")))
    sandbox = Payments(PaymentOptions(environment="sandbox", nvm_api_key=make_key("sandbox")))
    assert (live.chain.network, sandbox.chain.network) == ("base", "base-sepolia")
    assert live.environment_name == "live" and live.rest is not None
    with pytest.raises(ConfigurationError, match="no account"):
        _ = live.account_address


# ---------------------------------------------------------------------------------------------- the docs' example


@pytest.mark.slow
def test_the_example_script_tells_the_docs_story():
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert re.match(r"Created plan: \d{60,}\n", done.stdout)
    assert story(done.stdout) == STORY


def _ported(source: str, builder: str, subscriber: str) -> str:
    """The example with only its two ``PaymentOptions(...)`` argument lists replaced."""
    calls = re.findall(r"^ +PaymentOptions\((.*)\)$", source, re.M)
    assert len(calls) == 2
    ported = source.replace(f"PaymentOptions({calls[0]})", f"PaymentOptions({builder})", 1)
    ported = ported.replace(f"PaymentOptions({calls[1]})", f"PaymentOptions({subscriber})", 1)
    changed = [(a, b) for a, b in zip(source.splitlines(), ported.splitlines()) if a != b]
    assert len(changed) == 2 and all("PaymentOptions(" in a for a, _ in changed)
    return ported


def _run(source: str, namespace: dict, capsys) -> dict:
    """Run the (ported) example in this process and check the story it prints."""
    capsys.readouterr()
    exec(compile(source, str(EXAMPLE), "exec"), namespace)  # noqa: S102 - the repository's own example program
    assert story(capsys.readouterr().out) == STORY
    return namespace


def _check_chain_effects(sim, namespace: dict) -> None:
    """Read back with a separate client what the example did: 20 tokens moved, 150 credits on chain."""
    from nvm_chain.client import NvmChain

    reader = NvmChain(sim.w3, sim.book, None, network="local")
    plan_id = int(namespace["plan_id"])
    plan = reader.plans.get_plan(plan_id)
    assert plan.price.token_address == SANDBOX_ERC20 and plan.price.total == 20
    assert plan.credits.onchain_mirror is True  # nvm-chain's helpers keep the credits on chain
    subscriber = namespace["payments_subscriber"].account_address
    assert reader.plans.get_plan_balance(plan_id, subscriber).balance == 150
    assert namespace["order_result"].amount_paid == 20 and namespace["order_result"].credits_received == 100


def test_the_docs_example_runs_on_the_embedded_chain(world_embedded, capsys):
    world = world_embedded
    world.sim.place_sandbox_token()
    token_before = erc20(world, SANDBOX_ERC20, world.address("subscriber"))
    source = _ported(EXAMPLE.read_text(), "simulation=sim, account='builder'",
                     "simulation=sim, account='subscriber'")
    namespace = _run(source, {"sim": world.sim, "__name__": "docs_example"}, capsys)
    _check_chain_effects(world.sim, namespace)
    assert erc20(world, SANDBOX_ERC20, world.address("subscriber")) == token_before - 20


@pytest.mark.slow
def test_the_docs_example_runs_on_anvil(_sim_anvil, _anvil_node, tmp_path, capsys):
    sim = _sim_anvil
    snapshot = sim.chain.snapshot()
    try:
        sim.place_sandbox_token()
        book = tmp_path / "book.json"
        book.write_text(json.dumps(sim.book.to_json()))
        local = f"network='local', rpc_url='{_anvil_node.url}', address_book='{book}', private_key="
        source = _ported(EXAMPLE.read_text(), local + f"'0x{test_key('builder').hex()}'",
                         local + f"'0x{test_key('subscriber').hex()}'")
        _check_chain_effects(sim, _run(source, {"__name__": "docs_example"}, capsys))
    finally:
        sim.chain.revert(snapshot)


# ---------------------------------------------------------------------------------------------- the docs' sections


@pytest.mark.slow
def test_the_payments_and_balance_sections(world_embedded, fake, capsys):
    """Each section of the docs page, with its placeholders filled in; only the options differ."""
    world = world_embedded
    world.sim.place_sandbox_token()
    builder, subscriber, agent = (payments(world, name) for name in ("builder", "subscriber", "agent"))
    sub_address = subscriber.account_address
    plan_id = builder.plans.register_credits_plan(
        PlanMetadata(name="Docs plan"), get_erc20_price_config(20, SANDBOX_ERC20, builder.account_address),
        get_fixed_credits_config(100))["planId"]

    # Check Plan Balance
    balance = subscriber.plans.get_plan_balance(plan_id=plan_id)
    print(f"Plan ID: {balance.plan_id}")
    print(f"Plan Type: {balance.plan_type}")
    print(f"Balance: {balance.balance}")
    print(f"Is Subscriber: {balance.is_subscriber}")
    print(f"Price per Credit: {balance.price_per_credit}")
    assert capsys.readouterr().out.splitlines() == [
        f"Plan ID: {plan_id}", "Plan Type: credits", "Balance: 0", "Is Subscriber: False",
        "Price per Credit: 0.2"]
    assert balance.ledger == "onchain"

    # Order with Crypto
    result = subscriber.plans.order_plan(plan_id=plan_id)
    assert result["success"] is True and result["planId"] == str(plan_id) and result["txHash"] == result.tx_hash

    # Check Balance for Another User
    other = builder.plans.get_plan_balance(plan_id=plan_id, account_address=sub_address)
    assert (other.balance, other.is_subscriber, other.holder_address) == (100, True, sub_address)

    # Mint Credits
    minted = builder.plans.mint_plan_credits(plan_id=plan_id, credits_amount=50, credits_receiver=sub_address)
    assert minted["creditsAmount"] == "50" and subscriber.plans.get_plan_balance(plan_id).balance == 150

    # Mint Expirable Credits, on a time plan
    time_plan = builder.plans.register_time_plan(
        PlanMetadata(name="Day pass"), get_erc20_price_config(20, SANDBOX_ERC20, builder.account_address),
        get_expirable_duration_config(86400))["planId"]
    expirable = builder.plans.mint_plan_expirable(plan_id=time_plan, credits_amount=100, credits_receiver=sub_address,
                                                  credits_duration=86400)
    assert expirable.expires_at is not None and subscriber.plans.get_plan_balance(time_plan).balance == 100

    # Burn Credits: "10" of a plan that burns exactly 1 per request: the result shows both
    burned = subscriber.plans.burn_credits(plan_id=plan_id, credits_amount="10")
    assert (burned["requested"], burned["burned"], burned.clamped) == ("10", "1", True)
    assert subscriber.plans.get_plan_balance(plan_id).balance == 149

    # Redeem Credits: an agent the plan owner allowed, payments-py's keywords
    redeemable = builder.plans.register_credits_plan(
        PlanMetadata(name="Agent plan"), get_erc20_price_config(20, SANDBOX_ERC20, builder.account_address),
        set_redemption_type(get_dynamic_credits_config(100, 1, 10), PlanRedemptionType.ONLY_PLAN_ROLE))["planId"]
    subscriber.plans.order_plan(redeemable)
    builder.plans.allow_burner(redeemable, agent.account_address)
    redeemed = agent.plans.redeem_credits(agent_request_id="request-123", plan_id=redeemable, redeem_from=sub_address,
                                          credits_amount_to_redeem="5")
    assert (redeemed.requested, redeemed.burned) == (5, 5)
    assert subscriber.plans.get_plan_balance(redeemable).balance == 95

    # Order Fiat Plans: a Stripe checkout through the API (checked on the wire)
    fiat_builder = payments(world, "builder", nvm_api_key=make_key("sandbox"), base_url=fake.url)
    checkout = fiat_builder.plans.order_fiat_plan(plan_id="42")
    assert checkout["checkoutUrl"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    assert checkout["sessionId"] == "cs_test_1"
    assert (fake.last.method, fake.last.path, fake.last.body) == \
        ("POST", "/api/v1/fiat/stripe/payment", {"planId": "42", "sessionType": "embedded"})


# ---------------------------------------------------------------------------------------------- the class reference


@pytest.mark.slow
def test_every_plans_and_agents_method_of_the_class_reference_by_keyword(world_embedded, fake):
    world = world_embedded
    builder = payments(world, "builder")
    subscriber = payments(world, "subscriber")
    plans, me, token = builder.plans, builder.account_address, world.sim.book["MockERC20"]

    # the static helpers
    price = plans.get_erc20_price_config(amount=1_000_000, token_address=token, receiver=me)
    assert price.total == 1_000_000
    assert plans.get_crypto_price_config(amount=5, receiver=me, token_address=token).token_address == token
    assert plans.get_native_token_price_config(amount=10**15, receiver=me).total == 10**15
    assert plans.get_fiat_price_config(amount=2_000_000, receiver=me).is_crypto is False
    assert plans.get_free_price_config().total == 0
    payg_price = plans.get_pay_as_you_go_price_config(amount=1000, receiver=me, token_address=token)
    assert payg_price.template_address == world.sim.book["PayAsYouGoTemplate"]
    assert plans.get_pay_as_you_go_credits_config().amount == 1
    assert plans.get_expirable_duration_config(duration_of_plan=3600).duration_secs == 3600
    assert plans.get_non_expirable_duration_config().duration_secs == 0
    fixed = plans.get_fixed_credits_config(credits_granted=10, credits_per_request=2)
    dynamic = plans.get_dynamic_credits_config(credits_granted=10, min_credits_per_request=1, max_credits_per_request=5)
    assert (fixed.min_amount, dynamic.max_amount) == (2, 5)
    owner_only = plans.set_redemption_type(credits_config=dynamic, redemption_type=PlanRedemptionType.ONLY_OWNER)
    with pytest.warns(DeprecationWarning):
        assert plans.set_proof_required(credits_config=dynamic, proof_required=True).onchain_mirror is True

    # registrations
    meta = PlanMetadata(name="Ref plan")
    general = plans.register_plan(plan_metadata=meta, price_config=price, credits_config=owner_only, nonce=7,
                                  access_limit="credits")
    credits_plan = plans.register_credits_plan(plan_metadata=meta, price_config=price, credits_config=fixed)
    time_plan = plans.register_time_plan(plan_metadata=meta, price_config=price,
                                         credits_config=plans.get_expirable_duration_config(3600))
    trial = plans.register_credits_trial_plan(plan_metadata=meta, price_config=price, credits_config=fixed)
    time_trial = plans.register_time_trial_plan(plan_metadata=meta, price_config=price,
                                                credits_config=plans.get_expirable_duration_config(60))
    assert trial["planMetadata"]["isTrialPlan"] is True and time_trial.hooks
    assert len({general["planId"], credits_plan["planId"], time_plan["planId"], trial["planId"]}) == 4

    # reads, orders, credits
    assert plans.get_plan(plan_id=general.plan_id)["owner"] == me
    assert subscriber.plans.order_plan(plan_id=general.plan_id)["success"] is True
    assert plans.get_plan_balance(plan_id=general.plan_id, account_address=subscriber.account_address).balance == 10
    plans.mint_plan_credits(plan_id=general.plan_id, credits_amount=5, credits_receiver=subscriber.account_address)
    plans.mint_plan_expirable(plan_id=time_plan.plan_id, credits_amount=1, credits_receiver=me, credits_duration=60)
    plans.burn_credits(plan_id=time_plan.plan_id, credits_amount=1)
    redeemed = plans.redeem_credits(agent_request_id="r-1", plan_id=general.plan_id,
                                    redeem_from=subscriber.account_address, credits_amount_to_redeem="3")
    assert redeemed.burned == 3
    assert plans.get_plan_balance(general.plan_id, subscriber.account_address).balance == 12

    # agents
    agents = builder.agents
    agent = agents.register_agent(agent_metadata=AgentMetadata(name="Ref agent"), agent_api=API,
                                  payment_plans=[general.plan_id])
    both = agents.register_agent_and_plan(agent_metadata=AgentMetadata(name="Both"), agent_api=API,
                                          plan_metadata=meta, price_config=price, credits_config=fixed,
                                          access_limit="credits")
    assert both["agentId"] and both["planId"] and both["txHash"].startswith("0x")
    assert agents.get_agent(agent_id=agent["agentId"])["url"] == "https://agent.example/query"
    added = agents.add_plan_to_agent(plan_id=credits_plan.plan_id, agent_id=agent.agent_id)
    assert added["success"] is True
    listed = agents.get_agent_plans(agent_id=agent.agent_id, pagination=PaginationOptions(offset=10))
    assert listed["plans"] == [str(credits_plan.plan_id), str(general.plan_id)]  # newest first
    agents.remove_plan_from_agent(plan_id=credits_plan.plan_id, agent_id=agent.agent_id)
    assert agents.get_agent_plans(agent.agent_id)["total"] == 1
    page = plans.get_agents_associated_to_plan(plan_id=general.plan_id, pagination=PaginationOptions())
    assert page["agents"] == [str(agent.agent_id)] and page["total"] == 1

    # what stays on REST: the agent metadata update, on the wire
    with pytest.raises(ConfigurationError, match="nvm_api_key"):
        agents.update_agent_metadata(agent.agent_id, AgentMetadata(name="New"), API)
    rest = payments(world, "builder", nvm_api_key=make_key("sandbox"), base_url=fake.url)
    updated = rest.agents.update_agent_metadata(agent_id=agent.agent_id, agent_metadata=AgentMetadata(name="New"),
                                                agent_api=API)
    assert updated["success"] is True
    assert (fake.last.method, fake.last.path) == ("PUT", f"/api/v1/protocol/agents/{agent.agent_id}")
    assert fake.last.body["metadataAttributes"] == {"name": "New"}
    assert fake.last.headers["authorization"].startswith("Bearer sandbox:")


def test_x402_and_facilitator_go_over_the_wire_with_payments_py_keywords(world_embedded, fake):
    from nvm_chain import build_payment_required

    subscriber = payments(world_embedded, "subscriber", nvm_api_key=make_key("sandbox"), base_url=fake.url)
    token = subscriber.x402.get_x402_access_token(plan_id="42", agent_id="7")
    assert fake.last.path == "/api/v1/x402/permissions"
    assert fake.last.body["accepted"]["planId"] == "42" and fake.last.body["accepted"]["extra"] == {"agentId": "7"}
    with pytest.raises(ValidationError, match="redemption_limit"):
        subscriber.x402.get_x402_access_token("42", redemption_limit=5)

    required = build_payment_required(plan_id="42", endpoint="https://agent.example/query", http_verb="POST")
    verified = subscriber.facilitator.verify_permissions(payment_required=required,
                                                         x402_access_token=token["accessToken"], max_amount="1")
    assert verified["isValid"] is True and fake.last.path == "/api/v1/x402/verify"
    assert fake.last.body["x402AccessToken"] == token.access_token and fake.last.body["maxAmount"] == "1"
    settled = subscriber.facilitator.settle_permissions(payment_required=required.to_wire(),
                                                        x402_access_token=token.access_token, max_amount="1",
                                                        agent_request_id="req-123")
    assert settled["success"] is True and settled["creditsRedeemed"] == "1"
    assert fake.last.path == "/api/v1/x402/settle" and fake.last.body["agentRequestId"] == "req-123"
    assert fake.last.body["paymentRequired"] == required.to_wire()


# ---------------------------------------------------------------------------------------------- money traps


def _off_chain_plan(world, builder: Payments) -> int:
    """A plan registered as payments-py's helpers build it: credits kept off chain (onchain_mirror=False)."""
    from nvm_chain import OffchainCreditsWarning

    with pytest.warns(OffchainCreditsWarning):
        return builder.plans.register_credits_plan(
            PlanMetadata(name="Backend ledger"),
            get_erc20_price_config(20, world.sim.book["MockERC20"], builder.account_address),
            set_onchain_mirror(get_fixed_credits_config(100), False)).plan_id


def test_an_off_chain_ledger_plan_is_refused_before_signing_and_its_balance_is_not_a_false_zero(world_embedded):
    world = world_embedded
    builder, subscriber = payments(world, "builder"), payments(world, "subscriber")
    plan_id = _off_chain_plan(world, builder)
    token, who = world.sim.book["MockERC20"], subscriber.account_address
    before = (nonce(world, "subscriber"), erc20(world, token, who), erc20(world, token, builder.account_address))

    with pytest.raises(OffchainCreditsError, match="off chain.*mint 0 credits.*nvm_api_key") as info:
        subscriber.plans.order_plan(plan_id)
    assert info.value.plan_id == plan_id and isinstance(info.value, ValidationError)
    with pytest.raises(OffchainCreditsError):
        subscriber.plans.order_quote(plan_id)
    assert (nonce(world, "subscriber"), erc20(world, token, who), erc20(world, token, builder.account_address)) == \
        before
    assert world.proto.call("MockERC20", "allowance", who, world.sim.book["PaymentsVault"]) == 0
    with pytest.raises(OffchainCreditsError, match="balance lives in the backend"):
        subscriber.plans.get_plan_balance(plan_id)

    # said explicitly: the order goes through and, as the message warned, mints nothing on chain
    order = subscriber.plans.order_plan(plan_id, allow_offchain_credits=True)
    assert order.credits_received == 0 and erc20(world, token, who) == before[1] - 20
    on_chain = subscriber.plans.get_plan_balance(plan_id, ledger="onchain")
    assert (on_chain.balance, on_chain.ledger) == (0, "onchain")


def test_with_rest_an_off_chain_ledger_plan_is_ordered_and_its_balance_read_from_the_backend(world_embedded, fake):
    world = world_embedded
    builder = payments(world, "builder")
    subscriber = payments(world, "subscriber", nvm_api_key=make_key("sandbox"), base_url=fake.url)
    plan_id = _off_chain_plan(world, builder)

    order = subscriber.plans.order_plan(plan_id)
    assert order["success"] is True and order.amount_paid == 20
    balance = subscriber.plans.get_plan_balance(plan_id)
    assert (balance.ledger, balance.balance) == ("backend", 100)  # the fake backend's ledger says 100
    assert (fake.last.method, fake.last.path) == \
        ("GET", f"/api/v1/protocol/plans/{plan_id}/balance/{subscriber.account_address}")


def test_a_strict_burn_the_contract_would_clamp_is_refused_before_signing(world_embedded):
    world = world_embedded
    world.sim.place_sandbox_token()
    builder, subscriber = payments(world, "builder"), payments(world, "subscriber")
    plan_id = builder.plans.register_credits_plan(
        PlanMetadata(name="One per request"), get_erc20_price_config(20, SANDBOX_ERC20, builder.account_address),
        get_fixed_credits_config(100))["planId"]
    subscriber.plans.order_plan(plan_id)
    assert subscriber.plans.burn_quote(plan_id, 10) == (10, 1)
    sent = nonce(world, "subscriber")

    with pytest.raises(ClampedAmountError, match="requested 10 credits but the contract will burn 1") as info:
        subscriber.plans.burn_credits(plan_id, 10, strict=True)
    assert (info.value.requested, info.value.will_burn) == (10, 1)
    with pytest.raises(ClampedAmountError):
        builder.plans.redeem_credits(plan_id, subscriber.account_address, 10, strict=True)
    assert nonce(world, "subscriber") == sent and subscriber.plans.get_plan_balance(plan_id).balance == 100
    assert subscriber.plans.burn_credits(plan_id, 1, strict=True).burned == 1  # not clamped: goes through


def test_order_plan_routes_pay_as_you_go_and_points_fiat_to_order_fiat_plan(world_embedded):
    world = world_embedded
    builder, subscriber = payments(world, "builder"), payments(world, "subscriber")
    token, me = world.sim.book["MockERC20"], builder.account_address
    payg = builder.plans.register_pay_as_you_go_plan(
        PlanMetadata(name="Per call"), builder.plans.get_pay_as_you_go_price_config(1000, me, token)).plan_id
    received = erc20(world, token, me)
    paid = subscriber.plans.order_plan(payg)
    assert paid.template == "PayAsYouGoTemplate" and paid["success"] is True
    assert erc20(world, token, me) - received == 990  # 1% of 1000 to the fee receiver

    fiat = builder.plans.register_credits_plan(PlanMetadata(name="Card"), get_fiat_price_config(2_000_000, me),
                                               get_fixed_credits_config(10)).plan_id
    sent = nonce(world, "subscriber")
    with pytest.raises(ValidationError, match=r"order_fiat_plan\(plan_id\)"):
        subscriber.plans.order_plan(fiat)
    assert nonce(world, "subscriber") == sent


# ---------------------------------------------------------------------------------------------- pagination


@pytest.mark.slow
def test_listings_page_and_sort_like_payments_py(world_embedded):
    world = world_embedded
    builder = payments(world, "builder")
    free = builder.plans.get_free_price_config()
    ids = [builder.plans.register_credits_plan(PlanMetadata(name=f"p{i}"), free, get_fixed_credits_config(1)).plan_id
           for i in range(5)]

    mine = builder.plans.get_user_plans(pagination=PaginationOptions(page=1, offset=2))
    assert (mine.total, mine.page, mine.offset, mine.plans) == (5, 1, 2, (ids[4], ids[3]))  # newest first
    assert builder.plans.get_user_plans(pagination=PaginationOptions(page=3, offset=2)).plans == (ids[0],)
    oldest = builder.plans.get_plans_registered_by(builder.account_address,
                                                   pagination={"page": 1, "offset": 3, "sortOrder": "asc"})
    assert oldest.plans == tuple(ids[:3])
    by_id = builder.plans.get_user_plans(pagination=PaginationOptions(sort_by="id", sort_order="asc", offset=5))
    assert by_id.plans == tuple(sorted(ids))
    assert builder.plans.get_user_plans().plans == tuple(reversed(ids))[:5]  # payments-py's defaults: 10, desc
    with pytest.raises(ValidationError, match="sort_by"):
        builder.plans.get_user_plans(pagination=PaginationOptions(sort_by="price"))
    with pytest.raises(ValidationError, match="pagination"):
        builder.plans.get_user_plans(pagination={"page": 0})
