"""Options, request body and result of the x402 token mint (``POST /api/v1/x402/permissions``) (pure: no I/O).

REST fallback models. Delegations are "create-first": create one (web app or delegation API), then mint
tokens with ``DelegationConfig(delegation_id=…)``. The backend generally requires a delegation config to mint.

The body is the one payments-py sends::

    {"accepted": {"scheme", "network", "planId", "extra": {"agentId"?, "httpVerb"?}},
     "resource"?: {"url", "description"?, "mimeType"?}, "tokenVersion"?: 2|3, "delegationConfig"?: {...}}

``resource``, ``accepted.extra.httpVerb`` and ``tokenVersion`` are what a single-use v3 token is signed over;
they are sent whenever given (a v2 mint ignores them) and left out when not.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from nvm_chain.errors import ValidationError
from nvm_chain.rest.environments import default_network
from nvm_chain.rest.payment_required import PaymentResource, X402Scheme
from nvm_chain.rest.wire import OptionalUint256, WireModel, to_uint256
from nvm_chain.rest.x402 import X402Token, decode_access_token, detect_access_token_version


class DelegationConfig(WireModel):
    """``delegationConfig`` of the mint body; ``None`` fields are not sent, ``plan_id`` goes as a decimal string."""

    delegation_id: str | None = None
    card_id: str | None = None
    provider_payment_method_id: str | None = None
    spending_limit_cents: int | None = Field(default=None, ge=0)
    duration_secs: int | None = Field(default=None, ge=0)
    currency: Literal["usd", "eur", "usdc", "eurc"] | None = None
    plan_id: OptionalUint256 = None
    merchant_account_id: str | None = None
    max_transactions: int | None = Field(default=None, ge=0)
    api_key_id: str | None = None

    @field_validator("delegation_id")
    @classmethod
    def _non_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("delegation_id must not be empty")
        return value


class X402TokenOptions(WireModel):
    """Options of :meth:`RestClient.get_x402_access_token` (payments-py's ``X402TokenOptions``).

    ``network`` defaults by scheme and environment. ``resource`` (a URL, or a :class:`PaymentResource` with
    description and MIME type), ``http_verb`` and ``token_version`` bind a single-use v3 token to one seller
    endpoint; each is sent only when set. Asking for v3 does not guarantee it: read
    :attr:`X402AccessToken.token_version` of the result.
    """

    scheme: X402Scheme = "nvm:erc4337"
    network: str | None = None
    delegation_config: DelegationConfig | None = None
    resource: str | PaymentResource | None = None
    http_verb: str | None = None
    token_version: Literal[2, 3] | None = None


def _resource_wire(resource: str | PaymentResource) -> dict[str, Any]:
    wire = {"url": resource} if isinstance(resource, str) else resource.to_wire()
    url = wire.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("resource.url must not be empty: pass the URL of the protected resource the token "
                              "is minted for, or leave resource out")
    return wire


def token_request_body(
    plan_id: int | str, agent_id: int | str | None, options: X402TokenOptions | None, environment: str | None
) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/x402/permissions``, key for key as payments-py builds it (see the module
    docstring); IDs go as decimal strings, the network defaults by scheme and ``environment``.

    Raises:
        ValidationError: a bad plan or agent ID, or a blank ``resource`` URL.
    """
    options = options or X402TokenOptions()
    extra: dict[str, Any] = {}
    if agent_id is not None:
        extra["agentId"] = str(to_uint256(agent_id, what="agent_id"))
    if options.http_verb is not None:
        extra["httpVerb"] = options.http_verb
    body: dict[str, Any] = {
        "accepted": {
            "scheme": options.scheme,
            "network": options.network or default_network(options.scheme, environment),
            "planId": str(to_uint256(plan_id, what="plan_id")),
            "extra": extra,
        }
    }
    if options.resource is not None:
        body["resource"] = _resource_wire(options.resource)
    if options.token_version is not None:
        body["tokenVersion"] = options.token_version
    if options.delegation_config is not None:
        body["delegationConfig"] = options.delegation_config.to_wire()
    return body


class X402AccessToken(WireModel):
    """The minted token (``accessToken``); hidden from repr because it is a bearer credential."""

    access_token: str = Field(min_length=1, repr=False)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, body: Any) -> X402AccessToken:
        """Parse ``{"accessToken": "...", ...}``.

        Raises:
            pydantic.ValidationError: no non-empty ``accessToken`` string.
        """
        if not isinstance(body, dict):
            return cls.model_validate(body)
        return cls.model_validate({"access_token": body.get("accessToken"), "raw": body})

    @property
    def token_version(self) -> int:
        """The version of the token that came back (3: single-use), read from the token itself, never from the
        version asked for (a backend without v3 drops ``tokenVersion`` silently); 2 if it does not decode."""
        return detect_access_token_version(self.access_token)

    def decode(self) -> X402Token:
        """Decode and shape-check the token (see :func:`nvm_chain.rest.x402.decode_access_token`).

        Raises:
            InvalidAccessTokenError: the token is not a documented x402 payload.
        """
        return decode_access_token(self.access_token)
