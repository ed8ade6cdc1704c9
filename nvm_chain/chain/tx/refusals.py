"""What a node's refusal of ``eth_sendRawTransaction`` means (pure).

Messages differ by client; matching is on lower-cased substrings:

- geth: core/txpool errors "nonce too low", "nonce too high", "already known", "replacement transaction
  underpriced", "insufficient funds for gas * price + value", "max fee per gas less than block base fee";
- anvil: "nonce too low" (-32003), "transaction already imported", "insufficient funds";
- eth-tester / py-evm: "Sender … cannot afford txn gas", "Sender does not have enough balance to cover
  transaction value and gas", "Invalid transaction nonce: Expected …, but got …" (too low or too high).
"""

from __future__ import annotations

from nvm_chain.errors import Refusal

_TABLE: tuple[tuple[str, Refusal], ...] = (
    ("already known", Refusal.ALREADY_KNOWN),
    ("already imported", Refusal.ALREADY_KNOWN),
    ("known transaction", Refusal.ALREADY_KNOWN),
    ("nonce too low", Refusal.NONCE_TOO_LOW),
    ("nonce is too low", Refusal.NONCE_TOO_LOW),
    ("invalid transaction nonce", Refusal.NONCE_TOO_LOW),
    ("nonce too high", Refusal.NONCE_TOO_HIGH),
    ("underpriced", Refusal.UNDERPRICED),
    ("insufficient funds", Refusal.INSUFFICIENT_FUNDS),
    ("cannot afford", Refusal.INSUFFICIENT_FUNDS),
    ("not have enough balance", Refusal.INSUFFICIENT_FUNDS),
    ("less than block base fee", Refusal.FEE_BELOW_BASE_FEE),
)


def classify_refusal(message: str) -> Refusal:
    """Map a node's error message for a raw transaction to a :class:`Refusal`."""
    text = message.lower()
    for needle, kind in _TABLE:
        if needle in text:
            return kind
    return Refusal.OTHER
