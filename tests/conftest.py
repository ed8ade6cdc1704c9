"""Shared fixtures: one deployed simulation per session (fees off, and fees on), reset by snapshot per test."""

from __future__ import annotations

import os
import tempfile

import pytest

from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.client import NvmChain
from nvm_chain.sim import RpcChain, Simulation
from tests.anvil import ANVIL, ANVIL_KEY, Anvil
from tests.support import Protocol

pytest_plugins = ["tests.faults"]  # the fault-injecting JSON-RPC proxy and its anvil (`faulty`, `faults_sim`)

# every journal the suite writes goes to a throw-away state directory, never the user's (subprocesses inherit it)
os.environ["NVM_STATE_DIR"] = tempfile.mkdtemp(prefix="nvm-chain-tests-state-")


@pytest.fixture(scope="session", autouse=True)
def _private_state_dir(tmp_path_factory):
    """Transaction journals go to a folder of this session (of this xdist worker), never ~/.local/state."""
    patch = pytest.MonkeyPatch()
    patch.setenv("NVM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield
    patch.undo()


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


@pytest.fixture(scope="session")
def _sim_plain_revm() -> Simulation:
    pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")
    return Simulation.start(fees=False, engine="revm")


# The behaviour tests of the contracts (``proto``, ``fee_proto``) run the same bytecode on both embedded engines.
# revm runs them about six times faster than py-evm, so the fast loop (-m "not slow") takes the revm leg and CI
# runs both.
_ENGINES = [pytest.param("pyevm", marks=pytest.mark.slow), "revm"]
_PROTO_SIMS = {"pyevm": "_sim_plain", "revm": "_sim_plain_revm"}
_FEE_PROTO_SIMS = {"pyevm": "_sim_fees", "revm": "_sim_revm"}


@pytest.fixture(params=_ENGINES)
def proto(request):
    """The protocol with fees off (fee receiver unset), reverted after the test; on py-evm and on revm."""
    yield from _isolated(request.getfixturevalue(_PROTO_SIMS[request.param]))


@pytest.fixture(params=_ENGINES)
def fee_proto(request):
    """The protocol with fees on (1% crypto, 2% fiat to the fee_receiver account), reverted after the test; on
    py-evm and on revm."""
    yield from _isolated(request.getfixturevalue(_FEE_PROTO_SIMS[request.param]))


# ---------------------------------------------------------------- client conformance: one suite, three backends


class World:
    """A deployed protocol plus fresh clients per account (each with its own nonce allocator)."""

    def __init__(self, sim: Simulation, backend: str):
        self.sim = sim
        self.backend = backend
        self.proto = Protocol(sim)

    def client(self, account: str) -> NvmChain:
        """An NvmChain acting as the named test account."""
        network = "local" if self.backend == "anvil" else "embedded"
        return NvmChain(self.sim.w3, self.sim.book, self.sim.account(account).signer, network=network,
                        simulation=self.sim)

    def address(self, account: str) -> str:
        return self.sim.account(account).address


@pytest.fixture(scope="session")
def _anvil_node():
    if not ANVIL.exists():
        pytest.skip("anvil not installed (run `npm install`)")
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def _sim_anvil(_anvil_node) -> Simulation:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(_anvil_node.url, exception_retry_configuration=None))
    return Simulation.start(fees=True, chain=RpcChain(w3), owner=LocalSigner(ANVIL_KEY))


def _world(sim: Simulation, backend: str):
    snapshot = sim.chain.snapshot()
    try:
        yield World(sim, backend)
    finally:
        sim.chain.revert(snapshot)


@pytest.fixture(scope="session")
def _sim_revm() -> Simulation:
    pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")
    return Simulation.start(fees=True, engine="revm")


_WORLD_SIMS = {"embedded": "_sim_fees", "anvil": "_sim_anvil", "revm": "_sim_revm"}


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.slow),
                        pytest.param("revm", marks=pytest.mark.slow)])
def world(request):
    """Fees on; runs each test on the embedded chain (py-evm), on anvil and on the revm engine (conformance).

    The anvil and revm legs are marked slow: the fast loop (``-m "not slow"``) runs every conformance test once,
    on the embedded chain; CI runs all three."""
    sim = request.getfixturevalue(_WORLD_SIMS[request.param])
    yield from _world(sim, request.param)


@pytest.fixture
def world_embedded(_sim_fees):
    """Fees on, embedded chain only (for time travel-heavy or slow tests)."""
    yield from _world(_sim_fees, "embedded")


@pytest.fixture
def world_nofee(_sim_plain):
    """Fees off (no fee receiver), embedded chain."""
    yield from _world(_sim_plain, "embedded")


# ---------------------------------------------------------------- CLI: a devnet served over JSON-RPC on 127.0.0.1


class Devnet:
    """A deployed simulation behind a DevnetServer, plus the CLI environment to reach it."""

    def __init__(self, sim: Simulation, url: str, book_path):
        self.sim, self.url, self.book_path = sim, url, book_path

    def env(self, account: str | None = None, **extra: str) -> dict[str, str]:
        """NVM_* variables pointing the CLI at this devnet, acting as ``account`` (a test account name)."""
        from nvm_chain.sim.accounts import test_key

        env = {"NVM_NETWORK": "local", "NVM_RPC_URL": self.url, "NVM_ADDRESS_BOOK": str(self.book_path),
               "NVM_CONFIG": str(self.book_path.parent / "no-config.json"), "NVM_PRIVATE_KEY": "",
               "NVM_ACCOUNT": "", "NVM_API_KEY": ""}
        if account:
            env["NVM_PRIVATE_KEY"] = "0x" + test_key(account).hex()
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def devnet(tmp_path_factory):
    """The protocol (fees on) on an embedded chain served at http://127.0.0.1:<port>, for CLI tests."""
    import json

    from nvm_chain.sim.devnet import DevnetServer

    sim = Simulation.start(fees=True)
    server = DevnetServer(sim.chain)
    server.start()
    book = tmp_path_factory.mktemp("devnet") / "address-book.json"
    book.write_text(json.dumps(sim.book.to_json()))
    yield Devnet(sim, server.url, book)
    server.stop()


# ---------------------------------------------------------------- REST: the fake Nevermined API on 127.0.0.1


@pytest.fixture(scope="session")
def _rest_server():
    from tests.rest.fake_backend import FakeBackend, start

    backend = FakeBackend()
    server, thread = start(backend)
    yield backend
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake(_rest_server):
    """The fake REST backend (a real HTTP server), reset for this test."""
    _rest_server.reset()
    return _rest_server
