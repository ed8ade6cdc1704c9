"""What a node's refusal of ``eth_sendRawTransaction`` means, and how a node words it (pure).

One table serves both directions: :func:`classify_refusal` reads any client's message into a
:class:`~nvm_chain.errors.Refusal`, and the nodes this project runs itself (the devnet over eth-tester and the
revm node) word their refusals with the same entries (:meth:`NodeRefusal.say`), so the two cannot drift.

Each entry holds geth's wording (what our own nodes answer) and the lower-cased substrings other clients use:

- geth: core/txpool errors "nonce too low", "nonce too high", "already known", "replacement transaction
  underpriced", "insufficient funds for gas * price + value", "max fee per gas less than block base fee";
- anvil: "nonce too low" (-32003), "transaction already imported", "insufficient funds";
- eth-tester / py-evm: "Sender … cannot afford txn gas", "Sender does not have enough balance to cover
  transaction value and gas", "Invalid transaction nonce: Expected …, but got …" (too low or too high),
  "Sender's max fee per gas (…) is lower than block's base fee per gas (…)".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nvm_chain.errors import Refusal


@dataclass(frozen=True)
class NodeRefusal:
    """One kind of refusal: geth's ``message``, the :class:`Refusal` it means, and other clients' ``aliases``."""

    message: str
    kind: Refusal
    aliases: tuple[str, ...] = ()

    @property
    def needles(self) -> tuple[str, ...]:
        """Lower-cased substrings that identify this refusal in any client's message."""
        return (self.message.lower(), *self.aliases)

    def say(self, detail: str = "") -> str:
        """The message as geth words it, with ``detail`` after a colon when given."""
        return f"{self.message}: {detail}" if detail else self.message


ALREADY_KNOWN = NodeRefusal("already known", Refusal.ALREADY_KNOWN, ("already imported", "known transaction"))
NONCE_TOO_LOW = NodeRefusal("nonce too low", Refusal.NONCE_TOO_LOW, ("nonce is too low", "invalid transaction nonce"))
NONCE_TOO_HIGH = NodeRefusal("nonce too high", Refusal.NONCE_TOO_HIGH)
UNDERPRICED = NodeRefusal("replacement transaction underpriced", Refusal.UNDERPRICED, ("underpriced",))
INSUFFICIENT_FUNDS = NodeRefusal("insufficient funds for gas * price + value", Refusal.INSUFFICIENT_FUNDS,
                                 ("insufficient funds", "cannot afford", "not have enough balance"))
FEE_BELOW_BASE_FEE = NodeRefusal("max fee per gas less than block base fee", Refusal.FEE_BELOW_BASE_FEE,
                                 ("less than block base fee", "lower than block's base fee"))
# refusals a client cannot act on (Refusal.OTHER), listed so that every node of ours words them alike
INTRINSIC_GAS_TOO_LOW = NodeRefusal("intrinsic gas too low", Refusal.OTHER, ("gas cannot be negative", "intrinsic gas"))
EXCEEDS_BLOCK_GAS_LIMIT = NodeRefusal("exceeds block gas limit", Refusal.OTHER, ("exceeds gas limit",))
WRONG_CHAIN_ID = NodeRefusal("invalid chain id for signer", Refusal.OTHER)
TIP_ABOVE_FEE_CAP = NodeRefusal("max priority fee per gas higher than max fee per gas", Refusal.OTHER)
INITCODE_TOO_LARGE = NodeRefusal("max initcode size exceeded", Refusal.OTHER)
SENDER_NOT_EOA = NodeRefusal("sender not an eoa", Refusal.OTHER)

#: Every entry, in matching order (the first whose needle a message holds wins).
NODE_REFUSALS: tuple[NodeRefusal, ...] = (
    ALREADY_KNOWN, NONCE_TOO_LOW, NONCE_TOO_HIGH, UNDERPRICED, INSUFFICIENT_FUNDS, FEE_BELOW_BASE_FEE,
    INTRINSIC_GAS_TOO_LOW, EXCEEDS_BLOCK_GAS_LIMIT, WRONG_CHAIN_ID, TIP_ABOVE_FEE_CAP, INITCODE_TOO_LARGE,
    SENDER_NOT_EOA,
)

#: The canonical (geth) entry of each actionable :class:`Refusal`.
CANONICAL: Mapping[Refusal, NodeRefusal] = {entry.kind: entry for entry in NODE_REFUSALS
                                            if entry.kind is not Refusal.OTHER}


def match_refusal(message: str) -> NodeRefusal | None:
    """The table entry a node's refusal message is an instance of; None when no entry matches."""
    text = message.lower()
    for entry in NODE_REFUSALS:
        if any(needle in text for needle in entry.needles):
            return entry
    return None


def classify_refusal(message: str) -> Refusal:
    """Map a node's error message for a raw transaction to a :class:`Refusal`."""
    entry = match_refusal(message)
    return Refusal.OTHER if entry is None else entry.kind
