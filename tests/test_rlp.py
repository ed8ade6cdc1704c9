"""Our RLP encoder (nvm_chain/chain/rlp.py, used by the signer and the revm node) gives pyrlp's exact bytes."""

from __future__ import annotations

import random

import pytest
import rlp

from nvm_chain.chain.rlp import rlp_encode


@pytest.mark.parametrize("item", [
    0, 1, 127, 128, 255, 256, 2**64, 2**256 - 1, b"", b"\x00", b"\x7f", b"\x80", b"x" * 55, b"x" * 56,
    b"y" * 300, b"z" * 70_000, [], [[]], [0, b"", []], [b"a" * 30, b"b" * 30], [2**200, [b"\x01", [3]], b"c" * 60],
])
def test_rlp_of_transaction_shaped_items_is_pyrlps(item):
    assert rlp_encode(item) == rlp.encode(item)


def _random_item(rng: random.Random, depth: int = 0) -> object:
    shape = rng.random()
    if shape < 0.35:
        return rng.choice([b"", b"\x00", b"\x7f", b"\x80", rng.randbytes(rng.choice([1, 2, 55, 56, 57, 255, 256,
                                                                                        70_000]))])
    if shape < 0.7 or depth > 3:
        return rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**64, 2**256 - 1, rng.randrange(2**rng.randrange(1, 300))])
    return [_random_item(rng, depth + 1) for _ in range(rng.choice([0, 1, 3, 60] if depth == 0 else [0, 1, 3]))]


@pytest.mark.parametrize("seed", range(3))
def test_rlp_encode_is_pyrlps_encoding(seed):
    rng = random.Random(seed)
    for _ in range(300):
        item = _random_item(rng)
        assert rlp_encode(item) == rlp.encode(item)
    assert rlp_encode(bytearray(b"\x01\x02")) == rlp.encode(b"\x01\x02")
    for bad in (-1, "text", None):
        with pytest.raises(TypeError):
            rlp_encode(bad)
