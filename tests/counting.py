"""Counting the JSON-RPC requests a web3 connection sends, at its provider (tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def counted(w3: Any) -> Iterator[list[str]]:
    """The JSON-RPC methods sent through ``w3``'s provider while the block runs (the list stays readable after)."""
    provider = w3.provider
    methods: list[str] = []
    original = provider.make_request

    def counting(method: Any, params: Any) -> Any:
        methods.append(method)
        return original(method, params)

    provider.make_request = counting
    provider._request_func_cache = (None, None)  # web3 caches the middleware chain around make_request
    try:
        yield methods
    finally:
        del provider.make_request
        provider._request_func_cache = (None, None)
