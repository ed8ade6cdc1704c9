"""Shared fixtures: one deployed simulation per session (fees off, and fees on), reset by snapshot per test."""

from __future__ import annotations

import pytest

from nvm_chain.sim import Simulation
from tests.support import Protocol


@pytest.fixture(scope="session")
def _sim_plain() -> Simulation:
    return Simulation.start(fees=False)


@pytest.fixture(scope="session")
def _sim_fees() -> Simulation:
    return Simulation.start(fees=True)


def _isolated(sim: Simulation):
    snapshot = sim.chain.snapshot()
    try:
        yield Protocol(sim)
    finally:
        sim.chain.revert(snapshot)


@pytest.fixture
def proto(_sim_plain):
    """The protocol with fees off (fee receiver unset), reverted after the test."""
    yield from _isolated(_sim_plain)


@pytest.fixture
def fee_proto(_sim_fees):
    """The protocol with fees on (1% crypto, 2% fiat to the fee_receiver account), reverted after the test."""
    yield from _isolated(_sim_fees)
