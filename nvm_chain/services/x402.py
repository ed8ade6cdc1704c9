"""Check an x402 access token against the chain: decode it locally, then read the subscriber's credits
(service: reads only, never signs or sends; the only REST call is the optional plan-name merge of
``client.plans.get_plan_balance``).

    >>> check = check_x402_token(chain, token)
    >>> check.holds_credits, check.balance
    (True, 100)

What is checked and what is not:

- Locally: the token's documented shape (base64 JSON x402 v2 PaymentPayload, see :mod:`nvm_chain.rest.x402`).
  A token that fails this raises :class:`~nvm_chain.errors.InvalidAccessTokenError` (a ValidationError)
  and nothing is read; so ``valid_locally`` is always True on a returned result.
- On chain: whether the plan exists (``plan_exists``; an unknown plan is a **result flag**, not an error) and
  whether the subscriber (``payload.authorization.from``) holds at least ``min_credits`` credits of it now
  (expired credits of time plans excluded).
- Not checked: the EIP-712 signature and the session keys (the facilitator's job: ``x402 verify``), nor the
  backend's off-chain ledger. For plans with ``onchain_mirror=False`` the credits live in that ledger and the
  on-chain balance stays 0: ``onchain_mirror`` is reported so a False ``holds_credits`` can be read correctly.
- The token's ``accepted.network`` must name this chain (``eip155:<chain id>``): a token minted for another
  chain cannot pay here and raises :class:`~nvm_chain.errors.X402NetworkMismatchError` (an
  InvalidAccessTokenError) before anything is read. Card-delegation tokens name a payment provider
  (``stripe``, …), not a chain: they are checked, with ``network_matches=False``.
"""

from __future__ import annotations

from typing import Any, Protocol

from nvm_chain.errors import PlanNotFoundError, ValidationError, X402NetworkMismatchError
from nvm_chain.protocol.models import Address, CoreModel, Id, Uint256, to_uint256
from nvm_chain.rest.access_tokens import X402AccessToken
from nvm_chain.rest.x402 import X402Token, decode_access_token
from nvm_chain.services.context import ServiceContext
from nvm_chain.services.plans import PlansAPI
from nvm_chain.services.plans.reads import plan_terms


class HasContext(Protocol):
    """A facade holding a service context (``NvmChain`` has ``.ctx``)."""

    ctx: ServiceContext

__all__ = ["X402TokenCheck", "check_x402_token", "decode_token"]


class X402TokenCheck(CoreModel):
    """The outcome of :func:`check_x402_token` (camelCase in ``model_dump(by_alias=True)``).

    ``holds_credits`` is ``plan_exists and balance >= min_credits``. ``network_matches`` is True for a token of
    this chain and False only for a card-delegation token (its network is a payment provider).
    ``balance`` is 0 for an unknown plan;
    ``plan_name`` is filled only when the client has a REST fallback; ``onchain_mirror`` is None for an
    unknown plan.
    """

    subscriber: Address
    plan_id: Id
    agent_id: str | None = None
    scheme: str
    network: str
    network_matches: bool
    token_version: int
    valid_locally: bool = True
    plan_exists: bool
    plan_name: str = ""
    onchain_mirror: bool | None = None
    balance: Uint256 = 0
    min_credits: Uint256
    holds_credits: bool


def decode_token(token: str | X402Token | X402AccessToken) -> X402Token:
    """The decoded, shape-checked token (a string, a minted :class:`X402AccessToken` or an :class:`X402Token`).

    Raises:
        InvalidAccessTokenError: the token is not a documented x402 payload (the message never echoes it).
    """
    if isinstance(token, X402Token):
        return token
    if isinstance(token, X402AccessToken):
        return token.decode()
    return decode_access_token(token)


def check_x402_token(client: ServiceContext | HasContext, token: str | X402Token | X402AccessToken,
                     min_credits: int = 1) -> X402TokenCheck:
    """Decode ``token`` locally and check on the chain of ``client`` (an ``NvmChain`` or a service context) that
    its subscriber holds at least ``min_credits`` credits of its plan (via ``client.plans.get_plan_balance``).

    An unknown plan is reported with ``plan_exists=False`` (and ``holds_credits=False``), not raised, so one call
    answers "may this token be served?" for any well-formed token.

    Raises:
        InvalidAccessTokenError: malformed token (nothing is read).
        X402NetworkMismatchError: the token names another chain (``eip155:<id>``), or an ``nvm:erc4337`` token
            names no chain (nothing is read).
        ValidationError: ``min_credits`` is not a whole number ≥ 1.
        ContractRevertError, ConnectionError: the chain read failed.
    """
    ctx = client if isinstance(client, ServiceContext) else client.ctx
    decoded = decode_token(token)
    minimum = to_uint256(min_credits, "min_credits")
    if minimum < 1:
        raise ValidationError("min_credits must be at least 1")
    chain_network = f"eip155:{ctx.book.chain_id}"
    if decoded.network != chain_network and (decoded.scheme == "nvm:erc4337" or decoded.network.startswith("eip155:")):
        raise X402NetworkMismatchError(decoded.network, chain_network)
    fields: dict[str, Any] = {
        "subscriber": decoded.subscriber, "plan_id": decoded.plan_id, "agent_id": decoded.agent_id,
        "scheme": decoded.scheme, "network": decoded.network,
        "network_matches": decoded.network == chain_network,
        "token_version": decoded.token_version, "min_credits": minimum,
    }
    try:
        plan = plan_terms(ctx, decoded.plan_id)
    except PlanNotFoundError:
        return X402TokenCheck(**fields, plan_exists=False, holds_credits=False)
    balance = PlansAPI(ctx).get_plan_balance(decoded.plan_id, decoded.subscriber)
    return X402TokenCheck(**fields, plan_exists=True, plan_name=balance.plan_name,
                          onchain_mirror=plan.credits.onchain_mirror, balance=balance.balance,
                          holds_credits=balance.balance >= minimum)
