"""Side-by-side benchmark: nvm-chain against raw web3.py doing the same work, in one process, on the same chain
(prints a table of medians and ratios; asserts only that both sides got the same results).

The raw web3.py baselines are written the way a competent user writes them:

- "web3 default": ``contract.functions.f(...).build_transaction({"from", "nonce"})`` (web3 fills chain id, gas
  by ``eth_estimateGas`` and EIP-1559 fees), ``Account.sign_transaction``, ``send_raw_transaction``,
  ``wait_for_transaction_receipt``; reads with ``contract.functions.f(...).call()``; web3's default middleware.
- "web3 tuned": ``contract.encode_abi`` + a cached ``Account`` object, chain id, fees and nonces read once,
  fixed gas limits (no ``eth_estimateGas``), same send and wait.

The fee arithmetic and the configs tuples of the raw scripts come from ``nvm_chain.protocol`` (pure functions:
no requests), so every side registers exactly the same plan. JSON-RPC requests are counted at the provider.

Measures (medians of ``--reps`` repetitions):

1. CPU per built + signed ``FixedPaymentTemplate.order`` transaction (no chain).
2. The complete example on the embedded chain (py-evm, and revm) and on anvil: a test token minted, a plan
   registered (fee-inclusive ERC-20 price), approve + order, 50 credits minted, 10 redeemed by the plan owner,
   4 credit balances read; wall time and JSON-RPC requests, each repetition on the same snapshot.
3. 1,000 credit balances of one plan: ``get_plan_balances`` (one batch) against 1,000 ``get_plan_balance`` and
   a raw ``balanceOf`` loop.
4. A listing of 1,000 plans with their hooks: ``get_plans`` (Multicall3) against one ``get_plan`` per plan and
   a raw ``getPlan`` + ``getPlanHooks`` loop.
5. Orders per second through ``PlansAPI.order_plan`` (alternating an ERC-20 and a native plan; signing,
   approval, receipts and event decoding included) on py-evm, revm and anvil, against the raw scripts.

    python scripts/bench.py [--reps 5] [--holders 1000] [--plans 1000] [--sections cpu,example,balances,listing,orders]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nvm_chain.chain.abi import registry  # noqa: E402
from nvm_chain.chain.contracts import BoundContract  # noqa: E402
from nvm_chain.chain.tx.signer import LocalSigner  # noqa: E402
from nvm_chain.client import NvmChain, http_web3  # noqa: E402
from nvm_chain.protocol import configs, ids  # noqa: E402
from nvm_chain.protocol.fees import FeeSchedule, with_fees  # noqa: E402
from nvm_chain.protocol.models import PlanMetadata, RedemptionType  # noqa: E402
from nvm_chain.sim import RpcChain, Simulation  # noqa: E402
from nvm_chain.sim.accounts import test_key  # noqa: E402
from tests.counting import counted  # noqa: E402

KEY = "0x" + "5e" * 32  # throwaway benchmark key
TEMPLATE = "0x32037D176558Eb02f6980eFA14bde14B0C61d059"
RECEIVER = "0x" + "22" * 20
MUSD = 10**18
PRICE = 10 * MUSD
HOLDERS = ("subscriber", "builder", "agent", "fee_receiver")

Row = tuple[str, str, float, str, str]  # section, what, value, unit, note
ROWS: list[Row] = []


def median_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(median wall seconds, last result) of ``runs`` calls of ``fn``."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# ---------------------------------------------------------------------------------------------- 1. CPU


def _tx_fields(nonce: int) -> dict[str, Any]:
    return {"type": 2, "chainId": 84532, "nonce": nonce, "gas": 1_500_000, "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**6, "value": 0}


def cpu_nvm(n: int) -> float:
    signer = LocalSigner(KEY)
    template = BoundContract(registry()["FixedPaymentTemplate"], TEMPLATE)
    started = time.process_time()
    for i in range(n):
        req = template.tx("order", os.urandom(32), 12345 + i, RECEIVER, 1, [])
        signer.sign_transaction({**_tx_fields(i), "to": req.to, "data": req.data, "gas": req.gas})
    return (time.process_time() - started) / n


def cpu_web3_default(n: int) -> float:
    acct = Account.from_key(KEY)
    contract = Web3().eth.contract(address=TEMPLATE, abi=list(registry()["FixedPaymentTemplate"].abi))
    started = time.process_time()
    for i in range(n):
        tx = contract.functions.order(os.urandom(32), 12345 + i, RECEIVER, 1, []).build_transaction(
            {**_tx_fields(i), "from": acct.address})  # every field given: no provider needed
        acct.sign_transaction(tx)
    return (time.process_time() - started) / n


def cpu_web3_tuned(n: int) -> float:
    acct = Account.from_key(KEY)
    contract = Web3().eth.contract(address=TEMPLATE, abi=list(registry()["FixedPaymentTemplate"].abi))
    started = time.process_time()
    for i in range(n):
        data = contract.encode_abi("order", args=[os.urandom(32), 12345 + i, RECEIVER, 1, []])
        acct.sign_transaction({**_tx_fields(i), "to": TEMPLATE, "data": data})
    return (time.process_time() - started) / n


def section_cpu(reps: int, n: int = 300) -> None:
    for fn in (cpu_nvm, cpu_web3_default, cpu_web3_tuned):
        fn(20)  # warm-up
    ours = statistics.median(cpu_nvm(n) for _ in range(reps))
    default = statistics.median(cpu_web3_default(n) for _ in range(reps))
    tuned = statistics.median(cpu_web3_tuned(n) for _ in range(reps))
    ROWS.append(("CPU per built + signed order tx", "nvm-chain", ours * 1e3, "ms", ""))
    ROWS.append(("CPU per built + signed order tx", "web3 default (build_transaction + sign)", default * 1e3, "ms",
                 f"nvm-chain {default / ours:.1f}x faster (goal >= 3x)"))
    ROWS.append(("CPU per built + signed order tx", "web3 tuned (encode_abi + cached account)", tuned * 1e3, "ms",
                 f"nvm-chain {tuned / ours:.1f}x faster (goal >= 2x)"))


# ---------------------------------------------------------------------------------------------- chains


class Bench:
    """One chain with the suite deployed, and a fresh Web3 per contender (each counted at its provider)."""

    def __init__(self, name: str):
        self.name, self.node = name, None
        if name == "anvil":
            from tests.anvil import ANVIL, ANVIL_KEY, Anvil

            if not ANVIL.exists():
                raise SystemExit("anvil not installed: run `npm install`")
            self.node = Anvil()
            self.sim = Simulation.start(fees=True, chain=RpcChain(Web3(Web3.HTTPProvider(self.node.url))),
                                        owner=LocalSigner(ANVIL_KEY))
        else:
            self.sim = Simulation.start(fees=True, engine=name)

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()

    def nvm_w3(self) -> Web3:
        """A new connection of the kind ``NvmChain.connect`` makes: ``http_web3`` on anvil, the embedded chain's
        provider otherwise."""
        if self.node is not None:
            return http_web3(self.node.url)
        return self.sim.chain.connect()  # type: ignore[union-attr]

    def raw_w3(self) -> Web3:
        """A Web3 as a user builds it, with web3's default middleware, on the same chain."""
        if self.node is not None:
            return Web3(Web3.HTTPProvider(self.node.url))
        if self.name == "revm":
            from nvm_chain.sim.revm_chain import RevmProvider

            return Web3(RevmProvider(self.sim.chain.node))  # type: ignore[union-attr]
        from web3.providers.eth_tester import EthereumTesterProvider

        return Web3(EthereumTesterProvider(self.sim.chain.tester))  # type: ignore[union-attr]

    def client(self, w3: Web3, account: str | None) -> NvmChain:
        signer = self.sim.account(account).signer if account else None
        return NvmChain(w3, self.sim.book, signer, network="local" if self.node else "embedded",
                        simulation=None if self.node else self.sim)

    def isolated(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` run on a snapshot that is reverted afterwards (every repetition starts from the same state)."""
        def run() -> Any:
            snapshot = self.sim.chain.snapshot()
            try:
                return fn()
            finally:
                self.sim.chain.revert(snapshot)
        return run


# ---------------------------------------------------------------------------------------------- raw web3.py


class RawUser:
    """The raw web3.py scripts: ``tuned`` False is the default style, True the tuned one."""

    def __init__(self, w3: Web3, book: Any, tuned: bool):
        self.w3, self.book, self.tuned = w3, book, tuned
        self.abis = registry()
        self._chain_id: int | None = None
        self._fees: tuple[int, int] | None = None
        self._nonces: dict[str, int] = {}

    def contract(self, name: str, address: str | None = None) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(address or self.book[name]),
                                    abi=list(self.abis[name].abi))

    def send(self, acct: Any, contract: Any, fn: str, args: list[Any], *, signature: str | None = None,
             value: int = 0, gas: int = 1_000_000) -> Any:
        """Build, sign, send and wait; return the receipt (status checked)."""
        w3 = self.w3
        if not self.tuned:
            function = contract.get_function_by_signature(signature) if signature else contract.functions[fn]
            tx = function(*args).build_transaction({"from": acct.address, "value": value,
                                                    "nonce": w3.eth.get_transaction_count(acct.address)})
        else:
            if self._chain_id is None:
                self._chain_id = w3.eth.chain_id
                base = w3.eth.get_block("latest")["baseFeePerGas"]
                self._fees = (2 * base + 10**6, 10**6)
            if acct.address not in self._nonces:
                self._nonces[acct.address] = w3.eth.get_transaction_count(acct.address)
            nonce = self._nonces[acct.address]
            self._nonces[acct.address] += 1
            data = contract.encode_abi(signature or fn, args=args)
            assert self._fees is not None
            tx = {"type": 2, "chainId": self._chain_id, "nonce": nonce, "gas": gas, "to": contract.address,
                  "maxFeePerGas": self._fees[0], "maxPriorityFeePerGas": self._fees[1], "value": value, "data": data}
        tx_hash = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"{fn} failed"
        return receipt

    def register_plan(self, builder: Any) -> int:
        nvm_config, registry_ = self.contract("NVMConfig"), self.contract("AssetsRegistry")
        receiver = nvm_config.functions.getFeeReceiver().call()
        controller = nvm_config.functions.getDefaultFeeController().call()
        crypto, fiat, denominator = self.contract("ProtocolStandardFees", controller).functions.getFeeRates().call()
        price = with_fees(configs.get_erc20_price_config(PRICE, self.book["MockERC20"], builder.address),
                          FeeSchedule(receiver, crypto, fiat, denominator))
        credits = configs.set_redemption_type(configs.set_onchain_mirror(configs.get_fixed_credits_config(100)),
                                              RedemptionType.ONLY_OWNER).with_nft(self.book["NFT1155Credits"])
        receipt = self.send(builder, registry_, "createPlan", [price.as_tuple(), credits.as_tuple(), 7])
        return int(registry_.events.PlanRegistered().process_receipt(receipt)[0]["args"]["planId"])

    def order(self, buyer: Any, plan_id: int) -> None:
        plan = self.contract("AssetsRegistry").functions.getPlan(plan_id).call()
        token, total = plan[1][1], sum(plan[1][2])
        if token == "0x" + "00" * 20:
            self.send(buyer, self.contract("FixedPaymentTemplate"), "order",
                      [os.urandom(32), plan_id, buyer.address, 1, []], value=total)
            return
        self.send(buyer, self.contract("MockERC20", token), "approve", [self.book["PaymentsVault"], total],
                  gas=100_000)
        self.send(buyer, self.contract("FixedPaymentTemplate"), "order",
                  [os.urandom(32), plan_id, buyer.address, 1, []])

    def example(self, accounts: dict[str, Any]) -> list[int]:
        builder, subscriber = accounts["builder"], accounts["subscriber"]
        self.send(subscriber, self.contract("MockERC20"), "mint", [subscriber.address, 100 * MUSD], gas=100_000)
        plan_id = self.register_plan(builder)
        self.order(subscriber, plan_id)
        credits = self.contract("NFT1155Credits")
        self.send(builder, credits, "mint", [subscriber.address, plan_id, 50, b""],
                  signature="mint(address,uint256,uint256,bytes)")
        self.send(builder, credits, "burn", [subscriber.address, plan_id, 10, 0, b""],
                  signature="burn(address,uint256,uint256,uint256,bytes)")
        return [credits.functions.balanceOf(accounts[h].address, plan_id).call() for h in HOLDERS]


def nvm_example(bench: Bench, w3: Web3) -> list[int]:
    """The complete example through the client (four balances in one batch read)."""
    builder, subscriber = bench.client(w3, "builder"), bench.client(w3, "subscriber")
    token = bench.sim.book["MockERC20"]
    subscriber.sender.send(subscriber.contracts.at("MockERC20", token).tx("mint", subscriber.address, 100 * MUSD))
    plans = builder.plans
    price = plans.get_erc20_price_config(PRICE, token, builder.address)
    credits = plans.set_redemption_type(plans.set_onchain_mirror(plans.get_fixed_credits_config(100)),
                                        RedemptionType.ONLY_OWNER)
    plan_id = plans.register_credits_plan(PlanMetadata(name="bench"), price, credits, nonce=7).plan_id
    subscriber.plans.order_plan(plan_id)
    plans.mint_plan_credits(plan_id, 50, subscriber.address)
    plans.redeem_credits(plan_id, subscriber.address, 10)
    holders = [bench.sim.account(h).address for h in HOLDERS]
    return [b.balance for b in subscriber.plans.get_plan_balances(plan_id, holders)]


def raw_accounts() -> dict[str, Any]:
    return {name: Account.from_key(test_key(name)) for name in HOLDERS}


def section_example(bench: Bench, reps: int) -> None:
    section = f"complete example, {bench.name}"
    results, figures = {}, {}
    contenders: list[tuple[str, Callable[[], Web3], Callable[[Web3], list[int]]]] = [
        ("nvm-chain", bench.nvm_w3, lambda w3: nvm_example(bench, w3)),
        ("web3 default", bench.raw_w3, lambda w3: RawUser(w3, bench.sim.book, False).example(raw_accounts())),
        ("web3 tuned", bench.raw_w3, lambda w3: RawUser(w3, bench.sim.book, True).example(raw_accounts())),
    ]
    for name, make_w3, run in contenders:
        counts: list[int] = []

        def once(make_w3: Callable[[], Web3] = make_w3, run: Callable[[Web3], list[int]] = run,
                 counts: list[int] = counts) -> list[int]:
            w3 = make_w3()  # a new connection each time: nothing learnt by an earlier repetition is reused
            with counted(w3) as sent:
                out = run(w3)
            counts.append(len(sent))
            return out

        bench.isolated(once)()  # warm-up (imports, ABI caches)
        counts.clear()
        seconds, results[name] = median_of(reps, bench.isolated(once))
        figures[name] = (seconds, int(statistics.median(counts)))
    assert len({tuple(r) for r in results.values()}) == 1, f"different balances: {results}"
    ours_s, ours_n = figures["nvm-chain"]
    for name, (seconds, requests) in figures.items():
        note = "" if name == "nvm-chain" else (f"nvm-chain {seconds / ours_s:.1f}x faster, "
                                               f"{ours_n / requests:.2f}x the requests")
        ROWS.append((section, f"{name}: wall", seconds * 1e3, "ms", note))
        ROWS.append((section, f"{name}: JSON-RPC requests", requests, "", ""))


# ---------------------------------------------------------------------------------------------- 3-4. batch reads


def _holders(n: int) -> list[str]:
    return [to_checksum_address(keccak(b"bench" + i.to_bytes(4, "big"))[12:]) for i in range(n)]


def section_balances(bench: Bench, reps: int, n: int) -> None:
    section = f"{n} credit balances of one plan, {bench.name}"
    builder = bench.client(bench.nvm_w3(), "builder")
    plans = builder.plans
    pid = plans.register_credits_plan(None, plans.get_free_price_config(),
                                      plans.set_onchain_mirror(plans.get_fixed_credits_config(100))).plan_id
    holders = _holders(n)
    for i in range(0, n, 100):
        plans.mint_plan_credits(pid, i + 1, holders[i])
    reader = bench.client(bench.nvm_w3(), None)
    raw = bench.raw_w3()
    nft = RawUser(raw, bench.sim.book, False).contract("NFT1155Credits")
    single, one_by_one = median_of(reps, lambda: [reader.plans.get_plan_balance(pid, h) for h in holders])
    loop, raw_values = median_of(reps, lambda: [nft.functions.balanceOf(h, pid).call() for h in holders])
    batch, batched = median_of(reps, lambda: reader.plans.get_plan_balances(pid, holders))
    assert batched == one_by_one and [b.balance for b in batched] == raw_values
    ROWS.append((section, "get_plan_balance x holders", single * 1e3, "ms", ""))
    ROWS.append((section, "web3 balanceOf(...).call() x holders", loop * 1e3, "ms", ""))
    ROWS.append((section, "get_plan_balances (one batch)", batch * 1e3, "ms",
                 f"{single / batch:.0f}x faster than single reads (goal >= 50x), {loop / batch:.0f}x than web3"))


def section_listing(bench: Bench, reps: int, n: int) -> None:
    section = f"listing {n} plans with hooks, {bench.name}"
    builder = bench.client(bench.nvm_w3(), "builder")
    plans = builder.plans
    price, credits = plans.prepare_plan(plans.get_free_price_config(),
                                        plans.set_onchain_mirror(plans.get_fixed_credits_config(100)))
    registry_ = builder.contracts.AssetsRegistry
    hook = bench.sim.book["OneTimeCreatorHook"]
    requests, pids = [], []
    for i in range(n):
        nonce = 10_000 + i
        if i % 2:
            requests.append(registry_.tx("createPlanWithHooks", price.as_tuple(), credits.as_tuple(), [hook], nonce))
        else:
            requests.append(registry_.tx("createPlan", price.as_tuple(), credits.as_tuple(), nonce))
        pids.append(ids.plan_id(price.as_tuple(), credits.as_tuple(), builder.address, nonce))
    for i in range(0, n, 200):
        builder.sender.send_batch(requests[i:i + 200])
    reader = bench.client(bench.nvm_w3(), None)
    raw_registry = RawUser(bench.raw_w3(), bench.sim.book, False).contract("AssetsRegistry")
    each, listed_each = median_of(reps, lambda: [reader.plans.get_plan(p) for p in pids])
    loop, _ = median_of(reps, lambda: [(raw_registry.functions.getPlan(p).call(),
                                        raw_registry.functions.getPlanHooks(p).call()) for p in pids])
    many, listed = median_of(reps, lambda: reader.plans.get_plans(pids))
    assert listed == listed_each and sum(1 for p in listed if p.hooks) == n // 2
    ROWS.append((section, "get_plan x plans", each * 1e3, "ms", ""))
    ROWS.append((section, "web3 getPlan + getPlanHooks x plans", loop * 1e3, "ms", ""))
    ROWS.append((section, "get_plans (Multicall3)", many * 1e3, "ms",
                 f"{each / many:.0f}x faster than single reads, {loop / many:.0f}x than web3"))


# ---------------------------------------------------------------------------------------------- 5. orders/s


def section_orders(bench: Bench, reps: int, orders: int) -> None:
    section = f"orders per second, {bench.name}"
    builder = bench.client(bench.nvm_w3(), "builder")
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(10))
    prices = (plans.get_erc20_price_config(1_000_000, bench.sim.book["MockERC20"], builder.address),
              plans.get_native_token_price_config(1_000_000, builder.address))
    pids = [plans.register_credits_plan(None, price, credits).plan_id for price in prices]

    def ours() -> float:
        subscriber = bench.client(bench.nvm_w3(), "subscriber")
        started = time.perf_counter()
        for i in range(orders):
            subscriber.plans.order_plan(pids[i % 2])
        return orders / (time.perf_counter() - started)

    def raw(tuned: bool) -> Callable[[], float]:
        def run() -> float:
            user, buyer = RawUser(bench.raw_w3(), bench.sim.book, tuned), Account.from_key(test_key("subscriber"))
            started = time.perf_counter()
            for i in range(orders):
                user.order(buyer, pids[i % 2])
            return orders / (time.perf_counter() - started)
        return run

    rates = {}
    for name, fn in (("nvm-chain order_plan", ours), ("web3 default", raw(False)), ("web3 tuned", raw(True))):
        bench.isolated(fn)()  # warm-up
        rates[name] = statistics.median(bench.isolated(fn)() for _ in range(reps))
    for name, rate in rates.items():
        note = "" if name.startswith("nvm") else f"nvm-chain {rates['nvm-chain order_plan'] / rate:.1f}x"
        ROWS.append((section, f"{name} ({orders} orders/rep)", rate, "orders/s", note))


# ---------------------------------------------------------------------------------------------- main


def print_table() -> None:
    width = max(len(r[1]) for r in ROWS) + 2
    current = None
    for section, what, value, unit, note in ROWS:
        if section != current:
            print(f"\n{section}")
            current = section
        shown = f"{value:,.0f}" if unit in ("", "ms") and value >= 100 else f"{value:,.2f}"
        print(f"  {what:<{width}}{shown:>12} {unit:<9}{note}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--holders", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--chains", default="pyevm,revm,anvil", help="comma-separated: pyevm, revm, anvil")
    parser.add_argument("--sections", default="cpu,example,balances,listing,orders")
    parser.add_argument("--orders", default="pyevm=10,revm=200,anvil=100", help="orders per repetition per chain")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    orders = {k: int(v) for k, v in (item.split("=") for item in args.orders.split(","))}
    if "cpu" in sections:
        section_cpu(args.reps)
    for name in args.chains.split(","):
        bench = Bench(name)
        try:
            if "example" in sections:
                section_example(bench, args.reps)
            if "balances" in sections:
                section_balances(bench, args.reps, args.holders)
            if "listing" in sections:
                section_listing(bench, args.reps, args.plans)
            if "orders" in sections:
                section_orders(bench, args.reps, orders.get(name, 20))
        finally:
            bench.close()
    print(f"median of {args.reps} repetitions; requests counted at the provider")
    print_table()


if __name__ == "__main__":
    main()
