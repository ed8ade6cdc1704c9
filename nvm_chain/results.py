"""Typed, frozen results of the client's write operations (pure)."""

from __future__ import annotations

from nvm_chain.models import CoreModel
from nvm_chain.tx.sender import TxReceipt


class TxResult(CoreModel):
    """One mined transaction: hash, block, gas used and the names of the events it emitted (camelCase in JSON)."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[str, ...] = ()

    @classmethod
    def of(cls, receipt: TxReceipt) -> "TxResult":
        return cls(tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used,
                   events=tuple(e.name for e in receipt.events))
