"""Event scans against real JSON-RPC nodes behind the fault proxy (tests/faults.py): long chains, providers that
refuse large ``eth_getLogs`` ranges or rate-limit, the on-disk index of scanned ranges, and reorgs.

Requests are counted at the proxy. The 200,000-block chain is the revm devnet served over HTTP: anvil 1.7 mines
in time proportional to the chain's length per block (200,000 blocks would take hours on this machine), while
the revm node mines them in seconds; anvil serves the reorg and rate-limit cases on shorter chains.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from nvm_chain.chain.getlogs import get_logs
from nvm_chain.chain.logindex import index_path
from nvm_chain.chain.rpc import RetryPolicy
from nvm_chain.client import NvmChain
from nvm_chain.errors import LogScanError, NodeUnavailableError, PlanNotFoundError, ScanIndexWarning
from nvm_chain.protocol import configs, ids
from tests import faults
from tests.faults import FaultProxy, rpc

faults_sim, faulty = faults.faults_sim, faults.faulty  # the anvil fixtures

META = {"name": "scanned plan"}


def register(client: NvmChain) -> tuple[int, int]:
    """Register a free credits plan; (plan id, block)."""
    plan = client.plans.register_credits_plan(META, configs.get_free_price_config(),
                                              configs.set_onchain_mirror(configs.get_fixed_credits_config(10)))
    return plan.plan_id, plan.tx.block_number


def web3_through(url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}, exception_retry_configuration=None))
    w3.middleware_onion.remove("validation")
    return w3


def client_of(w3: Web3, sim: Any, account: str, state_dir: Any) -> NvmChain:
    client = NvmChain(w3, sim.book, sim.account(account).signer, network="local")
    client.ctx.state_dir = state_dir
    return client


# ---------------------------------------------------------------------------------------------- 200,000 blocks


@pytest.fixture(scope="module")
def revm_devnet() -> Iterator[tuple[Any, str]]:
    """The protocol on the revm engine, served over HTTP on 127.0.0.1: (Simulation, url)."""
    from nvm_chain.sim import Simulation
    from nvm_chain.sim.devnet import DevnetServer

    sim = Simulation.start(engine="revm")
    with DevnetServer(sim.chain) as server:
        yield sim, server.url


@pytest.mark.slow
def test_a_scan_over_200000_blocks_through_a_provider_refusing_large_ranges(revm_devnet, tmp_path):
    sim, url = revm_devnet
    with FaultProxy(url) as proxy:
        w3 = web3_through(proxy.url)
        builder, other = client_of(w3, sim, "builder", tmp_path), client_of(w3, sim, "subscriber", tmp_path)
        deployed = sim.book.block_number
        early, early_block = register(builder)
        for _ in range(20):
            rpc(url, "evm_mine", [{"blocks": 10_000}])
        late, late_block = register(builder)
        theirs, _ = register(other)
        assert late_block - early_block > 200_000 and early_block - deployed < 100

        proxy.clear()
        proxy.limit_log_range(2000)
        seen: list[tuple[int, int]] = []
        listing = builder.plans.get_plans_registered_by(builder.address, progress=lambda d, t: seen.append((d, t)))
        assert listing.plans == (early, late)
        head = w3.eth.block_number
        requests, refused = proxy.count("eth_getLogs"), proxy.count("eth_getLogs", "rpc error")
        assert 100 <= requests - refused <= 115  # 200,000+ blocks in ranges of at most 2,000 (close to it)
        assert 1 <= refused <= 10
        assert seen[0] == (0, head - deployed + 1) and seen[-1] == (head - deployed + 1, head - deployed + 1)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert index_path(sim.book.chain_id, "0x" + bytes(w3.eth.get_block(0)["hash"]).hex(), tmp_path).exists()

        # the second listing scans only what the index lacks: the unconfirmed tail
        proxy.clear()
        proxy.limit_log_range(2000)
        assert builder.plans.get_plans_registered_by(builder.address).plans == (early, late)
        assert proxy.count("eth_getLogs") == 1 and len(proxy.calls()) <= 6
        # a new plan is found, still in a handful of requests; another creator's plans are another query
        newest, _ = register(builder)
        proxy.clear()
        proxy.limit_log_range(2000)
        assert builder.plans.get_plans_registered_by(builder.address).plans == (early, late, newest)
        assert proxy.count("eth_getLogs") == 1 and len(proxy.calls()) <= 6
        assert other.plans.get_plans_registered_by(other.address).plans == (theirs,)
        # the on-chain records behind the listed ids
        assert {builder.plans.get_plan(p).owner for p in (early, late, newest)} == {builder.address}


# ---------------------------------------------------------------------------------------------- anvil


@pytest.mark.slow
def test_a_reorg_below_the_indexed_blocks_is_detected_and_rescanned(faulty, tmp_path):
    builder = client_of(faulty.w3, faulty.sim, "builder", tmp_path)
    # Infura's wording and code: -32005 is also its rate-limit code, but this one is a refusal
    faulty.proxy.limit_log_range(50, "query returned more than 10000 results", code=-32005)
    first, _ = register(builder)
    fork = faulty.anvil("evm_snapshot")
    dropped, _ = register(builder)
    faulty.anvil("anvil_mine", [hex(300)])
    assert builder.plans.get_plans_registered_by(builder.address).plans == (first, dropped)
    assert faulty.proxy.count("eth_getLogs", "forwarded") >= 6  # 300+ blocks, at most 50 per request

    # the chain loses `dropped` (reverted) and mines another history of the same length
    faulty.anvil("evm_revert", [fork])
    fresh = client_of(faulty.w3, faulty.sim, "builder", tmp_path)  # a later process: only the file is shared
    kept, _ = register(fresh)
    faulty.anvil("anvil_mine", [hex(300)])
    with pytest.raises(PlanNotFoundError):
        fresh.plans.get_plan(dropped)
    before = faulty.proxy.count("eth_getLogs", "forwarded")
    assert fresh.plans.get_plans_registered_by(fresh.address).plans == (first, kept)
    assert faulty.proxy.count("eth_getLogs", "forwarded") - before >= 6  # the stale index was dropped
    # and now the index is that of this history: only the unconfirmed tail (64 blocks) is fetched again
    before = faulty.proxy.count("eth_getLogs")
    assert fresh.plans.get_plans_registered_by(fresh.address).plans == (first, kept)
    assert faulty.proxy.count("eth_getLogs") - before <= 3  # a refusal of the 65 blocks, then 2 halves


def test_the_default_start_is_the_deployment_block_and_from_block_0_scans_everything(faulty, tmp_path):
    builder = client_of(faulty.w3, faulty.sim, "builder", tmp_path)
    old, old_block = register(builder)
    faulty.anvil("anvil_mine", [hex(5)])
    book = faulty.sim.book.model_copy(update={"block_number": old_block + 1})  # "deployed" after that plan
    later = NvmChain(faulty.w3, book, faulty.sim.account("builder").signer, network="local")
    later.ctx.state_dir = tmp_path
    new, _ = register(later)
    assert later.plans.get_plans_registered_by(later.address).plans == (new,)
    assert later.plans.get_plans_registered_by(later.address, from_block=0).plans == (old, new)
    assert later.plans.get_plans_registered_by(later.address, from_block=old_block,
                                               to_block=old_block).plans == (old,)


@pytest.mark.slow
def test_agents_of_a_plan_from_the_index_follow_later_changes(faulty, tmp_path):
    builder = client_of(faulty.w3, faulty.sim, "builder", tmp_path)
    plan, _ = register(builder)
    registry, send = builder.contracts.AssetsRegistry, builder.sender.send

    def agent(n: int, plans: list[int]) -> int:
        seed = n.to_bytes(32, "big")
        send(registry.tx("register", seed, f"https://agent{n}.example", plans))
        return ids.agent_id(seed, builder.address)

    one, two = agent(1, [plan]), agent(2, [])
    faulty.anvil("anvil_mine", [hex(200)])  # the registrations are now confirmed: they go into the index
    faulty.proxy.limit_log_range(50)
    assert builder.plans.get_agents_associated_to_plan(plan).agents == (one,)
    send(registry.tx("addPlanToAgent", two, plan))
    send(registry.tx("removePlanFromAgent", one, plan))
    before = faulty.proxy.count("eth_getLogs")
    assert builder.plans.get_agents_associated_to_plan(plan).agents == (two,)
    assert faulty.proxy.count("eth_getLogs") - before <= 6  # the unconfirmed tail of the two queries
    assert builder.agents.get_agent_plans(two).plans == (plan,) and builder.agents.get_agent_plans(one).plans == ()


@pytest.mark.slow
def test_rate_limited_getlogs_are_retried_honouring_retry_after(faulty, tmp_path):
    builder = client_of(faulty.w3, faulty.sim, "builder", tmp_path)
    plan, _ = register(builder)
    faulty.proxy.fail("eth_getLogs", 429, times=2, retry_after="0")
    faulty.proxy.rpc_error("eth_getLogs", "project ID request rate exceeded", -32005)
    assert builder.plans.get_plans_registered_by(builder.address).plans == (plan,)
    assert faulty.proxy.count("eth_getLogs", "http 429") == 2 and faulty.proxy.count("eth_getLogs", "rpc error") == 1

    params = {"address": builder.book["AssetsRegistry"], "fromBlock": 0, "toBlock": "latest"}
    faulty.proxy.clear()
    faulty.proxy.fail("eth_getLogs", 429, times=1, retry_after="2.5")
    started = time.monotonic()
    assert len(get_logs(faulty.w3, params)) >= 1  # the registration's logs
    assert time.monotonic() - started >= 2.5 and faulty.proxy.count("eth_getLogs") == 2  # Retry-After honoured

    faulty.proxy.fail("eth_getLogs", 429, times=None)
    with pytest.raises(NodeUnavailableError, match="HTTP 429") as caught:
        get_logs(faulty.w3, params, policy=RetryPolicy(attempts=3))
    assert "127.0.0.1" in str(caught.value) and "?" not in str(caught.value)  # the host, never a path or query


def test_a_range_refused_even_at_one_block_is_a_typed_error(faulty, tmp_path):
    builder = client_of(faulty.w3, faulty.sim, "builder", tmp_path)
    faulty.proxy.rpc_error("eth_getLogs", "query returned more than 10000 results", -32005, times=None)
    with pytest.raises(LogScanError, match="refused eth_getLogs") as caught:
        builder.plans.get_plans_registered_by(builder.address)
    assert caught.value.exit_code == 6 and caught.value.blocks is not None
    assert caught.value.blocks[0] == caught.value.blocks[1]  # it went down to a single block


def test_an_unusable_state_directory_warns_and_the_scan_goes_on(faulty, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    builder = client_of(faulty.w3, faulty.sim, "builder", blocked)
    plan, _ = register(builder)
    with pytest.warns(ScanIndexWarning, match="scanning without it"):
        assert builder.plans.get_plans_registered_by(builder.address).plans == (plan,)
    assert blocked.read_text() == ""  # untouched
