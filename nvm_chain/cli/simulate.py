"""``nvm-chain simulate SCENARIO``: run a scenario file on a fresh embedded chain and write its reports (CLI layer)."""

from __future__ import annotations

import sys
from typing import Any

import click

from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options, resolve


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Directory for the reports (default: ./nvm-sim-NAME).")
@click.option("--engine", type=click.Choice(["revm", "pyevm"]), default=None,
              help="Embedded chain engine (default: the scenario's, else revm).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (default: the scenario's).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots and the HTML report.")
@global_options
@click.pass_context
def simulate(ctx: click.Context, scenario: str, out: str | None, engine: str | None, seed: int | None,
             no_plots: bool, **_: Any) -> None:
    """Run the SCENARIO file (TOML or JSON) on a fresh embedded chain through the client, and write
    summary.json, ledger.json, ledger.csv, revenue.png, credits.png and report.html to --out.

    Every account is a test account (public keys: test only). The same seed gives the same ledger.
    With --format json the summary is printed as JSON and nothing else (no progress bar).
    """
    from nvm_chain.scenarios.report import summary, tokens, write_reports
    from nvm_chain.scenarios.runner import run_scenario
    from nvm_chain.scenarios.schema import load_scenario

    fmt = resolve(ctx).format or "table"
    spec = load_scenario(scenario)
    out = out or f"nvm-sim-{spec.name}"
    quiet = fmt == "json"
    if not quiet and sys.stderr.isatty():
        with click.progressbar(length=spec.days, label=f"simulating {spec.name}", file=sys.stderr) as bar:
            result = run_scenario(spec, engine=engine, seed=seed, progress=lambda done, total: bar.update(1))
    else:
        result = run_scenario(spec, engine=engine, seed=seed)
    written = write_reports(result, out, plots=not no_plots)
    data = summary(result)
    if quiet:
        emit({**data, "files": written["files"], "plotsSkipped": written["plots"]}, "json")
        return
    _show(data, tokens)
    say(f"\nreports: {', '.join(written['files'])}")
    if written["plots"]:
        say(written["plots"])


def _show(data: dict[str, Any], tokens: Any) -> None:
    ops = data["operations"]
    click.echo(f"{data['scenario']}: {data['days']} days on {data['engine']} (seed {data['seed']}), "
               f"{data['subscribers']} subscribers")
    click.echo(f"{ops['all']} operations ({ops['transactions']} transactions, {ops['failed']} failed); "
               f"setup {ops['setupSeconds']} s, run {ops['runSeconds']} s ({ops['runCpuSeconds']} s CPU), "
               f"{ops['opsPerSecond']} operations/s")
    sections = [
        ("revenue per builder and plan (test tokens)",
         [{**r, "paid": tokens(r["paid"]), "revenue": tokens(r["revenue"]), "fees": tokens(r["fees"])}
          for r in data["revenue"]]),
        ("credits", data["credits"]),
        ("requests", data["requests"]),
        ("failed operations by error", data["failures"]),
        ("gas per operation", data["gas"]),
    ]
    for title, rows in sections:
        click.echo(f"\n== {title}")
        emit(rows, "table")
    rec = data["reconciliation"]
    click.echo(f"\nprotocol fees: {tokens(data['protocolFees'])} test tokens; ledger agrees with chain balances: "
               f"{'yes' if rec['agrees'] else 'NO'}")
