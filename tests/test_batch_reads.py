"""Batch reads (Multicall3, ``balanceOfBatch``) on the embedded chain and on anvil.

Every batch is checked against the single reads it replaces, and its cost is checked by counting the JSON-RPC
requests that reach the provider (``make_request`` wrapped for the duration of the read).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak, to_checksum_address

from nvm_chain.chain.abi import registry, selector
from nvm_chain.chain.multicall import (
    MULTICALL3_ADDRESS,
    balances_of_batch,
    call_many,
    decode,
    multicall,
    plan_records,
)
from nvm_chain.chain.networks import AddressBook
from nvm_chain.client import NvmChain
from nvm_chain.errors import ConfigurationError, ContractRevertError, PlanNotFoundError, ValidationError
from nvm_chain.protocol import ids
from nvm_chain.protocol.models import PlanMetadata
from nvm_chain.services.plans.reads import CREDITS_MINTER_ROLE
from tests.counting import counted

META = PlanMetadata(name="Batch plan")


#: what web3 adds around a call when the provider is used without the client's own setup: the validation
#: middleware's ``eth_chainId`` and, on eth-tester, the default-account lookups (``eth_accounts``). Each batch read
#: below is one request of real work plus at most these five.
OVERHEAD = ("eth_chainId", "eth_accounts")


def work(requests: list[str]) -> list[str]:
    """The requests that do the reading (without web3's per-request :data:`OVERHEAD`)."""
    return [m for m in requests if m not in OVERHEAD]


def strangers(n: int) -> list[str]:
    """``n`` distinct addresses that hold nothing."""
    return [to_checksum_address(keccak(b"holder" + i.to_bytes(4, "big"))[12:]) for i in range(n)]


def credits_plan(client: NvmChain, amount: int = 100) -> int:
    plans = client.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(amount))
    return plans.register_credits_plan(META, plans.get_free_price_config(), credits).plan_id


# ---------------------------------------------------------------------------------------------- the contract


def test_multicall3_sits_at_the_canonical_address_with_the_canonical_interface(world):
    w3, book = world.sim.w3, world.sim.book
    assert book["Multicall3"] == MULTICALL3_ADDRESS
    assert len(w3.eth.get_code(MULTICALL3_ADDRESS)) > 0
    art = registry()["Multicall3"]
    assert selector(art.entry("aggregate3")).hex() == "82ad56cb"
    assert {e["name"]: selector(e).hex() for e in art.abi if e["type"] == "function"} == {
        "aggregate": "252dba42", "aggregate3": "82ad56cb", "getBlockNumber": "42cbb15c",
        "getCurrentBlockTimestamp": "0f28c97d", "getEthBalance": "4d2301cc"}

    mc = world.client("subscriber").contracts.Multicall3
    who = world.address("subscriber")
    calls = [(mc, "getBlockNumber", ()), (mc, "getCurrentBlockTimestamp", ()), (mc, "getEthBalance", (who,))]
    results = call_many(w3, MULTICALL3_ADDRESS, calls)
    number, stamp, balance = [decode(mc, fn, r) for (_, fn, _), r in zip(calls, results)]
    latest = w3.eth.get_block("latest")
    assert (number, stamp, balance) == (latest["number"], latest["timestamp"], w3.eth.get_balance(who))

    # aggregate: every call must succeed; its block number comes back with the results
    registry_ = world.client("subscriber").contracts.AssetsRegistry
    raw = w3.eth.call({"to": MULTICALL3_ADDRESS, "data": mc.calldata(
        "aggregate", [(registry_.address, registry_.calldata("getTotalAgents"))])})
    block, outputs = mc.decode("aggregate", bytes(raw))
    assert block == latest["number"] and [registry_.decode("getTotalAgents", o) for o in outputs] == [
        world.proto.call("AssetsRegistry", "getTotalAgents")]


def test_a_failing_call_inside_a_batch_decodes_to_its_typed_error(world):
    builder = world.client("builder")
    pid = credits_plan(builder)
    nft = builder.contracts.NFT1155Credits
    registry_ = builder.contracts.AssetsRegistry
    # minting from Multicall3 (not the plan owner, no CREDITS_MINTER_ROLE) reverts inside the batch only
    results = call_many(world.sim.w3, world.sim.book["Multicall3"], [
        (registry_, "getPlan", (pid,)),
        (nft, "mint", (world.address("subscriber"), pid, 1, b"")),
        (nft, "balanceOf", (world.address("subscriber"), pid)),
    ])
    assert [r.success for r in results] == [True, False, True]
    assert decode(registry_, "getPlan", results[0])[0] == builder.address
    reason = results[1].revert_reason()
    assert reason is not None and reason.name == "InvalidRole"
    assert list(reason.args.values()) == [MULTICALL3_ADDRESS, CREDITS_MINTER_ROLE]  # InvalidRole(sender, role)
    with pytest.raises(ContractRevertError) as info:
        decode(nft, "mint", results[1])
    assert info.value.error_name == "InvalidRole" and "NFT1155Credits.mint" in str(info.value)
    assert decode(nft, "balanceOf", results[2]) == 0
    assert results[0].revert_reason() is None and results[0].unwrap() == results[0].return_data


# ---------------------------------------------------------------------------------------------- balances


@pytest.mark.slow
def test_a_thousand_balances_equal_the_single_reads_in_a_handful_of_requests(world):
    builder = world.client("builder")
    pid = credits_plan(builder)
    holders = strangers(997)
    minted = {holders[3]: 5, holders[500]: 7, holders[996]: 11}
    for holder, amount in minted.items():
        builder.plans.mint_plan_credits(pid, amount, holder)
    holders += [world.address(n) for n in ("subscriber", "agent", "relayer")]
    reader = world.client("agent").plans

    with counted(world.sim.w3) as requests:
        batch = reader.get_plan_balances(pid, holders)
    # getPlan, the block every chunk reads at, two balanceOfBatch chunks of 500 (2,000 requests one by one)
    assert work(requests) == ["eth_call", "eth_blockNumber", "eth_call", "eth_call"]
    assert len(batch) == 1_000 and len(requests) <= 6 * 4, requests

    assert [b.balance for b in batch] == [minted.get(h, 0) for h in holders]
    assert [b.holder_address for b in batch] == holders
    for i in sorted({3, 500, 996, 0, 250, 999}):
        assert batch[i] == reader.get_plan_balance(pid, holders[i])
    assert reader.get_plan_balances(pid, []) == []


def test_expired_credits_are_excluded_from_a_batch_as_from_a_single_read(world_embedded):
    world = world_embedded
    builder = world.client("builder")
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_expirable_duration_config(3600))
    pid = plans.register_time_plan(META, plans.get_free_price_config(), credits).plan_id
    short, forever, never = strangers(3)
    plans.mint_plan_expirable(pid, 4, short, 3600)
    plans.mint_plan_expirable(pid, 9, forever, 0)
    reader = world.client("agent").plans

    assert [b.balance for b in reader.get_plan_balances(pid, [short, forever, never])] == [4, 9, 0]
    world.sim.chain.travel(3601)
    after = reader.get_plan_balances(pid, [short, forever, never])
    assert [b.balance for b in after] == [0, 9, 0]
    assert after == [reader.get_plan_balance(pid, h) for h in (short, forever, never)]
    assert {b.plan_type for b in after} == {"time"}


def test_balances_across_plans_group_by_credits_contract(world):
    builder = world.client("builder")
    first, second = credits_plan(builder), credits_plan(builder)
    a, b = strangers(2)
    builder.plans.mint_plan_credits(first, 3, a)
    builder.plans.mint_plan_credits(second, 8, b)
    reader = world.client("agent").plans
    pairs = [(first, a), (second, a), (first, b), (second, b)]

    with counted(world.sim.w3) as requests:
        found = reader.get_balances(pairs)
    assert work(requests) == ["eth_call"] * 2  # plans in one multicall, balances in one balanceOfBatch
    assert [x.balance for x in found] == [3, 0, 0, 8]
    assert found == [reader.get_plan_balance(p, h) for p, h in pairs]
    with pytest.raises(PlanNotFoundError):
        reader.get_balances([(first, a), (0xDEADBEEF, a)])


def test_balances_of_batch_refuses_bad_input_before_any_request(world):
    nft = world.sim.book["NFT1155Credits"]
    with counted(world.sim.w3) as requests:
        with pytest.raises(ValidationError, match="2 holders but 1 ids"):
            balances_of_batch(world.sim.w3, nft, strangers(2), [1])
        with pytest.raises(ValidationError, match="holder"):
            balances_of_batch(world.sim.w3, nft, ["0x1234"], 1)
        with pytest.raises(ValidationError, match="chunk"):
            multicall(world.sim.w3, MULTICALL3_ADDRESS, [], chunk=0)
    assert requests == []
    nowhere = strangers(1)[0]
    with pytest.raises(ConfigurationError, match="no Multicall3 at"):
        multicall(world.sim.w3, nowhere, [(nft, b"")])


# ---------------------------------------------------------------------------------------------- listings


def _listing(world) -> tuple[NvmChain, list[int]]:
    builder = world.client("builder")
    plans = builder.plans
    made = [credits_plan(builder, n) for n in (10, 20, 30)]
    trial = plans.register_credits_trial_plan(META, plans.get_free_price_config(),
                                              plans.set_onchain_mirror(plans.get_fixed_credits_config(1)))
    return builder, [*made, trial.plan_id]


@pytest.mark.slow
def test_a_listing_reads_plans_and_hooks_in_one_multicall_per_chunk(world):
    builder, pids = _listing(world)
    reader = world.client("agent").plans
    singles = [reader.get_plan(p) for p in pids]
    assert singles[-1].hooks == (world.sim.book["OneTimeCreatorHook"],)

    with counted(world.sim.w3) as requests:
        listed = reader.get_plans(pids)
    assert listed == singles and work(requests) == ["eth_call"]

    # 40 plans = 80 calls: one request by default; in chunks of 20 calls, 4 requests (the first one also reads
    # the block number, and the other three read at that block)
    many = pids * 10
    with counted(world.sim.w3) as requests:
        listed = reader.get_plans(many)
    assert listed == singles * 10 and work(requests) == ["eth_call"]
    with counted(world.sim.w3) as requests:
        # the book's Multicall3: the canonical address where the chain lets the deployer put it (not yet on revm)
        records = plan_records(world.sim.w3, world.sim.book["Multicall3"], builder.contracts.AssetsRegistry, many,
                               chunk=20)
    assert work(requests) == ["eth_call"] * 4
    assert [(r[0][0], r[1]) for r in records] == [(builder.address, p.hooks) for p in singles] * 10

    with pytest.raises(PlanNotFoundError):
        reader.get_plans([pids[0], 0xDEADBEEF])


def test_without_multicall3_in_the_book_a_listing_falls_back_to_single_reads(world):
    _, pids = _listing(world)
    book = world.sim.book
    bare = AddressBook(chainId=book.chain_id, version=book.version,
                       contracts={k: v for k, v in book.contracts.items() if k != "Multicall3"})
    client = NvmChain(world.sim.w3, bare, None, network="local")
    with counted(world.sim.w3) as requests:
        listed = client.plans.get_plans(pids)
    assert requests.count("eth_call") == 2 * len(pids)
    assert listed == world.client("agent").plans.get_plans(pids)


@pytest.mark.slow
def test_agents_listing_a_plan_are_confirmed_in_one_multicall(world):
    builder = world.client("builder")
    a, b = credits_plan(builder), credits_plan(builder, 5)
    registry_ = builder.contracts.AssetsRegistry
    agents = []
    for n in range(4):
        seed = n.to_bytes(32, "big")
        builder.sender.send(registry_.tx("register", seed, f"https://agent{n}.example", [a] if n % 2 else [b]))
        agents.append(ids.agent_id(seed, builder.address))

    reader = world.client("agent")
    with counted(world.sim.w3) as requests:
        listed = reader.plans.get_agents_associated_to_plan(a).agents
    assert listed == tuple(agents[1::2])
    work_done = work(requests)
    assert work_done.count("eth_call") == 1 and work_done[-1] == "eth_call"  # candidates confirmed in one multicall
    assert set(work_done) <= {"eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs", "eth_call"}
    with counted(world.sim.w3) as requests:
        records = reader.agents.get_agents(listed)
    assert work(requests) == ["eth_call"] and records == [reader.agents.get_agent(x) for x in listed]


# ---------------------------------------------------------------------------------------------- REST metadata


def test_a_batch_of_balances_fetches_the_plan_document_once(world_embedded, fake):
    from nvm_chain.errors import MetadataUnavailableWarning
    from nvm_chain.rest import RestClient
    from tests.rest.fake_backend import Reply, plan_document
    from tests.rest.helpers import FAST_RETRY

    world = world_embedded
    pid = credits_plan(world.client("builder"))
    document = plan_document(str(pid))
    document["metadata"]["main"]["name"] = "Batch plan"
    path = f"/api/v1/protocol/plans/{pid}"
    fake.script("GET", path, Reply(body=document), Reply(status=500, body={}), Reply(status=500, body={}),
                Reply(status=500, body={}))
    reader = world.client("agent")
    reader.rest = RestClient(None, environment="custom", base_url=fake.url, retry=FAST_RETRY)

    named = reader.plans.get_plan_balances(pid, strangers(50))
    assert {b.plan_name for b in named} == {"Batch plan"} and fake.count("GET", path) == 1
    with pytest.warns(MetadataUnavailableWarning) as caught:
        unnamed = reader.plans.get_plan_balances(pid, strangers(2))
    assert [b.plan_name for b in unnamed] == ["", ""] and caught[0].filename == __file__  # points at the caller


def test_balance_of_batch_calldata_and_answer_are_laid_out_as_eth_abi_does():
    import random

    import eth_abi
    from eth_utils import to_checksum_address

    from nvm_chain.chain.abi import decode_output, encode_call, registry, selector

    rng = random.Random(11)
    entry = registry()["NFT1155Credits"].entry("balanceOfBatch")
    for n in (0, 1, 2, 7, 500):
        owners = [to_checksum_address(rng.randbytes(20)) for _ in range(n)]
        ids = [rng.randrange(2**256) for _ in range(n)]
        expected = selector(entry) + eth_abi.encode(["address[]", "uint256[]"], [owners, ids])
        assert encode_call(entry, [owners, ids]) == expected
        values = [rng.randrange(2**256) for _ in range(n)]
        assert decode_output(entry, eth_abi.encode(["uint256[]"], [values])) == tuple(values)
    with pytest.raises(eth_abi.exceptions.EncodingError):  # left to eth_abi, which refuses it
        encode_call(entry, [["0x" + "11" * 20], [-1]])
