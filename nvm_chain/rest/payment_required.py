"""x402 ``PaymentRequired`` payload and its builders (pure: no I/O).

REST fallback helper: this is what a seller sends to ``/api/v1/x402/verify`` and ``/settle`` (and, base64'd,
in the ``payment-required`` header of a 402). On the wire nulls are **kept** (``"error": null`` etc.), plan
and agent IDs are decimal strings, and ``accepts[].extra.version`` is always ``"1"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from nvm_chain.errors import ValidationError
from nvm_chain.rest.environments import default_network
from nvm_chain.rest.wire import OptionalUint256, Uint256, WireModel, to_uint256

X402Scheme = Literal["nvm:erc4337", "nvm:card-delegation"]
X402_SCHEMES: frozenset[str] = frozenset({"nvm:erc4337", "nvm:card-delegation"})


class PaymentResource(WireModel):
    """The protected resource: ``url`` (``""`` when unknown), optional description and MIME type."""

    url: str = ""
    description: str | None = None
    mime_type: str | None = None


class PaymentRequirementExtra(WireModel):
    """Nevermined's ``extra``: scheme ``version`` (always ``"1"``), optional agent ID and HTTP verb."""

    version: str = "1"
    agent_id: OptionalUint256 = None
    http_verb: str | None = None


class PaymentRequirement(WireModel):
    """One ``accepts`` entry: scheme, network and the plan that pays."""

    scheme: X402Scheme = "nvm:erc4337"
    network: str
    plan_id: Uint256
    extra: PaymentRequirementExtra = Field(default_factory=PaymentRequirementExtra)


class PaymentRequired(WireModel):
    """An x402 v2 ``PaymentRequired``; :meth:`to_wire` keeps nulls, as the SDKs send it."""

    x402_version: int = 2
    error: str | None = None
    resource: PaymentResource = Field(default_factory=PaymentResource)
    accepts: tuple[PaymentRequirement, ...]
    extensions: dict[str, Any] = Field(default_factory=dict)

    def to_wire(self, *, keep_nulls: bool = True) -> dict[str, Any]:
        """Return the camelCase JSON dict, nulls kept by default."""
        return super().to_wire(keep_nulls=keep_nulls)


def build_payment_required_for_plans(
    plan_ids: Iterable[int | str],
    endpoint: str | None = None,
    agent_id: int | str | None = None,
    http_verb: str | None = None,
    network: str | None = None,
    description: str | None = None,
    mime_type: str | None = None,
    scheme: X402Scheme = "nvm:erc4337",
    environment: str | None = None,
) -> PaymentRequired:
    """Build a ``PaymentRequired`` with one ``accepts`` entry per plan.

    ``network`` defaults by scheme: ``stripe`` for card delegation, else the environment's chain
    (``eip155:84532`` for sandbox or no environment, ``eip155:8453`` for live).

    Raises:
        ValidationError: no plan, an unknown scheme, or an ID that is not a uint256.
    """
    if scheme not in X402_SCHEMES:
        raise ValidationError(f"unknown x402 scheme {scheme!r}; expected one of {sorted(X402_SCHEMES)}")
    plans = [to_uint256(p, what="plan_id") for p in plan_ids]
    if not plans:
        raise ValidationError("at least one plan_id is required")
    agent = None if agent_id is None else to_uint256(agent_id, what="agent_id")
    chosen_network = network or default_network(scheme, environment)
    extra = PaymentRequirementExtra(agent_id=agent, http_verb=http_verb)
    return PaymentRequired(
        resource=PaymentResource(url=endpoint or "", description=description, mime_type=mime_type),
        accepts=tuple(PaymentRequirement(scheme=scheme, network=chosen_network, plan_id=p, extra=extra) for p in plans),
    )


def build_payment_required(
    plan_id: int | str,
    endpoint: str | None = None,
    agent_id: int | str | None = None,
    http_verb: str | None = None,
    network: str | None = None,
    description: str | None = None,
    mime_type: str | None = None,
    scheme: X402Scheme = "nvm:erc4337",
    environment: str | None = None,
) -> PaymentRequired:
    """Build a single-plan ``PaymentRequired`` (see :func:`build_payment_required_for_plans`).

    Raises:
        ValidationError: an unknown scheme or an ID that is not a uint256.
    """
    return build_payment_required_for_plans(
        [plan_id], endpoint, agent_id, http_verb, network, description, mime_type, scheme, environment
    )
