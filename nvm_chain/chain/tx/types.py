"""What the transaction engine takes and gives back: a request to send and a mined receipt (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nvm_chain.chain.abi import DecodedEvent


@dataclass(frozen=True)
class TxRequest:
    """What to send: ``to`` (None deploys ``data`` as creation code), calldata, gas limit and value; ``action``
    names it in messages and in the journal (e.g. ``"FixedPaymentTemplate.order"``). ``intent`` is what makes
    two requests "the same write" when the calldata alone does not (an order's random seed): empty means the
    calldata."""

    to: str | None
    data: bytes
    gas: int
    value: int = 0
    action: str = ""
    intent: bytes = b""


@dataclass(frozen=True)
class TxReceipt:
    """A mined transaction, its logs decoded against the protocol ABIs."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    contract_address: str | None
    nonce: int | None
    logs: tuple[Any, ...] = field(repr=False)
    events: tuple[DecodedEvent, ...] = field(repr=False, default=())

    def events_named(self, name: str) -> list[DecodedEvent]:
        """The decoded events called ``name``, in log order."""
        return [e for e in self.events if e.name == name]
