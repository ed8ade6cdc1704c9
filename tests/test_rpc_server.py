"""The devnet JSON-RPC server, driven by plain web3 HTTP clients (default middleware) and raw requests."""

from __future__ import annotations

import threading

import eth_abi
import pytest
import requests
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import (
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TransactionNotFound,
    Web3RPCError,
)

from nvm_chain.chain.abi import encode_call, registry
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import (
    ConfigurationError,
    ContractRevertError,
    InsufficientFundsError,
    Refusal,
)
from nvm_chain.sim import EmbeddedChain, RpcChain, Simulation
from nvm_chain.sim.accounts import GENESIS_KEY
from nvm_chain.sim.deploy import deploy_protocol
from nvm_chain.sim.devnet import DevnetServer

CHAIN_ID = 131277322940537
APPROVAL = "0x" + keccak(text="Approval(address,address,uint256)").hex()
TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation.start(fees=True)


@pytest.fixture(scope="module")
def server(sim):
    srv = DevnetServer(sim.chain).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def w3(server) -> Web3:
    return Web3(Web3.HTTPProvider(server.url))


@pytest.fixture(autouse=True)
def _isolated(sim):
    snapshot = sim.chain.snapshot()
    yield
    sim.chain.revert(snapshot)


def rpc(url: str, method: str, params: list | None = None) -> dict:
    """One raw JSON-RPC request; returns the whole response object."""
    response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
                             timeout=30)
    assert response.status_code == 200
    return response.json()


def contract(w3: Web3, sim: Simulation, name: str):
    return w3.eth.contract(address=sim.book[name], abi=registry()[name].abi)


def topic_of(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def approve(w3: Web3, sim: Simulation, who: str, spender: str, amount: int):
    """An ERC-20 approve on MockERC20, signed locally and sent through Sender over HTTP."""
    token = sim.book["MockERC20"]
    sender = Sender(w3, sim.account(who).signer, contracts={token: "MockERC20"})
    data = encode_call(registry()["MockERC20"].entry("approve"), [spender, amount])
    return sender.send(TxRequest(token, data, 100_000, action="approve"))


def runtime_contract(w3: Web3, runtime: bytes) -> str:
    """Deploy ``runtime`` as-is from eth-tester's unlocked account 0 (eth_sendTransaction)."""
    init = b"\x61" + len(runtime).to_bytes(2, "big") + b"\x80\x60\x0c\x60\x00\x39\x60\x00\xf3"  # codecopy+return
    tx_hash = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": init + runtime})
    return w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)["contractAddress"]


def reverting_with(data: bytes) -> bytes:
    """Runtime code that reverts with exactly ``data``."""
    code, padded = b"", data + b"\0" * (-len(data) % 32)
    for i in range(0, len(padded), 32):
        code += b"\x7f" + padded[i:i + 32] + b"\x61" + i.to_bytes(2, "big") + b"\x52"  # PUSH32 PUSH2 MSTORE
    return code + b"\x61" + len(data).to_bytes(2, "big") + b"\x60\x00\xfd"  # PUSH2 len PUSH1 0 REVERT


# ---------------------------------------------------------------------------------------------- reads


def test_chain_id_client_and_funded_accounts(w3, sim, server):
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    assert w3.eth.chain_id == CHAIN_ID == sim.w3.eth.chain_id
    assert w3.net.version == str(CHAIN_ID)
    assert w3.client_version.startswith("nvm-chain-devnet/")
    assert w3.eth.block_number == sim.w3.eth.block_number
    for account in sim.accounts.values():
        balance = w3.eth.get_balance(account.address)
        assert balance == sim.w3.eth.get_balance(account.address) > 999 * 10**18  # funded 1,000 ETH (minus gas)
    assert w3.eth.accounts == sim.w3.eth.accounts  # eth-tester's unlocked genesis accounts


def test_reads_contracts_code_and_storage(w3, sim):
    token = contract(w3, sim, "MockERC20")
    assert (token.functions.name().call(), token.functions.symbol().call()) == ("Mock USD", "mUSD")
    assert token.functions.balanceOf(sim.account("subscriber").address).call() == 1_000_000 * 10**18
    assert contract(w3, sim, "AssetsRegistry").functions.getTotalAgents().call() == 0
    registry_address = sim.book["AssetsRegistry"]
    assert w3.eth.get_code(registry_address) == sim.w3.eth.get_code(registry_address) != b""
    assert w3.eth.get_code(sim.account("builder").address) == b""
    for slot in range(3):
        assert w3.eth.get_storage_at(token.address, slot) == sim.w3.eth.get_storage_at(token.address, slot)


# ---------------------------------------------------------------------------------------------- transactions


def test_locally_signed_transaction_receipt_and_events(w3, sim):
    subscriber, spender = sim.account("subscriber"), sim.book["PaymentsVault"]
    block_before = w3.eth.block_number
    receipt = approve(w3, sim, "subscriber", spender, 12_345)
    assert receipt.status == 1 and receipt.block_number == block_before + 1
    (event,) = receipt.events_named("Approval")
    assert event.args == {"owner": subscriber.address, "spender": spender, "value": 12_345}

    rcpt = w3.eth.get_transaction_receipt(receipt.tx_hash)
    assert rcpt["status"] == 1 and rcpt["type"] == 2 and rcpt["contractAddress"] is None
    assert rcpt["gasUsed"] == receipt.gas_used > 21_000 and rcpt["effectiveGasPrice"] > 0
    assert rcpt["from"] == subscriber.address and rcpt["to"] == sim.book["MockERC20"]
    assert [bytes(t) for t in rcpt["logs"][0]["topics"]] == [
        bytes.fromhex(APPROVAL[2:]), bytes.fromhex(topic_of(subscriber.address)[2:]),
        bytes.fromhex(topic_of(spender)[2:])]
    token = contract(w3, sim, "MockERC20")
    (decoded,) = token.events.Approval().process_receipt(rcpt)
    assert decoded["args"]["value"] == 12_345

    tx = w3.eth.get_transaction(receipt.tx_hash)
    assert tx["from"] == subscriber.address and tx["nonce"] == 0 and tx["type"] == 2
    assert bytes(tx["input"])[:4] == keccak(text="approve(address,uint256)")[:4]

    block = w3.eth.get_block(rcpt["blockNumber"], full_transactions=True)
    assert block["transactions"][0]["hash"] == rcpt["transactionHash"]
    assert block["parentHash"] == w3.eth.get_block(block_before)["hash"]
    assert block["baseFeePerGas"] > 0 and block["gasLimit"] > block["gasUsed"] > 0
    assert w3.eth.get_block(block["hash"])["number"] == block["number"]
    assert w3.eth.get_block("latest")["transactions"] == [rcpt["transactionHash"]]

    # state at a block number: the allowance did not exist one block earlier
    assert token.functions.allowance(subscriber.address, spender).call() == 12_345
    assert token.functions.allowance(subscriber.address, spender).call(block_identifier=block_before) == 0
    assert w3.eth.get_transaction_count(subscriber.address, "pending") == 1
    assert w3.eth.get_transaction_count(subscriber.address, block_before) == 0


def test_web3_build_transaction_path_fills_gas_and_fees(w3, sim):
    subscriber, builder = sim.account("subscriber"), sim.account("builder")
    token = contract(w3, sim, "MockERC20")
    tx = token.functions.transfer(builder.address, 7).build_transaction(
        {"from": subscriber.address, "nonce": w3.eth.get_transaction_count(subscriber.address)})
    assert tx["chainId"] == CHAIN_ID and tx["gas"] > 21_000 and tx["maxPriorityFeePerGas"] == 10**9
    raw, tx_hash = subscriber.signer.sign_transaction({k: v for k, v in tx.items() if k != "from"})
    assert w3.eth.send_raw_transaction(raw).to_0x_hex() == tx_hash
    rcpt = w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
    (transfer,) = token.events.Transfer().process_receipt(rcpt)
    assert transfer["args"]["to"] == builder.address and transfer["args"]["value"] == 7
    assert token.functions.balanceOf(builder.address).call() == 1_000_000 * 10**18 + 7


def test_refused_raw_transactions_read_like_a_node(w3, sim, server):
    owner = LocalSigner(GENESIS_KEY)
    base = {"type": 2, "chainId": CHAIN_ID, "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
            "to": sim.account("builder").address, "value": 1, "data": b""}

    def refusal(signer: LocalSigner, **changes) -> dict:
        raw, _ = signer.sign_transaction({**base, **changes})
        return rpc(server.url, "eth_sendRawTransaction", ["0x" + raw.hex()])["error"]

    used = refusal(owner, nonce=0)  # the owner deployed the suite with nonce 0
    assert used["code"] == -32000 and used["message"].startswith("nonce too low")
    assert classify_refusal(used["message"]) is Refusal.NONCE_TOO_LOW
    nobody = LocalSigner(keccak(text="nobody holds ether"))
    broke = refusal(nobody, nonce=0)
    assert broke["code"] == -32000 and classify_refusal(broke["message"]) is Refusal.INSUFFICIENT_FUNDS
    nonce = w3.eth.get_transaction_count(owner.address)
    cheap = refusal(owner, nonce=nonce, maxFeePerGas=1)
    assert classify_refusal(cheap["message"]) is Refusal.FEE_BELOW_BASE_FEE
    other_chain = refusal(owner, nonce=nonce, chainId=1)
    assert other_chain["code"] == -32000 and "chain id" in other_chain["message"]
    assert rpc(server.url, "eth_sendRawTransaction", ["0x02c0"])["error"]["code"] == -32000  # not a tx
    assert w3.eth.get_transaction_count(owner.address) == nonce  # nothing above was mined

    with pytest.raises(InsufficientFundsError):  # the client classifies the refusal from the message alone
        Sender(w3, nobody).send(TxRequest(sim.account("builder").address, b"", 21_000, value=1), simulate=False)


# ---------------------------------------------------------------------------------------------- reverts


def test_custom_error_reverts_surface_as_ContractCustomError(w3, sim, server):
    assets = contract(w3, sim, "AssetsRegistry")
    builder = sim.account("builder")
    with pytest.raises(ContractCustomError) as hashed:
        assets.functions.getNextAgentId().call()
    assert registry().decode_revert(bytes.fromhex(hashed.value.data[2:])).name == "AgentIdsAreHashBased"
    for attempt in (assets.functions.addPlanToAgent(7, 9).call,
                    assets.functions.addPlanToAgent(7, 9).estimate_gas):
        with pytest.raises(ContractCustomError) as missing:
            attempt({"from": builder.address})
        reason = registry().decode_revert(bytes.fromhex(missing.value.data[2:]))
        assert (reason.name, reason.args) == ("AgentNotFound", {"agentId": 7})

    calldata = encode_call(registry()["AssetsRegistry"].entry("addPlanToAgent"), [7, 9])
    error = rpc(server.url, "eth_call", [{"to": sim.book["AssetsRegistry"], "data": "0x" + calldata.hex()},
                                         "latest"])["error"]
    assert error["code"] == 3 and error["message"] == "execution reverted"
    assert error["data"] == "0x" + reason.data.hex()

    # the library's own client sees the same typed error, simulated and after mining (status 0)
    req = TxRequest(sim.book["AssetsRegistry"], calldata, 300_000, action="addPlanToAgent")
    sender = Sender(w3, builder.signer)
    with pytest.raises(ContractRevertError) as simulated:
        sender.send(req)
    with pytest.raises(ContractRevertError) as mined:
        sender.send(req, simulate=False)
    for err in (simulated.value, mined.value):
        assert err.error_name == "AgentNotFound" and err.error_args == {"agentId": 7}
    assert mined.value.tx_hash and w3.eth.get_transaction_receipt(mined.value.tx_hash)["status"] == 0


def test_string_panic_empty_reverts_and_vm_errors_are_told_apart(w3):
    reason = bytes.fromhex("08c379a0") + eth_abi.encode(["string"], ["nope: not allowed"])
    string_revert = runtime_contract(w3, reverting_with(reason))
    panic = runtime_contract(w3, reverting_with(bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")))
    empty = runtime_contract(w3, reverting_with(b""))
    invalid = runtime_contract(w3, b"\xfe")

    for attempt in (w3.eth.call, w3.eth.estimate_gas):
        with pytest.raises(ContractLogicError) as string_info:
            attempt({"to": string_revert})
        assert not isinstance(string_info.value, ContractCustomError)
        assert str(string_info.value.message) == "execution reverted: nope: not allowed"
        assert string_info.value.data == "0x" + reason.hex()
        with pytest.raises(ContractPanicError) as panic_info:
            attempt({"to": panic})
        assert "overflow" in str(panic_info.value)
        with pytest.raises(ContractLogicError) as empty_info:
            attempt({"to": empty})
        assert empty_info.value.data == "0x"
        with pytest.raises(Web3RPCError) as vm_info:  # not a revert: no revert data, code -32000
            attempt({"to": invalid})
        assert not isinstance(vm_info.value, ContractLogicError)
        assert vm_info.value.rpc_response["error"]["code"] == -32000
        assert "invalid opcode" in vm_info.value.rpc_response["error"]["message"]


# ---------------------------------------------------------------------------------------------- logs and filters


def test_get_logs_filters_by_address_topics_and_blocks(w3, sim):
    token = sim.book["MockERC20"]
    sub, bld = sim.account("subscriber").address, sim.account("builder").address
    vault, templ = sim.book["PaymentsVault"], sim.book["FixedPaymentTemplate"]
    start = w3.eth.block_number + 1
    first = approve(w3, sim, "subscriber", vault, 1)
    approve(w3, sim, "subscriber", templ, 2)
    approve(w3, sim, "builder", vault, 3)

    def values(**flt) -> list[int]:
        logs = w3.eth.get_logs({"fromBlock": start, **flt})
        return [int.from_bytes(bytes(entry["data"]), "big") for entry in logs]

    assert values(address=token, topics=[APPROVAL, topic_of(sub)]) == [1, 2]
    assert values(address=token, topics=[APPROVAL, None, topic_of(vault)]) == [1, 3]
    assert values(topics=[APPROVAL, [topic_of(sub), topic_of(bld)], topic_of(vault)]) == [1, 3]
    assert values(topics=[[TRANSFER, APPROVAL]]) == [1, 2, 3]
    assert values(address=[token, vault]) == [1, 2, 3]
    assert values(address=vault) == [] and values(topics=[TRANSFER]) == []
    assert values(toBlock=start) == [1]
    assert values(fromBlock=start + 1, toBlock="latest") == [2, 3]
    (only,) = w3.eth.get_logs({"blockHash": w3.eth.get_block(first.block_number)["hash"]})
    assert only["transactionHash"].to_0x_hex() == first.tx_hash and only["removed"] is False
    events = contract(w3, sim, "MockERC20").events.Approval.get_logs(from_block=start, argument_filters={"owner": bld})
    assert [e["args"]["value"] for e in events] == [3]


def test_block_and_log_filters_poll_new_entries(w3, sim):
    blocks = w3.eth.filter("latest")
    approvals = contract(w3, sim, "MockERC20").events.Approval.create_filter(from_block="latest")
    assert blocks.get_new_entries() == [] and approvals.get_new_entries() == []
    receipt = approve(w3, sim, "subscriber", sim.book["PaymentsVault"], 99)
    (entry,) = approvals.get_new_entries()
    assert entry["args"]["value"] == 99 and approvals.get_new_entries() == []
    assert blocks.get_new_entries() == [w3.eth.get_block(receipt.block_number)["hash"]]
    assert w3.eth.uninstall_filter(blocks.filter_id) is True
    assert w3.eth.uninstall_filter(blocks.filter_id) is False


# ---------------------------------------------------------------------------------------------- dev methods


def test_snapshot_revert_and_time_travel(w3, sim):
    make = w3.provider.make_request
    before = w3.eth.get_block("latest")
    snapshot = make("evm_snapshot", [])["result"]

    make("evm_increaseTime", [3600])
    make("evm_mine", [])
    after = w3.eth.get_block("latest")
    assert before["timestamp"] + 3600 <= after["timestamp"] <= before["timestamp"] + 3610

    target = after["timestamp"] + 1000
    assert make("evm_setNextBlockTimestamp", [target]).get("error") is None
    make("evm_mine", [])
    assert w3.eth.get_block("latest")["timestamp"] == target
    past = make("evm_setNextBlockTimestamp", [before["timestamp"]])
    assert past["error"]["code"] == -32000

    day = RpcChain(w3).travel(86_400)  # the library's own dev-node driver works against the devnet
    assert day >= target + 86_400

    assert make("evm_revert", [snapshot])["result"] is True
    assert w3.eth.get_block("latest")["hash"] == before["hash"]
    assert sim.chain.now() == before["timestamp"]
    assert make("evm_revert", ["0x7777"])["result"] is False


# ---------------------------------------------------------------------------------------------- protocol


def test_batch_requests(w3, server, sim):
    subscriber = sim.account("subscriber").address
    answer = requests.post(server.url, timeout=30, json=[
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "b", "method": "eth_getBalance", "params": [subscriber, "latest"]},
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # notification: no answer
        {"jsonrpc": "2.0", "id": 3, "method": "eth_nope", "params": []},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_getBalance", "params": ["0x12"]},
    ]).json()
    by_id = {a["id"]: a for a in answer}
    assert len(answer) == 4
    assert by_id[1]["result"] == hex(CHAIN_ID)
    assert int(by_id["b"]["result"], 16) == sim.w3.eth.get_balance(subscriber)
    assert by_id[3]["error"]["code"] == -32601 and by_id[4]["error"]["code"] == -32602

    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block(1))
        batch.add(w3.eth.get_balance(subscriber))
        block, balance = batch.execute()
    assert block["number"] == 1 and balance == int(by_id["b"]["result"], 16)

    empty = requests.post(server.url, json=[], timeout=30)
    assert empty.status_code == 200 and empty.json()["error"]["code"] == -32600


def test_error_codes_and_nulls(w3, server):
    assert rpc(server.url, "eth_frobnicate")["error"]["code"] == -32601
    for method, params in (("eth_getBalance", ["not-an-address"]), ("eth_chainId", ["extra"]),
                           ("eth_getBlockByNumber", ["0x1", "yes"]), ("eth_call", ["not-an-object"]),
                           ("eth_getLogs", [{"topics": ["0x12"]}])):
        assert rpc(server.url, method, params)["error"]["code"] == -32602, method
    unknown = "0x" + "ab" * 32
    assert rpc(server.url, "eth_getTransactionByHash", [unknown]) == {"jsonrpc": "2.0", "id": 1, "result": None}
    assert rpc(server.url, "eth_getTransactionReceipt", [unknown])["result"] is None
    assert rpc(server.url, "eth_getBlockByNumber", ["0xffffff", False])["result"] is None
    assert rpc(server.url, "eth_getBlockByHash", [unknown, False])["result"] is None
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction(unknown)
    with pytest.raises(BlockNotFound):
        w3.eth.get_block(10**6)
    parse = requests.post(server.url, data=b"{not json", timeout=30)
    assert parse.status_code == 200 and parse.json()["error"]["code"] == -32700
    assert requests.post(server.url, json=5, timeout=30).json()["error"]["code"] == -32600
    assert requests.get(server.url, timeout=30).status_code == 405


def test_fee_history_and_gas_price(w3):
    latest = w3.eth.get_block("latest")
    history = w3.eth.fee_history(4, "latest", [25, 75])
    assert history["oldestBlock"] == latest["number"] - 3
    assert len(history["baseFeePerGas"]) == 5 and len(history["gasUsedRatio"]) == 4
    assert history["baseFeePerGas"][3] == latest["baseFeePerGas"]
    assert all(len(r) == 2 and r[0] <= r[1] for r in history["reward"])
    pending_base_fee = history["baseFeePerGas"][4]
    assert w3.eth.max_priority_fee == 10**9 and w3.eth.gas_price == pending_base_fee + 10**9


# ---------------------------------------------------------------------------------------------- server


def test_binding_anywhere_but_loopback_is_refused(sim):
    for host in ("0.0.0.0", "192.168.1.10", "localhost", "::"):
        with pytest.raises(ConfigurationError, match="127.0.0.1"):
            DevnetServer(sim.chain, host=host)
    with pytest.raises(ConfigurationError):
        DevnetServer(RpcChain(Web3()))  # a remote node is not served again


def test_body_size_is_bounded_and_stop_closes_everything(sim, capfd):
    small = DevnetServer(sim.chain, max_body=2048)
    try:
        small.start()
        session = requests.Session()  # keep-alive connection, closed by stop()
        assert session.post(small.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                            timeout=30).json()["result"] == hex(CHAIN_ID)
        big = session.post(small.url, data=b"[" + b" " * 4096 + b"]", timeout=30)
        assert big.status_code == 413 and big.json()["error"]["code"] == -32600
    finally:
        small.stop()
    small.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        session.post(small.url, json={"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"}, timeout=5)
    with pytest.raises(RuntimeError):
        small.start()
    assert capfd.readouterr().err == ""  # quiet: no per-request or per-error lines


def test_serve_forever_blocks_until_stop(sim):
    server = DevnetServer(sim.chain)
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    try:
        assert rpc(server.url, "eth_blockNumber")["result"] == hex(sim.w3.eth.block_number)
    finally:
        server.stop()
    serving.join(timeout=5)
    assert not serving.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=5)


def test_concurrent_clients_are_serialised(w3, sim, server):
    assert server.rpc.lock is sim.chain.w3.provider._lock  # one lock for HTTP and in-process callers
    token = contract(w3, sim, "MockERC20")
    errors: list[BaseException] = []

    def reader():
        try:
            client = Web3(Web3.HTTPProvider(server.url))
            for _ in range(8):
                client.eth.get_block("latest")
                token.functions.totalSupply().call()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def in_process():  # the chain's own w3 shares the server's lock
        try:
            for _ in range(8):
                sim.w3.eth.get_block("latest")
                sim.w3.eth.get_balance(sim.account("agent").address)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=in_process)]
    for t in threads:
        t.start()
    receipts = [approve(w3, sim, "agent", sim.book["PaymentsVault"], n) for n in range(1, 5)]
    for t in threads:
        t.join()
    assert errors == []
    assert [r.status for r in receipts] == [1, 1, 1, 1]
    assert w3.eth.get_transaction_count(sim.account("agent").address) == 4


@pytest.fixture
def second_devnet():
    chain = EmbeddedChain()
    srv = DevnetServer(chain).start()
    yield chain, srv
    srv.stop()


def test_protocol_deploys_through_the_server(second_devnet):
    chain, srv = second_devnet
    remote = Web3(Web3.HTTPProvider(srv.url))
    funded = LocalSigner(keccak(text="nvm-chain/test/devnet")).address
    deployment = deploy_protocol(remote, LocalSigner(GENESIS_KEY), fund=[funded])
    assert deployment.book.chain_id == CHAIN_ID and len(deployment.book.contracts) >= 20
    for name, address in deployment.book.contracts.items():
        assert chain.w3.eth.get_code(address) != b"", name  # seen in-process, deployed over HTTP
    assert chain.w3.eth.get_balance(funded) == 1_000 * 10**18
    token = remote.eth.contract(address=deployment.book["MockERC20"], abi=registry()["MockERC20"].abi)
    assert token.functions.balanceOf(funded).call() == 1_000_000 * 10**18
