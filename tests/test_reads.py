"""The one read helper: structs decode to named fields, a wrong address is a configuration error (exit 7)."""

from __future__ import annotations

import pytest

from nvm_chain.chain.networks import AddressBook
from nvm_chain.client import NvmChain
from nvm_chain.errors import ConfigurationError, PlanNotFoundError


def test_struct_results_have_the_abi_field_names(world_nofee):
    builder = world_nofee.client("builder")
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(5))
    pid = plans.register_credits_plan({"name": "p"}, plans.get_free_price_config(), credits).plan_id
    record = builder.contracts.AssetsRegistry.read(builder.w3, "getPlan", pid)
    assert record.owner == builder.address and record.credits.amount == 5 and record.lastUpdated > 0
    assert record[0] == record.owner and type(record).__name__ == "Plan"  # still a tuple, by position too


def test_a_wrong_registry_address_is_a_configuration_error_for_plans_and_agents_alike(world_nofee):
    sim = world_nofee.sim
    contracts = dict(sim.book.contracts, AssetsRegistry="0x" + "42" * 20)  # no code there
    book = AddressBook(chain_id=sim.book.chain_id, version=sim.book.version, contracts=contracts)
    reader = NvmChain(sim.w3, book, None, network="embedded", simulation=sim)
    for read in (lambda: reader.plans.get_plan(1), lambda: reader.agents.get_agent(1)):
        with pytest.raises(ConfigurationError, match="no AssetsRegistry at 0x4242") as info:
            read()
        assert info.value.exit_code == 7 and not isinstance(info.value, PlanNotFoundError)
