"""Pure pieces of the transaction layer: signer secrecy, fee policy, revert extraction and decoding."""

from __future__ import annotations

import pickle

import eth_abi
import pytest

from nvm_chain.chain.abi import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    decode_log,
    registry,
)
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


def test_plain_words_decode_exactly_as_eth_abi_and_malformed_words_still_fail_like_it():
    import random

    from nvm_chain.chain.abi import checksum, decode_values

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
