"""The NvmChain facade: every network kind, chain-id and account checks, read-only clients, ``as_account``, and
key safety (no private key in any repr, str, exception message or log record).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import traceback

import pytest

from nvm_chain.chain.networks import NETWORKS, bundled_address_book
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.client import DEFAULT_RPC, NvmChain
from nvm_chain.errors import (
    ChainMismatchError,
    ConfigurationError,
    ContractRevertError,
    InsufficientFundsError,
    SigningError,
    ValidationError,
)
from nvm_chain.protocol import configs, ids
from nvm_chain.protocol.models import AgentAPIAttributes, AgentMetadata, Endpoint

META = AgentMetadata(name="agent")
API = AgentAPIAttributes(endpoints=[Endpoint(verb="POST", url="https://agent.example/ask")])
BUILDER_KEY = "0x" + "11" * 32  # throwaway; funded nowhere


def free_plan(client) -> int:
    price = configs.get_free_price_config()
    credits = configs.get_fixed_credits_config(100).with_nft(client.book["NFT1155Credits"])
    nonce = int.from_bytes(os.urandom(8), "big")
    client.sender.send(client.contracts.AssetsRegistry.tx("createPlan", price.as_tuple(), credits.as_tuple(), nonce))
    return ids.plan_id(price.as_tuple(), credits.as_tuple(), client.address, nonce)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network traffic during construction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def anvil(_sim_anvil, _anvil_node):
    """The anvil deployment (fees on) and its node URL, reverted after the test."""
    snapshot = _sim_anvil.chain.snapshot()
    try:
        yield _sim_anvil, _anvil_node.url
    finally:
        _sim_anvil.chain.revert(snapshot)


def write_book(tmp_path, book: dict):
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))
    return path


# ---------------------------------------------------------------------------------------------- networks


@pytest.mark.parametrize("network,chain_id", [("base-sepolia", 84532), ("base", 8453)])
def test_bundled_networks_connect_without_network_traffic(no_network, network, chain_id):
    reader = NvmChain.connect(network)
    assert repr(reader) == str(reader) == f"NvmChain(network={network}, chain_id={chain_id}, account=read-only)"
    assert reader.book == bundled_address_book(network) and reader.book.chain_id == chain_id
    assert reader.w3.provider.urls == (DEFAULT_RPC[network],)
    assert reader.contracts.AssetsRegistry.address == reader.book["AssetsRegistry"]

    signer = LocalSigner(BUILDER_KEY)
    client = NvmChain.connect(network, private_key=BUILDER_KEY, rpc_url="https://rpc.example/v1")
    assert repr(client) == f"NvmChain(network={network}, chain_id={chain_id}, account={signer.address})"
    assert client.address == signer.address
    assert client.w3.provider.urls == ("https://rpc.example/v1",)
    assert NvmChain.connect(network, account=signer).signer is signer


def test_a_bundled_network_refuses_an_address_book_of_another_chain(no_network):
    with pytest.raises(ConfigurationError, match="chain 84532, not base"):
        NvmChain.connect("base", address_book=bundled_address_book("base-sepolia"))


def test_unknown_network_names_the_choices():
    with pytest.raises(ConfigurationError) as info:
        NvmChain.connect("base-mainnet")
    assert "base-mainnet" in str(info.value)
    assert all(name in str(info.value) for name in NETWORKS)


def test_local_needs_an_rpc_url_and_an_address_book(tmp_path, no_network):
    book = write_book(tmp_path, bundled_address_book("base-sepolia").to_json())
    for kwargs in ({}, {"rpc_url": "http://127.0.0.1:8545"}, {"address_book": book}):
        with pytest.raises(ConfigurationError, match="rpc_url= and address_book="):
            NvmChain.connect("local", **kwargs)
    with pytest.raises(ConfigurationError, match="address book not found"):
        NvmChain.connect("local", rpc_url="http://127.0.0.1:8545", address_book=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="invalid address book"):
        NvmChain.connect("local", rpc_url="http://127.0.0.1:8545", address_book=tmp_path / "bad.json")


def test_local_with_a_book_file_works_end_to_end_on_anvil(anvil, tmp_path):
    sim, url = anvil
    path = write_book(tmp_path, sim.book.to_json())
    client = NvmChain.connect("local", rpc_url=url, address_book=str(path), account=sim.account("builder").signer)
    assert client.network == "local" and client.book == sim.book
    assert repr(client) == f"NvmChain(network=local, chain_id={sim.book.chain_id}, account={client.address})"

    plan_id = free_plan(client)
    plan = client.plans.get_plan(plan_id)
    assert plan.plan_id == plan_id and plan.owner == client.address

    registration = client.agents.register_agent(META, API, [plan_id])
    reader = NvmChain.connect("local", rpc_url=url, address_book=path)
    assert reader.agents.get_agent(registration.agent_id).plans == (plan_id,)
    assert reader.plans.get_plan(str(plan_id)).credits.amount == 100


def test_embedded_uses_the_given_simulation(world_embedded):
    sim = world_embedded.sim
    builder = sim.account("builder")
    client = NvmChain.connect("embedded", simulation=sim, account=builder.signer)
    assert (client.network, client.simulation, client.w3, client.book) == ("embedded", sim, sim.w3, sim.book)
    assert repr(client) == f"NvmChain(network=embedded, chain_id={sim.book.chain_id}, account={builder.address})"
    registration = client.agents.register_agent(META, API, [])
    assert client.agents.get_agent(registration.agent_id).owner == builder.address


def test_embedded_without_a_simulation_deploys_a_fresh_one():
    reader = NvmChain.connect("embedded")
    assert reader.network == "embedded" and reader.simulation is not None
    assert reader.book == reader.simulation.book and "account=read-only" in repr(reader)
    assert reader.plans.fee_schedule().enabled is False  # Simulation.start() defaults to fees off


# ---------------------------------------------------------------------------------------------- chain id


def test_a_book_of_another_chain_is_refused_before_signing(anvil, tmp_path):
    sim, url = anvil
    signer = sim.account("builder").signer
    nonce = sim.w3.eth.get_transaction_count(signer.address)
    path = write_book(tmp_path, {**sim.book.to_json(), "chainId": 84532})
    local = NvmChain.connect("local", rpc_url=url, address_book=path, account=signer)
    bundled = NvmChain.connect("base-sepolia", rpc_url=url, account=signer)
    for client in (local, bundled):
        with pytest.raises(ChainMismatchError, match="expected 84532; nothing signed"):
            client.agents.register_agent(META, API, [])
        with pytest.raises(ChainMismatchError):  # checked before the ownership read too
            client.agents.add_plan_to_agent(1, 2)
    assert sim.w3.eth.get_transaction_count(signer.address) == nonce
    # reads do not check the chain id, but an address book for another chain finds no registry there
    with pytest.raises(ConfigurationError, match="no AssetsRegistry at"):
        NvmChain.connect("base-sepolia", rpc_url=url).agents.get_agent(1)


# ---------------------------------------------------------------------------------------------- accounts


def test_read_only_client_reads_and_refuses_writes(world):
    builder = world.client("builder")
    plan_id = free_plan(builder)
    agent_id = builder.agents.register_agent(META, API, [plan_id]).agent_id
    network = "local" if world.backend == "anvil" else "embedded"
    reader = NvmChain(world.sim.w3, world.sim.book, None, network=network)

    assert "account=read-only" in repr(reader)
    assert reader.agents.get_agent_plans(agent_id).plans == (plan_id,)
    assert reader.plans.get_plan(plan_id).owner == builder.address
    for write in (lambda: reader.address, lambda: reader.sender,
                  lambda: reader.agents.register_agent(META, API, []),
                  lambda: reader.agents.remove_plan_from_agent(plan_id, agent_id)):
        with pytest.raises(ConfigurationError, match="no account"):
            write()


def test_as_account_switches_the_signer_on_the_same_connection(world):
    builder = world.client("builder")
    other = world.sim.account("agent")
    for account in (other.signer, other.signer._key, "0x" + other.signer._key.hex()):
        switched = builder.as_account(account)
        assert switched.address == other.address
        assert (switched.w3, switched.book, switched.network) == (builder.w3, builder.book, builder.network)
    registration = switched.agents.register_agent(META, API, [])
    assert builder.agents.get_agent(registration.agent_id).owner == other.address
    assert builder.address == world.address("builder")
    with pytest.raises(ValidationError, match="invalid private key"):
        builder.as_account("0x1234")


# ---------------------------------------------------------------------------------------------- key safety

KEY_HEX = "7a" * 32  # bytes 0x7a = "z": recognisable as hex, as bytes (b'zzz…') and as an int
KEY = "0x" + KEY_HEX
UNFUNDED_HEX = "7b" * 32  # bytes 0x7b = "{"
MALFORMED = ["0x" + "7a" * 31, "0x" + "7a" * 33, "0X" + "7A" * 32, "7a" * 31 + "zz", "0x" + "7c" * 20,
             "0x" + "ff" * 32]  # the last is above the curve order


def _needles(*hex_keys: str) -> list[str]:
    """Every lower-cased form a key could leak in: hex (the search is case-insensitive, 0x optional), its bytes
    as text (repr of bytes) and its decimal value. Half a key counts as a leak (a truncated echo still gives most
    of it away), so the hex and byte forms are searched for their first half."""
    found = []
    for h in hex_keys:
        raw = bytes.fromhex(h)
        found += [h[:32].lower(), raw[:16].decode("latin-1").lower(), str(int.from_bytes(raw, "big"))]
    return found


NEEDLES = _needles(KEY_HEX, UNFUNDED_HEX) + [m.lower().removeprefix("0x")[:32] for m in MALFORMED]


class Collector:
    """Everything the run shows a user: reprs, strs, exception chains and formatted tracebacks."""

    def __init__(self):
        self.texts: list[tuple[str, str]] = []

    def show(self, label: str, obj) -> None:
        self.texts += [(f"repr({label})", repr(obj)), (f"str({label})", str(obj)), (f"format({label})", f"{obj}")]

    def error(self, label: str, exc: BaseException) -> None:
        seen: set[int] = set()
        stack: list[BaseException | None] = [exc]
        while stack:
            e = stack.pop()
            if e is None or id(e) in seen:
                continue
            seen.add(id(e))
            self.show(f"{label}:{type(e).__name__}", e)
            self.texts.append((f"{label}:{type(e).__name__}.args", repr(e.args)))
            self.texts.append((f"{label}:{type(e).__name__}.vars", repr(getattr(e, "__dict__", {}))))
            stack += [e.__cause__, e.__context__]
        self.texts.append((f"traceback({label})", "".join(traceback.format_exception(exc))))

    def raises(self, label: str, error: type[BaseException], call):
        with pytest.raises(error) as info:
            call()
        self.error(label, info.value)
        return info.value

    def logs(self, caplog) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in caplog.records:
            self.texts.append((f"log {record.name}", formatter.format(record) + repr(record.args)))
        self.texts.append(("caplog.text", caplog.text))

    def assert_clean(self) -> None:
        assert self.texts
        leaks = [(label, needle) for label, text in self.texts for needle in NEEDLES if needle in text.lower()]
        assert not leaks, f"key material leaked: {leaks[:5]}"


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("web3", "web3.providers", "web3.RequestManager", "eth_tester", "urllib3", "nvm_chain"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_private_key_in_any_repr_str_exception_or_log_embedded(world_embedded, debug_logs):
    sim, seen = world_embedded.sim, Collector()
    key_address = LocalSigner(KEY).address
    world_embedded.client("governor").sender.send(TxRequest(key_address, b"", 21_000, value=10**18, action="fund"))

    client = NvmChain.connect("embedded", simulation=sim, private_key=KEY)
    for other in (NvmChain.connect("embedded", simulation=sim, private_key=bytes.fromhex(KEY_HEX)),
                  NvmChain.connect("embedded", simulation=sim, private_key=KEY_HEX.upper()),
                  client.as_account(KEY)):
        assert other.address == client.address == key_address
    for label, obj in {"client": client, "sender": client.sender, "signer": client.signer, "plans": client.plans,
                       "agents": client.agents, "contracts": client.contracts, "vars(client)": vars(client),
                       "vars(sender)": vars(client.sender), "journal": client.sender.journal}.items():
        seen.show(label, obj)

    # successful writes and their results
    plan = client.plans.register_credits_plan(
        {"name": "plan"}, configs.get_free_price_config(),
        configs.set_onchain_mirror(configs.get_fixed_credits_config(10)))
    seen.show("plan result", plan)
    seen.show("journal entries", [(e, e.raw.hex()) for e in client.sender.journal.list()])
    registration = client.agents.register_agent(META, API, [plan.plan_id])
    seen.show("agent result", registration)
    seen.texts.append(("agent result json", registration.model_dump_json()))
    seen.show("agent", client.agents.get_agent(registration.agent_id))

    # refusals and failures
    unknown_plan = plan.plan_id ^ 1
    seen.raises("simulated revert", ContractRevertError,
                lambda: client.agents.register_agent(META, API, [unknown_plan]))
    bad = client.contracts.AssetsRegistry.tx("register", os.urandom(32), "", [])
    mined = seen.raises("mined revert", ContractRevertError, lambda: client.sender.send(bad, simulate=False))
    assert mined.tx_hash and mined.error_name == "InvalidURL"
    seen.raises("not owner", Exception, lambda: client.as_account(sim.account("agent").signer)
                .agents.add_plan_to_agent(plan.plan_id, registration.agent_id))
    poor = NvmChain.connect("embedded", simulation=sim, private_key="0x" + UNFUNDED_HEX)
    seen.show("unfunded client", poor)
    unfunded = poor.contracts.AssetsRegistry.tx("register", os.urandom(32), "https://a", [])
    seen.raises("insufficient funds", InsufficientFundsError, lambda: poor.sender.send(unfunded, simulate=False))
    seen.raises("unfunded simulation", Exception, lambda: poor.agents.register_agent(META, API, []))
    for i, key in enumerate(MALFORMED):
        seen.raises(f"malformed key {i}", ValidationError,
                    lambda key=key: NvmChain.connect("embedded", simulation=sim, private_key=key))
        seen.raises(f"malformed as_account {i}", ValidationError, lambda key=key: client.as_account(key))
    seen.raises("signing", SigningError, lambda: client.signer.sign_transaction({"to": "nowhere"}))
    seen.raises("typed data", SigningError, lambda: client.signer.sign_typed_data({"name": 1}, {"X": "bad"}, {}))
    seen.raises("pickle", TypeError, lambda: pickle.dumps(client.signer))

    seen.logs(debug_logs)
    assert any(r.name.startswith("web3") for r in debug_logs.records)  # web3's request logging was on
    seen.assert_clean()


@pytest.mark.parametrize("shown", [KEY, KEY.upper(), KEY_HEX, KEY_HEX.upper(), repr(bytes.fromhex(KEY_HEX)),
                                   str(int(KEY_HEX, 16)), "value: '" + KEY[:40] + "'", UNFUNDED_HEX.upper()[10:]])
def test_the_leak_detector_finds_every_form_of_a_key(shown):
    seen = Collector()
    seen.texts.append(("message", f"something went wrong with {shown} here"))
    with pytest.raises(AssertionError, match="key material leaked"):
        seen.assert_clean()


def test_no_private_key_in_exceptions_or_logs_over_json_rpc(anvil, tmp_path, debug_logs):
    sim, url = anvil
    seen = Collector()
    path = write_book(tmp_path, sim.book.to_json())
    client = NvmChain.connect("local", rpc_url=url, address_book=path, private_key="0x" + UNFUNDED_HEX)
    seen.show("client", client)
    seen.raises("unknown agent", LookupError, lambda: client.agents.get_agent(12345))
    seen.raises("insufficient funds", InsufficientFundsError, lambda: client.agents.register_agent(META, API, []))
    seen.raises("not found", Exception, lambda: client.agents.add_plan_to_agent(1, 2))
    wrong = NvmChain.connect("base-sepolia", rpc_url=url, private_key=KEY)
    seen.raises("wrong chain", ChainMismatchError, lambda: wrong.agents.register_agent(META, API, []))
    seen.logs(debug_logs)
    assert any(r.name.startswith("web3") for r in debug_logs.records)  # web3's request logging was on
    seen.assert_clean()


def test_an_unfunded_account_gets_insufficient_funds_error(world):
    network = world.client("builder").network
    client = NvmChain(world.sim.w3, world.sim.book, LocalSigner("0x" + "5e" * 32), network=network)
    with pytest.raises(InsufficientFundsError):
        client.agents.register_agent(META, API, [])


@pytest.mark.parametrize("misuse", ["key as network", "key as address"])
def test_a_key_passed_in_the_wrong_argument_is_not_echoed(world_embedded, misuse):
    seen = Collector()
    if misuse == "key as network":
        seen.raises(misuse, ConfigurationError, lambda: NvmChain.connect(KEY))
    else:
        client = world_embedded.client("builder")
        seen.raises(misuse, ValidationError, lambda: client.agents.transfer_agent_ownership(1, KEY))
    seen.assert_clean()
