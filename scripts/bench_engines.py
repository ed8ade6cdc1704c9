"""Benchmark: orders per second through the client on each embedded-chain engine (prints figures; asserts nothing).

For each engine a fresh simulation (fees on) is deployed, the builder registers a fee-inclusive ERC-20 credits
plan and a native-token one, and the subscriber buys them with ``PlansAPI.order_plan`` — the whole client
path: plan read, balance and allowance checks, simulation, approve + order (ERC-20) or order with value
(native), local signing, broadcast, receipt and event decoding. Each repetition times ``--orders`` orders
(alternating the two plans) on a fresh snapshot; the table shows the median of ``--reps`` repetitions and
the revm / py-evm ratio.

    python scripts/bench_engines.py [--reps 3] [--orders 200] [--pyevm-orders 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from nvm_chain.client import NvmChain
from nvm_chain.protocol.models import PlanMetadata
from nvm_chain.sim import Simulation

PRICE = 1_000_000
CREDITS = 10


def _plans(sim: Simulation) -> list[int]:
    builder = NvmChain.connect("embedded", simulation=sim, account=sim.account("builder").signer)
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))
    erc20 = plans.get_erc20_price_config(PRICE, sim.book["MockERC20"], builder.address)
    native = plans.get_native_token_price_config(PRICE, builder.address)
    return [plans.register_credits_plan(PlanMetadata(name=f"bench {kind}"), price, credits).plan_id
            for kind, price in (("erc20", erc20), ("native", native))]


def _rate(sim: Simulation, plan_ids: list[int], orders: int) -> float:
    """Orders per second for ``orders`` orders by a fresh subscriber client, on a snapshot reverted after."""
    snapshot = sim.chain.snapshot()
    try:
        subscriber = NvmChain.connect("embedded", simulation=sim, account=sim.account("subscriber").signer)
        start = time.perf_counter()
        for i in range(orders):
            subscriber.plans.order_plan(plan_ids[i % len(plan_ids)])
        return orders / (time.perf_counter() - start)
    finally:
        sim.chain.revert(snapshot)


def measure(engine: str, reps: int, orders: int) -> list[float]:
    """``reps`` timings (orders/s) of ``orders`` orders each on a fresh ``engine`` simulation."""
    sim = Simulation.start(fees=True, engine=engine)
    plan_ids = _plans(sim)
    _rate(sim, plan_ids, 2)  # warm-up: imports, ABI caches
    return [_rate(sim, plan_ids, orders) for _ in range(reps)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--orders", type=int, default=200, help="orders per repetition on revm")
    parser.add_argument("--pyevm-orders", type=int, default=5, help="orders per repetition on py-evm")
    args = parser.parse_args(argv)

    rows = []
    for engine, orders in (("pyevm", args.pyevm_orders), ("revm", args.orders)):
        rates = measure(engine, args.reps, orders)
        rows.append((engine, orders, rates, statistics.median(rates)))

    print(f"{'engine':<8}{'orders/rep':>11}{'median orders/s':>17}   runs (orders/s)")
    for engine, orders, rates, median in rows:
        print(f"{engine:<8}{orders:>11}{median:>17.1f}   {', '.join(f'{r:.1f}' for r in rates)}")
    print(f"ratio revm / py-evm: {rows[1][3] / rows[0][3]:.0f}x")


if __name__ == "__main__":
    main()
