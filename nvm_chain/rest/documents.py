"""Plan and agent documents, paginated lists and pagination options (pure: no I/O).

REST fallback models. The backend's full plan/agent DTOs are not public, so :class:`PlanDocument` and
:class:`AgentDocument` expose the fields the official SDKs read (IDs as ``int``) and keep the whole JSON
document in ``raw`` for everything else. Missing optional fields are ``None``; a missing or non-numeric ID
makes parsing fail.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import Field

from nvm_chain.rest.wire import Address, Uint256, WireModel


class PaginationOptions(WireModel):
    """Page selection for list endpoints; only ``page`` and ``offset`` (page size) are sent per plan/agent."""

    page: int = Field(default=1, ge=1)
    offset: int = Field(default=10, ge=1, le=1000)
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] = "desc"

    def to_query(self) -> dict[str, str]:
        """Return the query parameters the per-plan/per-agent list endpoints take (``page``, ``offset``)."""
        return {"page": str(self.page), "offset": str(self.offset)}


def _dig(doc: dict[str, Any], *path: str) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


class PlanDocument(WireModel):
    """A plan as the backend describes it: known fields typed, the whole JSON in ``raw``."""

    plan_id: Uint256
    name: str | None = None
    is_crypto: bool | None = None
    token_address: Address | None = None
    template_address: Address | None = None
    amounts: tuple[Uint256, ...] = ()
    receivers: tuple[Address, ...] = ()
    credits_amount: Uint256 | None = None
    access_limit: str | None = None
    currency: str | None = None
    fiat_payment_provider: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, doc: Any) -> PlanDocument:
        """Build from a plan JSON object (``id`` or ``planId``; ``registry.*``/``metadata.*`` when present).

        Raises:
            pydantic.ValidationError: not an object, or no valid plan ID (the client maps it to RestResponseError).
        """
        if not isinstance(doc, dict):
            return cls.model_validate(doc)  # raises with a clear "input should be an object"
        price = _dig(doc, "registry", "price") or {}
        return cls.model_validate(
            {
                "plan_id": _first(doc.get("planId"), doc.get("id")),
                "name": _first(_dig(doc, "metadata", "main", "name"), doc.get("name")),
                "is_crypto": price.get("isCrypto") if isinstance(price, dict) else None,
                "token_address": price.get("tokenAddress") if isinstance(price, dict) else None,
                "template_address": price.get("templateAddress") if isinstance(price, dict) else None,
                "amounts": (price.get("amounts") if isinstance(price, dict) else None) or (),
                "receivers": (price.get("receivers") if isinstance(price, dict) else None) or (),
                "credits_amount": _dig(doc, "registry", "credits", "amount"),
                "access_limit": _dig(doc, "metadata", "plan", "accessLimit"),
                "currency": _dig(doc, "metadata", "plan", "currency"),
                "fiat_payment_provider": _dig(doc, "metadata", "plan", "fiatPaymentProvider"),
                "raw": doc,
            }
        )


class AgentDocument(WireModel):
    """An agent as the backend describes it: ID and name typed, the whole JSON in ``raw``."""

    agent_id: Uint256
    name: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, doc: Any) -> AgentDocument:
        """Build from an agent JSON object (``id`` or ``agentId``; name from ``metadata.main.name`` or ``name``).

        Raises:
            pydantic.ValidationError: not an object, or no valid agent ID.
        """
        if not isinstance(doc, dict):
            return cls.model_validate(doc)
        return cls.model_validate(
            {
                "agent_id": _first(doc.get("agentId"), doc.get("id")),
                "name": _first(_dig(doc, "metadata", "main", "name"), doc.get("name")),
                "raw": doc,
            }
        )


ItemT = TypeVar("ItemT", PlanDocument, AgentDocument)


class Page(WireModel, Generic[ItemT]):
    """One page of a list endpoint: ``total``, ``page``, ``offset`` (page size) and the parsed ``items``."""

    total: int
    page: int
    offset: int
    items: tuple[ItemT, ...]
