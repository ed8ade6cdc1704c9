"""Options and result of the x402 token mint (``POST /api/v1/x402/permissions``) (pure: no I/O).

REST fallback models. Delegations are "create-first": create one (web app or delegation API), then mint
tokens with ``DelegationConfig(delegation_id=…)``. The backend generally requires a delegation config to mint.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from nvm_chain.rest.payment_required import X402Scheme
from nvm_chain.rest.wire import OptionalUint256, WireModel
from nvm_chain.rest.x402 import X402Token, decode_access_token


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
    """Options of :meth:`RestClient.get_x402_access_token`.

    ``network`` defaults by scheme and environment. ``resource``, ``http_verb`` and ``token_version`` ask for a
    single-use v3 token and are sent only when set.
    """

    scheme: X402Scheme = "nvm:erc4337"
    network: str | None = None
    delegation_config: DelegationConfig | None = None
    resource: str | None = None
    http_verb: str | None = None
    token_version: Literal[2, 3] | None = None


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

    def decode(self) -> X402Token:
        """Decode and shape-check the token (see :func:`nvm_chain.rest.x402.decode_access_token`).

        Raises:
            InvalidAccessTokenError: the token is not a documented x402 payload.
        """
        return decode_access_token(self.access_token)
