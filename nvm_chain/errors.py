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
