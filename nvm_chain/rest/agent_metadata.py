"""Agent metadata payloads for ``PUT /api/v1/protocol/agents/{agentId}`` (pure: no I/O).

REST fallback models; serialized camelCase with ``None`` fields dropped. Credentials the agent API needs
(``password``, ``token``, ``api_key``) are hidden from repr.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from nvm_chain.rest.wire import WireModel


class AuthType(str, Enum):
    """How the platform authenticates to the agent's API."""

    NONE = "none"
    BASIC = "basic"
    OAUTH = "oauth"
    BEARER = "bearer"


class Endpoint(WireModel):
    """One protected endpoint, sent as ``{"verb": "POST", "url": "https://…"}``."""

    verb: str
    url: str


class AgentMetadata(WireModel):
    """Descriptive metadata of an agent (``metadataAttributes``)."""

    name: str = Field(min_length=1)
    description: str | None = None
    author: str | None = None
    license: str | None = None
    tags: tuple[str, ...] | None = None
    integration: str | None = None
    sample_link: str | None = None
    api_description: str | None = None
    date_created: str | None = None


class AgentAPIAttributes(WireModel):
    """How to reach the agent (``agentApiAttributes``); ``endpoints`` also act as a route allowlist at verify."""

    endpoints: tuple[Endpoint, ...] | None = None
    open_endpoints: tuple[str, ...] | None = None
    agent_definition_url: str | None = None
    auth_type: AuthType | None = AuthType.NONE
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    token: str | None = Field(default=None, repr=False)
    api_key: str | None = Field(default=None, repr=False)
    headers: dict[str, str] | None = Field(default=None, repr=False)
