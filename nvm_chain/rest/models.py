"""Typed results of the fiat-checkout and generic write endpoints (pure: no I/O).

REST fallback models; frozen, camelCase aliases, attributes in snake_case. The balance endpoint answers
with :class:`nvm_chain.protocol.models.PlanBalance`, the same model as the on-chain read.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nvm_chain.rest.wire import WireModel


def _pick(sources: list[dict[str, Any]], *keys: str) -> Any:
    for source in sources:
        for key in keys:
            value = source.get(key)
            if value not in (None, ""):
                return value
    return None


class FiatCheckout(WireModel):
    """A Stripe checkout created by ``order_fiat_plan``: open ``checkout_url`` to pay.

    Credits are granted by the backend after the payment completes, not by this call.
    """

    checkout_url: str
    session_id: str | None = None
    client_reference_id: str | None = None
    payment_status: str | None = None
    link_created_at: str | None = None
    link_expires_at: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, body: Any) -> FiatCheckout:
        """Parse any documented variant: ``checkoutUrl``/``checkoutLink`` and ``sessionId``/
        ``stripeCheckoutSessionId``, at the top level or under ``result`` (top level wins).

        Raises:
            pydantic.ValidationError: when no checkout URL is present.
        """
        if not isinstance(body, dict):
            return cls.model_validate(body)
        sources = [body] + ([body["result"]] if isinstance(body.get("result"), dict) else [])
        return cls.model_validate(
            {
                "checkout_url": _pick(sources, "checkoutUrl", "checkoutLink"),
                "session_id": _pick(sources, "sessionId", "stripeCheckoutSessionId"),
                "client_reference_id": _pick(sources, "clientReferenceId"),
                "payment_status": _pick(sources, "paymentStatus"),
                "link_created_at": _pick(sources, "linkCreatedAt"),
                "link_expires_at": _pick(sources, "linkExpiresAt"),
                "raw": body,
            }
        )


class ApiResult(WireModel):
    """The backend's generic write result (``NvmAPIResult``); every field is optional, the JSON is in ``raw``."""

    success: bool | None = None
    message: str | None = None
    tx_hash: str | None = None
    http_status: int | None = None
    when: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, body: Any) -> ApiResult:
        """Parse a JSON object (an empty body counts as ``{}``).

        Raises:
            pydantic.ValidationError: not an object, or a field of the wrong type.
        """
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return cls.model_validate(body)
        return cls.model_validate({**body, "raw": body})
