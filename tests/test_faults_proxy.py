"""The fault-injecting JSON-RPC proxy against a real anvil: each fault does what it says, seen from the chain."""

from __future__ import annotations

import gc
import http.client
import os
import socket
import threading
import time

import pytest

from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.errors import ChainMismatchError, Refusal
from tests.faults import FaultProxy, post, rpc

SEND = "eth_sendRawTransaction"
SINK = "0x000000000000000000000000000000000000dEaD"


def transfer(faulty, account: str = "subscriber", value: int = 1) -> tuple[str, str, str]:
    """Sign a 1-wei transfer from ``account`` at its next nonce on anvil: (raw 0x-hex, hash, address)."""
    who = faulty.sim.account(account)
    base = int(faulty.anvil("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    raw, tx_hash = who.signer.sign_transaction({
        "type": 2, "chainId": 31337, "nonce": faulty.nonce(who.address, "pending"), "gas": 21_000, "to": SINK,
        "value": value, "maxFeePerGas": 2 * base + 10**6, "maxPriorityFeePerGas": 10**6})
    return "0x" + raw.hex(), tx_hash, who.address


def send_body(raw: str) -> dict:
    return {"jsonrpc": "2.0", "id": 7, "method": SEND, "params": [raw]}


def on_anvil(faulty, tx_hash: str, wait: float = 5.0) -> dict | None:
    """The receipt of ``tx_hash`` straight from anvil, waiting up to ``wait`` s for automine to mine it."""
    deadline = time.monotonic() + wait
    while True:
        receipt = faulty.anvil("eth_getTransactionReceipt", [tx_hash])
        if receipt is not None or time.monotonic() >= deadline:
            return receipt
        time.sleep(0.02)


def test_forwards_and_records_every_call(faulty):
    assert rpc(faulty.url, "eth_chainId") == rpc(faulty.anvil_url, "eth_chainId") == hex(31337)
    assert faulty.w3.eth.block_number == faulty.direct.eth.block_number
    assert faulty.proxy.count("eth_chainId") == 1
    assert faulty.proxy.count("eth_blockNumber", "forwarded") == 1
    call = faulty.proxy.calls("eth_chainId")[0]
    assert (call.index, call.params, call.batch, call.outcome) == (1, [], False, "forwarded")


@pytest.mark.parametrize("status", [503, 500, 429])
def test_http_error_before_forwarding_never_reaches_the_node(faulty, status):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.fail(SEND, status, times=2, retry_after=3)
    for _ in range(2):
        code, headers, _ = post(faulty.url, send_body(raw))
        assert code == status and headers["retry-after"] == "3"
    assert faulty.anvil("eth_getTransactionByHash", [tx_hash]) is None
    assert faulty.nonce(sender) == nonce
    code, _, body = post(faulty.url, send_body(raw))  # the rule is used up: forwarded
    assert code == 200 and body["result"] == tx_hash
    assert on_anvil(faulty, tx_hash)["status"] == "0x1" and faulty.nonce(sender) == nonce + 1
    assert [c.outcome for c in faulty.proxy.calls(SEND)] == [f"http {status}"] * 2 + ["forwarded"]


def test_answer_lost_with_504_after_forwarding_the_tx_is_mined(faulty):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.lose_answer(SEND, how="504")
    code, _, _ = post(faulty.url, send_body(raw))
    assert code == 504
    assert on_anvil(faulty, tx_hash)["status"] == "0x1" and faulty.nonce(sender) == nonce + 1
    assert faulty.proxy.count(SEND, "lost 504") == 1


def test_answer_lost_by_closing_the_socket_the_tx_is_mined(faulty):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.lose_answer(SEND, how="close")
    with pytest.raises(http.client.RemoteDisconnected):
        post(faulty.url, send_body(raw))
    assert on_anvil(faulty, tx_hash)["status"] == "0x1" and faulty.nonce(sender) == nonce + 1


@pytest.mark.parametrize("after_forward", [False, True])
def test_connection_reset(faulty, after_forward):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.reset(SEND, after_forward=after_forward)
    with pytest.raises(ConnectionResetError):
        post(faulty.url, send_body(raw))
    if after_forward:
        assert on_anvil(faulty, tx_hash)["status"] == "0x1" and faulty.nonce(sender) == nonce + 1
    else:
        assert faulty.anvil("eth_getTransactionByHash", [tx_hash]) is None and faulty.nonce(sender) == nonce


def test_a_slow_node_gets_the_tx_after_the_client_gave_up(faulty):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.hang(SEND, seconds=0.8)
    with pytest.raises(TimeoutError):
        post(faulty.url, send_body(raw), timeout=0.2)
    assert faulty.nonce(sender) == nonce  # still held by the proxy
    assert on_anvil(faulty, tx_hash)["status"] == "0x1" and faulty.nonce(sender) == nonce + 1
    assert faulty.proxy.calls(SEND)[0].outcome == "hung, forwarded, client gone"


def test_a_short_hang_is_answered(faulty):
    faulty.proxy.hang("eth_chainId", seconds=0.3)
    started = time.monotonic()
    assert rpc(faulty.url, "eth_chainId", timeout=5) == hex(31337)
    assert time.monotonic() - started >= 0.3
    assert faulty.proxy.calls("eth_chainId")[0].outcome == "hung, forwarded"


def test_hang_until_the_client_gives_up(faulty):
    raw, tx_hash, sender = transfer(faulty)
    faulty.proxy.hang(SEND, None, forward=False)
    faulty.proxy.hang("eth_getTransactionReceipt", None)
    for method, params in ((SEND, [raw]), ("eth_getTransactionReceipt", [tx_hash])):
        with pytest.raises(TimeoutError):
            post(faulty.url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=0.3)
    deadline = time.monotonic() + 3  # the proxy notices the client left and frees its thread
    while faulty.proxy.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert faulty.proxy.open_connections == 0
    assert [c.outcome for c in faulty.proxy.calls()] == ["hung", "hung, forwarded, client gone"]
    assert faulty.anvil("eth_getTransactionByHash", [tx_hash]) is None  # forward=False: never reached the node
    assert faulty.nonce(sender) == faulty.nonce(sender, "pending")


@pytest.mark.parametrize("message, refusal", [
    ("already known", Refusal.ALREADY_KNOWN),
    ("nonce too low", Refusal.NONCE_TOO_LOW),
    ("replacement transaction underpriced", Refusal.UNDERPRICED),
])
def test_false_node_errors_are_not_forwarded(faulty, message, refusal):
    raw, tx_hash, sender = transfer(faulty)
    nonce = faulty.nonce(sender)
    faulty.proxy.rpc_error(SEND, message)
    with pytest.raises(Exception) as info:
        faulty.w3.eth.send_raw_transaction(raw)
    assert classify_refusal(str(info.value)) is refusal
    assert faulty.anvil("eth_getTransactionByHash", [tx_hash]) is None and faulty.nonce(sender) == nonce
    assert faulty.w3.eth.send_raw_transaction(raw).to_0x_hex() == tx_hash  # the next one is forwarded
    assert on_anvil(faulty, tx_hash)["status"] == "0x1"


def test_rewritten_chain_id_is_caught_before_signing(faulty):
    faulty.proxy.rewrite("eth_chainId", "0x1", times=None)
    faulty.proxy.rewrite("eth_blockNumber", lambda real: hex(int(real, 16) + 1000))
    assert faulty.w3.eth.chain_id == 1 and faulty.direct.eth.chain_id == 31337
    assert faulty.w3.eth.block_number == faulty.direct.eth.block_number + 1000
    builder = faulty.sim.account("builder")
    nonce = faulty.nonce(builder.address)
    with pytest.raises(ChainMismatchError, match="chain 1, expected 31337"):
        Sender(faulty.w3, builder.signer, chain_id=31337).chain_id()
    assert faulty.nonce(builder.address) == nonce and faulty.proxy.count(SEND) == 0


def test_rules_apply_in_order_and_by_count(faulty):
    proxy = faulty.proxy
    proxy.forward("eth_blockNumber", times=2)
    proxy.fail("eth_blockNumber", 500)
    proxy.fail("eth_blockNumber", 429, when=lambda call: call.index == 5)
    statuses = [post(faulty.url, {"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"})[0] for i in range(6)]
    assert statuses == [200, 200, 500, 200, 429, 200]
    wanted = transfer(faulty)[1]
    proxy.rpc_error("*", "nope", times=None, when=lambda call: call.params == [wanted])
    assert "error" in post(faulty.url, {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionByHash",
                                        "params": [wanted]})[2]
    other = post(faulty.url, {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionByHash",
                              "params": ["0x" + "00" * 32]})[2]
    assert other["result"] is None


def test_batches_are_forwarded_as_is(faulty):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
             {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber"}]
    code, _, body = post(faulty.url, batch)
    assert code == 200 and sorted(r["id"] for r in body) == [1, 2]
    assert {r["id"]: r["result"] for r in body}[1] == hex(31337)
    assert [(c.method, c.batch) for c in faulty.proxy.calls()] == [
        ("eth_chainId", True), ("eth_blockNumber", True), ("batch", True)]
    faulty.proxy.fail("batch", 503)
    assert post(faulty.url, batch)[0] == 503
    assert faulty.proxy.count("eth_chainId", "http 503") == 1


def test_a_lost_send_answer_through_the_engine_sends_once(faulty):
    from nvm_chain.protocol import configs, ids

    client = faulty.client("builder")
    nonce = faulty.nonce(client.address)
    faulty.proxy.lose_answer(SEND, how="504")
    price, credits = configs.get_free_price_config(), configs.get_fixed_credits_config(100)
    credits = credits.with_nft(client.book["NFT1155Credits"])
    salt = int.from_bytes(os.urandom(8), "big")
    receipt = client.sender.send(client.contracts.AssetsRegistry.tx("createPlan", price.as_tuple(),
                                                                    credits.as_tuple(), salt))
    assert receipt.status == 1
    assert faulty.nonce(client.address) == nonce + 1  # exactly one transaction on chain
    plan_id = ids.plan_id(price.as_tuple(), credits.as_tuple(), client.address, salt)
    reader = faulty.client("subscriber")
    faulty.proxy.clear()
    assert reader.plans.get_plan(plan_id).owner == client.address
    assert faulty.proxy.count("eth_call") >= 1


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stop_is_bounded_and_leaks_nothing(faults_sim):
    _, anvil_url = faults_sim
    gc.collect()  # sockets of earlier tests' clients closed now, not in the middle of the count
    threads, fds = threading.active_count(), _fds()
    proxy = FaultProxy(anvil_url).start()
    port = int(proxy.url.rsplit(":", 1)[1])
    keep = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # an idle keep-alive connection
    keep.request("POST", "/", b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
                 {"Content-Type": "application/json"})
    assert keep.getresponse().read()
    proxy.hang("eth_blockNumber", None)  # and a request hanging until the client gives up
    failures: list[BaseException] = []

    def hanging() -> None:
        try:
            post(proxy.url, {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, timeout=30)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            failures.append(exc)

    client = threading.Thread(target=hanging)
    client.start()
    deadline = time.monotonic() + 5
    while proxy.count("eth_blockNumber") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.open_connections == 2
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2
    client.join(5)
    assert not client.is_alive() and len(failures) == 1 and isinstance(failures[0], OSError)
    keep.close()
    assert proxy.open_connections == 0 and threading.active_count() == threads
    assert _fds() == fds
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    proxy.stop()  # idempotent
