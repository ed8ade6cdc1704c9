"""What the transaction engine takes and gives back: a request to send and a mined receipt (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nvm_chain.chain.abi import DecodedEvent, decode_log, event_name


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
    """A mined transaction and its logs, decoded against the protocol ABIs when asked (``contracts``: emitting
    address → contract name, whose own events are tried first)."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    contract_address: str | None
    nonce: int | None
    logs: tuple[Any, ...] = field(repr=False)
    contracts: Mapping[str, str] = field(repr=False, compare=False, default_factory=dict)

    @cached_property
    def events(self) -> tuple[DecodedEvent, ...]:
        """The logs with a known event, decoded, in log order."""
        return tuple(e for e in map(self._decode, self.logs) if e is not None)

    @cached_property
    def event_names(self) -> tuple[str, ...]:
        """The names of :attr:`events`, in log order (their arguments are not decoded for this)."""
        return tuple(n for n in self._names if n is not None)

    def events_named(self, name: str) -> list[DecodedEvent]:
        """The decoded events called ``name``, in log order (only those logs are decoded)."""
        found = [self._decode(log) for log, n in zip(self.logs, self._names) if n == name]
        return [e for e in found if e is not None]

    @cached_property
    def _names(self) -> tuple[str | None, ...]:
        return tuple(event_name(log, contract=self.contracts.get(log["address"])) for log in self.logs)

    def _decode(self, log: Any) -> DecodedEvent | None:
        return decode_log(log, contract=self.contracts.get(log["address"]))
