"""Reads: eth_call with reverts decoded into typed errors (never signs or sends)."""

from __future__ import annotations

from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import RPCEndpoint, TxParams, Wei

from nvm_chain.chain.abi import registry
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.errors import ContractRevertError


def eth_call(w3: Web3, to: str, data: bytes, *, sender: str | None = None, value: int = 0,
             gas: int | None = None, action: str = "") -> bytes:
    """Run ``data`` against ``to`` at the latest block and return the raw result.

    Raises:
        ContractRevertError: the call reverted (decoded against every bundled ABI).
    """
    if getattr(w3.provider, "answers_json", False):
        return _plain_call(w3, to, data, sender, value, gas, action)
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


def _plain_call(w3: Web3, to: str, data: bytes, sender: str | None, value: int, gas: int | None,
                action: str) -> bytes:
    """``eth_call`` straight through a provider that speaks plain JSON-RPC (``answers_json``), without web3's
    request and result formatters (they cost more than an embedded chain's execution)."""
    call: dict[str, str] = {"to": to, "data": "0x" + data.hex()}
    if value:
        call["value"] = hex(value)
    if sender:
        call["from"] = sender
    if gas:
        call["gas"] = hex(gas)
    response = w3.provider.make_request(RPCEndpoint("eth_call"), [call, "latest"])
    error = response.get("error")
    if error is None:
        return bytes.fromhex(str(response["result"])[2:])
    raw = revert_data(Web3RPCError(str(error.get("message", "")), rpc_response=response))
    if raw is None:
        raise Web3RPCError(str(error.get("message", "")), rpc_response=response)
    raise ContractRevertError(registry().decode_revert(raw), raw, action=action)
