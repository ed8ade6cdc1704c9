"""The fast EIP-1559 signing path gives eth-account's exact bytes, and keeps every key-safety property."""

from __future__ import annotations

import copy
import pickle
import random

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from nvm_chain.chain.tx import signer as signer_module
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import SigningError

KEY_HEX = "0x" + "4c" * 32  # recognisable throwaway key
KEY_TEXT = "4c4c4c4c"


def _random_tx(rng: random.Random) -> dict:
    tx = {
        "type": 2,
        "chainId": rng.choice([1, 8453, 84532, 131277322940537, 2**64 + 1]),
        "nonce": rng.choice([0, 1, rng.randrange(2**48)]),
        "gas": rng.choice([21_000, 1_500_000, rng.randrange(2**32)]),
        "maxFeePerGas": rng.choice([0, 10**9, rng.randrange(2**80)]),
        "maxPriorityFeePerGas": rng.choice([0, 10**6, rng.randrange(2**40)]),
        "value": rng.choice([0, 1, rng.randrange(2**200)]),
        "data": rng.choice([b"", "0x", rng.randbytes(rng.randrange(1, 200)), rng.randbytes(50_000),
                            "0x" + rng.randbytes(68).hex()]),
    }
    shape = rng.random()
    if shape < 0.5:
        tx["to"] = to_checksum_address(rng.randbytes(20))
    elif shape < 0.7:
        tx["to"] = None  # contract creation
    elif shape < 0.8:
        tx["to"] = to_checksum_address(rng.randbytes(19) + b"\x00")
    # else: no "to" key at all (creation)
    if rng.random() < 0.3:
        tx["accessList"] = []
    return tx


@pytest.mark.parametrize("seed", range(4))
def test_type2_signatures_are_bit_for_bit_eth_accounts(seed):
    rng = random.Random(seed)
    key = "0x" + rng.randbytes(32).hex()
    signer = LocalSigner(key)
    for _ in range(150):
        tx = _random_tx(rng)
        assert signer_module._type2_fields(tx) is not None  # every case here takes the fast path
        raw, tx_hash = signer.sign_transaction(tx)
        expected = Account.sign_transaction(tx, key)
        assert raw == bytes(expected.raw_transaction)
        assert tx_hash == "0x" + bytes(expected.hash).hex() == "0x" + keccak(raw).hex()


def test_fast_path_recovers_to_the_signers_address():
    signer = LocalSigner(KEY_HEX)
    raw, _ = signer.sign_transaction({"type": 2, "chainId": 1, "nonce": 7, "gas": 21_000, "maxFeePerGas": 10**9,
                                      "maxPriorityFeePerGas": 1, "to": "0x" + "11" * 20, "value": 0, "data": b""})
    assert Account.recover_transaction(raw) == signer.address == Account.from_key(KEY_HEX).address


@pytest.mark.parametrize("tx", [
    {"type": 2, "chainId": 1, "nonce": 0, "gas": 21_000, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1,
     "to": "0x" + "11" * 20, "value": 0, "data": b"",
     "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}]},
    {"chainId": 1, "nonce": 3, "gas": 21_000, "gasPrice": 10**9, "to": "0x" + "11" * 20, "value": 5, "data": b""},
    {"type": 1, "chainId": 1, "nonce": 3, "gas": 21_000, "gasPrice": 10**9, "to": "0x" + "11" * 20, "value": 5,
     "data": b"", "accessList": []},
])
def test_other_transactions_still_go_through_eth_account(tx):
    assert signer_module._type2_fields(tx) is None
    raw, _ = LocalSigner(KEY_HEX).sign_transaction(tx)
    assert raw == bytes(Account.sign_transaction(tx, KEY_HEX).raw_transaction)


@pytest.mark.parametrize("bad", [
    {"value": True},                                      # a bool is not an amount
    {"to": "0x" + "ab" * 20},                             # not checksummed
    {"nonce": -1},
    {"data": "not hex"},
    {"gas": "21000"},
])
def test_malformed_type2_is_refused_like_eth_account_without_quoting_the_key(bad):
    tx = {"type": 2, "chainId": 1, "nonce": 0, "gas": 21_000, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1,
          "to": "0x" + "11" * 20, "value": 0, "data": b"", **bad}
    with pytest.raises(Exception):  # noqa: B017 - eth-account raises several classes
        Account.sign_transaction(tx, KEY_HEX)
    with pytest.raises(SigningError) as info:
        LocalSigner(KEY_HEX).sign_transaction(tx)
    assert KEY_TEXT not in str(info.value) and info.value.__cause__ is None and info.value.__context__ is None


def test_the_cached_key_object_never_leaks():
    signer = LocalSigner(KEY_HEX)
    for text in (repr(signer), str(signer), f"{signer!r}", format(signer)):
        assert KEY_TEXT not in text and signer.address in text
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            attempt(signer)
    assert not hasattr(signer, "__dict__")  # slots only: vars() cannot dump it


def test_a_failing_signature_on_the_fast_path_hides_the_cause(monkeypatch):
    signer = LocalSigner(KEY_HEX)

    class Exploding:
        def sign_recoverable(self, *_args, **_kwargs):
            raise ValueError(f"secret {KEY_HEX}")

    monkeypatch.setattr(signer, "_curve", Exploding())
    with pytest.raises(SigningError) as info:
        signer.sign_transaction({"type": 2, "chainId": 1, "nonce": 0, "gas": 21_000, "maxFeePerGas": 1,
                                 "maxPriorityFeePerGas": 1, "to": None, "value": 0, "data": b""})
    assert str(info.value) == "could not sign transaction: ValueError"
    assert info.value.__cause__ is None and info.value.__context__ is None
