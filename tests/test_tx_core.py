"""Pure pieces of the transaction layer: signer secrecy, fee policy, revert extraction and decoding."""

from __future__ import annotations

import pickle

import eth_abi
import pytest
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers import JSONBaseProvider

from nvm_chain.chain.abi import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    decode_log,
    registry,
)
from nvm_chain.chain.reads import eth_call
from nvm_chain.chain.tx.gas import GWEI, eip1559_fees
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import ContractRevertError, ValidationError

KEY_HEX = "0x" + "4c" * 32  # recognisable throwaway key


def test_signer_never_shows_its_key():
    signer = LocalSigner(KEY_HEX)
    for text in (repr(signer), str(signer), f"{signer}"):
        assert "4c4c4c4c" not in text and signer.address in text
    with pytest.raises(TypeError):
        pickle.dumps(signer)


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "00" * 32, "not hex at all " * 4, b"\x01" * 31])
def test_invalid_keys_are_refused_without_echoing_them(bad):
    with pytest.raises(ValidationError) as info:
        LocalSigner(bad)
    assert str(info.value) == "invalid private key (expected 32 bytes as 0x-prefixed hex)"


def test_signing_errors_do_not_quote_their_input():
    signer = LocalSigner(KEY_HEX)
    with pytest.raises(Exception) as info:
        signer.sign_transaction({"nonsense": KEY_HEX})
    assert "4c4c4c4c" not in str(info.value)


def test_signed_transaction_hash_is_keccak_of_the_raw_bytes():
    from eth_utils import keccak

    raw, tx_hash = LocalSigner(KEY_HEX).sign_transaction({
        "type": 2, "chainId": 1, "nonce": 0, "gas": 21_000, "maxFeePerGas": 2 * GWEI,
        "maxPriorityFeePerGas": 1, "to": "0x" + "11" * 20, "value": 1, "data": b""})
    assert tx_hash == "0x" + keccak(raw).hex()


def test_fee_policy_covers_base_fee_growth_and_respects_the_ceiling():
    fees = eip1559_fees(8 * GWEI, priority_fee=GWEI, headroom_blocks=2)
    assert fees.max_fee_per_gas == 8 * GWEI * 81 // 64 + GWEI  # two blocks of +12.5%
    assert fees.max_priority_fee_per_gas == GWEI
    with pytest.raises(ValidationError, match="exceeds the ceiling"):
        eip1559_fees(100 * GWEI, max_fee_ceiling=50 * GWEI)


class _TesterFailure(Exception):
    pass


_TesterFailure.__name__ = "TransactionFailed"


def test_revert_bytes_are_extracted_from_every_backend_shape():
    payload = bytes.fromhex("6b05f46e") + (42).to_bytes(32, "big")

    class Custom(Exception):
        def __init__(self, data):
            super().__init__("execution reverted")
            self.data = data

    assert revert_data(Custom("0x" + payload.hex())) == payload  # anvil: ContractCustomError.data
    assert revert_data(_TesterFailure(f"execution reverted: {payload!r}")) == payload  # eth-tester
    assert revert_data(ValueError("unrelated")) is None
    text = revert_data(_TesterFailure("execution reverted: nope"))
    assert registry().decode_revert(text).args == {"message": "nope"}


def test_decoding_custom_errors_error_string_and_panic():
    abis = registry()
    reason = abis.decode_revert(bytes.fromhex("6b05f46e") + (42).to_bytes(32, "big"))
    assert (reason.name, reason.args, reason.signature) == ("PlanNotFound", {"planId": 42}, "PlanNotFound(uint256)")
    assert abis.decode_revert(ERROR_STRING_SELECTOR + eth_abi.encode(["string"], ["boom"])).args == {"message": "boom"}
    assert abis.decode_revert(PANIC_SELECTOR + eth_abi.encode(["uint256"], [0x11])).name == "Panic"
    assert abis.decode_revert(b"\xde\xad\xbe\xef") is None and abis.decode_revert(b"") is None
    err = ContractRevertError(reason, reason.data, action="AssetsRegistry.getPlan")
    assert str(err) == "AssetsRegistry.getPlan reverted: PlanNotFound(planId=42)"
    assert err.error_name == "PlanNotFound" and err.error_args == {"planId": 42}


def test_decoded_addresses_are_checksummed():
    spender = "0x66a15edcc3b50a663e72f1457ffd49b9ae284ddc"
    data = bytes.fromhex("fb8f41b2") + eth_abi.encode(["address", "uint256", "uint256"], [spender, 0, 5])
    assert registry().decode_revert(data).args["spender"] == "0x66a15edcC3b50a663e72F1457FFd49b9AE284dDc"


def test_erc20_and_erc721_transfer_logs_are_told_apart_by_topic_count():
    from eth_utils import keccak

    topic = keccak(text="Transfer(address,address,uint256)")
    a, b = (bytes(12) + bytes([i]) * 20 for i in (1, 2))
    erc20 = {"address": "0x" + "aa" * 20, "topics": [topic, a, b], "data": (7).to_bytes(32, "big")}
    erc721 = {"address": "0x" + "bb" * 20, "topics": [topic, a, b, (9).to_bytes(32, "big")], "data": b""}
    assert decode_log(erc20).args["value"] == 7
    assert decode_log(erc721).args["tokenId"] == 9
    assert decode_log({"address": "0x" + "cc" * 20, "topics": [bytes(32)], "data": b""}) is None


def test_a_recurring_log_decodes_to_the_same_event_with_args_of_its_own():
    from eth_utils import keccak

    topic = keccak(text="Transfer(address,address,uint256)")
    a, b = (bytes(12) + bytes([i]) * 20 for i in (1, 2))
    log = {"address": "0x" + "aa" * 20, "topics": [topic, a, b], "data": (7).to_bytes(32, "big")}
    first = decode_log(log)
    first.args["value"] = 8  # a caller changing its copy
    again = decode_log({**log, "topics": [bytes(t) for t in log["topics"]]})
    assert again == decode_log(log) and again.args["value"] == 7 and again.args is not first.args
    other = decode_log({**log, "address": "0x" + "dd" * 20, "data": (9).to_bytes(32, "big")})
    assert (other.address, other.args["value"]) == ("0x" + "dd" * 20, 9)


class _ScriptedNode(JSONBaseProvider):
    """Answers eth_chainId and fails every other request with one JSON-RPC error object, so that web3's own
    revert formatter builds the exception (the shapes real nodes send)."""

    def __init__(self, error: dict):
        super().__init__()
        self.error = error

    def make_request(self, method, params):
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}
        return {"jsonrpc": "2.0", "id": 1, "error": self.error}


PLAN_NOT_FOUND_42 = "0x6b05f46e" + "00" * 31 + "2a"  # PlanNotFound(uint256 planId = 42)
ALLOWANCE_SHORT = ("0xfb8f41b2" + "00" * 12 + "66a15edcc3b50a663e72f1457ffd49b9ae284ddc"  # ERC20InsufficientAllowance(
                   + "00" * 31 + "05" + "00" * 29 + "0f4240")  # spender, allowance 5, needed 1_000_000)


def _call_through(error: dict) -> ContractRevertError:
    w3 = Web3(_ScriptedNode(error))
    with pytest.raises(ContractRevertError) as info:
        eth_call(w3, "0x" + "11" * 20, b"\x01", action="AssetsRegistry.getPlan")
    return info.value


def test_revert_data_as_a_0x_hex_string_is_decoded():
    """anvil/geth: error.data is the hex string; web3 raises ContractCustomError whose message IS that hex (no
    "revert" in it), so only ``.data`` carries the error."""
    err = _call_through({"code": 3, "message": "execution reverted", "data": PLAN_NOT_FOUND_42})
    assert (err.error_name, err.error_args) == ("PlanNotFound", {"planId": 42})
    assert str(err) == "AssetsRegistry.getPlan reverted: PlanNotFound(planId=42)"
    assert revert_data(ContractCustomError(PLAN_NOT_FOUND_42, data=PLAN_NOT_FOUND_42)) == \
        bytes.fromhex(PLAN_NOT_FOUND_42[2:])


def test_revert_data_nested_in_a_dict_is_decoded():
    """Hardhat-style nodes: error.data is an object whose "data" holds the hex; web3 raises ContractLogicError
    with that dict as ``.data`` and a message that names no error."""
    err = _call_through({"code": -32603, "message": "VM Exception while processing transaction: reverted",
                         "data": {"message": "reverted", "data": ALLOWANCE_SHORT}})
    assert err.error_name == "ERC20InsufficientAllowance"
    assert err.error_args == {"spender": "0x66a15edcC3b50a663e72F1457FFd49b9AE284dDc", "allowance": 5,
                              "needed": 1_000_000}
    raw = ContractLogicError("execution reverted: reverted", data={"message": "x", "data": PLAN_NOT_FOUND_42})
    assert revert_data(raw) == bytes.fromhex(PLAN_NOT_FOUND_42[2:])


def test_plain_words_decode_exactly_as_eth_abi_and_malformed_words_still_fail_like_it():
    import random

    from nvm_chain.chain.codec import checksum, decode_values

    rng = random.Random(7)
    kinds = ["address", "bool", "bytes32", "uint256", "uint8", "uint64"]
    for _ in range(2000):
        types = [rng.choice(kinds) for _ in range(rng.randrange(1, 5))]
        data = rng.choice([rng.randbytes(32 * len(types)), bytes(31 * len(types)) + rng.randbytes(len(types)),
                           rng.randbytes(32 * len(types) + 1)])
        try:
            expected = tuple(checksum(v) if t == "address" else v for t, v in zip(types, eth_abi.decode(types, data)))
        except Exception as exc:  # noqa: BLE001 - the same class must come out of decode_values
            with pytest.raises(type(exc)):
                decode_values(types, data)
        else:
            assert decode_values(types, data) == expected


def test_plain_word_arguments_encode_exactly_as_eth_abi_and_bad_ones_still_fail_like_it():
    import random

    from nvm_chain.chain.abi import encode_call
    from nvm_chain.chain.codec import checksum

    rng = random.Random(11)
    kinds = ["address", "bool", "bytes32", "uint256", "uint8", "uint64", "bytes", "uint256[]"]
    values = {
        "address": lambda: rng.choice([checksum("0x" + rng.randbytes(20).hex()), "0x" + rng.randbytes(20).hex(),
                                       "0x" + rng.randbytes(20).hex().upper(), rng.randbytes(20), "0x12"]),
        "bool": lambda: rng.choice([True, False, 0, 1]),
        "bytes32": lambda: rng.choice([rng.randbytes(32), rng.randbytes(5), rng.randbytes(33), "0x" + "ab" * 32]),
        "uint256": lambda: rng.choice([0, 2**256 - 1, 2**256, -1, rng.randrange(2**256), True]),
        "uint8": lambda: rng.choice([0, 255, 256, rng.randrange(256)]),
        "uint64": lambda: rng.choice([2**64 - 1, 2**64, rng.randrange(2**64)]),
        "bytes": lambda: rng.randbytes(rng.randrange(70)),
        "uint256[]": lambda: [rng.randrange(2**256) for _ in range(rng.randrange(3))],
    }
    for _ in range(2000):
        types = [rng.choice(kinds) for _ in range(rng.randrange(0, 5))]
        args = [values[t]() for t in types]
        entry = {"type": "function", "name": "f", "inputs": [{"name": "", "type": t} for t in types]}
        selector = Web3.keccak(text=f"f({','.join(types)})")[:4]
        try:
            expected = selector + eth_abi.encode(types, args)
        except Exception as exc:  # noqa: BLE001 - the same class must come out of encode_call
            with pytest.raises(type(exc)):
                encode_call(entry, args)
        else:
            assert encode_call(entry, args) == expected


def test_a_transfer_single_log_decodes_to_its_literal_arguments():
    topic = bytes.fromhex("c3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62")  # TransferSingle
    operator, sender, receiver = ("0x" + "00" * 12 + "ab" * 20, bytes(32), "0x" + "00" * 12 + "cd" * 20)
    log = {"address": "0x" + "11" * 20, "topics": [topic, bytes.fromhex(operator[2:]), sender,
                                                   bytes.fromhex(receiver[2:])],
           "data": (5).to_bytes(32, "big") + (100).to_bytes(32, "big")}
    event = decode_log(log, contract="NFT1155Credits")
    assert event is not None and event.name == "TransferSingle"
    assert event.args == {"operator": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB",
                          "from": "0x0000000000000000000000000000000000000000",
                          "to": "0xCdCDCdCdcdcdcdCdcDcDCdcDcDCdCdcdCdcDCDcD", "id": 5, "value": 100}
    assert event.signature == "TransferSingle(address,address,address,uint256,uint256)"


def test_a_receipt_decodes_only_the_logs_asked_for(monkeypatch):
    from eth_utils import keccak

    from nvm_chain.chain import abi
    from nvm_chain.chain.tx.types import TxReceipt

    topic = keccak(text="Transfer(address,address,uint256)")
    a, b = (bytes(12) + bytes([i]) * 20 for i in (1, 2))
    logs = ({"address": "0x" + "aa" * 20, "topics": [topic, a, b], "data": (7).to_bytes(32, "big")},
            {"address": "0x" + "cc" * 20, "topics": [bytes(32)], "data": b""},  # unknown: no event
            {"address": "0x" + "bb" * 20, "topics": [topic, a, b, (9).to_bytes(32, "big")], "data": b""})
    decoded = []
    real = abi._decoded
    monkeypatch.setattr(abi, "_decoded", lambda decoder, *rest: decoded.append(decoder.name) or real(decoder, *rest))
    receipt = TxReceipt("0x" + "11" * 32, 1, 5, 21_000, None, 0, logs)
    assert receipt.event_names == ("Transfer", "Transfer") and decoded == []  # names without decoding
    assert [e.args.get("tokenId") for e in receipt.events_named("Transfer")] == [None, 9] and len(decoded) == 2
    assert receipt.events_named("Approval") == [] and len(decoded) == 2
    assert [e.args.get("value") for e in receipt.events] == [7, None]  # everything, when asked for everything
    assert [e.name for e in receipt.events] == list(receipt.event_names)
