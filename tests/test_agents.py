"""AgentsAPI against the simulated protocol: every method, happy and refusal paths, on the embedded chain and on
anvil (``world``), with fees on and off for ``register_agent_and_plan``.

A refusal "before signing" is asserted by the account's nonce staying put.
"""

from __future__ import annotations

import os

import pydantic
import pytest

from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import (
    AgentNotFoundError,
    ConfigurationError,
    ContractRevertError,
    FeeError,
    NotAgentOwnerError,
    OffchainCreditsWarning,
    PlanNotInAgentError,
    ValidationError,
)
from nvm_chain.protocol import configs, ids
from nvm_chain.protocol.models import (
    Agent,
    AgentAPIAttributes,
    AgentMetadata,
    Endpoint,
    PlanMetadata,
    PriceConfig,
)
from nvm_chain.services.agents import AgentAndPlanRegistration, AgentRegistration

ZERO = "0x" + "00" * 20
META = AgentMetadata(name="Weather agent", description="forecasts", tags=["weather"])
API = AgentAPIAttributes(endpoints=[Endpoint(verb="POST", url="https://agent.example/api/v1/:agentId/ask"),
                                    Endpoint(verb="GET", url="https://agent.example/other")],
                         agent_definition_url="https://agent.example/openapi.json", api_key="secret-api-key")
PLAN_META = PlanMetadata(name="100 credits")


# ---------------------------------------------------------------------------------------------- helpers


def free_plan(client, nonce: int | None = None) -> int:
    """A free fixed-credits plan (valid with fees on or off) created by ``client`` through the raw wrapper."""
    price = configs.get_free_price_config()
    credits = configs.set_onchain_mirror(configs.get_fixed_credits_config(100)).with_nft(client.book["NFT1155Credits"])
    nonce = int.from_bytes(os.urandom(8), "big") if nonce is None else nonce
    client.sender.send(client.contracts.AssetsRegistry.tx("createPlan", price.as_tuple(), credits.as_tuple(), nonce))
    return ids.plan_id(price.as_tuple(), credits.as_tuple(), client.address, nonce)


def nonce_of(world, client) -> int:
    return world.sim.w3.eth.get_transaction_count(client.address)


def registered(client, plans=(), seed=None):
    return client.agents.register_agent(META, API, list(plans), seed=seed)


# ---------------------------------------------------------------------------------------------- register_agent


def test_register_agent_id_offline_equals_emitted_and_record(world):
    builder = world.client("builder")
    plan_a, plan_b = free_plan(builder), free_plan(builder)
    seed = os.urandom(32)
    expected = ids.agent_id(seed, builder.address)

    # ids as int, 0x-hex and decimal string; the duplicate is dropped
    result = builder.agents.register_agent(META, API, [plan_a, hex(plan_b), str(plan_a)], seed=seed)

    assert isinstance(result, AgentRegistration)
    assert result.agent_id == expected
    assert result.url == "https://agent.example/api/v1/:agentId/ask"  # the first endpoint wins
    assert result.plans == (plan_a, plan_b)
    assert result.agent_metadata == META and result.agent_api == API  # returned, not stored on chain
    assert result.tx.events == ("AgentRegistered", "Transfer", "MetadataUpdate")
    assert result.tx_hash == result.tx.tx_hash and result.tx.gas_used > 0
    (event,) = world.proto.events(world.sim.w3.eth.get_transaction_receipt(result.tx_hash), "AgentRegistered")
    assert event.args == {"agentId": expected, "creator": builder.address}
    wire = result.model_dump(mode="json", by_alias=True)
    assert wire["agentId"] == str(expected) and wire["plans"] == [str(plan_a), str(plan_b)]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        result.agent_id = 1  # frozen

    agent = builder.agents.get_agent(str(expected))
    assert isinstance(agent, Agent)
    assert (agent.agent_id, agent.owner, agent.creator, agent.url, agent.plans) == (
        expected, builder.address, builder.address, result.url, (plan_a, plan_b))
    assert agent.last_updated > 0
    assert builder.agents.get_agent_plans(hex(expected)).plans == (plan_a, plan_b)
    assert world.proto.call("AssetsRegistry", "ownerOf", expected) == builder.address


@pytest.mark.parametrize("seed_form", ["hex", "int"])
def test_register_agent_seed_forms_and_definition_url_fallback(world, seed_form):
    builder = world.client("builder")
    raw = os.urandom(32)
    seed = "0x" + raw.hex() if seed_form == "hex" else int.from_bytes(raw, "big")
    api = {"agentDefinitionUrl": "https://agent.example/card.json"}  # a dict with wire names works too
    result = builder.agents.register_agent({"name": "x"}, api, [], seed=seed)
    assert result.agent_id == ids.agent_id(raw, builder.address)
    assert builder.agents.get_agent(result.agent_id).url == "https://agent.example/card.json"
    assert builder.agents.get_agent_plans(result.agent_id).plans == ()


def test_register_agent_without_seed_uses_a_fresh_random_one(world):
    builder = world.client("builder")
    first, second = registered(builder), registered(builder)
    assert first.agent_id != second.agent_id
    assert builder.agents.get_agent(second.agent_id).owner == builder.address


@pytest.mark.parametrize("kwargs,message", [
    ({"agent_api": AgentAPIAttributes()}, "no URL"),
    ({"agent_api": AgentAPIAttributes(endpoints=[], agent_definition_url="  ")}, "no URL"),
    ({"agent_api": "https://x"}, "agent_api must be"),
    ({"agent_metadata": {"description": "no name"}}, "name"),
    ({"agent_metadata": None}, "agent_metadata must be"),
    ({"payment_plans": "123"}, "payment_plans must be a list"),
    ({"payment_plans": [1, 2.5]}, "payment_plans[1]"),
    ({"payment_plans": [-1]}, "payment_plans[0] must not be negative"),
    ({"payment_plans": ["0xzz"]}, "payment_plans[0]"),
    ({"payment_plans": [2**256]}, "uint256"),
    ({"seed": b"\x01" * 31}, "32 bytes"),
    ({"seed": "0x1234"}, "seed"),
    ({"seed": -5}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_register_agent_refuses_bad_arguments_before_signing(world, kwargs, message):
    builder = world.client("builder")
    args = {"agent_metadata": META, "agent_api": API, "payment_plans": [], **kwargs}
    before = nonce_of(world, builder)
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        builder.agents.register_agent(**args)
    assert nonce_of(world, builder) == before


def test_register_agent_simulation_refusals_are_decoded(world):
    builder = world.client("builder")
    plan = free_plan(builder)
    unknown = plan ^ 1
    seed = os.urandom(32)
    before = nonce_of(world, builder)
    with pytest.raises(ContractRevertError) as info:
        builder.agents.register_agent(META, API, [plan, unknown], seed=seed)
    assert info.value.error_name == "PlanNotFound" and info.value.error_args == {"planId": unknown}
    assert info.value.tx_hash is None and nonce_of(world, builder) == before

    registered(builder, [plan], seed=seed)
    with pytest.raises(ContractRevertError) as info:
        registered(builder, [], seed=seed)
    assert info.value.error_name == "AgentAlreadyRegistered"
    assert info.value.error_args == {"agentId": ids.agent_id(seed, builder.address)}
    assert nonce_of(world, builder) == before + 1


# ---------------------------------------------------------------------------------------------- reads


def test_get_agent_of_an_unknown_agent_is_a_typed_not_found(world):
    client = world.client("subscriber")
    unknown = ids.agent_id(os.urandom(32), client.address)
    for read in (client.agents.get_agent, client.agents.get_agent_plans):
        with pytest.raises(AgentNotFoundError) as info:
            read(unknown)
        assert info.value.agent_id == unknown
        assert isinstance(info.value, LookupError)
        assert f"agent {unknown} not found on chain {world.sim.book.chain_id}" in str(info.value)
    with pytest.raises(ValidationError):
        client.agents.get_agent("not-an-id")


def test_an_erc8004_identity_without_agent_record_is_not_found(world):
    builder = world.client("builder")
    receipt = world.proto.send(world.sim.account("agent"), "AssetsRegistry", "register", "ipfs://card", arity=1)
    (event,) = world.proto.events(receipt, "Registered")
    with pytest.raises(AgentNotFoundError):
        builder.agents.get_agent(event.args["agentId"])


# ---------------------------------------------------------------------------------------------- plan management


def test_add_plan_to_agent_then_again_sends_nothing(world):
    builder = world.client("builder")
    plan_a, plan_b = free_plan(builder), free_plan(builder)
    agent_id = registered(builder, [plan_a]).agent_id

    change = builder.agents.add_plan_to_agent(str(plan_b), hex(agent_id))  # payments-py order: plan first
    assert (change.agent_id, change.plan_id, change.changed) == (agent_id, plan_b, True)
    assert change.tx.events == ("PlanAddedToAgent",)
    assert builder.agents.get_agent_plans(agent_id).plans == (plan_a, plan_b)

    before = nonce_of(world, builder)
    again = builder.agents.add_plan_to_agent(plan_a, agent_id)
    assert (again.changed, again.tx) == (False, None)
    assert nonce_of(world, builder) == before

    unknown = plan_a ^ 1
    with pytest.raises(ContractRevertError) as info:
        builder.agents.add_plan_to_agent(unknown, agent_id)
    assert info.value.error_name == "PlanNotFound" and info.value.error_args == {"planId": unknown}
    assert nonce_of(world, builder) == before


def test_remove_plan_from_agent_and_a_plan_it_does_not_list(world):
    builder = world.client("builder")
    plans = [free_plan(builder) for _ in range(3)]
    agent_id = registered(builder, plans).agent_id

    change = builder.agents.remove_plan_from_agent(plans[0], agent_id)
    assert (change.plan_id, change.changed, change.tx.events) == (plans[0], True, ("PlanRemovedFromAgent",))
    assert builder.agents.get_agent_plans(agent_id).plans == (plans[2], plans[1])  # swap and pop

    before = nonce_of(world, builder)
    with pytest.raises(PlanNotInAgentError) as info:
        builder.agents.remove_plan_from_agent(plans[0], agent_id)
    assert (info.value.agent_id, info.value.plan_id, info.value.plans) == (agent_id, plans[0], (plans[2], plans[1]))
    assert f"does not list plan {plans[0]}" in str(info.value)
    assert nonce_of(world, builder) == before


def test_replace_plans_for_agent_sorts_and_deduplicates(world):
    builder = world.client("builder")
    plans = sorted(free_plan(builder) for _ in range(3))
    agent_id = registered(builder, [plans[0]]).agent_id

    result = builder.agents.replace_plans_for_agent(agent_id, [plans[2], hex(plans[1]), str(plans[2])])
    assert result.plans == (plans[1], plans[2])
    assert result.tx.events == ("AgentPlansReplaced",)
    assert builder.agents.get_agent_plans(agent_id).plans == (plans[1], plans[2])

    unknown = plans[0] ^ 1
    before = nonce_of(world, builder)
    with pytest.raises(ContractRevertError) as info:
        builder.agents.replace_plans_for_agent(agent_id, [plans[0], unknown])
    assert info.value.error_name == "PlanNotFound" and info.value.error_args == {"planId": unknown}
    with pytest.raises(ValidationError, match="plan_ids must be a list"):
        builder.agents.replace_plans_for_agent(agent_id, plans[0])
    assert nonce_of(world, builder) == before

    assert builder.agents.replace_plans_for_agent(agent_id, []).plans == ()
    assert builder.agents.get_agent_plans(agent_id).plans == ()


def test_transfer_agent_ownership_moves_who_may_manage_the_agent(world):
    builder, newcomer = world.client("builder"), world.client("agent")
    plan_a, plan_b = free_plan(builder), free_plan(builder)
    agent_id = registered(builder, [plan_a]).agent_id

    with pytest.raises(ValidationError, match="zero address"):
        builder.agents.transfer_agent_ownership(agent_id, ZERO)
    with pytest.raises(ValidationError, match="new_owner"):
        builder.agents.transfer_agent_ownership(agent_id, "0x1234")

    result = builder.agents.transfer_agent_ownership(agent_id, newcomer.address.lower())
    assert (result.previous_owner, result.new_owner) == (builder.address, newcomer.address)
    assert result.tx.events == ("AgentOwnershipTransferred",)
    agent = builder.agents.get_agent(agent_id)
    assert (agent.owner, agent.creator) == (newcomer.address, builder.address)
    assert world.proto.call("AssetsRegistry", "ownerOf", agent_id) == builder.address  # the NFT stays

    with pytest.raises(NotAgentOwnerError):
        builder.agents.add_plan_to_agent(plan_b, agent_id)
    assert newcomer.agents.add_plan_to_agent(plan_b, agent_id).changed


def test_managing_someone_elses_agent_is_refused_before_signing_naming_the_owner(world):
    builder, stranger = world.client("builder"), world.client("subscriber")
    plan = free_plan(builder)
    agent_id = registered(builder, [plan]).agent_id
    before = nonce_of(world, stranger)
    calls = {
        "add_plan_to_agent": lambda: stranger.agents.add_plan_to_agent(plan, agent_id),
        "remove_plan_from_agent": lambda: stranger.agents.remove_plan_from_agent(plan, agent_id),
        "replace_plans_for_agent": lambda: stranger.agents.replace_plans_for_agent(agent_id, [plan]),
        "transfer_agent_ownership": lambda: stranger.agents.transfer_agent_ownership(agent_id, stranger.address),
    }
    for action, call in calls.items():
        with pytest.raises(NotAgentOwnerError) as info:
            call()
        err = info.value
        assert (err.agent_id, err.caller, err.owner) == (agent_id, stranger.address, builder.address)
        assert action in str(err) and f"its owner is {builder.address}" in str(err)
    assert nonce_of(world, stranger) == before


def test_managing_an_unknown_agent_is_refused_before_signing(world):
    builder = world.client("builder")
    plan = free_plan(builder)
    unknown = ids.agent_id(os.urandom(32), builder.address)
    before = nonce_of(world, builder)
    for call in (lambda: builder.agents.add_plan_to_agent(plan, unknown),
                 lambda: builder.agents.remove_plan_from_agent(plan, unknown),
                 lambda: builder.agents.replace_plans_for_agent(unknown, [plan]),
                 lambda: builder.agents.transfer_agent_ownership(unknown, world.address("agent"))):
        with pytest.raises(AgentNotFoundError):
            call()
    for bad in (lambda: builder.agents.add_plan_to_agent(1.0, unknown),
                lambda: builder.agents.remove_plan_from_agent(plan, "x"),
                lambda: builder.agents.replace_plans_for_agent(unknown, [plan, -1])):
        with pytest.raises(ValidationError):
            bad()
    assert nonce_of(world, builder) == before


def test_read_only_client_reads_agents_and_refuses_writes(world):
    builder = world.client("builder")
    agent_id = registered(builder).agent_id
    reader = type(builder)(builder.w3, builder.book, None, network=builder.network)
    assert reader.agents.get_agent(agent_id).owner == builder.address
    for write in (lambda: reader.agents.register_agent(META, API, []),
                  lambda: reader.agents.add_plan_to_agent(1, agent_id),
                  lambda: reader.agents.transfer_agent_ownership(agent_id, builder.address)):
        with pytest.raises(ConfigurationError, match="no account"):
            write()


# ---------------------------------------------------------------------------------------------- register_agent_and_plan


def _check_one_shot(world, client, result, seed, price, credits):
    creator = client.address
    plan_id = ids.plan_id(price.as_tuple(), credits.as_tuple(), creator, int.from_bytes(seed, "big"))
    assert isinstance(result, AgentAndPlanRegistration)
    assert result.plan_id == plan_id
    assert result.agent_id == ids.agent_id(seed, creator)
    receipt = world.sim.w3.eth.get_transaction_receipt(result.tx_hash)
    (plan_event,) = world.proto.events(receipt, "PlanRegistered")
    assert plan_event.args == {"planId": plan_id, "creator": creator, "onchainMirror": credits.onchain_mirror}
    (agent_event,) = world.proto.events(receipt, "AgentRegistered")
    assert agent_event.args == {"agentId": result.agent_id, "creator": creator}
    agent = client.agents.get_agent(result.agent_id)
    assert (agent.owner, agent.url, agent.plans) == (creator, result.url, (plan_id,))
    owner, on_chain_price, on_chain_credits, _ = world.proto.call("AssetsRegistry", "getPlan", plan_id)
    assert owner == creator
    assert PriceConfig.model_validate(dict(zip(
        ("is_crypto", "token_address", "amounts", "receivers", "external_price_address", "fee_controller",
         "template_address"), on_chain_price))).as_tuple() == price.as_tuple()
    assert on_chain_credits == credits.as_tuple()
    wire = result.model_dump(mode="json", by_alias=True)
    assert (wire["agentId"], wire["planId"]) == (str(result.agent_id), str(plan_id))


def test_register_agent_and_plan_with_fee_inclusive_price(world):
    builder = world.client("builder")
    token = world.sim.book["MockERC20"]
    price = builder.plans.get_erc20_price_config(1_000_000, token, builder.address)
    credits = configs.set_onchain_mirror(configs.get_fixed_credits_config(100))
    seed = os.urandom(32)

    result = builder.agents.register_agent_and_plan(META, API, PLAN_META, price, credits, seed=seed)

    assert result.plan_created and result.access_limit == "credits"
    assert result.price_config.total == 1_000_000
    assert result.price_config.receivers[-1] == world.address("fee_receiver")
    assert result.credits_config.nft_address == world.sim.book["NFT1155Credits"]
    assert result.plan_metadata == PLAN_META and result.agent_metadata == META
    assert result.tx.events[0] == "PlanRegistered"
    _check_one_shot(world, builder, result, seed, result.price_config, result.credits_config)


def test_register_agent_and_plan_completes_a_fee_less_price_and_refuses_a_wrong_fee(world):
    builder = world.client("builder")
    token, fee_receiver = world.sim.book["MockERC20"], world.address("fee_receiver")
    raw_price = configs.get_erc20_price_config(1_000_000, token, builder.address)  # no fee entry (payments-py)
    result = builder.agents.register_agent_and_plan(META, API, PLAN_META, raw_price,
                                                    configs.get_fixed_credits_config(10))
    # the buyer still pays 1_000_000: 1% of it goes to the fee receiver, as the backend would split it
    assert result.price_config.amounts == (990_000, 10_000)
    assert result.price_config.receivers == (builder.address, fee_receiver)

    wrong = raw_price.with_distribution([990_001, 9_999], [builder.address, fee_receiver])
    before = nonce_of(world, builder)
    with pytest.raises(FeeError, match="fee not included"):
        builder.agents.register_agent_and_plan(META, API, PLAN_META, wrong, configs.get_fixed_credits_config(10))
    assert nonce_of(world, builder) == before


def test_register_agent_and_plan_with_fees_off_accepts_a_raw_price(world_nofee):
    world = world_nofee
    builder = world.client("builder")
    price = configs.get_native_token_price_config(5_000, builder.address)
    credits = configs.set_onchain_mirror(configs.get_expirable_duration_config(configs.ONE_DAY_DURATION))
    seed = os.urandom(32)

    result = builder.agents.register_agent_and_plan(META, API, PLAN_META, price, credits, seed=seed)

    assert result.price_config.amounts == (5_000,) and result.price_config.receivers == (builder.address,)
    assert result.access_limit == "time"
    _check_one_shot(world, builder, result, seed, result.price_config, result.credits_config)


def test_register_agent_and_plan_reuses_an_existing_plan(world_nofee):
    world = world_nofee
    builder = world.client("builder")
    seed = os.urandom(32)
    price = configs.get_native_token_price_config(5_000, builder.address)
    credits = configs.set_onchain_mirror(configs.get_fixed_credits_config(10), False)  # payments-py's default
    with pytest.warns(OffchainCreditsWarning, match="mint no credits on chain"):
        first = builder.agents.register_agent_and_plan(META, API, PLAN_META, price, credits, seed=seed)

    # the plan id depends on (price, credits, creator, seed) and the agent id on (seed, creator): another creator
    # with the same seed gets its own plan; the same creator cannot reuse the seed for a second agent
    with pytest.raises(ContractRevertError) as info:
        builder.agents.register_agent_and_plan(META, API, PLAN_META, price, configs.set_onchain_mirror(credits),
                                               seed=seed)
    assert info.value.error_name == "AgentAlreadyRegistered"

    # a plan created beforehand with nonce = uint256(seed) is reused
    seed2 = os.urandom(32)
    plan_id = free_plan(builder, nonce=int.from_bytes(seed2, "big"))
    free = configs.get_free_price_config()
    again = builder.agents.register_agent_and_plan(
        META, API, PLAN_META, free, configs.set_onchain_mirror(configs.get_fixed_credits_config(100)),
        access_limit="credits", seed=seed2)
    assert (again.plan_id, again.plan_created) == (plan_id, False)
    assert "PlanRegistered" not in again.tx.events
    assert builder.agents.get_agent_plans(again.agent_id).plans == (plan_id,)
    assert first.plan_id != plan_id


@pytest.mark.parametrize("kwargs,error,message", [
    ({"access_limit": "forever"}, ValidationError, "access_limit"),
    ({"agent_api": AgentAPIAttributes(endpoints=[])}, ValidationError, "no URL"),
    ({"plan_metadata": {"is_trial_plan": True}}, ValidationError, "name"),
    ({"credits_config": {"amount": 1}}, ValidationError, "redemption_type"),
    ({"seed": b""}, ValidationError, "32 bytes"),
])
def test_register_agent_and_plan_refuses_bad_arguments_before_signing(world_nofee, kwargs, error, message):
    builder = world_nofee.client("builder")
    args = {"agent_metadata": META, "agent_api": API, "plan_metadata": PLAN_META,
            "price_config": configs.get_free_price_config(),
            "credits_config": configs.get_fixed_credits_config(10), **kwargs}
    before = nonce_of(world_nofee, builder)
    with pytest.raises(error, match=message):
        builder.agents.register_agent_and_plan(**args)
    assert nonce_of(world_nofee, builder) == before


def test_a_seed_equal_to_the_signing_key_is_refused_without_showing_it(world):
    from eth_utils import keccak

    builder = world.client("builder")
    key = keccak(text="nvm-chain/sim/builder")  # the public test key of the builder account
    assert LocalSigner(key).address == builder.address
    before = nonce_of(world, builder)
    for seed in (key, "0x" + key.hex(), int.from_bytes(key, "big")):
        with pytest.raises(ValidationError, match="private key") as info:
            builder.agents.register_agent(META, API, [], seed=seed)
        assert key.hex() not in str(info.value).lower()
    with pytest.raises(ValidationError, match="private key"):
        builder.agents.register_agent_and_plan(META, API, PLAN_META, configs.get_free_price_config(),
                                               configs.get_fixed_credits_config(1), seed=key)
    assert nonce_of(world, builder) == before
