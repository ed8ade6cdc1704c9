"""Scenario files: TOML and JSON load into the same model; every error names its field path (no chain needed)."""

from __future__ import annotations

import copy
import json

import pytest

from nvm_chain.errors import ScenarioError, ValidationError
from nvm_chain.scenarios.schema import load_scenario, validate_scenario

BASE = {
    "name": "t", "days": 2, "seed": 3,
    "builders": [{"name": "b", "plans": [{"key": "p", "price": 10, "credits": 100, "credits_per_request": 10}],
                  "agents": [{"name": "a", "plans": ["p"]}]}],
    "subscribers": [{"name": "s", "plan": "p", "arrivals": {"initial": 1, "max": 1},
                     "usage": {"requests_per_day": 1}}],
}


def _with(path: str, value) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[parts[-1]] = value
    return data


def _error(data) -> str:
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data, "x.toml")
    return str(info.value)


def test_a_valid_scenario_has_the_defaults_documented():
    scenario = validate_scenario(BASE)
    plan = scenario.plan("p")
    assert (scenario.engine, scenario.fees, plan.kind, plan.redemption) == ("revm", True, "credits", "ONLY_PLAN_ROLE")
    assert plan.base_price == 10 * 10**18
    assert plan.burn == 10
    assert scenario.agent_for(scenario.subscribers[0], "p").name == "a"


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("builders[0].plans[0].price", -1, "builders[0].plans[0].price: Input should be greater than or equal to 0"),
    ("builders[0].plans[0].price", "0.0000000000000000001", "builders[0].plans[0].price: Value error, "
                                                            "at most 18 decimals"),
    ("builders[0].plans[0].kind", "monthly", "builders[0].plans[0].kind: Input should be 'credits', 'time'"),
    ("builders[0].plans[0].colour", "red", "builders[0].plans[0].colour: unknown field"),
    ("builders[0].agents[0].plans", ["p", "q"], "builders[0].agents[0].plans[1]: 'q' is not a plan of builder 'b'"),
    ("subscribers[0].plan", "nope", "subscribers[0].plan: no plan 'nope' (have: p)"),
    ("subscribers[0].agent", "ghost", "subscribers[0].agent: no agent 'ghost' (have: a)"),
    ("subscribers[0].arrivals", {"initial": 5, "max": 2}, "subscribers[0].arrivals: initial (5) exceeds max (2)"),
    ("subscribers[0].usage", {"requests_per_day": 1, "burst": {"probability": 2, "multiplier": 3}},
     "subscribers[0].usage.burst.probability: Input should be less than or equal to 1"),
    ("days", 0, "days: Input should be greater than or equal to 1"),
    ("engine", "geth", "engine: Input should be 'revm' or 'pyevm'"),
])
def test_errors_name_the_field_path(path, value, expected):
    message = _error(_with(path, value))
    assert message.startswith("x.toml: invalid scenario:")
    assert expected.replace("Value error, ", "") in message


def test_plan_rules_are_checked_at_the_plan():
    assert "builders[0].plans[0]: a time plan needs duration_days" in _error(_with("builders[0].plans[0].kind", "time"))
    too_much = _with("builders[0].plans[0].credits_per_request", 101)
    assert "builders[0].plans[0]: credits_per_request (101) exceeds the credits of one order (100)" in _error(too_much)


def test_an_agent_redeemed_plan_without_an_agent_is_refused():
    data = _with("builders[0].agents", [])
    assert "subscribers[0].plan: plan 'p' is redeemed by an agent (ONLY_PLAN_ROLE) but no agent lists it" \
        in _error(data)


def test_every_problem_is_reported_on_its_own_line():
    data = _with("days", -1)
    data["seed"] = "x"
    lines = _error(data).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == ["days", "seed"]


def test_toml_and_json_files_give_the_same_scenario(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('days = 2\nseed = 3\nname = "t"\n'
                    '[[builders]]\nname = "b"\n'
                    '[[builders.plans]]\nkey = "p"\nprice = 10\ncredits = 100\ncredits_per_request = 10\n'
                    '[[builders.agents]]\nname = "a"\nplans = ["p"]\n'
                    '[[subscribers]]\nname = "s"\nplan = "p"\narrivals = { initial = 1, max = 1 }\n'
                    'usage = { requests_per_day = 1 }\n')
    as_json = tmp_path / "s.json"
    as_json.write_text(json.dumps(BASE))
    assert load_scenario(toml) == load_scenario(as_json)


def test_unreadable_and_malformed_files_are_scenario_errors(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("days = \n")
    with pytest.raises(ScenarioError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_scenario(bad)
    assert issubclass(ScenarioError, ValidationError) and ScenarioError.exit_code == 3


def test_the_example_scenarios_are_valid():
    from pathlib import Path

    examples = sorted((Path(__file__).parent.parent / "examples" / "scenarios").glob("*.toml"))
    assert [p.name for p in examples] == ["agent-rush.toml", "docs-story.toml", "small.toml"]
    for path in examples:
        assert load_scenario(path).days >= 1
