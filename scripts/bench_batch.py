"""Benchmark of the batch reads on anvil (prints figures; asserts nothing).

On a fresh anvil node on 127.0.0.1 with the suite deployed (Multicall3 at its canonical address), in one run:

1. 1,000 credit balances of one plan: ``PlansAPI.get_plan_balances`` (the plan once, then ``balanceOfBatch`` per
   500 holders) against 1,000 ``get_plan_balance`` calls (plan + ``balanceOf`` each) and against a raw web3.py
   loop of 1,000 ``contract.functions.balanceOf(holder, plan).call()``. Goal: the batch ≥ 50× faster than the
   1,000 single reads.
2. a listing of ``--plans`` plans with their hooks: ``PlansAPI.get_plans`` (Multicall3) against one
   ``get_plan`` per plan (``getPlan`` + ``getPlanHooks``).

Each figure is the median of ``--runs`` repetitions; JSON-RPC requests are counted at the provider.

    python scripts/bench_batch.py [--runs 5] [--holders 1000] [--plans 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import counting  # scripts/bench.py, beside this file
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from nvm_chain.chain.abi import registry
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.client import NvmChain
from nvm_chain.protocol.models import PlanMetadata
from nvm_chain.sim import RpcChain, Simulation


def measure(fn: Callable[[], Any], runs: int, sent: list[str]) -> tuple[float, int, Any]:
    """(median seconds, requests of one run, last result) of ``fn`` over ``runs`` runs."""
    times, counts, result = [], [], None
    for _ in range(runs):
        sent.clear()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
        counts.append(len(sent))
    return statistics.median(times), int(statistics.median(counts)), result


def row(name: str, seconds: float, requests: int, base: float) -> str:
    return f"  {name:46s} {seconds * 1000:10.1f} ms {requests:8d} {base / seconds:9.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description="batch-read benchmark on anvil")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--holders", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=200)
    args = parser.parse_args()

    from tests.anvil import ANVIL, ANVIL_KEY, Anvil

    if not ANVIL.exists():
        raise SystemExit("anvil not installed: run `npm install`")
    node = Anvil()
    try:
        sim = Simulation.start(chain=RpcChain(Web3(Web3.HTTPProvider(node.url))), owner=LocalSigner(ANVIL_KEY))
        builder = NvmChain.connect("local", rpc_url=node.url, address_book=sim.book,
                                   account=sim.account("builder").signer)
        reader = NvmChain.connect("local", rpc_url=node.url, address_book=sim.book)
        sent = counting(reader.w3)
        plans = builder.plans
        meta = PlanMetadata(name="bench")
        credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(100))
        pid = plans.register_credits_plan(meta, plans.get_free_price_config(), credits).plan_id
        holders = [to_checksum_address(keccak(b"bench" + i.to_bytes(4, "big"))[12:]) for i in range(args.holders)]
        for i in range(0, len(holders), 100):
            plans.mint_plan_credits(pid, i + 1, holders[i])

        single, single_n, one_by_one = measure(
            lambda: [reader.plans.get_plan_balance(pid, h) for h in holders], args.runs, sent)
        nft = reader.w3.eth.contract(address=Web3.to_checksum_address(sim.book["NFT1155Credits"]),
                                     abi=list(registry()["NFT1155Credits"].abi))
        raw, raw_n, raw_values = measure(
            lambda: [nft.functions.balanceOf(h, pid).call() for h in holders], args.runs, sent)
        batch, batch_n, batched = measure(lambda: reader.plans.get_plan_balances(pid, holders), args.runs, sent)
        assert batched == one_by_one and [b.balance for b in batched] == raw_values

        print(f"{args.holders} credit balances of one plan on anvil (median of {args.runs}; requests per run)")
        print(f"  {'':46s} {'time':>13s} {'requests':>8s} {'vs single':>10s}")
        print(row("get_plan_balance x holders (nvm-chain, today)", single, single_n, single))
        print(row("raw web3.py balanceOf(...).call() x holders", raw, raw_n, single))
        print(row("get_plan_balances (balanceOfBatch per 500)", batch, batch_n, single))
        ratio = single / batch
        print(f"  batch vs single reads: {ratio:.0f}x faster; goal >= 50x: {'met' if ratio >= 50 else 'NOT met'}"
              f"  (vs raw web3.py: {raw / batch:.0f}x)")

        if args.plans:
            hooks = (sim.book["OneTimeCreatorHook"],)
            pids = [builder.plans._register(meta, plans.get_free_price_config(), credits, None, None,
                                            hooks=hooks if i % 2 else ())
                    .plan_id for i in range(args.plans)]
            each, each_n, listed_each = measure(lambda: [reader.plans.get_plan(p) for p in pids], args.runs, sent)
            many, many_n, listed = measure(lambda: reader.plans.get_plans(pids), args.runs, sent)
            assert listed == listed_each
            print(f"\nlisting {args.plans} plans with their hooks on anvil (median of {args.runs})")
            print(row("get_plan x plans (getPlan + getPlanHooks)", each, each_n, each))
            print(row("get_plans (Multicall3, 200 calls per eth_call)", many, many_n, each))
    finally:
        node.stop()


if __name__ == "__main__":
    main()
