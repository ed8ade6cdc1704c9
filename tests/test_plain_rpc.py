"""Requests sent straight to plain JSON-RPC providers (``answers_json``) are the requests web3 sends, and every
answer, errors included, comes back as web3 gives it: the same value, or the same exception."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.providers.base import BaseProvider

from nvm_chain.chain.reads import call_output, eth_call
from nvm_chain.chain.rpc import plain_result
from nvm_chain.chain.tx.sender import transaction_count
from nvm_chain.errors import ContractRevertError

TO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FROM = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REVERT = "0x08c379a0" + (32).to_bytes(32, "big").hex() + (4).to_bytes(32, "big").hex() + b"nope".ljust(32, b"\0").hex()


class Canned(BaseProvider):
    """Answers every request with ``answer`` and records what it was asked."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__()
        self.answer = answer
        self.asked: list[tuple[str, Any]] = []

    def make_request(self, method: Any, params: Any) -> Any:
        self.asked.append((method, list(params)))  # web3 passes a tuple: the same JSON
        return {"jsonrpc": "2.0", "id": 1, **self.answer}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class CannedJson(Canned):
    answers_json = True


def _both(answer: dict[str, Any]) -> tuple[Web3, Web3]:
    """A connection through web3's formatters and one that skips them, as the client builds them (without web3's
    "validation" middleware, which would ask eth_chainId around every call)."""
    pair = Web3(Canned(answer)), Web3(CannedJson(answer))
    for w3 in pair:
        w3.middleware_onion.remove("validation")
    return pair


def _outcome(fn: Any) -> Any:
    try:
        return ("value", fn())
    except Exception as exc:  # noqa: BLE001 - compared below
        return ("error", type(exc), str(exc), getattr(exc, "data", None))


ERRORS = [
    {"error": {"code": 3, "message": "execution reverted: nope", "data": REVERT}},
    {"error": {"code": -32000, "message": "execution reverted"}},
    {"error": {"code": -32000, "message": "insufficient funds for gas * price + value"}},
    {"error": {"code": -32000, "message": "nonce too low: next nonce 5, tx nonce 4"}},
    {"error": {"code": -32601, "message": "the method does not exist/is not available"}},
    {"error": {"code": -32000, "message": "request timed out"}},
    {"error": "a bare string"},
    {"result": None, "error": {"code": 1, "message": "both"}},
]


@pytest.mark.parametrize("answer", ERRORS + [{"result": "0x" + "00" * 31 + "2a"}, {"result": "0x"}])
@pytest.mark.parametrize("tx, block", [({"to": TO, "data": b"\x01\x02"}, "latest"),
                                       ({"to": TO, "from": FROM, "data": b"", "value": 5, "gas": 90_000}, 17)])
def test_eth_call_asks_and_answers_as_web3_does(answer, tx, block):
    web3_path, plain = _both(answer)
    assert _outcome(lambda: call_output(plain, tx, block)) == _outcome(lambda: call_output(web3_path, tx, block))
    assert plain.provider.asked == web3_path.provider.asked  # the very same request


@pytest.mark.parametrize("answer", ERRORS + [{"result": "0x1f"}])
def test_nonce_count_asks_and_answers_as_web3_does(answer):
    web3_path, plain = _both(answer)
    assert _outcome(lambda: transaction_count(plain, FROM, "pending")) == \
        _outcome(lambda: transaction_count(web3_path, FROM, "pending"))
    assert plain.provider.asked == web3_path.provider.asked


@pytest.mark.parametrize("answer", ERRORS + [{"result": "0x" + "ab" * 32}])
def test_raw_send_fails_as_web3_does(answer):
    web3_path, plain = _both(answer)
    raw = bytes.fromhex("02f86c") + bytes(100)
    mine = _outcome(lambda: plain_result(plain, "eth_sendRawTransaction", ["0x" + raw.hex()]))
    theirs = _outcome(lambda: web3_path.eth.send_raw_transaction(raw))
    assert mine[0] == theirs[0] and (mine[0] == "value" or mine == theirs)
    assert plain.provider.asked == web3_path.provider.asked


def test_what_web3_must_format_still_goes_through_web3():
    web3_path, plain = _both({"result": "0x"})
    lower = TO.lower()  # web3 refuses an address that is not checksummed: so does the fast path, by using web3
    assert _outcome(lambda: call_output(plain, {"to": lower, "data": b""})) == \
        _outcome(lambda: call_output(web3_path, {"to": lower, "data": b""}))
    assert plain.provider.asked == []


def test_a_plain_revert_is_decoded_like_any_other():
    _, plain = _both(ERRORS[0])
    with pytest.raises(ContractRevertError) as info:
        eth_call(plain, TO, b"\x01", action="Test.read")
    assert info.value.reason.name == "Error" and info.value.reason.args == {"message": "nope"}
