"""``DelegationAPI``: payments-py's ``payments.delegation`` over a :class:`RestClient` (REST only, no chain).

    >>> delegation = DelegationAPI(rest)
    >>> created = delegation.create_delegation(CreateDelegationPayload(
    ...     provider="erc4337", spending_limit_cents=10_000, duration_secs=604_800, currency="usdc"))
    >>> options = X402TokenOptions(delegation_config=DelegationConfig(delegation_id=created.delegation_id))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nvm_chain.rest.client import RestClient
from nvm_chain.rest.delegation import (
    CreateDelegationPayload,
    CreateDelegationResponse,
    DelegationProvider,
    DelegationSummary,
    PaymentMethodSummary,
)


class DelegationAPI:
    """Enrolled payment methods and delegations, with payments-py's method names and arguments; each call is
    the :class:`RestClient` method of the same name (see there for what it sends and raises)."""

    def __init__(self, rest: RestClient) -> None:
        self._rest = rest

    def __repr__(self) -> str:
        return f"DelegationAPI({self._rest!r})"

    def list_payment_methods(self, provider: DelegationProvider | None = None) -> list[PaymentMethodSummary]:
        """The user's enrolled payment methods, optionally of one provider."""
        return self._rest.list_payment_methods(provider)

    def create_delegation(self, payload: CreateDelegationPayload | Mapping[str, Any]) -> CreateDelegationResponse:
        """Create a delegation; mint tokens against ``result.delegation_id``."""
        return self._rest.create_delegation(payload)

    def list_delegations(self) -> list[DelegationSummary]:
        """The user's delegations."""
        return self._rest.list_delegations()
