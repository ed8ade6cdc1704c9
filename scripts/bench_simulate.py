"""Benchmark: protocol operations per second of the scenario runner (``nvm-chain simulate``) on an engine.

Runs a scenario file (default: examples/scenarios/docs-story.toml, about 10,000 operations) once and prints
the operations after setup (orders, pay-as-you-go payments, mints, redemptions, failed attempts), the
transactions they sent, wall-clock and CPU seconds of the run, and operations per second by both clocks.
CPU time is printed because a shared machine's wall clock measures the other processes too. Every
operation goes through the public client (PlansAPI), signing and receipt included.

    python scripts/bench_simulate.py [SCENARIO] [--engine revm|pyevm] [--days N] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvm_chain.scenarios.report import summary  # noqa: E402
from nvm_chain.scenarios.runner import run_scenario  # noqa: E402
from nvm_chain.scenarios.schema import load_scenario  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "examples" / "scenarios" / "docs-story.toml"))
    parser.add_argument("--engine", choices=["revm", "pyevm"], default="revm")
    parser.add_argument("--days", type=int, default=None, help="override the scenario's duration")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    if args.days is not None:
        scenario = scenario.model_copy(update={"days": args.days})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = run_scenario(scenario, engine=args.engine, seed=args.seed)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    data = summary(result)
    ops = data["operations"]
    run_wall = result.timing["runSeconds"]
    print(f"scenario {scenario.name}: {scenario.days} days, engine {args.engine}, {data['subscribers']} subscribers")
    print(f"operations after setup: {ops['afterSetup']} ({ops['failed']} failed), transactions: {ops['transactions']}")
    print(f"setup (deploy, fund, register): {result.timing['setupSeconds']:.1f} s wall")
    print(f"whole command: {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"run: {run_wall:.1f} s wall -> {ops['afterSetup'] / run_wall:.0f} operations/s (wall)")
    print(f"run: {result.timing['runCpuSeconds']:.1f} s CPU -> {ops['opsPerCpuSecond']:.0f} operations per CPU second")
    print(f"ledger agrees with chain balances: {data['reconciliation']['agrees']}")


if __name__ == "__main__":
    main()
