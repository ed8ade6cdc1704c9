"""Ordering plans (services: build calls with nvm_chain.chain.contracts, send through ctx.sender).

Four flows (docs/protocol.md#orders): ``FixedPaymentTemplate.order`` and ``PayAsYouGoTemplate.order``
paid by the client's own account, and their ``orderWithAuthorization`` variants where a buyer signs an
EIP-3009 ``ReceiveWithAuthorization`` and the client's account relays the transaction.

Payment rules: native plans send exactly Σ amounts × n as ``msg.value``; ERC-20 plans send no value and
need an allowance to PaymentsVault of Σ amounts × n: the allowance is read and, when short, raised to exactly
that total (never infinite). An order that cannot succeed (fees not included, wrong template, trial already
used, …) never leaves an approval behind: on the embedded chains the approve and the order are executed
together and kept only if both succeed (``Sender.send_together``); elsewhere the order is simulated before the
approval is signed, and any revert other than the missing allowance is raised then. Agreement ids are
computed offline before sending and checked against the ``AgreementRegistered`` event.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import eth_abi
from eth_utils import keccak

from nvm_chain.chain.multicall import call_many, decode
from nvm_chain.chain.reads import eth_call
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxReceipt, TxRequest
from nvm_chain.errors import (
    ContractRevertError,
    IdMismatchError,
    InsufficientBalanceError,
    ValidationError,
)
from nvm_chain.protocol import ids
from nvm_chain.protocol.models import ZERO, Plan, parse_seed, to_address, to_uint256
from nvm_chain.protocol.results import OrderResult, TxResult
from nvm_chain.services.plans.reads import book_address, call, plan_terms, token_balance

if TYPE_CHECKING:
    from nvm_chain.services.context import ServiceContext

FIXED: Final = "FixedPaymentTemplate"
PAYG: Final = "PayAsYouGoTemplate"

RECEIVE_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


# ---------------------------------------------------------------------------------------------- inputs


def order_seed(seed: Any = None) -> bytes:
    """A non-zero bytes32 seed for an order (see :func:`nvm_chain.protocol.models.parse_seed`)."""
    return parse_seed(seed)


def purchases(number_of_purchases: Any) -> int:
    """``number_of_purchases`` as an int ≥ 1.

    Raises:
        ValidationError: not an integer, or below 1.
    """
    n = to_uint256(number_of_purchases, "number_of_purchases")
    if n < 1:
        raise ValidationError("number_of_purchases must be at least 1")
    return n


def as_signer(buyer: Any) -> Any:
    """A signer for the buyer: a LocalSigner (or any object with ``address`` and ``sign_typed_data``), or a key.

    Raises:
        ValidationError: neither a signer nor a valid private key.
    """
    if hasattr(buyer, "sign_typed_data") and hasattr(buyer, "address"):
        return buyer
    if isinstance(buyer, (str, bytes)):
        return LocalSigner(buyer)
    raise ValidationError(f"buyer_signer must be a LocalSigner or a private key, not {type(buyer).__name__}")


# ---------------------------------------------------------------------------------------------- checks


def is_pay_as_you_go(ctx: ServiceContext, plan: Plan) -> bool:
    """Whether ``plan`` is ordered through this deployment's PayAsYouGoTemplate."""
    return plan.price.template_address == book_address(ctx, PAYG)


def keeps_credits_off_chain(ctx: ServiceContext, plan: Plan) -> bool:
    """Whether an order of ``plan`` mints nothing on chain because its credits ledger is the backend's
    (``onchain_mirror=False`` on a plan that grants credits; pay-as-you-go plans grant none either way)."""
    return not plan.credits.onchain_mirror and plan.credits.amount > 0 and not is_pay_as_you_go(ctx, plan)


def orderable_plan(ctx: ServiceContext, plan_id: Any, template: str) -> Plan:
    """The plan, refused with a ValidationError before signing when ``template`` cannot order it.

    Raises:
        PlanNotFoundError: no such plan.
        ValidationError: fiat plan, external-price plan, or a pay-as-you-go plan ordered through the fixed
            template (or the reverse).
    """
    plan = plan_terms(ctx, plan_id)
    pid, price = plan.plan_id, plan.price
    if not price.is_crypto:
        raise ValidationError(
            f"plan {pid} has a fiat price: it cannot be ordered with crypto; pay it with order_fiat_plan(plan_id) "
            "(a Stripe checkout through the REST API; a FIAT_SETTLEMENT_ROLE holder then settles it on chain)")
    if price.external_price_address != ZERO:
        raise ValidationError(f"plan {pid} is priced by the contract {price.external_price_address}: "
                              "external-price plans are not supported by this client")
    payg = book_address(ctx, PAYG)
    if template == FIXED and price.template_address == payg:
        raise ValidationError(f"plan {pid} is a pay-as-you-go plan: order it with order_pay_as_you_go_plan")
    if template == PAYG and price.template_address != payg:
        raise ValidationError(f"plan {pid} is not a pay-as-you-go plan (its template is "
                              f"{price.template_address}, not PayAsYouGoTemplate {payg}): order it with order_plan")
    return plan


def _token_name(token: str) -> str:
    return "native token" if token == ZERO else f"token {token}"


def _require_balance(ctx: ServiceContext, holder: str, token: str, needed: int) -> None:
    available = token_balance(ctx, token, holder)
    if available < needed:
        raise InsufficientBalanceError(holder, token, needed, available, _token_name(token))


def _allowance_missing(exc: ContractRevertError) -> bool:
    """The revert only says the allowance to the vault is short (OZ v5 custom error, or an older string)."""
    if exc.error_name == "ERC20InsufficientAllowance":
        return True
    return exc.error_name == "Error" and "allowance" in str(exc.error_args.get("message", "")).lower()


def minted_credits(receipt: TxReceipt, plan: Plan, receiver: str) -> int:
    """Credits of ``plan`` minted to ``receiver`` by this transaction: the ERC-1155 ``TransferSingle`` events
    from address 0 emitted by the plan's credits contract (no balance reads needed)."""
    return sum(e.args["value"] for e in receipt.events_named("TransferSingle")
               if e.address == plan.credits.nft_address and e.args["from"] == ZERO
               and e.args["to"] == receiver and e.args["id"] == plan.plan_id)


def _agreement_checked(receipt: TxReceipt, expected: bytes) -> str:
    emitted = [e.args["agreementId"] for e in receipt.events_named("AgreementRegistered")]
    if emitted != [expected]:
        shown = ", ".join("0x" + bytes(e).hex() for e in emitted) or "none"
        raise IdMismatchError("agreementId", "0x" + expected.hex(), shown, receipt.tx_hash)
    return "0x" + expected.hex()


# ---------------------------------------------------------------------------------------------- paying


def _pay_and_send(ctx: ServiceContext, plan: Plan, total: int,
                  request: TxRequest) -> tuple[TxReceipt, TxResult | None, int]:
    """Check funds, approve the missing ERC-20 allowance (together with the order where the chain keeps both only
    if both succeed, else after simulating the order), send the order.

    Returns (order receipt, approve tx or None, allowance added).
    """
    payer, token = ctx.address, plan.price.token_address
    if total == 0:
        return ctx.send(request), None, 0
    if token == ZERO:
        _require_balance(ctx, payer, token, total)
        return ctx.send(request), None, 0
    erc20 = ctx.contracts.at("MockERC20", token)
    vault = ctx.contracts.PaymentsVault.address
    allowance, available = _allowance_and_balance(ctx, erc20, payer, vault)
    if allowance >= total:
        return ctx.send(request), None, 0
    if available < total:
        raise InsufficientBalanceError(payer, token, total, available, _token_name(token))
    approve_request = erc20.tx("approve", vault, total)  # allowance + missing == total
    if ctx.sender.sends_together:  # one execution of each, no simulation: both kept, or neither
        approve, receipt = ctx.sender.send_together([approve_request, request])
        return receipt, TxResult.of(approve), total - allowance
    try:
        ctx.sender.simulate(request)
    except ContractRevertError as exc:
        if not _allowance_missing(exc):
            raise
    # the order was just simulated (only the allowance was missing), and an approve of a balance-checked
    # amount cannot revert on a standard ERC-20: neither is simulated again
    approve = ctx.send(approve_request, simulate=False)
    return ctx.send(request, simulate=False), TxResult.of(approve), total - allowance


def _seedless(request: TxRequest, seed: Any) -> TxRequest:
    """An order with a random seed (its first argument) identified by everything but the seed, so the same order
    asked again from an earlier run is recognised as the same write (see ``Sender(refuse_duplicates=True)``)."""
    return request if seed is not None else replace(request, intent=request.data[:4] + bytes(32) + request.data[36:])


def _allowance_and_balance(ctx: ServiceContext, erc20: Any, payer: str, vault: str) -> tuple[int, int]:
    """The payer's allowance to the vault and its token balance: one Multicall3 request when the book lists it."""
    multicall = book_address(ctx, "Multicall3")
    if multicall is None:
        return call(ctx, erc20, "allowance", payer, vault), call(ctx, erc20, "balanceOf", payer)
    allowance, balance = call_many(ctx.w3, multicall, [(erc20, "allowance", (payer, vault)),
                                                       (erc20, "balanceOf", (payer,))])
    return decode(erc20, "allowance", allowance), decode(erc20, "balanceOf", balance)


def order_fixed(ctx: ServiceContext, plan_id: Any, number_of_purchases: Any = 1, credits_receiver: Any = None,
                seed: Any = None) -> OrderResult:
    """``FixedPaymentTemplate.order`` paid by the client's account (see ``PlansAPI.order_plan``)."""
    n = purchases(number_of_purchases)
    buyer = ctx.address
    receiver = buyer if credits_receiver is None else to_address(credits_receiver, "credits_receiver")
    s = order_seed(seed)
    plan = orderable_plan(ctx, plan_id, FIXED)
    total = plan.price.total * n
    agreement = ids.fixed_agreement_id(buyer, s, plan.plan_id, n, [])
    value = total if plan.price.token_address == ZERO else 0
    request = _seedless(ctx.contracts[FIXED].tx("order", s, plan.plan_id, receiver, n, [], value=value), seed)
    receipt, approve_tx, added = _pay_and_send(ctx, plan, total, request)
    agreement_hex = _agreement_checked(receipt, agreement)
    return OrderResult(agreement_id=agreement_hex, plan_id=plan.plan_id, template=FIXED, payer=buyer, sender=buyer,
                       credits_receiver=receiver, number_of_purchases=n, token=plan.price.token_address,
                       amount_paid=total, approval_added=added, approve_tx=approve_tx, tx=TxResult.of(receipt),
                       credits_received=minted_credits(receipt, plan, receiver), seed="0x" + s.hex())


def order_payg(ctx: ServiceContext, plan_id: Any, seed: Any = None) -> OrderResult:
    """``PayAsYouGoTemplate.order`` paid by the client's account (see ``PlansAPI.order_pay_as_you_go_plan``)."""
    payer = ctx.address
    s = order_seed(seed)
    plan = orderable_plan(ctx, plan_id, PAYG)
    total = plan.price.total
    agreement = ids.pay_as_you_go_agreement_id(payer, s, plan.plan_id, [])
    value = total if plan.price.token_address == ZERO else 0
    request = _seedless(ctx.contracts[PAYG].tx("order", s, plan.plan_id, [], value=value), seed)
    receipt, approve_tx, added = _pay_and_send(ctx, plan, total, request)
    return OrderResult(agreement_id=_agreement_checked(receipt, agreement), plan_id=plan.plan_id, template=PAYG,
                       payer=payer, sender=payer, credits_receiver=None, number_of_purchases=1,
                       token=plan.price.token_address, amount_paid=total, approval_added=added, approve_tx=approve_tx,
                       tx=TxResult.of(receipt), seed="0x" + s.hex())


# ---------------------------------------------------------------------------------------------- EIP-3009


def token_domain(ctx: ServiceContext, token: str) -> dict[str, Any]:
    """The token's own EIP-712 domain: EIP-5267 ``eip712Domain()`` when the token has it, else ``name()``
    with ``version()`` (USDC answers "2") or "1"."""
    bound = ctx.contracts.at("MockEIP3009Token", token)
    try:
        _fields, name, version, *_rest = call(ctx, bound, "eip712Domain")
    except Exception:  # noqa: BLE001 - the token predates EIP-5267
        name = call(ctx, bound, "name")
        try:
            (version,) = eth_abi.decode(["string"], eth_call(ctx.w3, token, keccak(text="version()")[:4]))
        except Exception:  # noqa: BLE001 - no version(): the EIP-3009 reference tokens use "1"
            version = "1"
    return {"name": name, "version": version or "1", "chainId": ctx.sender.chain_id(), "verifyingContract": token}


def _authorize(ctx: ServiceContext, plan: Plan, buyer: Any, total: int, nonce: bytes, valid_for: Any) -> tuple:
    """Check the plan and the buyer's funds, then have the buyer sign ReceiveWithAuthorization; returns the
    ``(validAfter, validBefore, v, r, s)`` tuple."""
    pid, token = plan.plan_id, plan.price.token_address
    if total == 0:
        raise ValidationError(f"plan {pid} is free: there is nothing to authorize (the contract would revert "
                              "ZeroAmountNotSupportedForAuthorization); use order_plan")
    if token == ZERO:
        raise ValidationError(f"plan {pid} is paid in the native token: EIP-3009 authorizations exist only for "
                              "ERC-20 tokens (the contract would revert NativeTokenNotSupportedForAuthorization); "
                              "use order_plan")
    lifetime = to_uint256(valid_for, "valid_for")
    if lifetime < 1:
        raise ValidationError("valid_for must be at least 1 second")
    _require_balance(ctx, buyer.address, token, total)
    valid_before = ctx.w3.eth.get_block("latest")["timestamp"] + lifetime
    message = {"from": buyer.address, "to": ctx.contracts.PaymentsVault.address, "value": total,
               "validAfter": 0, "validBefore": valid_before, "nonce": nonce}
    types = {"ReceiveWithAuthorization": RECEIVE_WITH_AUTHORIZATION}
    v, r, s = buyer.sign_typed_data(token_domain(ctx, token), types, message)
    return (0, valid_before, v, r, s)


def order_fixed_with_authorization(ctx: ServiceContext, plan_id: Any, buyer_signer: Any, number_of_purchases: Any = 1,
                                   credits_receiver: Any = None, valid_for: Any = 3600,
                                   seed: Any = None) -> OrderResult:
    """``FixedPaymentTemplate.orderWithAuthorization`` relayed by the client's account (see
    ``PlansAPI.order_plan_with_authorization``)."""
    buyer = as_signer(buyer_signer)
    n = purchases(number_of_purchases)
    receiver = buyer.address if credits_receiver is None else to_address(credits_receiver, "credits_receiver")
    s = order_seed(seed)
    relayer = ctx.address
    plan = orderable_plan(ctx, plan_id, FIXED)
    total = plan.price.total * n
    agreement = ids.fixed_authorization_agreement_id(buyer.address, s, plan.plan_id, receiver, n, [])
    auth = _authorize(ctx, plan, buyer, total, agreement, valid_for)
    request = ctx.contracts[FIXED].tx("orderWithAuthorization", s, plan.plan_id, buyer.address, receiver, n, [],
                                         auth)
    receipt = ctx.send(request)
    agreement_hex = _agreement_checked(receipt, agreement)
    return OrderResult(agreement_id=agreement_hex, plan_id=plan.plan_id, template=FIXED, payer=buyer.address,
                       sender=relayer, credits_receiver=receiver, number_of_purchases=n,
                       token=plan.price.token_address, amount_paid=total, tx=TxResult.of(receipt),
                       credits_received=minted_credits(receipt, plan, receiver), seed="0x" + s.hex())


def order_payg_with_authorization(ctx: ServiceContext, plan_id: Any, buyer_signer: Any, valid_for: Any = 3600,
                                  seed: Any = None) -> OrderResult:
    """``PayAsYouGoTemplate.orderWithAuthorization`` relayed by the client's account."""
    buyer = as_signer(buyer_signer)
    s = order_seed(seed)
    relayer = ctx.address
    plan = orderable_plan(ctx, plan_id, PAYG)
    total = plan.price.total
    agreement = ids.pay_as_you_go_agreement_id(buyer.address, s, plan.plan_id, [])
    auth = _authorize(ctx, plan, buyer, total, agreement, valid_for)
    request = ctx.contracts[PAYG].tx("orderWithAuthorization", s, plan.plan_id, buyer.address, [], auth)
    receipt = ctx.send(request)
    return OrderResult(agreement_id=_agreement_checked(receipt, agreement), plan_id=plan.plan_id, template=PAYG,
                       payer=buyer.address, sender=relayer, credits_receiver=None, number_of_purchases=1,
                       token=plan.price.token_address, amount_paid=total, tx=TxResult.of(receipt), seed="0x" + s.hex())

