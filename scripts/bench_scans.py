"""Benchmark: a plan listing over 200,000 blocks through a provider that refuses ``eth_getLogs`` over 2,000 blocks.

The protocol runs on the revm engine served over HTTP on 127.0.0.1 (anvil 1.7 mines 200,000 blocks in hours:
its per-block cost grows with the chain), behind the test suite's fault proxy (tests/faults.py), which refuses
larger ranges with a JSON-RPC error and counts every request. Prints, for a first listing, a second one by the
same client, and a third by a fresh client sharing the state directory (another process, in effect): the
requests, the ``eth_getLogs`` among them (and how many were refused) and the wall time.

    PYTHONPATH=. python scripts/bench_scans.py [--blocks 200000] [--limit 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from web3 import Web3

from nvm_chain.client import NvmChain
from nvm_chain.protocol import configs
from nvm_chain.sim import Simulation
from nvm_chain.sim.devnet import DevnetServer
from tests.faults import FaultProxy, rpc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=200_000)
    parser.add_argument("--limit", type=int, default=2000)
    args = parser.parse_args()

    sim = Simulation.start(engine="revm")
    state = tempfile.mkdtemp(prefix="nvm-chain-bench-scans-")
    with DevnetServer(sim.chain) as server, FaultProxy(server.url) as proxy:

        def client() -> NvmChain:
            w3 = Web3(Web3.HTTPProvider(proxy.url, exception_retry_configuration=None))
            w3.middleware_onion.remove("validation")
            chain = NvmChain(w3, sim.book, sim.account("builder").signer, network="local")
            chain.ctx.state_dir = state
            return chain

        def register(chain: NvmChain) -> int:
            credits = configs.set_onchain_mirror(configs.get_fixed_credits_config(10))
            return chain.plans.register_credits_plan({"name": "p"}, configs.get_free_price_config(), credits).plan_id

        builder = client()
        expected = [register(builder)]
        for _ in range(args.blocks // 10_000):
            rpc(server.url, "evm_mine", [{"blocks": 10_000}])
        expected.append(register(builder))
        print(f"chain: {sim.w3.eth.block_number:,} blocks, deployment at block {sim.book.block_number}; "
              f"provider refuses eth_getLogs over {args.limit:,} blocks")
        for label in ("first listing", "second listing", "fresh client"):
            if label == "fresh client":
                builder = client()
            proxy.clear()
            proxy.limit_log_range(args.limit)
            start = time.perf_counter()
            found = list(builder.plans.get_plans_registered_by(builder.address).plans)
            took = time.perf_counter() - start
            print(f"{label:15} right plans: {found == expected}  requests {len(proxy.calls()):4}  "
                  f"eth_getLogs {proxy.count('eth_getLogs'):4} (refused {proxy.count('eth_getLogs', 'rpc error')})"
                  f"  {took:6.2f} s")


if __name__ == "__main__":
    main()
