"""python -m nvm_chain.sim — deploy the protocol on a fresh embedded chain and print its address book."""

from __future__ import annotations

import argparse
import json
import sys
import time

from nvm_chain.sim import Simulation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nvm_chain.sim", description=__doc__.split("—")[1].strip())
    parser.add_argument("--fees", action="store_true", help="turn protocol fees on (1%% crypto, 2%% fiat)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sim = Simulation.start(fees=args.fees)
    elapsed = time.perf_counter() - started
    out = {
        **sim.book.to_json(),
        "accounts": {name: a.address for name, a in sim.accounts.items()},
        "feeReceiver": sim.deployment.fee_receiver,
    }
    json.dump(out, sys.stdout, indent=2)
    print()
    print(
        f"deployed and wired in {elapsed:.2f} s: {sim.deployment.transactions} transactions, "
        f"{sim.deployment.gas_used:,} gas (test accounts only: their keys are public)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
