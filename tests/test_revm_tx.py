"""The revm node's own codecs give the generic libraries' exact answers: RLP encoding (pyrlp), the fast
decoding of typed transactions (pyrlp's decode, and the same errors for bad bytes), sender recovery
(eth-account) and logs blooms (eth-bloom)."""

from __future__ import annotations

import random

import pytest
import rlp
from eth_account import Account
from eth_bloom import BloomFilter
from eth_utils import keccak, to_checksum_address

from nvm_chain.chain.rlp import rlp_prefix
from nvm_chain.chain.tx import signer as signer_module
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.sim import revm_tx
from nvm_chain.sim.devnet.codecs import bloom_bits, bloom_of
from nvm_chain.sim.revm_tx import TxDecodeError, decode_signed

KEY = "0x" + "5d" * 32


def _signed(rng: random.Random, **fields: object) -> bytes:
    tx: dict[str, object] = {
        "type": 2, "chainId": rng.choice([1, 131277322940537]), "nonce": rng.randrange(2**20),
        "gas": rng.choice([21_000, 2_000_000]), "maxFeePerGas": rng.randrange(1, 2**70),
        "maxPriorityFeePerGas": rng.randrange(2**30), "to": to_checksum_address(rng.randbytes(20)),
        "value": rng.choice([0, rng.randrange(2**100)]), "data": rng.randbytes(rng.choice([0, 1, 36, 68, 400])),
        **fields,
    }
    return bytes(Account.sign_transaction({k: v for k, v in tx.items() if v is not None}, KEY).raw_transaction)


def _generic(raw: bytes) -> object:
    """decode_signed as the generic path (pyrlp's decode, then the encoding of the unsigned fields) answers."""
    try:
        if raw[:1] in (b"\x01", b"\x02"):
            return revm_tx._typed(raw, raw[0], rlp.decode(raw[1:]))
        return decode_signed(raw)
    except rlp.DecodingError as exc:
        return f"rlp: {exc}"
    except TxDecodeError as exc:
        return str(exc)


def _answer(raw: bytes) -> object:
    try:
        return decode_signed(raw)
    except TxDecodeError as exc:
        return str(exc)


def test_typed_transactions_decode_to_their_signer_and_fields():
    rng = random.Random(7)
    me = Account.from_key(KEY).address
    raws = [_signed(rng), _signed(rng, to=None, data=rng.randbytes(300)),
            _signed(rng, type=1, gasPrice=10**9, maxFeePerGas=None, maxPriorityFeePerGas=None,
                    accessList=[{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}]),
            _signed(rng, accessList=[{"address": "0x" + "33" * 20, "storageKeys": []}])]
    for raw in raws:
        tx = decode_signed(raw)
        assert (tx.sender, tx.hash, tx.raw) == (me, keccak(raw), raw)
        assert tx == _generic(raw)
    creation, with_list = decode_signed(raws[1]), decode_signed(raws[2])
    assert creation.to is None and len(creation.data) == 300
    assert (with_list.type, with_list.access_list) == (1, (("0x" + "22" * 20, (1,)),))


def test_legacy_transactions_decode_with_and_without_a_chain_id():
    me = Account.from_key(KEY).address
    base = {"nonce": 3, "gasPrice": 10**9, "gas": 21_000, "to": "0x" + "11" * 20, "value": 5, "data": b""}
    for fields, chain_id in (({**base, "chainId": 1}, 1), (base, None)):
        raw = bytes(Account.sign_transaction(fields, KEY).raw_transaction)
        tx = decode_signed(raw)
        assert (tx.sender, tx.chain_id, tx.type, tx.max_fee, tx.nonce) == (me, chain_id, 0, 10**9, 3)


def _non_canonical(raw: bytes) -> list[bytes]:
    """``raw`` with one field re-framed in a form canonical RLP forbids (pyrlp refuses each)."""
    fields = rlp.decode(raw[1:])
    out = []
    for index, field in enumerate(fields):
        if isinstance(field, bytes) and len(field) == 1 and field[0] < 0x80:
            framed = b"\x81" + field  # a single low byte given a string prefix
        elif isinstance(field, bytes) and 0 < len(field) < 56:
            framed = b"\xb8" + bytes([len(field)]) + field  # the long-string form for a short string
        else:
            continue
        payload = b"".join(framed if i == index else rlp.encode(f) for i, f in enumerate(fields))
        out.append(raw[:1] + rlp_prefix(len(payload), 0xC0) + payload)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_the_fast_decoding_answers_exactly_as_pyrlp_even_for_damaged_bytes(seed):
    rng = random.Random(seed)
    fast_hits = 0
    for _ in range(60):
        raw = _signed(rng)
        damaged = [raw, raw[:-1], raw + b"\x00", raw[:rng.randrange(1, len(raw))], *_non_canonical(raw)]
        for _ in range(8):
            at = rng.randrange(1, len(raw))
            damaged.append(raw[:at] + bytes([rng.randrange(256)]) + raw[at + 1:])
        length = len(raw) - 3  # list payload after a 0xf8/0xf9 header: re-frame it as non-canonical forms
        if raw[1] == 0xF8:
            damaged.append(raw[:1] + b"\xf9\x00" + bytes([raw[2]]) + raw[3:])  # length with a leading zero
        if length < 56:
            damaged.append(raw[:1] + b"\xf8" + bytes([length]) + raw[2:])
        for candidate in damaged:
            flat = revm_tx._flat_rlp_list(candidate, 1)
            if flat is not None:
                fast_hits += 1
                assert flat[0] == rlp.decode(candidate[1:])
            assert _answer(candidate) == _generic(candidate)
    assert fast_hits >= 60  # every undamaged transaction took the fast path


def test_blooms_are_eth_blooms_and_cached_bits_stay_right():
    rng = random.Random(3)
    items = [rng.randbytes(20) for _ in range(5)] + [rng.randbytes(32) for _ in range(20)]
    for _ in range(2):  # the second pass answers from the cache
        assert bloom_of(items) == int(BloomFilter.from_iterable(items))
        assert all(bloom_bits(item) == int(BloomFilter.from_iterable([item])) for item in items)


def test_a_sender_signed_in_this_process_is_known_without_recovery_and_only_for_that_signature(monkeypatch):
    recoveries, real = [], revm_tx.PublicKey

    class CountingKey:
        @staticmethod
        def from_signature_and_message(*args, **kwargs):
            recoveries.append(1)
            return real.from_signature_and_message(*args, **kwargs)

    monkeypatch.setattr(revm_tx, "PublicKey", CountingKey)
    rng = random.Random(7)
    tx = {"type": 2, "chainId": 1, "nonce": 3, "gas": 50_000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1,
          "to": to_checksum_address(rng.randbytes(20)), "value": 5, "data": rng.randbytes(68)}
    signer = LocalSigner(KEY)
    raw, _ = signer.sign_transaction(tx)
    assert decode_signed(raw).sender == signer.address and recoveries == []  # signed here: not recovered
    other = "0x" + "6e" * 32  # another key's signature over the same fields, made elsewhere: recovered
    forged = bytes(Account.sign_transaction(tx, other).raw_transaction)
    assert decode_signed(forged).sender == Account.from_key(other).address and recoveries == [1]
    signer_module._SIGNED.clear()  # forgotten: the same bytes are recovered, to the same address
    assert decode_signed(raw).sender == signer.address and recoveries == [1, 1]


def test_the_remembered_signatures_are_bounded(monkeypatch):
    monkeypatch.setattr(signer_module, "_SIGNED_LIMIT", 3)
    signer_module._SIGNED.clear()
    signer = LocalSigner(KEY)
    for nonce in range(7):
        signer.sign_transaction({"type": 2, "chainId": 1, "nonce": nonce, "gas": 21_000, "maxFeePerGas": 1,
                                 "maxPriorityFeePerGas": 1, "to": "0x" + "11" * 20, "value": 0, "data": b""})
        assert 1 <= len(signer_module._SIGNED) <= 3
