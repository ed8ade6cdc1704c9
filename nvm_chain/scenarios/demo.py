"""The payments-docs example, end to end on the embedded chain (simulation layer; drives the services).

A builder sells 100 credits for 10 mUSD and lists the plan on an agent; a subscriber checks its balance,
orders (approval included) and checks again; the builder mints 50 more; the agent redeems 10; a one-day
time plan expires under time travel; a pay-as-you-go order pays the builder. Every step records who
signed, the transactions with their gas, and the balances that result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nvm_chain.client import NvmChain
from nvm_chain.protocol.models import (
    AgentAPIAttributes,
    AgentMetadata,
    Endpoint,
    PlanMetadata,
    RedemptionType,
)
from nvm_chain.protocol.results import TxResult
from nvm_chain.sim import Simulation

MUSD = 10**18  # the test token has 18 decimals
DAY = 86_400


@dataclass(frozen=True)
class Step:
    """One step of the demo: who signed what, and the balances after it."""

    title: str
    signer: str
    address: str
    txs: tuple[dict[str, Any], ...] = ()
    balances: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "signer": self.signer, "address": self.address,
                "transactions": list(self.txs), "balances": self.balances}


def _tx(label: str, tx: TxResult | None) -> list[dict[str, Any]]:
    return [] if tx is None else [{"action": label, "txHash": tx.tx_hash, "gasUsed": tx.gas_used}]


def run_demo(on_step: Callable[[Step], None] = lambda step: None) -> dict[str, Any]:
    """Run the whole scenario on a fresh embedded chain; ``on_step`` sees each step as it completes.

    Returns ``{"addressBook", "steps", "seconds"}``.
    """
    started = time.perf_counter()
    sim = Simulation.start(fees=True)
    steps: list[Step] = []
    clients = {name: NvmChain.connect("embedded", account=sim.account(name).signer, simulation=sim)
               for name in ("builder", "subscriber", "agent")}
    builder, subscriber, agent = clients["builder"], clients["subscriber"], clients["agent"]
    token = builder.contracts.at("MockERC20", sim.book["MockERC20"])

    def record(title: str, who: str, txs: list[dict[str, Any]], **balances: Any) -> None:
        address = sim.owner.address if who == "owner" else sim.account(who).address
        step = Step(title, who, address, tuple(txs), balances)
        steps.append(step)
        on_step(step)

    def tokens(name: str) -> int:
        return token.decode("balanceOf", builder.w3.eth.call(
            {"to": token.address, "data": token.calldata("balanceOf", sim.account(name).address)}))

    def credits(plan_id: int) -> int:
        return subscriber.plans.get_plan_balance(plan_id).balance

    deployment = sim.deployment
    record("deploy the protocol (fees on: 1% crypto, 2% fiat)", "owner",
           [{"action": f"{deployment.transactions} deployment and wiring transactions", "txHash": None,
             "gasUsed": deployment.gas_used}])

    plans = builder.plans
    price = plans.get_erc20_price_config(10 * MUSD, sim.book["MockERC20"], builder.address)
    credits_config = plans.set_redemption_type(
        plans.set_onchain_mirror(plans.get_dynamic_credits_config(100, 1, 50)), RedemptionType.ONLY_PLAN_ROLE)
    plan = plans.register_credits_plan(PlanMetadata(name="Weather API, 100 credits"), price, credits_config)
    record("builder registers a 100-credit plan for 10 mUSD (fee included)", "builder",
           _tx("AssetsRegistry.createPlan", plan.tx), planId=str(plan.plan_id),
           amounts=[str(a) for a in plan.price_config.amounts], receivers=list(plan.price_config.receivers))

    listing = builder.agents.register_agent(
        AgentMetadata(name="Weather agent"),
        AgentAPIAttributes(endpoints=(Endpoint(verb="POST", url="https://weather.example/ask"),)), [plan.plan_id])
    allowed = plans.allow_burner(plan.plan_id, agent.address)
    record("builder registers the agent and lets it redeem", "builder",
           _tx("AssetsRegistry.register", listing.tx) + _tx("NFT1155Credits.allowBurn", allowed.tx),
           agentId=str(listing.agent_id))

    record("subscriber checks its balance", "subscriber", [], credits=credits(plan.plan_id),
           mUSD=tokens("subscriber"))
    order = subscriber.plans.order_plan(plan.plan_id)
    record("subscriber orders the plan (exact approval to PaymentsVault, then order)", "subscriber",
           _tx("MockERC20.approve", order.approve_tx) + _tx("FixedPaymentTemplate.order", order.tx),
           agreementId=order.agreement_id, paid=order.amount_paid, credits=credits(plan.plan_id),
           builderMUSD=tokens("builder"), feeReceiverMUSD=tokens("fee_receiver"))

    minted = plans.mint_plan_credits(plan.plan_id, 50, subscriber.address)
    record("builder mints 50 more credits to the subscriber", "builder", _tx("NFT1155Credits.mint", minted.tx),
           credits=credits(plan.plan_id))

    redeemed = agent.plans.redeem_credits(plan.plan_id, subscriber.address, 10)
    record("agent redeems 10 credits for a request", "agent", _tx("NFT1155Credits.burn", redeemed.tx),
           burned=redeemed.burned, credits=credits(plan.plan_id))

    day_price = plans.get_erc20_price_config(2 * MUSD, sim.book["MockERC20"], builder.address)
    day_credits = plans.set_onchain_mirror(plans.get_expirable_duration_config(DAY))
    day_plan = plans.register_time_plan(PlanMetadata(name="Day pass"), day_price, day_credits)
    day_order = subscriber.plans.order_plan(day_plan.plan_id)
    record("subscriber buys a one-day pass", "subscriber",
           _tx("AssetsRegistry.createPlan (builder)", day_plan.tx) + _tx("MockERC20.approve", day_order.approve_tx)
           + _tx("FixedPaymentTemplate.order", day_order.tx),
           planId=str(day_plan.plan_id), credits=credits(day_plan.plan_id))
    now = sim.chain.travel(DAY + 1)
    record("one day and one second later", "subscriber", [], blockTime=now, credits=credits(day_plan.plan_id))

    payg_price = plans.get_pay_as_you_go_price_config(MUSD // 5, builder.address, sim.book["MockERC20"])
    payg = plans.register_pay_as_you_go_plan(PlanMetadata(name="Pay per request"), payg_price)
    before = tokens("builder")
    paid = subscriber.plans.order_pay_as_you_go_plan(payg.plan_id)
    record("subscriber pays one request of a pay-as-you-go plan (no credits)", "subscriber",
           _tx("AssetsRegistry.createPlan (builder)", payg.tx) + _tx("MockERC20.approve", paid.approve_tx)
           + _tx("PayAsYouGoTemplate.order", paid.tx),
           paid=paid.amount_paid, builderReceived=tokens("builder") - before)

    return {"addressBook": sim.book.to_json(), "steps": [s.as_dict() for s in steps],
            "seconds": round(time.perf_counter() - started, 2)}
