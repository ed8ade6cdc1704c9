"""Benchmark: deploy and wire the whole suite on a fresh embedded chain.

Prints, for the same suite in the same run:
  * nvm-chain's deployer (addresses precomputed, everything signed up front, AccessManager wiring in one
    multicall, explicit gas limits), and
  * a baseline written the way a plain web3.py script does it: one transaction at a time through
    ``contract.constructor(...).transact()`` / ``contract.functions.x(...).transact()``, with web3 estimating
    every gas limit and the role wiring sent as separate transactions.
The issue's goal is under 3 s for the deployer (the real v1.5.0 suite behind proxies takes 11-14 s on py-evm).

    python scripts/bench_deploy.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from eth_utils import keccak
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from nvm_chain.chain.abi import registry
from nvm_chain.sim import EmbeddedChain, Simulation
from nvm_chain.sim.deploy import (
    _LITERAL_ARGS,
    DEPLOY_ORDER,
    GOVERNOR_ROLE,
    ROLE_GRANTS,
    TARGET_ROLES,
)


def ours() -> float:
    started = time.perf_counter()
    Simulation.start(fees=True, chain=EmbeddedChain())
    return time.perf_counter() - started


def baseline() -> float:
    """The same contracts and wiring, sent one by one through web3's high-level contract API."""
    w3 = Web3(EthereumTesterProvider())
    owner = w3.eth.accounts[0]
    w3.eth.default_account = owner
    started = time.perf_counter()
    book: dict[str, str] = {}
    for name, args in DEPLOY_ORDER:
        art = registry()[name]
        values = []
        for a in args:
            values += [owner] if a == "@owner" else list(_LITERAL_ARGS[a]) if a.startswith("@") else [book[a]]
        contract = w3.eth.contract(abi=list(art.abi), bytecode=art.bytecode)
        receipt = w3.eth.wait_for_transaction_receipt(contract.constructor(*values).transact())
        book[name] = receipt.contractAddress
    manager = w3.eth.contract(address=book["AccessManager"], abi=list(registry()["AccessManager"].abi))
    for role, holders in ROLE_GRANTS:
        for holder in holders:
            w3.eth.wait_for_transaction_receipt(manager.functions.grantRole(role, book[holder], 0).transact())
    w3.eth.wait_for_transaction_receipt(manager.functions.grantRole(GOVERNOR_ROLE, owner, 0).transact())
    for contract, sigs, role in TARGET_ROLES:
        selectors = [keccak(text=s)[:4] for s in sigs]
        tx = manager.functions.setTargetFunctionRole(book[contract], selectors, role).transact()
        w3.eth.wait_for_transaction_receipt(tx)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="deployment benchmark on the embedded chain")
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    ours()  # warm-up: imports, artifact loading
    mine = statistics.median(ours() for _ in range(runs))
    base = statistics.median(baseline() for _ in range(runs))
    print(f"nvm-chain deployer (deploy + wire + fees + fund 7 accounts): {mine:6.2f} s  (median of {runs})")
    print(f"baseline web3 script (deploy + wire, one tx at a time):      {base:6.2f} s  (median of {runs})")
    print(f"ratio baseline / nvm-chain: {base / mine:.1f}x;  goal < 3 s: {'met' if mine < 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
