"""The scenario file of ``nvm-chain simulate``: a TOML or JSON document validated into :class:`Scenario`.

A scenario names builders (each with plans and agents), groups of subscribers (how they arrive, which plan they
buy, how many requests they make), a duration in days, a random seed and the engine::

    name = "docs story"
    days = 30
    seed = 7

    [[builders]]
    name = "weather"
    [[builders.plans]]
    key = "basic"                 # how subscribers refer to the plan
    kind = "credits"              # credits | time | credits-trial | time-trial | pay-as-you-go
    price = 10                    # in whole test tokens (MockERC20, 18 decimals); 0 = free
    credits = 100
    credits_per_request = 1
    redemption = "ONLY_PLAN_ROLE"
    bonus_credits = 50            # minted by the builder at each subscriber's first order
    [[builders.agents]]
    name = "weather-agent"
    plans = ["basic"]

    [[subscribers]]
    name = "early"
    plan = "basic"
    arrivals = { initial = 5, per_day = 2, max = 100 }
    usage = { requests_per_day = 4, burst = { probability = 0.1, multiplier = 5 } }

Every error names the field path (``builders[0].plans[1].price: ...``). Sends nothing.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nvm_chain.errors import ScenarioError
from nvm_chain.protocol.models import RedemptionType

PlanKind = Literal["credits", "time", "credits-trial", "time-trial", "pay-as-you-go"]
Engine = Literal["revm", "pyevm"]
TOKEN_DECIMALS = 18  # the embedded chain's MockERC20
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanSpec(_Strict):
    """One plan of a builder. ``price`` is in whole test tokens (at most 18 decimals), the gross price a
    subscriber pays (the protocol fee is split off it). ``credits`` per order (credits and time kinds);
    ``duration_days`` for time kinds; ``credits_per_request`` is what one request burns (default 1 for credits
    plans, 0 for time plans: access while the credits are live, nothing burned)."""

    key: str = Field(pattern=_NAME)
    kind: PlanKind = "credits"
    price: Decimal = Field(ge=0)
    credits: int = Field(default=1, ge=1)
    duration_days: float | None = Field(default=None, gt=0)
    credits_per_request: int | None = Field(default=None, ge=0)
    redemption: Literal["ONLY_GLOBAL_ROLE", "ONLY_OWNER", "ONLY_PLAN_ROLE", "OWNER_OR_GLOBAL_ROLE",
                        "ONLY_SUBSCRIBER"] = "ONLY_PLAN_ROLE"
    bonus_credits: int = Field(default=0, ge=0)

    @field_validator("price")
    @classmethod
    def _whole_base_units(cls, value: Decimal) -> Decimal:
        if value.is_nan() or (value * 10**TOKEN_DECIMALS) != (value * 10**TOKEN_DECIMALS).to_integral_value():
            raise ValueError(f"at most {TOKEN_DECIMALS} decimals")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PlanSpec:
        timed = self.kind in ("time", "time-trial")
        if timed and self.duration_days is None:
            raise ValueError(f"a {self.kind} plan needs duration_days")
        if not timed and self.duration_days is not None:
            raise ValueError(f"duration_days applies to time plans only, not {self.kind}")
        if self.kind == "pay-as-you-go":
            if self.price == 0:
                raise ValueError("a pay-as-you-go plan needs a price > 0")
            if self.bonus_credits:
                raise ValueError("a pay-as-you-go plan has no credits to mint (bonus_credits)")
        if self.burn > self.credits and self.kind != "pay-as-you-go":
            raise ValueError(f"credits_per_request ({self.burn}) exceeds the credits of one order ({self.credits})")
        return self

    @property
    def base_price(self) -> int:
        """The price in base units of the test token."""
        return int(self.price * 10**TOKEN_DECIMALS)

    @property
    def timed(self) -> bool:
        return self.kind in ("time", "time-trial")

    @property
    def trial(self) -> bool:
        return self.kind.endswith("-trial")

    @property
    def burn(self) -> int:
        """Credits one request burns (0: access only)."""
        if self.credits_per_request is not None:
            return self.credits_per_request
        return 0 if self.timed or self.kind == "pay-as-you-go" else 1

    @property
    def redemption_type(self) -> RedemptionType:
        return RedemptionType[self.redemption]


class AgentSpec(_Strict):
    """An agent the builder registers, listing some of its plans; its own account redeems the requests of
    ONLY_PLAN_ROLE and ONLY_GLOBAL_ROLE plans. ``checks_balance = false`` makes it redeem without looking
    (failed redemptions then show up in the ledger by their decoded error)."""

    name: str = Field(pattern=_NAME)
    plans: list[str] = Field(min_length=1)
    checks_balance: bool = True


class BuilderSpec(_Strict):
    name: str = Field(pattern=_NAME)
    plans: list[PlanSpec] = Field(min_length=1)
    agents: list[AgentSpec] = []

    @model_validator(mode="after")
    def _agents_list_own_plans(self) -> BuilderSpec:
        own = {p.key for p in self.plans}
        for i, agent in enumerate(self.agents):
            for j, key in enumerate(agent.plans):
                if key not in own:
                    raise _At(f"agents[{i}].plans[{j}]", f"{key!r} is not a plan of builder {self.name!r} "
                                                         f"(have: {', '.join(sorted(own))})")
        return self


class Burst(_Strict):
    """On each day, with ``probability``, a subscriber makes ``multiplier`` times its usual requests."""

    probability: float = Field(ge=0, le=1)
    multiplier: float = Field(ge=1)


class Arrivals(_Strict):
    """``initial`` subscribers on day 0, then Poisson(``per_day``) new ones a day, at most ``max`` in all."""

    initial: int = Field(default=0, ge=0)
    per_day: float = Field(default=0, ge=0)
    max: int = Field(default=100, ge=1, le=100_000)

    @model_validator(mode="after")
    def _someone(self) -> Arrivals:
        if self.initial == 0 and self.per_day == 0:
            raise ValueError("nobody arrives: set initial or per_day")
        if self.initial > self.max:
            raise ValueError(f"initial ({self.initial}) exceeds max ({self.max})")
        return self


class Usage(_Strict):
    """Poisson(``requests_per_day``) requests per active subscriber and day (times the burst multiplier on
    a burst day), for ``active_days`` days after arrival (default: until the end)."""

    requests_per_day: float = Field(ge=0)
    burst: Burst | None = None
    active_days: int | None = Field(default=None, ge=1)


class SubscriberGroup(_Strict):
    """Subscribers who buy ``plan`` (a plan key) on arrival and use it. When their credits run out (or their
    time plan expires) they order again if ``reorder``, or move once to the plan ``then`` (e.g. a trial
    followed by a paid plan). ``agent`` serves their requests (default: the first agent listing the plan)."""

    name: str = Field(pattern=_NAME)
    plan: str
    then: str | None = None
    agent: str | None = None
    reorder: bool = True
    arrivals: Arrivals
    usage: Usage


class Scenario(_Strict):
    """A whole simulated economy (see the module docstring)."""

    name: str = "scenario"
    description: str = ""
    days: int = Field(ge=1, le=3650)
    seed: int = Field(default=0, ge=0)
    engine: Engine = "revm"
    fees: bool = True
    builders: list[BuilderSpec] = Field(min_length=1)
    subscribers: list[SubscriberGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        _unique("builders", [b.name for b in self.builders])
        _unique("subscribers", [s.name for s in self.subscribers])
        plans = {p.key: p for b in self.builders for p in b.plans}
        _unique("plan keys", [p.key for b in self.builders for p in b.plans])
        agents = {a.name: a for b in self.builders for a in b.agents}
        _unique("agent names", [a.name for b in self.builders for a in b.agents])
        for i, group in enumerate(self.subscribers):
            for field in ("plan", "then"):
                key = getattr(group, field)
                if key is not None and key not in plans:
                    raise _At(f"subscribers[{i}].{field}", f"no plan {key!r} (have: {', '.join(sorted(plans))})")
            if group.agent is not None:
                agent = agents.get(group.agent)
                if agent is None:
                    raise _At(f"subscribers[{i}].agent", f"no agent {group.agent!r} "
                                                         f"(have: {', '.join(sorted(agents)) or 'none'})")
                for key in filter(None, (group.plan, group.then)):
                    if key not in agent.plans:
                        raise _At(f"subscribers[{i}].agent", f"agent {group.agent!r} does not list plan {key!r}")
            for key in filter(None, (group.plan, group.then)):
                plan = plans[key]
                if plan.redemption in ("ONLY_PLAN_ROLE", "ONLY_GLOBAL_ROLE") and plan.burn > 0 and \
                        self.agent_for(group, key) is None:
                    raise _At(f"subscribers[{i}].plan", f"plan {key!r} is redeemed by an agent "
                                                        f"({plan.redemption}) but no agent lists it")
        return self

    # -------------------------------------------------------------------------------------- lookups

    def plan(self, key: str) -> PlanSpec:
        return next(p for b in self.builders for p in b.plans if p.key == key)

    def builder_of(self, key: str) -> BuilderSpec:
        return next(b for b in self.builders if any(p.key == key for p in b.plans))

    def agent_for(self, group: SubscriberGroup, key: str) -> AgentSpec | None:
        """The agent serving ``group`` on plan ``key``: the group's own, else the first listing the plan."""
        agents = [a for b in self.builders for a in b.agents]
        if group.agent is not None:
            return next(a for a in agents if a.name == group.agent)
        return next((a for a in agents if key in a.plans), None)


def _At(path: str, message: str) -> ValueError:  # noqa: N802 - reads as a raise target
    """A validation error at ``path`` below the model being validated (unpacked by validate_scenario)."""
    return ValueError(f"@{path}@{message}")


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what}: {name!r}")
        seen.add(name)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_scenario(data: Any, source: str = "scenario") -> Scenario:
    """``data`` (a mapping read from TOML or JSON) as a :class:`Scenario`.

    Raises:
        ScenarioError: one line per problem, each naming its field path.
    """
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = error["msg"].removeprefix("Value error, ")
            if message.startswith("@"):
                nested, message = message[1:].split("@", 1)
                loc += (nested,)
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            lines.append(f"{_path(loc)}: {message}")
        raise ScenarioError(f"{source}: invalid scenario:\n  " + "\n  ".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.toml``, or ``.json``).

    Raises:
        ScenarioError: unreadable file, a syntax error (with its line), or an invalid scenario.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}") \
            from None
    return validate_scenario(data, str(path))
