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
API = AgentAPIAttributes(endpoints=[{"verb": "POST", "url": "https://agent.example/query"}])


def payments(world, account: str, **options) -> Payments:
    return Payments.get_instance(PaymentOptions(simulation=world.sim, account=account, **options))


def erc20(world, token: str, holder: str) -> int:
    return world.proto.call("MockERC20", "balanceOf", holder, at=token)


def nonce(world, who: str) -> int:
    return world.sim.w3.eth.get_transaction_count(world.address(who))


def story(output: str) -> list[str]:
    return [line for line in output.splitlines() if not line.startswith("Created plan: ")]


# ---------------------------------------------------------------------------------------------- the entry point


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
        live.account_address


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
