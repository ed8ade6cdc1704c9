"""Exception root of nvm-chain (pure: no I/O).

Every error the library raises derives from :class:`NvmChainError`; subclasses also inherit the matching
builtin (``ValueError``, ``TimeoutError``, ``ConnectionError``) so callers may catch either.
"""

from __future__ import annotations


class NvmChainError(Exception):
    """Root of every nvm-chain exception."""


class ValidationError(NvmChainError, ValueError):
    """Raised for bad input, before anything is signed or sent."""


class ConfigurationError(NvmChainError, ValueError):
    """Raised when a network, address book, artifact or account cannot be used as given."""


class ContractRevertError(NvmChainError):
    """A call or transaction reverted.

    ``reason`` is the decoded :class:`nvm_chain.chain.abi.RevertReason` (None when the revert data matched no
    known error); ``error_name`` and ``error_args`` repeat its name and decoded arguments; ``data`` is the
    raw revert bytes; ``tx_hash`` is set when the revert was a mined transaction.
    """

    def __init__(self, reason, data: bytes, *, action: str = "", tx_hash: str | None = None):
        self.reason = reason
        self.data = data
        self.action = action
        self.tx_hash = tx_hash
        self.error_name: str = reason.name if reason else "UnknownError"
        self.error_args: dict = dict(reason.args) if reason else {}
        what = str(reason) if reason else f"unknown revert data 0x{data.hex()}" if data else "no revert data"
        where = f"{action} reverted: " if action else "reverted: "
        suffix = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(where + what + suffix)


class DeploymentError(NvmChainError):
    """The simulation suite could not be deployed or configured."""


def shown(value: object, limit: int = 24) -> str:
    """``repr(value)`` for an error message, unless it could be a secret passed in the wrong place: long
    values and hex runs of 32+ digits are replaced by their type and length, so a private key given where
    an address, an amount or a network name was expected never reaches a message."""
    text = value if isinstance(value, str) else repr(value)
    digits = sum(c in "0123456789abcdefABCDEF" for c in text)
    if len(text) > limit or digits >= 32:
        return f"<{type(value).__name__} of {len(text)} characters, not shown>"
    return repr(value)
