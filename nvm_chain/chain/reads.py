"""Reads: eth_call with reverts decoded into typed errors (never signs or sends)."""

from __future__ import annotations

import binascii
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.types import BlockIdentifier

from nvm_chain.chain.abi import registry
from nvm_chain.chain.codec import is_checksummed
from nvm_chain.chain.rpc import answers_json, plain_result
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.errors import ContractRevertError


def eth_call(w3: Web3, to: str, data: bytes, *, sender: str | None = None, value: int = 0,
             gas: int | None = None, block: BlockIdentifier = "latest", action: str = "") -> bytes:
    """Run ``data`` against ``to`` at ``block`` and return the raw result.

    Raises:
        ContractRevertError: the call reverted (decoded against every bundled ABI).
    """
    tx: dict[str, Any] = {"to": to, "data": data}
    if value:
        tx["value"] = value
    if sender:
        tx["from"] = sender
    if gas:
        tx["gas"] = gas
    try:
        return call_output(w3, tx, block)
    except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
        raw = revert_data(exc)
        if raw is None:
            raise
        raise ContractRevertError(registry().decode_revert(raw), raw, action=action) from None


def call_output(w3: Web3, tx: dict[str, Any], block: BlockIdentifier = "latest") -> bytes:
    """The output of ``eth_call`` of ``tx`` (web3's form: checksummed ``to``/``from``, bytes ``data``, int
    ``value``/``gas``) at ``block``; failures raise what web3 raises (no revert decoding here).

    Through a provider that answers plain JSON-RPC (:func:`~nvm_chain.chain.rpc.answers_json`) the request
    goes straight to it, without web3's request and result formatters (they cost more than an embedded
    chain's execution); anything else in ``tx`` or ``block`` (an ENS name, an address that is not
    checksummed, a block hash) goes through web3, which decides.
    """
    params = _json_call(tx, block) if answers_json(w3) else None
    if params is None:
        return bytes(w3.eth.call(tx, block))  # type: ignore[arg-type]
    result = plain_result(w3, "eth_call", params)
    if type(result) is str and result[:2] == "0x" and result.isascii() and not len(result) % 2:
        return binascii.unhexlify(result[2:])  # what HexBytes does with it, without its type dispatch
    return bytes(HexBytes(result))


def _json_call(tx: dict[str, Any], block: BlockIdentifier) -> list[Any] | None:
    """``[call object, block]`` as web3 would send them for ``tx`` and ``block``; None when a field needs
    web3's own formatting or validation."""
    call: dict[str, str] = {}
    for key, value in tx.items():
        if key in ("to", "from"):
            if not is_checksummed(value):
                return None
            call[key] = value
        elif key == "data" and isinstance(value, (bytes, bytearray)):
            call[key] = "0x" + value.hex()
        elif key in ("value", "gas") and type(value) is int and value >= 0:
            call[key] = hex(value)
        else:
            return None
    if type(block) is int and block >= 0:
        return [call, hex(block)]
    if block in ("latest", "pending", "earliest", "safe", "finalized"):
        return [call, block]
    return None

