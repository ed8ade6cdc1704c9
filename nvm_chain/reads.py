"""Reads: eth_call with reverts decoded into typed errors (never signs or sends)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from nvm_chain.abi import Artifact, decode_output, encode_call, registry
from nvm_chain.errors import ContractRevertError
from nvm_chain.tx.reverts import revert_data


def eth_call(w3: Web3, to: str, data: bytes, *, sender: str | None = None, value: int = 0,
             gas: int | None = None, action: str = "") -> bytes:
    """Run ``data`` against ``to`` at the latest block and return the raw result.

    Raises:
        ContractRevertError: the call reverted (decoded against every bundled ABI).
    """
    tx: dict[str, Any] = {"to": to, "data": data, "value": value}
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


def call_function(w3: Web3, artifact: Artifact, address: str, fn: str, *args: Any,
                  sender: str | None = None, value: int = 0, arity: int | None = None) -> Any:
    """Call ``artifact.fn(*args)`` at ``address`` and decode its outputs.

    Raises:
        ContractRevertError: the call reverted.
    """
    entry = artifact.entry(fn, arity=len(args) if arity is None else arity)
    raw = eth_call(w3, address, encode_call(entry, args), sender=sender, value=value,
                   action=f"{artifact.name}.{fn}")
    return decode_output(entry, raw)
