"""Delegations and enrolled payment methods: request and result models of the delegation API (pure: no I/O).

REST fallback models, named and shaped as payments-py's. Delegations are "create-first": create one with
``POST /api/v1/delegation/create`` (:class:`CreateDelegationPayload`), then mint x402 tokens against it with
``DelegationConfig(delegation_id=…)``. A delegation lives in the backend (and, for cards, at the card
provider); nothing here touches the chain. Visa delegations can only be created in the Nevermined web app
(the backend answers ``BCK.VISA.0014``); they can be listed and used.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field

from nvm_chain.errors import ValidationError, shown
from nvm_chain.rest.wire import OptionalUint256, WireModel

#: Who holds the delegated funds: a card provider, or ``erc4337`` (the user's smart account).
DelegationProvider = Literal["stripe", "braintree", "visa", "vgs", "erc4337"]
DELEGATION_PROVIDERS: tuple[str, ...] = get_args(DelegationProvider)
#: ``usd``/``eur`` for cards, ``usdc``/``eurc`` for erc4337.
DelegationCurrency = Literal["usd", "eur", "usdc", "eurc"]


def check_provider(provider: str) -> DelegationProvider:
    """Return ``provider`` if it is a known delegation provider.

    Raises:
        ValidationError: any other value.
    """
    if provider not in DELEGATION_PROVIDERS:
        raise ValidationError(f"provider must be one of {', '.join(DELEGATION_PROVIDERS)}, got {shown(provider)}")
    return provider  # type: ignore[return-value]


class CreateDelegationPayload(WireModel):
    """Body of ``POST /api/v1/delegation/create``; ``None`` fields are not sent, ``plan_id`` goes as a decimal
    string. ``currency`` is required (the backend applies no default); ``plan_id`` scopes the delegation to one
    plan (required by the backend for ``visa``)."""

    provider: DelegationProvider
    provider_payment_method_id: str | None = None
    spending_limit_cents: int = Field(ge=0)
    duration_secs: int = Field(ge=0)
    currency: DelegationCurrency
    plan_id: OptionalUint256 = None
    merchant_account_id: str | None = None
    max_transactions: int | None = Field(default=None, ge=0)
    api_key_id: str | None = None


class CreateDelegationResponse(WireModel):
    """The created delegation: its ID (a UUID) and, for card delegations, a token (hidden from repr)."""

    delegation_id: str = Field(min_length=1)
    delegation_token: str | None = Field(default=None, repr=False)


class DelegationSummary(WireModel):
    """One delegation of the user (``GET /api/v1/delegation``); amounts in cents."""

    id: str
    card_id: str | None = None
    spending_limit_cents: int | None = None
    spent_cents: int | None = None
    duration_secs: int | None = None
    currency: str | None = None
    status: str | None = None
    created_at: str | None = None
    expires_at: str | None = None


class PaymentMethodSummary(WireModel):
    """One enrolled payment method (``GET /api/v1/payment-methods``).

    The list mixes cards (``provider`` stripe/braintree/visa) and, when the user has a smart account, an
    ``erc4337`` entry whose ``id`` is the smart-account address (``type`` ``crypto_wallet``, ``brand``
    ``ethereum``). Expiry fields are 0 or ``None`` for non-card methods; ``provider`` is kept as sent (one of
    :data:`DELEGATION_PROVIDERS` today).
    """

    id: str
    type: str | None = None
    brand: str
    last4: str
    exp_month: int | None = 0
    exp_year: int | None = 0
    provider: str | None = None


def parse_list(data: Any, model: type[DelegationSummary] | type[PaymentMethodSummary]) -> list[Any]:
    """Parse a JSON array of ``model`` objects.

    Raises:
        pydantic.ValidationError: an item of the wrong shape. ValidationError: not an array.
    """
    if not isinstance(data, list):
        raise ValidationError("expected a JSON array")
    return [model.model_validate(item) for item in data]
