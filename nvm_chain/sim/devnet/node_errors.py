"""Failures worded as geth/anvil word them: reverts (code 3 with the revert bytes), execution failures, and
refused transactions, whose wording comes from the one refusal table the client classifies with
(:mod:`nvm_chain.chain.tx.refusals`)."""

from __future__ import annotations

import re
from contextlib import suppress

from eth_abi.abi import decode as abi_decode

from nvm_chain.chain.tx.refusals import NONCE_TOO_HIGH, NONCE_TOO_LOW, match_refusal
from nvm_chain.sim.devnet.jsonrpc import REVERTED, RpcError

ERROR_STRING = bytes.fromhex("08c379a0")  # selector of Error(string)

_TESTER_NONCE = re.compile(r"Expected (\d+), but got (\d+)")


def reverted(data: bytes) -> RpcError:
    """A revert as geth answers it: code 3, revert bytes in ``data``, an Error(string) reason in the message."""
    message = "execution reverted"
    if data[:4] == ERROR_STRING:
        with suppress(Exception):  # a malformed reason keeps the bare message
            message += ": " + str(abi_decode(["string"], data[4:])[0])
    return RpcError(REVERTED, message, "0x" + data.hex())


def vm_message(text: str) -> str:
    """py-evm's text for a failed execution, worded like geth's (lower-case, "out of gas")."""
    if text.lower().startswith("out of gas"):
        return "out of gas"
    return text[:1].lower() + text[1:] if text else "execution failed"


def refusal_message(text: str) -> str:
    """eth-tester's refusal of a transaction, worded as geth words it (eth-tester's text kept as the detail)."""
    nonce = _TESTER_NONCE.search(text)
    if nonce:
        expected, got = int(nonce.group(1)), int(nonce.group(2))
        which = NONCE_TOO_LOW if got < expected else NONCE_TOO_HIGH
        return which.say(f"next nonce {expected}, tx nonce {got}")
    entry = match_refusal(text)
    if entry is None or text.lower().startswith(entry.message):
        return text
    return entry.say(text)
