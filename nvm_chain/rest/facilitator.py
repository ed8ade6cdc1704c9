"""Results of the x402 facilitator endpoints, verify and settle (pure: no I/O).

REST fallback models. **A settle answered with HTTP 200 and ``success: false`` is a normal**
:class:`SettleResponse` **with** ``success=False``, not an exception: callers must check ``success`` before
releasing a paid response.
"""

from __future__ import annotations

from nvm_chain.protocol.models import PlanBalance
from nvm_chain.rest.wire import OptionalUint256, WireModel


class StartAgentRequest(WireModel):
    """The agent request the backend opened during verify (all fields optional)."""

    agent_request_id: str | None = None
    agent_name: str | None = None
    agent_id: OptionalUint256 = None
    balance: PlanBalance | None = None
    url_matching: str | None = None
    verb_matching: str | None = None
    batch: bool | None = None


class VerifyResponse(WireModel):
    """Result of ``POST /api/v1/x402/verify`` (a simulation; never burns credits)."""

    is_valid: bool
    invalid_reason: str | None = None
    payer: str | None = None
    network: str | None = None
    agent_request_id: str | None = None
    url_matching: str | None = None
    agent_request: StartAgentRequest | None = None


class SettleResponse(WireModel):
    """Result of ``POST /api/v1/x402/settle``. Check ``success``: it may be false with HTTP 200.

    ``transaction`` is the burn tx hash (``""`` when the burn was off-chain), ``order_tx`` is set when the backend
    auto-ordered the plan first; credit counts are ints.
    """

    success: bool
    error_reason: str | None = None
    payer: str | None = None
    transaction: str = ""
    network: str = ""
    credits_redeemed: OptionalUint256 = None
    remaining_balance: OptionalUint256 = None
    order_tx: str | None = None
