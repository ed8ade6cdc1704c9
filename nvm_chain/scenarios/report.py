"""Reports of a simulation run: the summary (revenue, fees, credits, failures, gas), daily series for plots, and
the files (``summary.json``, ``ledger.json``, ``ledger.csv``, plus plots and ``report.html`` when matplotlib is
installed). Amounts are base units of the test token; :func:`tokens` shows them in whole tokens.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from nvm_chain.errors import PlotsUnavailableError
from nvm_chain.scenarios.runner import RunResult
from nvm_chain.scenarios.schema import TOKEN_DECIMALS

PLOTS_HINT = "plots skipped: install them with  pip install 'nvm-chain[plots]'  (matplotlib)"


def tokens(base_units: int) -> str:
    """``base_units`` of the 18-decimal test token as a plain decimal string of whole tokens."""
    return format(Decimal(base_units).scaleb(-TOKEN_DECIMALS).normalize(), "f")


def summary(result: RunResult) -> dict[str, Any]:
    """Everything the terminal table shows, JSON-ready (amounts as decimal strings of base units)."""
    ledger = result.ledger
    ops = [e for e in ledger if e.kind != "expire"]
    run_ops = [e for e in ops if e.kind not in ("register_plan", "register_agent", "allow_burner")]
    seconds = result.timing["runSeconds"]
    revenue = []
    for key, plan in result.plans.items():
        paid = [e for e in ledger if e.plan == key and e.kind in ("order", "payg")]
        revenue.append({"builder": plan.builder, "plan": key, "kind": plan.spec.kind,
                        "orders": sum(e.kind == "order" for e in paid), "payments": sum(e.kind == "payg" for e in paid),
                        "paid": sum(e.amount for e in paid), "revenue": sum(e.revenue for e in paid),
                        "fees": sum(e.fee for e in paid)})
    credits = []
    for key, plan in result.plans.items():
        if plan.spec.kind == "pay-as-you-go":
            continue
        minted = sum(e.credits for e in ledger if e.plan == key and e.kind in ("order", "mint"))
        redeemed = sum(e.credits for e in ledger if e.plan == key and e.kind == "redeem")
        expired = sum(e.credits for e in ledger if e.plan == key and e.kind == "expire")
        credits.append({"plan": key, "minted": minted, "redeemed": redeemed, "expired": expired,
                        "outstanding": minted - redeemed - expired,
                        "outstandingOnChain": result.chain["outstandingCredits"][key]})
    failures = Counter((e.op, e.error_name) for e in ledger if e.kind == "failure")
    gas: dict[str, list[int]] = defaultdict(list)
    for e in ops:
        if e.kind != "failure":
            gas[e.kind].append(e.gas)
    received = result.chain["tokenReceived"]
    builder_revenue = Counter[str]()
    for e in ledger:
        builder_revenue[f"builder-{e.builder}"] += e.revenue
    fees = sum(e.fee for e in ledger)
    ledger_side = {k: (fees if k == "fee_receiver" else builder_revenue[k]) for k in received}
    return {
        "scenario": result.scenario.name, "engine": result.engine, "seed": result.seed, "days": result.scenario.days,
        "subscribers": result.chain["subscribers"],
        "operations": {"all": len(ops), "afterSetup": len(run_ops), "transactions": sum(e.txs for e in ops),
                       "failed": sum(e.kind == "failure" for e in ops), "setupSeconds": result.timing["setupSeconds"],
                       "runSeconds": seconds, "runCpuSeconds": result.timing["runCpuSeconds"],
                       "opsPerSecond": round(len(run_ops) / seconds, 1) if seconds else None,
                       "opsPerCpuSecond": round(len(run_ops) / cpu, 1) if (cpu := result.timing["runCpuSeconds"])
                       else None},
        "revenue": revenue,
        "protocolFees": fees,
        "credits": credits,
        "requests": [{"plan": k, **{n: c[n] for n in ("requests", "served", "denied")}}
                     for k, c in result.requests.items()],
        "failures": [{"op": op, "error": name, "count": n} for (op, name), n in sorted(failures.items())],
        "gas": [{"op": op, "count": len(v), "total": sum(v), "mean": round(sum(v) / len(v))}
                for op, v in sorted(gas.items())],
        "reconciliation": {
            "tokensReceivedOnChain": received,
            "ledgerRevenue": ledger_side,
            "agrees": ledger_side == received and all(c["outstanding"] == c["outstandingOnChain"] for c in credits),
        },
    }


def daily_series(result: RunResult) -> dict[str, dict[str, list[int]]]:
    """Per plan, per day (end of day, cumulative): ``revenue`` (builder's, base units), ``minted``,
    ``redeemed``, ``expired`` and ``outstanding`` credits."""
    days = result.scenario.days
    series: dict[str, dict[str, list[int]]] = {}
    for key in result.plans:
        daily = {name: [0] * days for name in ("revenue", "minted", "redeemed", "expired")}
        for e in result.ledger:
            if e.plan != key or e.kind == "failure":
                continue
            day = min(e.day, days - 1)
            if e.kind in ("order", "payg"):
                daily["revenue"][day] += e.revenue
            if e.kind in ("order", "mint"):
                daily["minted"][day] += e.credits
            elif e.kind in ("redeem", "expire"):
                daily["redeemed" if e.kind == "redeem" else "expired"][day] += e.credits
        cumulative = {name: _cumulate(values) for name, values in daily.items()}
        cumulative["outstanding"] = [m - r - x for m, r, x in zip(cumulative["minted"], cumulative["redeemed"],
                                                                 cumulative["expired"])]
        series[key] = cumulative
    return series


def _cumulate(values: list[int]) -> list[int]:
    out, total = [], 0
    for v in values:
        total += v
        out.append(total)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    return value


def write_reports(result: RunResult, out: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """Write ``summary.json``, ``ledger.json``, ``ledger.csv`` to ``out`` (created), and with matplotlib
    ``revenue.png``, ``credits.png`` and a self-contained ``report.html``.

    Returns ``{"files": [paths], "plots": None or the reason they were skipped}``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    files = {"summary.json": json.dumps(_jsonable(data), indent=2), "ledger.json": result.ledger.to_json(),
             "ledger.csv": result.ledger.to_csv()}
    written = []
    for name, text in files.items():
        (out / name).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        written.append(str(out / name))
    skipped = None
    if plots:
        from nvm_chain.scenarios import plots as plotting

        try:
            written += plotting.write_plots(result, data, daily_series(result), out)
        except PlotsUnavailableError:
            skipped = PLOTS_HINT
    return {"files": written, "plots": skipped}

