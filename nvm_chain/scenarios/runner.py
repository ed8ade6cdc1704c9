"""Run a :class:`~nvm_chain.scenarios.schema.Scenario` on a fresh embedded chain, through the public client.

Every builder, agent and subscriber is a funded test account (keys derived from public names: test only)
acting through its own :class:`~nvm_chain.client.NvmChain`: plans are registered with ``PlansAPI``, agents
with ``AgentsAPI``, orders go through ``order_plan`` / ``order_pay_as_you_go_plan`` (approval included),
bonus credits through ``mint_plan_credits`` and requests through ``redeem_credits`` / ``burn_credits``. Block
time moves with ``sim.chain.travel``; the scenario clock ``t`` is block time minus the start.

Each day the runner draws, from one ``random.Random(seed)``: the subscribers arriving (``initial`` on day 0,
then Poisson(``per_day``)), and for every active subscriber Poisson(``requests_per_day`` × burst) requests,
each at a random second of the day. Events run in time order. A request on a credits plan burns
``credits_per_request`` through the redeemer its redemption type allows (agent for ONLY_PLAN_ROLE and
ONLY_GLOBAL_ROLE, builder for ONLY_OWNER and OWNER_OR_GLOBAL_ROLE, the subscriber itself for
ONLY_SUBSCRIBER); when the subscriber's credits are short it first orders again (``reorder``) or moves to
its ``then`` plan. Credits of time plans expire ``duration_days`` after their order: the runner keeps the
live lots of each holder (burns take the soonest-expiring first, as NFT1155ExpirableCreditsV2 does), travels
to each expiry and records the credits left in it. Plan nonces and order/agent seeds come from the same
generator, so a seed gives the same ledger every time.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nvm_chain.client import NvmChain
from nvm_chain.errors import ContractRevertError, NvmChainError
from nvm_chain.protocol.models import AgentAPIAttributes, AgentMetadata, Endpoint, PlanMetadata
from nvm_chain.protocol.results import PlanRegistration
from nvm_chain.scenarios.ledger import Ledger
from nvm_chain.scenarios.patterns import poisson, seed32
from nvm_chain.scenarios.schema import AgentSpec, PlanSpec, Scenario, SubscriberGroup
from nvm_chain.sim import Simulation

DAY = 86_400
LEAD = 3_600  # the scenario starts an hour ahead of the wall clock, so every block time is set by the runner
MARGIN = 120  # an event due within this many seconds after an expiry runs just after it (no same-second race)
NEVER = math.inf

Progress = Callable[[int, int], None]


@dataclass
class PlanState:
    """A registered plan: its spec, id, owner, and how each purchase's price is split."""

    spec: PlanSpec
    builder: str
    plan_id: int
    revenue: int  # per purchase, to the builder
    fee: int  # per purchase, to the protocol fee receiver


@dataclass
class Lot:
    """Credits a holder got at once (an order or a mint): ``expires`` in scenario seconds (inf: never)."""

    expires: float
    remaining: int


@dataclass
class Member:
    """One subscriber of a group."""

    group: SubscriberGroup
    name: str
    client: NvmChain
    plan: str
    arrived: int
    moved: bool = False
    lots: dict[str, list[Lot]] = field(default_factory=dict)
    ordered: set[str] = field(default_factory=set)

    def live(self, plan: str) -> int:
        return sum(lot.remaining for lot in self.lots.get(plan, ()))


@dataclass
class Seat:
    """A subscriber in the day's schedule: drawn before it arrives (``member`` is set on arrival)."""

    group: SubscriberGroup
    index: int
    member: Member | None = None


@dataclass
class RunResult:
    """What a run produced: the ledger, the plans, the stats of requests, the final chain reads and timings."""

    scenario: Scenario
    engine: str
    seed: int
    ledger: Ledger
    plans: dict[str, PlanState]
    requests: dict[str, Counter[str]]
    chain: dict[str, Any]
    timing: dict[str, float]
    simulation: Simulation
    addresses: dict[str, str]  # account name → address, for every account that acted


def account_names(scenario: Scenario) -> list[str]:
    """The test accounts a run funds: governor, fee receiver, builders, agents and every possible subscriber."""
    names = ["governor", "fee_receiver"]
    names += [f"builder-{b.name}" for b in scenario.builders]
    names += [f"agent-{a.name}" for b in scenario.builders for a in b.agents]
    names += [f"sub-{g.name}-{i}" for g in scenario.subscribers for i in range(g.arrivals.max)]
    return names


class Runner:
    """One run of a scenario (use :func:`run_scenario`)."""

    def __init__(self, scenario: Scenario, engine: str, seed: int, progress: Progress | None):
        self.scenario = scenario
        self.engine = engine
        self.seed = seed
        self.rng = random.Random(seed)
        self.progress = progress or (lambda done, total: None)
        self.ledger = Ledger()
        self.plans: dict[str, PlanState] = {}
        self.requests: dict[str, Counter[str]] = {}
        self.members: list[Member] = []
        self.expiries: list[tuple[float, int, Member, str, Lot]] = []
        self._expiry_seq = 0

    # ------------------------------------------------------------------------------------ clock

    def now(self) -> int:
        """Scenario time: seconds since the start, in block time."""
        return self.sim.chain.now() - self.t0

    def advance(self, target: int) -> None:
        """Record the expiries due up to ``target`` (+ MARGIN), then move block time to ``target`` if it is ahead."""
        while self.expiries and self.expiries[0][0] <= target + MARGIN:
            expires, _, member, key, lot = heapq.heappop(self.expiries)
            if lot.remaining == 0:
                continue
            self._travel_to(int(expires))
            plan = self.plans[key]
            self.ledger.add(self.now(), "expire", builder=plan.builder, plan=key, subscriber=member.name,
                            credits=lot.remaining)
            lot.remaining = 0
            member.lots[key] = [x for x in member.lots[key] if x.remaining]
        self._travel_to(target)

    def _travel_to(self, target: int) -> None:
        ahead = target - self.now()
        if ahead > 0:
            self.sim.chain.travel(ahead)

    # ------------------------------------------------------------------------------------ setup

    def setup(self) -> None:
        scenario = self.scenario
        self.sim = Simulation.start(fees=scenario.fees, accounts=account_names(scenario), engine=self.engine)
        self.t0 = 0
        self.t0 = self.sim.chain.travel(LEAD)

        def client(name: str) -> NvmChain:
            chain = NvmChain.connect("embedded", account=self.sim.account(name).signer, simulation=self.sim)
            # keep the chain's first base-fee quote: blocks stay far below the gas target, so the base fee only
            # falls and the quote stays valid, and a wall-clock quote lifetime would make tx hashes differ
            # between runs (the fee fields are signed)
            if hasattr(chain.sender, "fee_ttl"):
                chain.sender.fee_ttl = math.inf
            return chain

        self.client = client
        self.builders = {b.name: client(f"builder-{b.name}") for b in scenario.builders}
        self.agents = {a.name: client(f"agent-{a.name}") for b in scenario.builders for a in b.agents}
        self.token = self.sim.book["MockERC20"]
        some_builder = next(iter(self.builders.values()))
        self.fee_receiver = some_builder.plans.fee_schedule().fee_receiver
        self.opening = self.token_balances()
        for builder in scenario.builders:
            for spec in builder.plans:
                self._register_plan(builder.name, spec)
            for agent in builder.agents:
                self._register_agent(builder.name, agent)

    def _register_plan(self, builder: str, spec: PlanSpec) -> None:
        plans = self.builders[builder].plans
        address = self.builders[builder].address
        metadata = PlanMetadata(name=spec.key)
        nonce = self.rng.getrandbits(128)
        register: Callable[[], PlanRegistration]
        if spec.kind == "pay-as-you-go":
            price = plans.get_pay_as_you_go_price_config(spec.base_price, address, self.token)
            register = lambda: plans.register_pay_as_you_go_plan(metadata, price, nonce=nonce)  # noqa: E731
        else:
            price = (plans.get_erc20_price_config(spec.base_price, self.token, address) if spec.base_price
                     else plans.get_free_price_config())
            burn = max(spec.burn, 1)
            credits = plans.get_fixed_credits_config(spec.credits, burn)
            if spec.timed:
                credits = credits.replace(duration_secs=round(spec.duration_days * DAY))  # type: ignore[operator]
            credits = plans.set_redemption_type(plans.set_onchain_mirror(credits), spec.redemption_type)
            method: Callable[..., PlanRegistration] = {
                "credits": plans.register_credits_plan, "time": plans.register_time_plan,
                "credits-trial": plans.register_credits_trial_plan,
                "time-trial": plans.register_time_trial_plan}[spec.kind]
            register = lambda: method(metadata, price, credits, nonce=nonce)  # noqa: E731
        try:
            reg = register()
        except NvmChainError as exc:  # a plan that cannot be registered stops the run: nothing depends on less
            self._failure("register_plan", exc, builder=builder, plan=spec.key, actor=f"builder-{builder}")
            raise
        split = reg.price_config
        fee = sum(a for a, r in zip(split.amounts, split.receivers) if r == self.fee_receiver)
        self.plans[spec.key] = PlanState(spec, builder, reg.plan_id, sum(split.amounts) - fee, fee)
        self.requests[spec.key] = Counter()
        self.ledger.add(self.now(), "register_plan", builder=builder, plan=spec.key, actor=f"builder-{builder}",
                        gas=reg.tx.gas_used, txs=1, tx=reg.tx.tx_hash)

    def _register_agent(self, builder: str, agent: AgentSpec) -> None:
        client = self.builders[builder]
        ids = [self.plans[k].plan_id for k in agent.plans]
        reg = client.agents.register_agent(
            AgentMetadata(name=agent.name),
            AgentAPIAttributes(endpoints=(Endpoint(verb="POST", url=f"https://{agent.name}.example/ask"),)),
            ids, seed=seed32(self.rng))
        self.ledger.add(self.now(), "register_agent", builder=builder, actor=f"builder-{builder}",
                        gas=reg.tx.gas_used, txs=1, tx=reg.tx.tx_hash)
        burner = self.agents[agent.name].address
        for key in agent.plans:
            if self.plans[key].spec.redemption == "ONLY_PLAN_ROLE":
                allowed = client.plans.allow_burner(self.plans[key].plan_id, burner)
                self.ledger.add(self.now(), "allow_burner", builder=builder, plan=key, actor=f"agent-{agent.name}",
                                gas=allowed.tx.gas_used, txs=1, tx=allowed.tx.tx_hash)

    # ------------------------------------------------------------------------------------ operations

    def _failure(self, op: str, exc: NvmChainError, **where: Any) -> None:
        name = exc.error_name if isinstance(exc, ContractRevertError) else type(exc).__name__
        self.ledger.add(self.now(), "failure", op, error_name=name, error=str(exc).splitlines()[0][:200], **where)

    def order(self, member: Member, key: str) -> bool:
        """``member`` buys plan ``key`` (plus the builder's bonus mint on a first order); False if it failed."""
        plan = self.plans[key]
        where = {"builder": plan.builder, "plan": key, "subscriber": member.name, "actor": member.name}
        if plan.spec.kind == "pay-as-you-go":
            try:
                paid = member.client.plans.order_pay_as_you_go_plan(plan.plan_id, seed=seed32(self.rng))
            except NvmChainError as exc:
                self._failure("payg", exc, **where)
                return False
            self._paid("payg", paid, plan, where)
            return True
        try:
            result = member.client.plans.order_plan(plan.plan_id, seed=seed32(self.rng))
        except NvmChainError as exc:
            self._failure("order", exc, **where)
            return False
        self._paid("order", result, plan, where, credits=result.credits_received)
        expires = self.now() + round(plan.spec.duration_days * DAY) if plan.spec.timed else NEVER  # type: ignore[operator]
        self._grant(member, key, Lot(expires, result.credits_received))
        if plan.spec.bonus_credits and key not in member.ordered:
            builder = self.builders[plan.builder]
            try:
                minted = builder.plans.mint_plan_credits(plan.plan_id, plan.spec.bonus_credits, member.client.address)
            except NvmChainError as exc:
                self._failure("mint", exc, **{**where, "actor": f"builder-{plan.builder}"})
            else:
                self.ledger.add(self.now(), "mint", **{**where, "actor": f"builder-{plan.builder}"},
                                credits=minted.credits_amount, gas=minted.tx.gas_used, txs=1, tx=minted.tx.tx_hash)
                self._grant(member, key, Lot(NEVER, minted.credits_amount))
        member.ordered.add(key)
        return True

    def _paid(self, kind: str, result: Any, plan: PlanState, where: dict[str, str], credits: int = 0) -> None:
        n = result.number_of_purchases
        txs = [result.tx] + ([result.approve_tx] if result.approve_tx is not None else [])
        self.ledger.add(self.now(), kind, **where, credits=credits, amount=result.amount_paid,
                        revenue=plan.revenue * n, fee=plan.fee * n, gas=sum(tx.gas_used for tx in txs),
                        txs=len(txs), tx=result.tx.tx_hash)

    def _grant(self, member: Member, key: str, lot: Lot) -> None:
        if lot.remaining == 0:
            return
        member.lots.setdefault(key, []).append(lot)
        member.lots[key].sort(key=lambda x: x.expires)
        if lot.expires != NEVER:
            self._expiry_seq += 1
            heapq.heappush(self.expiries, (lot.expires, self._expiry_seq, member, key, lot))

    def request(self, member: Member) -> None:
        """One request of ``member`` on its current plan (counted on the plan that serves or denies it)."""
        if self.plans[member.plan].spec.kind == "pay-as-you-go":
            served = self.order(member, member.plan)
        else:
            served = self._serve(member)
        stats = self.requests[member.plan]
        stats["requests"] += 1
        stats["served" if served else "denied"] += 1

    def _serve(self, member: Member) -> bool:
        key = member.plan
        need = self.plans[key].spec.burn
        if member.live(key) < max(need, 1):
            if not self._refill(member):
                agent = self.scenario.agent_for(member.group, key)
                if need and agent is not None and not agent.checks_balance:
                    self.redeem(member, key, need)  # redeems without looking: the contract refuses it
                return False
            key = member.plan
            need = self.plans[key].spec.burn
        return need == 0 or self.redeem(member, key, need)

    def _refill(self, member: Member) -> bool:
        group = member.group
        if group.then is not None and not member.moved:
            member.moved = True
            member.plan = group.then
            return self.order(member, group.then) and member.live(group.then) > 0
        if group.reorder or member.plan not in member.ordered:
            return self.order(member, member.plan) and member.live(member.plan) > 0
        return False

    def redeem(self, member: Member, key: str, amount: int) -> bool:
        plan = self.plans[key]
        redemption = plan.spec.redemption
        if redemption in ("ONLY_PLAN_ROLE", "ONLY_GLOBAL_ROLE"):
            agent = self.scenario.agent_for(member.group, key)
            actor, client = f"agent-{agent.name}", self.agents[agent.name]  # type: ignore[union-attr]
        elif redemption == "ONLY_SUBSCRIBER":
            actor, client = member.name, member.client
        else:
            actor, client = f"builder-{plan.builder}", self.builders[plan.builder]
        where = {"builder": plan.builder, "plan": key, "subscriber": member.name, "actor": actor}
        try:
            if client is member.client:
                burned = client.plans.burn_credits(plan.plan_id, amount)
            else:
                burned = client.plans.redeem_credits(plan.plan_id, member.client.address, amount)
        except NvmChainError as exc:
            self._failure("redeem", exc, **where)
            return False
        self.ledger.add(self.now(), "redeem", **where, credits=burned.burned, gas=burned.tx.gas_used, txs=1,
                        tx=burned.tx.tx_hash)
        left = burned.burned
        for lot in member.lots[key]:  # soonest-expiring first, as the credits contract burns
            taken = min(lot.remaining, left)
            lot.remaining -= taken
            left -= taken
        member.lots[key] = [x for x in member.lots[key] if x.remaining]
        return True

    # ------------------------------------------------------------------------------------ the days

    def run(self) -> None:
        days = self.scenario.days
        arrived = {g.name: 0 for g in self.scenario.subscribers}
        for day in range(days):
            start = day * DAY
            schedule: list[tuple[int, int, str, Seat]] = []
            for group in self.scenario.subscribers:
                count = (group.arrivals.initial if day == 0 else 0) + poisson(self.rng, group.arrivals.per_day)
                count = min(count, group.arrivals.max - arrived[group.name])
                for _ in range(count):
                    seat = Seat(group, arrived[group.name])
                    arrived[group.name] += 1
                    at = start + self.rng.randrange(DAY)
                    schedule.append((at, len(schedule), "arrive", seat))
                    self._requests(seat, start, at + 1, schedule)
            for member in self.members:
                self._requests(Seat(member.group, -1, member), start, start, schedule)
            schedule.sort(key=lambda item: (item[0], item[1]))
            for at, _, what, seat in schedule:
                self.advance(at)
                if what == "arrive":
                    seat.member = self._arrive(seat)
                elif seat.member is not None:
                    self.request(seat.member)
            self.progress(day + 1, days)
        self.advance(days * DAY)

    def _arrive(self, seat: Seat) -> Member:
        name = f"sub-{seat.group.name}-{seat.index}"
        member = Member(seat.group, name, self.client(name), seat.group.plan, self.now())
        self.members.append(member)
        self.order(member, seat.group.plan)
        return member

    def _requests(self, seat: Seat, day_start: int, earliest: int, schedule: list[tuple[int, int, str, Seat]]) -> None:
        """Draw the day's requests of ``seat`` (times in [earliest, end of day)) into ``schedule``."""
        usage = seat.group.usage
        member = seat.member
        if member is not None and usage.active_days is not None and \
                day_start >= member.arrived + usage.active_days * DAY:
            return
        rate = usage.requests_per_day
        if usage.burst is not None and self.rng.random() < usage.burst.probability:
            rate *= usage.burst.multiplier
        end = day_start + DAY
        for _ in range(poisson(self.rng, rate)):
            at = self.rng.randrange(earliest, end) if earliest < end else end - 1
            schedule.append((at, len(schedule), "request", seat))

    # ------------------------------------------------------------------------------------ closing reads

    def token_balances(self) -> dict[str, int]:
        """Test-token balances of the builders and the fee receiver, read from the token contract."""
        reader = next(iter(self.builders.values()))
        token = reader.contracts.at("MockERC20", self.token)
        holders = {f"builder-{name}": c.address for name, c in self.builders.items()}
        holders["fee_receiver"] = self.fee_receiver
        return {name: token.decode("balanceOf", reader.w3.eth.call(
            {"to": token.address, "data": token.calldata("balanceOf", address)})) for name, address in holders.items()}

    def closing(self) -> dict[str, Any]:
        """Chain reads at the end: token balance changes and outstanding credits per plan (live balances)."""
        closing = self.token_balances()
        reader = next(iter(self.builders.values())).plans
        outstanding = {}
        for key, plan in self.plans.items():
            holders = [m.client.address for m in self.members]
            if plan.spec.kind == "pay-as-you-go" or not holders:
                outstanding[key] = 0
                continue
            outstanding[key] = sum(b.balance for b in reader.get_plan_balances(plan.plan_id, holders))
        return {"tokenReceived": {k: closing[k] - self.opening[k] for k in closing},
                "outstandingCredits": outstanding, "subscribers": len(self.members),
                "blockTime": self.now()}


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run with the objects of the setup (the chain, the clients, imported modules) out of the collector's way and
    fewer collections: a run allocates millions of short-lived objects and frees nearly all of them by reference
    counting, so the default thresholds spend about a tenth of the run walking the same long-lived objects."""
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_scenario(scenario: Scenario, *, engine: str | None = None, seed: int | None = None,
                 progress: Progress | None = None) -> RunResult:
    """Run ``scenario`` on a fresh embedded chain (``engine``/``seed`` override the file's); ``progress(day,
    days)`` is called after each simulated day.

    Raises:
        ConfigurationError: ``engine="revm"`` without pyrevm installed.
        NvmChainError: a plan or agent of the scenario could not be registered (the run cannot go on).
    """
    engine = engine or scenario.engine
    seed = scenario.seed if seed is None else seed
    runner = Runner(scenario, engine, seed, progress)
    started = time.perf_counter()
    runner.setup()
    ready, cpu = time.perf_counter(), time.process_time()
    with _few_collections():
        runner.run()
    finished, cpu = time.perf_counter(), time.process_time() - cpu
    chain = runner.closing()
    addresses = {f"builder-{n}": c.address for n, c in runner.builders.items()}
    addresses |= {f"agent-{n}": c.address for n, c in runner.agents.items()}
    addresses |= {m.name: m.client.address for m in runner.members}
    addresses["fee_receiver"] = runner.fee_receiver
    return RunResult(scenario, engine, seed, runner.ledger, runner.plans, runner.requests, chain,
                     {"setupSeconds": round(ready - started, 3), "runSeconds": round(finished - ready, 3),
                      "runCpuSeconds": round(cpu, 3)},
                     runner.sim, addresses)
