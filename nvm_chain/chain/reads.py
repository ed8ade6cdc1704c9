"""Reads: eth_call with reverts decoded into typed errors (never signs or sends)."""

from __future__ import annotations

from web3 import Web3
from web3.types import TxParams, Wei

from nvm_chain.chain.abi import registry
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.errors import ContractRevertError


def eth_call(w3: Web3, to: str, data: bytes, *, sender: str | None = None, value: int = 0,
             gas: int | None = None, action: str = "") -> bytes:
    """Run ``data`` against ``to`` at the latest block and return the raw result.

    Raises:
        ContractRevertError: the call reverted (decoded against every bundled ABI).
    """
    tx: TxParams = {"to": to, "data": data, "value": Wei(value)}
    if sender:
        tx["from"] = sender
    if gas:
        tx["gas"] = gas
    try:
        return bytes(w3.eth.call(tx))
    except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
        raw = revert_data(exc)
        if raw is None:
            raise
        raise ContractRevertError(registry().decode_revert(raw), raw, action=action) from None
