"""Replays, on a simulation, the 38 operations whose gas and event order ``vectors-v1.5.json`` recorded from the
real v1.5.0 contracts, in the same order and with the same kinds of inputs.

Addresses differ from the recording (our deployment is not at the recorded addresses), so each operation is
matched to its vector by position; the label of every step repeats the vector's ``op`` and
:func:`run_flow` refuses to run if the labels and the vector file disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

from nvm_chain.chain.abi import decode_log
from nvm_chain.chain.tx.types import TxReceipt
from nvm_chain.protocol import ids
from tests.support import ZERO, Protocol

#: values recorded from the real v1.5.0 contracts run locally (a copy of the project's shared spec data)
VECTORS_PATH = Path(__file__).resolve().parent / "data" / "vectors-v1.5.json"


def load_vectors() -> dict[str, Any]:
    """The recorded vectors (tests/data/vectors-v1.5.json)."""
    return json.loads(VECTORS_PATH.read_text())


@dataclass
class Step:
    """One replayed operation: the vector's label, the emitted (contract, event) pairs and the gas used."""

    op: str
    events: list[tuple[str, str]]
    gas_used: int


@dataclass
class Flow:
    """What :func:`run_flow` observed: the steps, and the ids emitted next to the ids of their inputs."""

    steps: list[Step]
    agent_ids: list[tuple[str, int]]  # (recorded hashAgentId, AgentRegistered.agentId here), same seed and creator
    plan_ids: list[tuple[int, int]]  # (PlanRegistered.planId, ids.plan_id of the inputs)
    agreement_ids: list[tuple[bytes, bytes]]  # (AgreementRegistered.agreementId, ids formula of the inputs)


ONLY_GLOBAL_ROLE, ONLY_OWNER, ONLY_PLAN_ROLE, OWNER_OR_GLOBAL_ROLE, ONLY_SUBSCRIBER = range(5)
ETHER = 10**18


class _Flow:
    def __init__(self, p: Protocol):
        self.p = p
        self.builder, self.sub = p.sim.account("builder"), p.sim.account("subscriber")
        self.agent, self.fee = p.sim.account("agent"), p.sim.account("fee_receiver")
        self.settler, self.relayer = p.sim.account("settler"), p.sim.account("relayer")
        self.names = {a.lower(): n for n, a in p.book.contracts.items()}
        self.steps: list[Step] = []
        self.agent_ids: list[tuple[str, int]] = []  # (recorded agentId, agentId emitted here)
        self.plan_ids: list[tuple[int, int]] = []  # (PlanRegistered.planId, ids.plan_id of the inputs)
        self.agreement_ids: list[tuple[bytes, bytes]] = []  # (AgreementRegistered.agreementId, formula)
        self.linear_pricing = p.addr("LinearPricing")

    def record(self, op: str, receipt: TxReceipt) -> TxReceipt:
        events = []
        for log in receipt.logs:
            contract = self.names.get(str(log["address"]).lower(), str(log["address"]))
            decoded = decode_log(log, contract=contract)
            events.append((contract, decoded.name if decoded else "0x" + bytes(log["topics"][0]).hex()))
        self.steps.append(Step(op, events, receipt.gas_used))
        return receipt

    def send(self, op: str | None, who, contract: str, fn: str, *args: Any, **kw: Any) -> TxReceipt:
        receipt = self.p.send(who, contract, fn, *args, **kw)
        return self.record(op, receipt) if op else receipt

    # ---------------------------------------------------------------------------------------- inputs

    def price(self, net: list[int], receivers: list[str], *, token: str = "MockERC20", crypto: bool = True,
              external: str = ZERO, template: str = ZERO, fee_rate: int = 100) -> tuple:
        token_addr = ZERO if token == ZERO else self.p.addr(token)
        amounts, to = list(net), list(receivers)
        gross = sum(net)
        if external == ZERO and gross:
            # fee-inclusive as the recorded plans: the net amounts plus floor(total * rate / 10000) to the
            # fee receiver, with total = net + fee (chosen so that the fee on the total is that fee)
            fee = gross * fee_rate // (10_000 - fee_rate)
            amounts, to = [*net, fee], [*receivers, self.fee.address]
        return (crypto, token_addr, amounts, to, external, ZERO, template)

    def credits(self, *, fixed: bool, rtype: int, mirror: bool = True, duration: int = 0, amount: int = 100,
                lo: int = 1, hi: int = 1, nft: str = "NFT1155Credits") -> tuple:
        return (fixed, rtype, mirror, duration, amount, lo, hi, self.p.addr(nft))

    def create(self, op: str | None, price: tuple, credits: tuple, nonce: int, hooks: list[str] | None = None) -> int:
        if hooks is None:
            receipt = self.send(op, self.builder, "AssetsRegistry", "createPlan", price, credits, nonce)
        else:
            receipt = self.send(op, self.builder, "AssetsRegistry", "createPlanWithHooks", price, credits, hooks, nonce)
        plan = ids.plan_id(price, credits, self.builder.address, nonce)
        self.plan_ids += [(e.args["planId"], plan) for e in receipt.events_named("PlanRegistered")]
        return plan

    def order(self, op: str, who, template: str, fn: str, expected_id: bytes, *args: Any, **kw: Any) -> None:
        """Send an order; keep (AgreementRegistered.agreementId, ``expected_id`` computed from the inputs)."""
        receipt = self.send(op, who, template, fn, *args, **kw)
        self.agreement_ids += [(e.args["agreementId"], expected_id)
                               for e in receipt.events_named("AgreementRegistered")]


def _seed(label: str) -> bytes:
    return keccak(text=f"vector-flow/{label}")


def run_flow(p: Protocol) -> Flow:
    """Run the recorded operations on ``p`` (fees on): one :class:`Step` per vector operation, plus the ids."""
    f = _Flow(p)
    b = f.builder.address
    wei = 10_000_000_000_000_000  # 0.01 ETH

    # --- plans (ops 0-8)
    plan_a = f.create("createPlan ERC-20 fixed price, 1 receiver + fee, NFT1155Credits dynamic ONLY_PLAN_ROLE "
                      "mirror on", f.price([990_000], [b]),
                      f.credits(fixed=False, rtype=ONLY_PLAN_ROLE, lo=1, hi=10), 1)
    plan_b = f.create("createPlan native fixed price, 2 receivers + fee, NFT1155Credits fixed ONLY_OWNER mirror on",
                      f.price([6_900_000_000_000_000, 3_000_000_000_000_000], [b, f.agent.address], token=ZERO),
                      f.credits(fixed=True, rtype=ONLY_OWNER, lo=5, hi=5), 2)
    plan_c = f.create("createPlan time plan ERC-20, 86400s, NFT1155ExpirableCreditsV2 ONLY_OWNER mirror on",
                      f.price([990_000], [b]),
                      f.credits(fixed=True, rtype=ONLY_OWNER, duration=86_400, nft="NFT1155ExpirableCreditsV2"), 3)
    plan_d = f.create("createPlanWithHooks trial (free [0], OneTimeCreatorHook), ExpirableCreditsV2 86400s mirror on",
                      (True, ZERO, [0], [b], ZERO, ZERO, ZERO),
                      f.credits(fixed=True, rtype=ONLY_SUBSCRIBER, duration=86_400, amount=5,
                                nft="NFT1155ExpirableCreditsV2"), 4, hooks=[p.addr("OneTimeCreatorHook")])
    plan_e = f.create("createPlan pay-as-you-go ERC-20 (templateAddress = PayAsYouGoTemplate)",
                      f.price([198_000], [b], template=p.addr("PayAsYouGoTemplate")),
                      f.credits(fixed=True, rtype=ONLY_SUBSCRIBER), 5)
    plan_f = f.create("createPlan fiat price (2% fee), NFT1155Credits mirror on",
                      f.price([980_000], [b], token=ZERO, crypto=False, fee_rate=200),
                      f.credits(fixed=True, rtype=ONLY_SUBSCRIBER), 6)
    f.create("createPlan dynamic price (externalPriceAddress = LinearPricing), mirror on",
             (True, p.addr("MockERC20"), [0, 0], [b, f.agent.address], f.linear_pricing, ZERO, ZERO),
             f.credits(fixed=True, rtype=ONLY_SUBSCRIBER), 7)
    plan_h = f.create("createPlan EIP-3009 token, 1 receiver + fee, NFT1155Credits mirror on",
                      f.price([39_600_000], [b], token="MockEIP3009Token"),
                      f.credits(fixed=True, rtype=ONLY_SUBSCRIBER), 8)
    plan_i = f.create("createPlan ERC-20, 3 receivers + fee, mirror off",
                      f.price([340, 3142, 2062], [b, f.agent.address, f.sub.address]),
                      f.credits(fixed=True, rtype=ONLY_SUBSCRIBER, mirror=False), 9)

    # --- agents (ops 9-14). First the recorded agent registrations of ``agent_ids`` (same seeds, same creators,
    # so the same agent ids), which also leave the builder holding agents as in the recording. The URLs of the
    # gas-recorded registrations are not in the vectors; they must have been at most 31 bytes (one storage slot),
    # since a longer URL costs four more new slots (url and tokenURI), more than the real gas used in total.
    for vector in load_vectors()["agent_ids"]["vectors"]:
        reg = vector.get("registeredWith", {})
        if reg.get("function") == "register(bytes32,string,uint256[])":
            who = next(a for a in (f.builder, f.sub, f.agent) if a.address == reg["sender"])
            receipt = f.send(None, who, "AssetsRegistry", "register", bytes.fromhex(vector["inputs"]["_seed"][2:]),
                             reg["_url"], [], arity=3)
            f.agent_ids.append((vector["hashAgentId"], receipt.events_named("AgentRegistered")[0].args["agentId"]))
    url = "https://agents.example/f/"  # + label: at most 31 bytes
    f.send("register agent (bytes32 seed, url, [1 plan])", f.builder, "AssetsRegistry", "register",
           _seed("agent-1"), url + "1", [plan_a], arity=3)
    f.send("register agent (bytes32 seed, url, [3 plans])", f.builder, "AssetsRegistry", "register",
           _seed("agent-3"), url + "3", [plan_a, plan_b, plan_c], arity=3)
    f.send("register agent (bytes32 seed, url, [])", f.builder, "AssetsRegistry", "register",
           _seed("agent-0"), url + "0", [], arity=3)
    rap_price, rap_credits = f.price([2_970_000], [b]), f.credits(fixed=True, rtype=ONLY_SUBSCRIBER, amount=30)
    for op, label in (("registerAgentAndPlan (new plan + agent)", "rap-1"),
                      ("registerAgentAndPlan (same price/credits, new seed => new plan id and new agent)", "rap-2")):
        receipt = f.send(op, f.builder, "AssetsRegistry", "registerAgentAndPlan", _seed(label), url + label,
                         rap_price, rap_credits)
        plan = ids.plan_id(rap_price, rap_credits, b, int.from_bytes(_seed(label), "big"))
        f.plan_ids += [(e.args["planId"], plan) for e in receipt.events_named("PlanRegistered")]
    reused = _seed("rap-3")
    f.create(None, rap_price, rap_credits, int.from_bytes(reused, "big"))
    f.send("registerAgentAndPlan (plan already created with nonce = uint256(seed): plan reused, only the agent is "
           "new)", f.builder, "AssetsRegistry", "registerAgentAndPlan", reused, url + "rap-3", rap_price, rap_credits)

    # --- orders (ops 15-26)
    vault, sub, agent = p.addr("PaymentsVault"), f.sub.address, f.agent.address
    fixed, payg = ids.fixed_agreement_id, ids.pay_as_you_go_agreement_id
    f.send("approve ERC-20 (MockERC20) to PaymentsVault, first approval", f.sub, "MockERC20", "approve", vault,
           100 * ETHER)
    s1, s2, s3, s4, s5 = (_seed(f"order-{i}") for i in range(1, 6))
    f.order("order Fixed ERC-20 (n=1, first order of this subscriber)", f.sub, "FixedPaymentTemplate", "order",
            fixed(sub, s1, plan_a, 1, []), s1, plan_a, sub, 1, [])
    params = [b"\x01\x02\x03", b""]
    f.order("order Fixed ERC-20 (n=2, creditsReceiver != buyer, params non-empty)", f.sub, "FixedPaymentTemplate",
            "order", fixed(sub, s2, plan_a, 2, params), s2, plan_a, agent, 2, params)
    f.order("order Fixed native (n=1)", f.sub, "FixedPaymentTemplate", "order", fixed(sub, s3, plan_b, 1, []),
            s3, plan_b, sub, 1, [], value=wei)
    f.order("order Fixed ERC-20 time plan (86400s, ExpirableCreditsV2)", f.sub, "FixedPaymentTemplate", "order",
            fixed(sub, s4, plan_c, 1, []), s4, plan_c, sub, 1, [])
    f.order("order trial plan (free, OneTimeCreatorHook, ExpirableCreditsV2)", f.sub, "FixedPaymentTemplate",
            "order", fixed(sub, s5, plan_d, 1, []), s5, plan_d, sub, 1, [])
    p1, p2 = _seed("payg-1"), _seed("payg-2")
    f.order("order PayAsYouGo ERC-20", f.sub, "PayAsYouGoTemplate", "order", payg(sub, p1, plan_e, []),
            p1, plan_e, [])
    f.order("order PayAsYouGo ERC-20 (second order, params non-empty)", f.sub, "PayAsYouGoTemplate", "order",
            payg(sub, p2, plan_e, [b"req-42"]), p2, plan_e, [b"req-42"])
    s6 = _seed("fiat-1")
    f.order("order Fiat (settler, n=3)", f.settler, "FiatPaymentTemplate", "order",
            ids.fiat_agreement_id(f.settler.address, s6, plan_f, sub, 3, []), s6, plan_f, sub, 3, [])
    s7 = _seed("auth-1")
    nonce = ids.fixed_authorization_agreement_id(sub, s7, plan_h, agent, 1, [])
    auth = _receive_authorization(p, f.sub.signer, vault, 40_000_000, nonce)
    f.order("orderWithAuthorization Fixed EIP-3009 (relayer submits, buyer signs)", f.relayer,
            "FixedPaymentTemplate", "orderWithAuthorization", nonce, s7, plan_h, sub, agent, 1, [], auth)
    s8 = _seed("order-6")
    f.order("order Fixed ERC-20 (n=1, repeat buyer)", f.sub, "FixedPaymentTemplate", "order",
            fixed(sub, s8, plan_a, 1, []), s8, plan_a, sub, 1, [])
    f.send("approve ERC-20 (MockERC20) to PaymentsVault, re-approval (nonzero -> nonzero)", f.sub, "MockERC20",
           "approve", vault, 50 * ETHER)

    # --- credits (ops 27-37)
    plan_v1 = f.create(None, f.price([9_900_000_000_000_000], [b], token=ZERO),
                       f.credits(fixed=True, rtype=OWNER_OR_GLOBAL_ROLE, mirror=False, duration=86_400,
                                 nft="NFT1155ExpirableCredits"), 10)
    f.send("mint NFT1155Credits (plan owner, 4-arg)", f.builder, "NFT1155Credits", "mint", f.sub.address, plan_a,
           5, b"", arity=4)
    f.send("mint NFT1155ExpirableCreditsV2 (plan owner, 5-arg, 3600s)", f.builder, "NFT1155ExpirableCreditsV2",
           "mint", f.sub.address, plan_c, 5, 3600, b"", arity=5)
    f.send("mint NFT1155ExpirableCredits V1 (plan owner, 5-arg, 3600s)", f.builder, "NFT1155ExpirableCredits",
           "mint", f.sub.address, plan_v1, 5, 3600, b"", arity=5)
    f.send("allowBurn (plan owner allows agent on ONLY_PLAN_ROLE plan)", f.builder, "NFT1155Credits", "allowBurn",
           f.agent.address, plan_a)
    f.send("burn NFT1155Credits by allowed burner (agent redeems 3 of subscriber's credits, dynamic 1..10)",
           f.agent, "NFT1155Credits", "burn", f.sub.address, plan_a, 3, 0, b"")
    f.send("burn NFT1155Credits by holder (subscriber burns own; amount 0 clamps to minAmount 1)", f.sub,
           "NFT1155Credits", "burn", f.sub.address, plan_a, 0, 0, b"")
    f.send("burn NFT1155Credits by plan owner on ONLY_OWNER plan (fixed 5)", f.builder, "NFT1155Credits", "burn",
           f.sub.address, plan_b, 5, 0, b"")
    f.send("burn NFT1155ExpirableCreditsV2 by plan owner on ONLY_OWNER time plan (fixed 1)", f.builder,
           "NFT1155ExpirableCreditsV2", "burn", f.sub.address, plan_c, 1, 0, b"")
    f.send("burn NFT1155ExpirableCreditsV2 by holder on trial plan (fixed 1)", f.sub, "NFT1155ExpirableCreditsV2",
           "burn", f.sub.address, plan_d, 1, 0, b"")
    f.send("burn NFT1155ExpirableCredits V1 by plan owner (fixed 1)", f.builder, "NFT1155ExpirableCredits", "burn",
           f.sub.address, plan_v1, 1, 0, b"")
    f.send("revokeBurn (plan owner)", f.builder, "NFT1155Credits", "revokeBurn", f.agent.address, plan_a)
    del plan_i
    return Flow(f.steps, f.agent_ids, f.plan_ids, f.agreement_ids)


RECEIVE_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"}, {"name": "to", "type": "address"}, {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"}, {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


def _receive_authorization(p: Protocol, signer, to: str, value: int, nonce: bytes) -> tuple:
    """An EIP-3009 ReceiveWithAuthorization of the MockEIP3009Token, signed by ``signer``."""
    token = "MockEIP3009Token"
    domain = {"name": p.call(token, "name"), "version": "1", "chainId": p.w3.eth.chain_id,
              "verifyingContract": p.addr(token)}
    valid_before = 4_102_444_800
    message = {"from": signer.address, "to": to, "value": value, "validAfter": 0, "validBefore": valid_before,
               "nonce": nonce}
    v, r, s = signer.sign_typed_data(domain, {"ReceiveWithAuthorization": RECEIVE_WITH_AUTHORIZATION}, message)
    return (0, valid_before, v, r, s)
