"""Minting, burning and redeeming plan credits (services: build calls with nvm_chain.chain.contracts, send through
ctx.sender).

Credits live in the plan's ERC-1155 contract (``credits.nft_address``, tokenId = planId). Minting is allowed
to the plan owner or a CREDITS_MINTER_ROLE holder (the contract decides; a refusal comes back as the decoded
``InvalidRole``). A burn is checked first with reads against the redemption rule of docs/protocol.md#burn and
refused with :class:`~nvm_chain.protocol.results.RedemptionRefused` saying why; the amount actually burned is
taken from the mined ``TransferSingle`` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nvm_chain.errors import ContractRevertError, RedemptionRefused, ValidationError
from nvm_chain.protocol.models import ZERO, parse_id, to_address, to_uint256
from nvm_chain.protocol.results import BurnerResult, BurnResult, MintResult, TxResult
from nvm_chain.services.plans.reads import (
    EXPIRABLE_CONTRACTS,
    book_address,
    credits_contract,
    credits_to_burn,
    forget_permissions,
    plan_terms,
    read_plan,
    redemption_refusal,
)

if TYPE_CHECKING:
    from nvm_chain.protocol.models import Plan
    from nvm_chain.services.context import ServiceContext

NEVER = 2**256 - 1  # NFT1155ExpirableCreditsV2's expiration of credits that never expire


def _credits_amount(value: Any, what: str = "credits_amount") -> int:
    amount = to_uint256(value, what, units=True)
    if amount < 1:
        raise ValidationError(f"{what} must be at least 1")
    return amount


def mint(ctx: ServiceContext, plan_id: Any, credits_amount: Any, credits_receiver: Any,
         credits_duration: Any = None) -> MintResult:
    """4-argument ``mint`` (``credits_duration`` None) or the expirable 5-argument ``mint``.

    Raises:
        ValidationError: bad arguments, or a duration for a plan whose credits contract is not expirable.
        PlanNotFoundError: no such plan.
        ContractRevertError: e.g. ``InvalidRole`` when the caller is neither the plan owner nor a minter.
    """
    pid = parse_id(plan_id)
    amount = _credits_amount(credits_amount)
    receiver = to_address(credits_receiver, "credits_receiver")
    duration = None if credits_duration is None else to_uint256(credits_duration, "credits_duration")
    plan = plan_terms(ctx, pid)
    nft = credits_contract(ctx, plan.credits)
    if duration is None:
        request = nft.tx("mint", receiver, pid, amount, b"")
    else:
        if nft.name not in EXPIRABLE_CONTRACTS:
            names = " or ".join(f"{n} {book_address(ctx, n)}" for n in EXPIRABLE_CONTRACTS)
            raise ValidationError(f"plan {pid} keeps its credits in {nft.address}, which is not an expirable "
                                  f"credits contract ({names}): use mint_plan_credits")
        request = nft.tx("mint", receiver, pid, amount, duration, b"")
    receipt = ctx.send(request)
    minted = [e.args["_expiration"] for e in receipt.events_named("Minted")
              if e.args.get("_to") == receiver and e.args.get("_planId") == pid]
    expires = minted[0] if minted and minted[0] != NEVER else None
    return MintResult(plan_id=pid, credits_receiver=receiver, credits_amount=amount, credits_duration=duration or 0,
                      expires_at=expires, credits_contract=nft.address, tx=TxResult.of(receipt))


def burn(ctx: ServiceContext, plan_id: Any, holder: Any, credits_amount: Any) -> BurnResult:
    """``burn(holder, planId, amount, 0, 0x)`` by the client's account, after checking it may. A granted burn
    permission is trusted for ``PERMISSION_TTL`` seconds without reading it again; a burn the chain refuses for
    want of it (revoked meanwhile) was not sent, and the permission is read afresh to say why.

    Raises:
        ValidationError: bad arguments.
        PlanNotFoundError: no such plan.
        RedemptionRefused: the redemption rule does not let the caller burn (nothing sent).
        ContractRevertError: e.g. ``ERC1155InsufficientBalance`` when a permitted burner asks for more than
            the holder has.
    """
    pid = parse_id(plan_id)
    requested = to_uint256(credits_amount, "credits_amount", units=True)
    holder = to_address(holder, "redeem_from")
    sender = ctx.address
    plan = plan_terms(ctx, pid)
    burned = credits_to_burn(plan.credits, requested)
    if redemption_refusal(ctx, plan, holder, sender, burned) is not None:
        plan, refused = _fresh_refusal(ctx, pid, holder, sender, burned)
        if refused is not None:
            raise refused
    nft = credits_contract(ctx, plan.credits)
    try:
        receipt = ctx.send(nft.tx("burn", holder, pid, requested, 0, b""))
    except ContractRevertError as exc:  # nothing sent: a permission remembered as granted may have been revoked
        if exc.error_name != "InvalidRedemptionPermission":
            raise
        refused = _fresh_refusal(ctx, pid, holder, sender, burned)[1]
        if refused is None:
            raise
        raise refused from None
    taken = [e.args["value"] for e in receipt.events_named("TransferSingle")
             if e.args.get("from") == holder and e.args.get("to") == ZERO and e.args.get("id") == pid]
    return BurnResult(plan_id=pid, holder=holder, burner=sender, requested=requested,
                      burned=sum(taken) if taken else burned, credits_contract=nft.address, tx=TxResult.of(receipt))


def _fresh_refusal(ctx: ServiceContext, pid: int, holder: str, sender: str,
                   burned: int) -> tuple[Plan, RedemptionRefused | None]:
    """The plan and its redemption rule read afresh, after remembered terms or permissions refused ``sender`` (the
    rule may rest on the owner, which can change; a permission may have been granted or revoked): the fresh plan,
    and the refusal to raise if the fresh read refuses too."""
    forget_permissions(ctx, sender, pid)
    plan = read_plan(ctx, pid, hooks=False)
    why = redemption_refusal(ctx, plan, holder, sender, burned)
    return plan, None if why is None else RedemptionRefused(pid, plan.credits.redemption_type, sender, holder, why)


def set_burner(ctx: ServiceContext, plan_id: Any, burner: Any, allowed: bool) -> BurnerResult:
    """``allowBurn`` / ``revokeBurn`` on the plan's credits contract (plan owner only).

    Raises:
        ValidationError: bad arguments.
        PlanNotFoundError: no such plan.
        ContractRevertError: ``OnlyOwnerCanAllowBurn`` when the caller does not own the plan.
    """
    pid = parse_id(plan_id)
    burner = to_address(burner, "burner")
    plan = plan_terms(ctx, pid)
    nft = credits_contract(ctx, plan.credits)
    receipt = ctx.send(nft.tx("allowBurn" if allowed else "revokeBurn", burner, pid))
    forget_permissions(ctx, burner, pid)
    return BurnerResult(plan_id=pid, burner=burner, allowed=allowed, credits_contract=nft.address,
                        tx=TxResult.of(receipt))
