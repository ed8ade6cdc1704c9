"""Revert data out of the exceptions of every backend (pure).

A real node (anvil) makes web3 raise ``ContractCustomError``/``ContractLogicError`` with ``.data``;
eth-tester raises ``TransactionFailed("execution reverted: b'…'")`` with the bytes only as a Python
repr inside the message. Both become the same bytes here, so one decoder serves both.
"""

from __future__ import annotations

import ast
from typing import Any

import eth_abi

from nvm_chain.chain.abi import ERROR_STRING_SELECTOR


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert bytes carried by ``exc``, or None when it is not a revert."""
    data: Any = getattr(exc, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            pass
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"].removeprefix("0x"))
    response: Any = getattr(exc, "rpc_response", None)  # web3's Web3RPCError of a method without formatters
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("code") == 3 and isinstance(error.get("data"), str):
        try:
            return bytes.fromhex(error["data"].removeprefix("0x"))
        except ValueError:
            return None
    message = str(exc.args[0]) if exc.args else ""
    if "revert" not in message and type(exc).__name__ != "TransactionFailed":
        return None
    tail = message.split("execution reverted: ", 1)[-1].strip()
    if tail.startswith(("b'", 'b"')):
        try:
            return bytes(ast.literal_eval(tail))
        except (ValueError, SyntaxError):
            return None
    if tail.startswith("0x"):
        try:
            return bytes.fromhex(tail[2:])
        except ValueError:
            return None
    # eth-tester renders require("reason") as plain text: rebuild the standard Error(string) payload
    return ERROR_STRING_SELECTOR + eth_abi.encode(["string"], [tail]) if tail and tail != message else b""
