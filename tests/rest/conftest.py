"""Fixtures of the REST fallback tests: a real HTTP server on 127.0.0.1 and test API keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nvm_chain.rest import RestClient

from .fake_backend import FakeBackend
from .helpers import FAST_RETRY, make_key


@pytest.fixture
def backend(fake: FakeBackend) -> FakeBackend:
    """The shared fake backend of tests/conftest.py, reset for this test."""
    return fake


@pytest.fixture
def api_key() -> str:
    return make_key("sandbox")


@pytest.fixture
def client(backend: FakeBackend, api_key: str) -> Iterator[RestClient]:
    with RestClient(api_key, base_url=backend.url, read_timeout=2.0, connect_timeout=2.0, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
def public_client(backend: FakeBackend) -> Iterator[RestClient]:
    with RestClient(base_url=backend.url, read_timeout=2.0, retry=FAST_RETRY) as c:
        yield c
