"""One refusal table: the client classifies node messages with it, and our own nodes word refusals from it."""

from __future__ import annotations

import pytest

from nvm_chain.chain.tx import refusals
from nvm_chain.chain.tx.refusals import CANONICAL, NODE_REFUSALS, classify_refusal
from nvm_chain.errors import Refusal
from nvm_chain.sim.devnet.node_errors import refusal_message


@pytest.mark.parametrize("entry", NODE_REFUSALS, ids=lambda e: e.message)
def test_every_wording_our_nodes_use_classifies_back_to_its_kind(entry):
    assert classify_refusal(entry.say()) is entry.kind
    assert classify_refusal(entry.say("address 0xabc, tx: 3 state: 4")) is entry.kind


def test_the_canonical_wording_of_each_actionable_refusal_is_geths():
    assert {kind: entry.message for kind, entry in CANONICAL.items()} == {
        Refusal.ALREADY_KNOWN: "already known",
        Refusal.NONCE_TOO_LOW: "nonce too low",
        Refusal.NONCE_TOO_HIGH: "nonce too high",
        Refusal.UNDERPRICED: "replacement transaction underpriced",
        Refusal.INSUFFICIENT_FUNDS: "insufficient funds for gas * price + value",
        Refusal.FEE_BELOW_BASE_FEE: "max fee per gas less than block base fee",
    }


@pytest.mark.parametrize(("tester_text", "worded"), [
    ("Invalid transaction nonce: Expected 5, but got 3", "nonce too low: next nonce 5, tx nonce 3"),
    ("Invalid transaction nonce: Expected 5, but got 9", "nonce too high: next nonce 5, tx nonce 9"),
    ("Sender 0xab cannot afford txn gas 21000 with account balance 0",
     "insufficient funds for gas * price + value: Sender 0xab cannot afford txn gas 21000 with account balance 0"),
    ("Sender's max fee per gas (1) is lower than block's base fee per gas (7)",
     "max fee per gas less than block base fee: Sender's max fee per gas (1) is lower than block's base fee "
     "per gas (7)"),
    ("Transaction exceeds gas limit (40000000 > 30000000)",
     "exceeds block gas limit: Transaction exceeds gas limit (40000000 > 30000000)"),
    ("intrinsic gas too low: have 1, want 21000", "intrinsic gas too low: have 1, want 21000"),  # not worded twice
    ("something new", "something new"),
])
def test_the_devnet_words_eth_testers_refusals_like_geth(tester_text, worded):
    assert refusal_message(tester_text) == worded


def test_a_nonce_too_high_from_eth_tester_is_classified_as_too_high_once_worded():
    raw = "Invalid transaction nonce: Expected 5, but got 9"
    assert classify_refusal(raw) is Refusal.NONCE_TOO_LOW  # eth-tester's own text does not say which way
    assert classify_refusal(refusal_message(raw)) is Refusal.NONCE_TOO_HIGH
    assert refusals.NONCE_TOO_HIGH.say("x") == "nonce too high: x"
