"""Benchmark: protocol operations per second of the scenario runner (``nvm-chain simulate``) on an engine.

Runs a scenario file (default: examples/scenarios/docs-story.toml, about 10,000 operations) ``--reps`` times,
each on a fresh chain, and prints the operations after setup (orders, pay-as-you-go payments, mints,
redemptions, expiries, failed attempts), the transactions they sent, and per repetition the run's wall-clock
and CPU seconds with operations per second by both clocks; then the median and the best repetition against
the goal of 1,000 operations per second. CPU time is printed because a shared machine's wall clock measures
the other processes too; on a shared virtual machine even CPU seconds vary by ±15% between identical runs,
hence the repetitions. Every operation goes through the public client (PlansAPI), signing and receipt included.
With ``--baseline``, the scenario's first day is then run on both engines, py-evm (the embedded chain of issue
12's "today") and the engine measured, and their operations per CPU second are printed with the ratio (about
100 s more: py-evm deploys the protocol in about 90 s).

    python scripts/bench_simulate.py [SCENARIO] [--engine revm|pyevm] [--days N] [--seed N] [--reps N] [--baseline]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvm_chain.scenarios.report import summary  # noqa: E402
from nvm_chain.scenarios.runner import run_scenario  # noqa: E402
from nvm_chain.scenarios.schema import load_scenario  # noqa: E402

GOAL = 1_000  # protocol operations per second (issue 12)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "examples" / "scenarios" / "docs-story.toml"))
    parser.add_argument("--engine", choices=["revm", "pyevm"], default="revm")
    parser.add_argument("--days", type=int, default=None, help="override the scenario's duration")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--baseline", action="store_true", help="also run the first day on py-evm and compare")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    if args.days is not None:
        scenario = scenario.model_copy(update={"days": args.days})
    per_cpu, per_wall = [], []
    for rep in range(1, args.reps + 1):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = run_scenario(scenario, engine=args.engine, seed=args.seed)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        data = summary(result)
        ops = data["operations"]
        run_wall, run_cpu = result.timing["runSeconds"], result.timing["runCpuSeconds"]
        if rep == 1:
            print(f"scenario {scenario.name}: {scenario.days} days, engine {args.engine}, "
                  f"{data['subscribers']} subscribers")
            print(f"operations after setup: {ops['afterSetup']} ({ops['failed']} failed), "
                  f"transactions: {ops['transactions']}")
            print(f"ledger agrees with chain balances: {data['reconciliation']['agrees']}")
        per_wall.append(ops["afterSetup"] / run_wall)
        per_cpu.append(ops["opsPerCpuSecond"])
        print(f"rep {rep}: setup {result.timing['setupSeconds']:.1f} s; whole command {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU; run {run_wall:.1f} s wall -> {per_wall[-1]:.0f} ops/s, "
              f"{run_cpu:.1f} s CPU -> {per_cpu[-1]:.0f} ops per CPU second")
    for clock, figures in (("CPU", per_cpu), ("wall", per_wall)):
        median, best = statistics.median(figures), max(figures)
        print(f"operations per {clock} second over {args.reps} reps: median {median:.0f} "
              f"({median / GOAL:.2f}x the goal of {GOAL}), best {best:.0f} ({best / GOAL:.2f}x)")
    if args.baseline:
        first_day = scenario.model_copy(update={"days": 1})
        rates = {}
        for engine in dict.fromkeys(("pyevm", args.engine)):  # once each
            data = summary(run_scenario(first_day, engine=engine, seed=args.seed))
            rates[engine] = data["operations"]["opsPerCpuSecond"]
            print(f"baseline, first day ({data['operations']['afterSetup']} operations) on {engine}: "
                  f"{rates[engine]:.1f} ops per CPU second")
        print(f"{args.engine} against py-evm on the first day: {rates[args.engine] / rates['pyevm']:.0f}x")


if __name__ == "__main__":
    main()
