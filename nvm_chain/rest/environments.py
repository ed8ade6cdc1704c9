"""Nevermined backend environments and their base URLs (pure apart from reading environment variables).

REST fallback: HTTP only, never signs or sends transactions. Advertised environments are ``sandbox``, ``live``
and ``custom``; ``staging_sandbox`` / ``staging_live`` are accepted for Nevermined-internal use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit, urlunsplit

from nvm_chain.errors import ConfigurationError

EnvironmentName = Literal["sandbox", "live", "staging_sandbox", "staging_live", "custom"]
ENVIRONMENT_NAMES: tuple[str, ...] = get_args(EnvironmentName)

#: Default backend of the ``custom`` environment when neither a base URL nor ``NVM_BACKEND_URL`` is given.
CUSTOM_BACKEND_DEFAULT = "http://localhost:3001"
BACKEND_URL_ENV = "NVM_BACKEND_URL"

_BACKENDS: dict[str, str] = {
    "sandbox": "https://api.sandbox.nevermined.app",
    "live": "https://api.live.nevermined.app",
    "staging_sandbox": "https://api.sandbox.nevermined.dev",
    "staging_live": "https://api.live.nevermined.dev",
}

#: CAIP-2 chain of the ``nvm:erc4337`` scheme per environment.
_ERC4337_NETWORKS: dict[str, str] = {
    "sandbox": "eip155:84532",
    "staging_sandbox": "eip155:84532",
    "live": "eip155:8453",
    "staging_live": "eip155:8453",
}
DEFAULT_ERC4337_NETWORK = "eip155:84532"
DEFAULT_CARD_NETWORK = "stripe"


@dataclass(frozen=True)
class Environment:
    """A resolved environment: its name and the backend base URL (no trailing slash)."""

    name: EnvironmentName
    backend: str


def check_environment_name(name: str) -> EnvironmentName:
    """Return ``name`` if it is a known environment.

    Raises:
        ConfigurationError: ``Environment '<name>' is not defined.``
    """
    if name not in ENVIRONMENT_NAMES:
        raise ConfigurationError(f"Environment '{name}' is not defined.")
    return name  # type: ignore[return-value]


def normalize_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash, query or fragment.

    Raises:
        ConfigurationError: unless it is an absolute ``http``/``https`` URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("base URL must be an absolute http(s) URL")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def display_url(url: str) -> str:
    """Return ``url`` with any ``user:password@`` part removed, for reprs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def get_environment(
    name: str, *, base_url: str | None = None, env: Mapping[str, str] | None = None
) -> Environment:
    """Resolve an environment name to its backend URL.

    ``base_url`` overrides the backend of any environment. For ``custom`` without ``base_url`` the backend is
    ``NVM_BACKEND_URL`` from ``env`` (default: ``os.environ``), else ``http://localhost:3001``.

    Raises:
        ConfigurationError: unknown name or malformed URL.
    """
    checked = check_environment_name(name)
    if base_url is None:
        if checked == "custom":
            source = os.environ if env is None else env
            base_url = source.get(BACKEND_URL_ENV) or CUSTOM_BACKEND_DEFAULT
        else:
            base_url = _BACKENDS[checked]
    return Environment(name=checked, backend=normalize_base_url(base_url))


def default_network(scheme: str, environment: str | None = None) -> str:
    """Return the default x402 network: by environment for ``nvm:erc4337``, ``stripe`` for card delegation."""
    if scheme == "nvm:card-delegation":
        return DEFAULT_CARD_NETWORK
    return _ERC4337_NETWORKS.get(environment or "", DEFAULT_ERC4337_NETWORK)
