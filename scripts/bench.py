"""Benchmark of the client (prints figures; asserts nothing). Each figure is measured in the same run as
its baseline, a hand-written raw web3.py equivalent of the same work.

1. client CPU per built and signed transaction (FixedPaymentTemplate.order calldata + type-2 signature):
   nvm-chain (eth_abi encoding of the cached ABI entry + eth-account signing) against web3.py
   (``contract.functions.order(...).build_transaction`` with every field given + eth-account signing).
   Goal: faster than raw web3.py.
2. JSON-RPC requests per ``order_plan`` of an ERC-20 plan (approve + order) against anvil on 127.0.0.1:
   nvm-chain against a raw web3.py script with web3's default middleware. Goal: at most half.
3. wall time of ``nvm-chain demo`` on the embedded chain, deployment included. Goal: under 10 s.
4. wall time of ``nvm-chain --help`` against a bare ``python -c pass``. Goal: under 0.5 s.

    python scripts/bench.py [--n 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from eth_account import Account
from web3 import Web3

from nvm_chain.chain.abi import registry
from nvm_chain.chain.contracts import BoundContract
from nvm_chain.chain.tx.signer import LocalSigner

KEY = "0x" + "5e" * 32  # throwaway benchmark key
TEMPLATE = "0x32037D176558Eb02f6980eFA14bde14B0C61d059"
RECEIVER = "0x" + "22" * 20


def _tx_fields(nonce: int) -> dict:
    return {"type": 2, "chainId": 84532, "nonce": nonce, "gas": 1_500_000, "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**6, "value": 0}


def cpu_ours(n: int) -> float:
    signer = LocalSigner(KEY)
    template = BoundContract(registry()["FixedPaymentTemplate"], TEMPLATE)
    started = time.perf_counter()
    for i in range(n):
        req = template.tx("order", os.urandom(32), 12345 + i, RECEIVER, 1, [])
        signer.sign_transaction({**_tx_fields(i), "to": req.to, "data": req.data, "gas": req.gas})
    return (time.perf_counter() - started) / n


def cpu_web3(n: int) -> float:
    w3 = Web3()  # no provider needed: every field is given
    acct = Account.from_key(KEY)
    contract = w3.eth.contract(address=TEMPLATE, abi=list(registry()["FixedPaymentTemplate"].abi))
    started = time.perf_counter()
    for i in range(n):
        tx = contract.functions.order(os.urandom(32), 12345 + i, RECEIVER, 1, []).build_transaction(
            {**_tx_fields(i), "from": acct.address})
        acct.sign_transaction(tx)
    return (time.perf_counter() - started) / n


class CountingProvider(Web3.HTTPProvider):
    """An HTTP provider that counts the JSON-RPC requests it sends."""

    def __init__(self, url: str):
        super().__init__(url, exception_retry_configuration=None)
        self.methods: list[str] = []

    def make_request(self, method, params):
        self.methods.append(method)
        return super().make_request(method, params)


def rpc_per_order() -> tuple[list[str], list[str]]:
    """JSON-RPC requests of one ERC-20 order (approve + order) by nvm-chain and by a raw web3.py script."""
    from nvm_chain.client import NvmChain
    from nvm_chain.sim import RpcChain, Simulation
    from nvm_chain.sim.accounts import test_key
    from tests.anvil import ANVIL_KEY, Anvil

    node = Anvil()
    try:
        sim = Simulation.start(fees=True, chain=RpcChain(Web3(Web3.HTTPProvider(node.url))),
                               owner=LocalSigner(ANVIL_KEY))
        builder = NvmChain(sim.w3, sim.book, sim.account("builder").signer, network="local")
        plans = builder.plans
        price = plans.get_erc20_price_config(10**18, sim.book["MockERC20"], builder.address)
        plan = plans.register_credits_plan(None, price, plans.set_onchain_mirror(plans.get_fixed_credits_config(100)))
        buyer = sim.account("subscriber")

        ours = CountingProvider(node.url)
        w3 = Web3(ours)
        w3.middleware_onion.remove("validation")  # what nvm_chain.client.http_web3 does
        NvmChain(w3, sim.book, buyer.signer, network="local").plans.order_plan(plan.plan_id)

        raw = CountingProvider(node.url)
        _raw_web3_order(Web3(raw), sim.book, plan.plan_id, Account.from_key(test_key("subscriber")))
        return ours.methods, raw.methods
    finally:
        node.stop()


def _raw_web3_order(w3: Web3, book, plan_id: int, acct) -> None:
    """How a user writes an ERC-20 order with plain web3.py: read the price, approve, order."""
    abis = registry()
    contract = lambda name, address=None: w3.eth.contract(  # noqa: E731
        address=address or book[name], abi=list(abis[name].abi))
    registry_c, template = contract("AssetsRegistry"), contract("FixedPaymentTemplate")
    plan = registry_c.functions.getPlan(plan_id).call()
    token, total = plan[1][1], sum(plan[1][2])
    erc20 = contract("MockERC20", token)
    if erc20.functions.allowance(acct.address, book["PaymentsVault"]).call() < total:
        tx = erc20.functions.approve(book["PaymentsVault"], total).build_transaction(
            {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address)})
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction))
    tx = template.functions.order(os.urandom(32), plan_id, acct.address, 1, []).build_transaction(
        {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address)})
    tx_hash = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1


def wall(argv: list[str], runs: int = 5) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="nvm-chain client benchmark")
    parser.add_argument("--n", type=int, default=500, help="transactions per CPU measurement")
    n = parser.parse_args().n
    cpu_ours(20), cpu_web3(20)  # warm-up
    ours, raw = cpu_ours(n), cpu_web3(n)
    print(f"1. build+sign one order tx:  nvm-chain {ours * 1e6:7.0f} us   raw web3.py {raw * 1e6:7.0f} us   "
          f"ratio {raw / ours:.1f}x faster (goal: faster than raw web3.py)")

    mine, theirs = rpc_per_order()
    print(f"2. JSON-RPC requests per order_plan (approve + order, anvil): nvm-chain {len(mine)}   "
          f"raw web3.py {len(theirs)}   ratio {len(mine) / len(theirs):.2f} (goal: at most 0.5)")
    print(f"   nvm-chain:   {', '.join(mine)}")
    print(f"   raw web3.py: {', '.join(theirs)}")

    from nvm_chain.scenarios.demo import run_demo

    seconds = run_demo()["seconds"]
    command = wall([sys.executable, "-m", "nvm_chain.cli", "demo", "--json"], runs=1)
    print(f"3. demo on the embedded chain, deployment included: {seconds:.2f} s in-process, "
          f"{command:.2f} s as a command (goal: under 10 s)")

    help_time = wall([sys.executable, "-m", "nvm_chain.cli", "--help"])
    bare = wall([sys.executable, "-c", "pass"])
    print(f"4. nvm-chain --help: {help_time:.3f} s (bare python {bare:.3f} s, +{help_time - bare:.3f} s) "
          f"(goal: under 0.5 s)")


if __name__ == "__main__":
    main()
