"""The scenario runner on revm: the ledger against chain state, determinism, reports and the CLI."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from nvm_chain.cli import main
from nvm_chain.scenarios.report import PLOTS_HINT, summary, write_reports
from nvm_chain.scenarios.runner import run_scenario
from nvm_chain.scenarios.schema import load_scenario, validate_scenario

pytest.importorskip("pyrevm")

TOKEN = 10**18
FUNDED = 1_000_000 * TOKEN  # every simulation account starts with this many test-token base units
EXAMPLES = Path(__file__).parent.parent / "examples" / "scenarios"

TINY = {
    "name": "tiny", "days": 2, "seed": 5,
    "builders": [{
        "name": "b",
        "plans": [
            {"key": "basic", "price": 10, "credits": 100, "credits_per_request": 40, "bonus_credits": 50},
            {"key": "trial", "kind": "credits-trial", "price": 0, "credits": 10, "credits_per_request": 10},
            {"key": "pass", "kind": "time", "price": 2, "credits": 3, "duration_days": 0.5},
            {"key": "small", "price": 1, "credits": 10, "credits_per_request": 5},
            {"key": "call", "kind": "pay-as-you-go", "price": 0.5},
        ],
        "agents": [{"name": "a", "plans": ["basic", "trial", "pass", "call"]},
                   {"name": "careless", "plans": ["small"], "checks_balance": False}],
    }],
    "subscribers": [
        {"name": "buyers", "plan": "basic", "arrivals": {"initial": 2, "max": 2}, "usage": {"requests_per_day": 3}},
        {"name": "again", "plan": "trial", "arrivals": {"initial": 1, "max": 1}, "usage": {"requests_per_day": 3}},
        {"name": "passers", "plan": "pass", "reorder": False, "arrivals": {"initial": 1, "max": 1},
         "usage": {"requests_per_day": 2}},
        {"name": "broke", "plan": "small", "reorder": False, "arrivals": {"initial": 1, "max": 1},
         "usage": {"requests_per_day": 5}},
        {"name": "callers", "plan": "call", "arrivals": {"initial": 1, "max": 1}, "usage": {"requests_per_day": 2}},
    ],
}


@pytest.fixture(scope="module")
def run():
    return run_scenario(validate_scenario(TINY))


def _erc20_balance(result, address: str) -> int:
    sim = result.simulation
    from nvm_chain.client import NvmChain

    reader = NvmChain.connect("embedded", simulation=sim)
    token = reader.contracts.at("MockERC20", sim.book["MockERC20"])
    return token.decode("balanceOf", sim.w3.eth.call({"to": token.address,
                                                       "data": token.calldata("balanceOf", address)}))


def test_token_balances_on_chain_match_the_ledger(run):
    ledger = list(run.ledger)
    builder_gain = _erc20_balance(run, run.addresses["builder-b"]) - FUNDED
    fee_gain = _erc20_balance(run, run.addresses["fee_receiver"]) - FUNDED
    assert builder_gain == sum(e.revenue for e in ledger) > 0
    assert fee_gain == sum(e.fee for e in ledger) > 0
    orders = [e for e in ledger if e.kind == "order" and e.plan == "basic"]
    # 10 tokens gross: 9.9 to the builder, 0.1 (1%) to the protocol
    assert {(e.amount, e.revenue, e.fee) for e in orders} == {(10 * TOKEN, 99 * TOKEN // 10, TOKEN // 10)}
    for member in ("buyers-0", "again-0", "callers-0"):
        paid = sum(e.amount for e in ledger if e.subscriber == f"sub-{member}")
        assert FUNDED - _erc20_balance(run, run.addresses[f"sub-{member}"]) == paid


def test_credit_balances_on_chain_match_the_ledger(run):
    from nvm_chain.client import NvmChain

    reader = NvmChain.connect("embedded", simulation=run.simulation).plans
    for name, address in run.addresses.items():
        if not name.startswith("sub-"):
            continue
        for key, plan in run.plans.items():
            if plan.spec.kind == "pay-as-you-go":
                continue
            rows = [e for e in run.ledger if e.subscriber == name and e.plan == key]
            held = sum(e.credits for e in rows if e.kind in ("order", "mint")) - \
                sum(e.credits for e in rows if e.kind in ("redeem", "expire"))
            assert reader.get_plan_balance(plan.plan_id, address).balance == held, (name, key)


def test_the_ledger_records_mints_expiries_and_failures_by_error_name(run):
    kinds = Counter(e.kind for e in run.ledger)
    assert kinds["mint"] == 2 and all(e.credits == 50 for e in run.ledger if e.kind == "mint")
    expired = [e for e in run.ledger if e.kind == "expire"]
    assert [(e.plan, e.credits, e.t - o.t) for e, o in zip(expired, [x for x in run.ledger if x.plan == "pass"
                                                                     and x.kind == "order"])] == \
        [("pass", 3, 43_200)]
    failures = Counter((e.op, e.error_name) for e in run.ledger if e.kind == "failure")
    assert failures[("order", "CreatorAlreadyCreatedAgreement")] >= 1  # the trial ordered twice
    assert failures[("redeem", "ERC1155InsufficientBalance")] >= 1  # the careless agent
    assert set(failures) == {("order", "CreatorAlreadyCreatedAgreement"), ("redeem", "ERC1155InsufficientBalance")}
    assert all(e.tx.startswith("0x") and e.gas > 0 for e in run.ledger if e.kind not in ("failure", "expire"))


def test_the_summary_reconciles_with_the_chain(run):
    data = summary(run)
    assert data["reconciliation"]["agrees"] is True
    basic = next(r for r in data["credits"] if r["plan"] == "basic")
    assert basic["outstanding"] == basic["outstandingOnChain"]
    assert {r["op"] for r in data["gas"]} >= {"order", "mint", "redeem", "payg", "register_plan"}


@pytest.mark.slow
def test_the_same_seed_gives_the_same_ledger_and_another_seed_does_not(run):
    again = run_scenario(validate_scenario(TINY))
    assert again.ledger.to_csv() == run.ledger.to_csv()
    other = run_scenario(validate_scenario(TINY), seed=6)
    assert other.ledger.fingerprint() != run.ledger.fingerprint()


@pytest.mark.slow  # matplotlib's import and drawing take seconds
def test_reports_are_written(run, tmp_path):
    written = write_reports(run, tmp_path)
    names = sorted(Path(p).name for p in written["files"])
    assert names == ["credits.png", "ledger.csv", "ledger.json", "report.html", "revenue.png", "summary.json"]
    assert written["plots"] is None
    csv_lines = (tmp_path / "ledger.csv").read_text().splitlines()
    assert csv_lines[0].startswith("seq,day,t,kind,op,") and len(csv_lines) == len(run.ledger) + 1
    assert len(json.loads((tmp_path / "ledger.json").read_text())) == len(run.ledger)
    assert (tmp_path / "revenue.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<img" in page and "src=\"http" not in page


def test_without_matplotlib_the_data_files_are_written_and_the_hint_given(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    written = write_reports(run, tmp_path)
    assert sorted(Path(p).name for p in written["files"]) == ["ledger.csv", "ledger.json", "summary.json"]
    assert written["plots"] == PLOTS_HINT and "nvm-chain[plots]" in PLOTS_HINT


def test_cli_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TINY, "days": 0}))
    assert main(["simulate", str(bad), "--out", str(tmp_path / "o")]) == 3
    assert "days: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "missing.toml")]) == 3
    assert main(["simulate", str(bad), "--engine", "geth"]) == 2
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_runs_the_small_example_quietly_in_json(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", str(EXAMPLES / "small.toml"), "--out", str(out), "--format", "json", "--no-plots"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert captured.err == ""
    assert data["reconciliation"]["agrees"] is True
    assert data["operations"]["failed"] >= 1
    assert sorted(p.name for p in out.iterdir()) == ["ledger.csv", "ledger.json", "summary.json"]


@pytest.mark.slow
def test_the_agent_rush_example_shortened_refuses_only_the_careless_agents_redemptions():
    scenario = load_scenario(EXAMPLES / "agent-rush.toml").model_copy(update={"days": 5})
    result = run_scenario(scenario)
    failures = Counter((e.op, e.error_name, e.actor) for e in result.ledger if e.kind == "failure")
    assert set(failures) == {("redeem", "ERC1155InsufficientBalance", "agent-translate-careless")}
    burners = Counter((e.plan, e.actor) for e in result.ledger if e.kind == "redeem")
    assert burners[("speech-pack", "builder-speech")] > 0  # ONLY_OWNER: the builder burns
    assert {a for (p, a) in burners if p == "code-pack"} == {"agent-code-a"}  # the first agent listing the plan
    assert burners[("search-pack", "agent-search-b")] > 0  # a group pinned to its agent
    assert summary(result)["reconciliation"]["agrees"] is True
