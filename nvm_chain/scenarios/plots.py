"""Plots of a simulation run (matplotlib, optional: ``pip install 'nvm-chain[plots]'``) and the self-contained
HTML report that embeds them as base64 PNG.

- ``revenue.png``: the builder's cumulative revenue per plan, in test tokens, by day;
- ``credits.png``: per credits or time plan, cumulative credits minted, redeemed and expired, and the credits
  outstanding at the end of each day.
"""

from __future__ import annotations

import base64
import html
from decimal import Decimal
from pathlib import Path
from typing import Any

from nvm_chain.errors import PlotsUnavailableError
from nvm_chain.scenarios.schema import TOKEN_DECIMALS


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailableError("matplotlib is not installed: pip install 'nvm-chain[plots]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _revenue(plt: Any, result: Any, series: dict[str, dict[str, list[int]]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    days = list(range(1, result.scenario.days + 1))
    for key, s in series.items():
        if any(s["revenue"]):
            ax.plot(days, [float(Decimal(v).scaleb(-TOKEN_DECIMALS)) for v in s["revenue"]], marker=".", label=key)
    ax.set_title(f"{result.scenario.name}: builder revenue per plan (cumulative)")
    ax.set_xlabel("day")
    ax.set_ylabel("test tokens")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _credits(plt: Any, result: Any, series: dict[str, dict[str, list[int]]], path: Path) -> None:
    keys = [k for k, p in result.plans.items() if p.spec.kind != "pay-as-you-go"]
    fig, axes = plt.subplots(max(len(keys), 1), 1, figsize=(8, 3.2 * max(len(keys), 1)), dpi=100, squeeze=False)
    days = list(range(1, result.scenario.days + 1))
    for ax, key in zip(axes[:, 0], keys):
        for name in ("minted", "redeemed", "expired", "outstanding"):
            ax.plot(days, series[key][name], label=name, linestyle="--" if name == "outstanding" else "-")
        ax.set_title(f"plan {key}: credits (cumulative; outstanding at day end)")
        ax.set_xlabel("day")
        ax.set_ylabel("credits")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_plots(result: Any, summary: dict[str, Any], series: dict[str, dict[str, list[int]]],
                out: Path) -> list[str]:
    """Write ``revenue.png``, ``credits.png`` and ``report.html`` (PNG embedded) into ``out``; returns the paths.

    Raises:
        PlotsUnavailableError: matplotlib is not installed.
    """
    plt = _pyplot()
    images = {"revenue.png": _revenue, "credits.png": _credits}
    paths = []
    for name, draw in images.items():
        draw(plt, result, series, out / name)
        paths.append(out / name)
    page = out / "report.html"
    page.write_text(_html(summary, {p.name: p.read_bytes() for p in paths}), encoding="utf-8")
    return [str(p) for p in (*paths, page)]


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(summary: dict[str, Any], images: dict[str, bytes]) -> str:
    def amount(v: int) -> str:
        return format(Decimal(v).scaleb(-TOKEN_DECIMALS).normalize(), "f")

    revenue = [{**r, "paid": amount(r["paid"]), "revenue": amount(r["revenue"]), "fees": amount(r["fees"])}
               for r in summary["revenue"]]
    ops = summary["operations"]
    sections = [
        ("Revenue per builder and plan (test tokens)", _table(revenue)),
        ("Credits", _table(summary["credits"])),
        ("Requests", _table(summary["requests"])),
        ("Failed operations", _table(summary["failures"])),
        ("Gas per operation", _table(summary["gas"])),
    ]
    figures = "".join(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
                      f'{base64.b64encode(data).decode()}"></figure>' for name, data in images.items())
    title = html.escape(f"nvm-chain simulate: {summary['scenario']}")
    facts = (f"engine {html.escape(summary['engine'])}, seed {summary['seed']}, {summary['days']} days, "
             f"{summary['subscribers']} subscribers; {ops['all']} operations ({ops['transactions']} transactions, "
             f"{ops['failed']} failed); protocol fees {amount(summary['protocolFees'])} test tokens; "
             f"ledger agrees with the chain: {'yes' if summary['reconciliation']['agrees'] else 'NO'}")
    body = "".join(f"<h2>{html.escape(h)}</h2>{t}" for h, t in sections)
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th{background:#f4f4f4}"
             "img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style>"
            f"</head><body><h1>{title}</h1><p>{facts}</p>{figures}{body}</body></html>\n")
