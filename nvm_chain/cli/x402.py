"""``nvm-chain x402``: x402 access tokens (REST), facilitator verify/settle (REST) and a local + on-chain token
check (CLI layer: parses, calls nvm_chain.rest / nvm_chain.services.x402, renders).

The REST commands need ``NVM_API_KEY`` (never a flag; ``NVM_ENVIRONMENT`` and, for ``custom``,
``NVM_BACKEND_URL`` choose the backend). The key is never printed: REST errors are masked by the client.

Exit codes besides the global ones: ``verify`` answered ``isValid: false`` and ``settle`` answered
``success: false`` print the answer and exit 9 (REST API error); ``check`` exits 1 when the token is
well-formed but its subscriber does not hold the credits (or the plan does not exist), like ``grep``
finding nothing, and 3 when the token is malformed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nvm_chain.cli.context import open_client, open_rest, settings
from nvm_chain.cli.errors import API
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options

if TYPE_CHECKING:
    from pydantic import BaseModel

    from nvm_chain.rest import PaymentRequired, X402Scheme

#: ``x402 check``: the token is fine but its subscriber does not hold the credits (or the plan is unknown)
NOT_SATISFIED = 1
#: environment variable holding the access token for verify, settle and check
TOKEN_ENV = "NVM_X402_TOKEN"
SCHEMES = ("nvm:erc4337", "nvm:card-delegation")


class Refused(click.ClickException):
    """The facilitator answered ``isValid: false`` / ``success: false`` (its answer was printed on stdout)."""

    exit_code = API


class NotSatisfied(click.ClickException):
    """``x402 check``: the subscriber does not hold the credits, or the plan does not exist (result printed)."""

    exit_code = NOT_SATISFIED


@click.group()
@global_options
def x402(**_) -> None:
    """x402 access tokens (get-token), facilitator verify and settle (REST, NVM_API_KEY), and check (on-chain).

    The token for verify, settle and check comes from --token ('-': stdin), else NVM_X402_TOKEN, else stdin
    when it is not a terminal (a bare token, or the JSON of 'get-token --format json').
    """


# ---------------------------------------------------------------------------------------------- helpers


def _rest():
    """The REST client from NVM_API_KEY / NVM_ENVIRONMENT / NVM_BACKEND_URL.

    Raises:
        ConfigurationError: NVM_API_KEY is not set.
    """
    rest = open_rest()
    if rest is None:
        from nvm_chain.errors import ConfigurationError

        raise ConfigurationError("this command calls the Nevermined REST API: set NVM_API_KEY (it is never taken "
                                 "from a flag); NVM_ENVIRONMENT and NVM_BACKEND_URL choose the backend")
    return rest


def _model(cls: type[BaseModel], what: str, **fields: Any) -> Any:
    """``cls(**fields)`` with pydantic's error turned into a ValidationError naming fields, not values."""
    import pydantic

    from nvm_chain.errors import ValidationError

    try:
        return cls.model_validate(fields)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}" for e in exc.errors()[:5])
        raise ValidationError(f"invalid {what}: {problems}") from None


def read_token(value: str | None) -> str:
    """The access token: ``value`` (``-`` reads stdin), else $NVM_X402_TOKEN, else stdin when piped. JSON
    with an ``accessToken`` field (``get-token --format json``) is accepted too.

    Raises:
        click.UsageError: no token anywhere.
    """
    if value == "-":
        text = sys.stdin.read()
    elif value:
        text = value
    elif os.environ.get(TOKEN_ENV, "").strip():
        text = os.environ[TOKEN_ENV]
    else:
        text = "" if sys.stdin.isatty() else sys.stdin.read()
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("accessToken") or "").strip()
        except (ValueError, AttributeError):
            text = ""
    if not text:
        raise click.UsageError(f"no x402 access token: give --token TOKEN (or --token - for stdin), set {TOKEN_ENV}, "
                               "or pipe it on stdin")
    return text


def _json_argument(value: str, flag: str) -> Any:
    """Inline JSON, a path to a JSON file, or base64 JSON (a ``payment-required`` header value).

    Raises:
        ValidationError: none of these.
    """
    from nvm_chain.errors import ValidationError

    text = value.strip()
    if not text.startswith("{"):
        path = Path(text).expanduser()
        if path.is_file():
            text = path.read_text()
        else:
            try:
                padded = text + "=" * (-len(text) % 4)
                text = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise ValidationError(f"{flag} must be JSON, a JSON file or base64 JSON") from None
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationError(f"{flag} is not valid JSON") from None


def payment_required(spec: str | None, plan_id: str | None, endpoint: str | None, agent_id: str | None,
                     http_verb: str | None, network: str | None, scheme: X402Scheme,
                     environment: str | None) -> PaymentRequired:
    """The PaymentRequired of --payment-required, or one built from --plan-id and friends.

    Raises:
        click.UsageError: neither or both given. ValidationError: a malformed payload or ID.
    """
    from nvm_chain.rest import PaymentRequired, build_payment_required

    if spec and plan_id:
        raise click.UsageError("give --payment-required or --plan-id (to build one), not both")
    if spec:
        return _model(PaymentRequired, "--payment-required", **_object(_json_argument(spec, "--payment-required")))
    if not plan_id:
        raise click.UsageError("give --payment-required JSON (inline, file or base64) or --plan-id to build one")
    return build_payment_required(plan_id, endpoint=endpoint, agent_id=agent_id, http_verb=http_verb,
                                  network=network, scheme=scheme, environment=environment)


def _object(value: Any) -> dict[str, Any]:
    from nvm_chain.errors import ValidationError

    if not isinstance(value, dict):
        raise ValidationError("--payment-required must be a JSON object")
    return value


def _max_amount_is_x402(command: click.Command) -> click.Command:
    """Reword the global --max-amount: on verify/settle it is the facilitator's ``maxAmount`` (credits)."""
    for param in command.params:
        if param.name == "max_amount":
            param.help = "Most credits this request may burn (sent as maxAmount). Only read after the subcommand."
    return command


def _payment_options(command):
    options = [
        click.option("--payment-required", "spec", help="The seller's PaymentRequired: inline JSON, a .json file or "
                                                        "base64 JSON (the payment-required header)."),
        click.option("--plan-id", help="Build the PaymentRequired for this plan instead."),
        click.option("--endpoint", help="Resource URL (resource.url) of the built PaymentRequired."),
        click.option("--agent-id", help="Agent ID (accepts[].extra.agentId) of the built PaymentRequired."),
        click.option("--http-verb", help="HTTP verb (accepts[].extra.httpVerb) of the built PaymentRequired."),
        click.option("--x402-network", help="x402 network of the built PaymentRequired (default by scheme and "
                                            "environment, e.g. eip155:84532)."),
        click.option("--scheme", type=click.Choice(SCHEMES), default=SCHEMES[0], show_default=True),
        click.option("--token", help="The x402 access token ('-': stdin). Prefer NVM_X402_TOKEN or stdin: flags "
                                     "show up in process listings."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _facilitator(ctx: click.Context, call: str, ok_field: str, reason_field: str, **kw: Any) -> None:
    params = ctx.params
    with _rest() as rest:
        required = payment_required(params["spec"], params["plan_id"], params["endpoint"], params["agent_id"],
                                    params["http_verb"], params["x402_network"], params["scheme"], rest.environment)
        token = read_token(params["token"])
        answer = getattr(rest, call)(required, token, params.get("max_amount"), **kw)
    emit(answer.to_wire(), settings(ctx).format)
    if not getattr(answer, ok_field):
        reason = getattr(answer, reason_field) or "no reason given"
        raise Refused(f"{call.split('_')[0]}: the facilitator refused the token: {reason}")


# ---------------------------------------------------------------------------------------------- commands


@_max_amount_is_x402
@x402.command("verify")
@_payment_options
@global_options
@click.pass_context
def verify(ctx: click.Context, **_) -> None:
    """Ask the facilitator whether the token can pay for the request (POST /api/v1/x402/verify; burns nothing).

    Prints the VerifyResponse (camelCase wire JSON); exits 9 when isValid is false.
    """
    _facilitator(ctx, "verify_permissions", "is_valid", "invalid_reason")


@_max_amount_is_x402
@x402.command("settle")
@_payment_options
@click.option("--agent-request-id", help="The agentRequestId verify returned (observability).")
@global_options
@click.pass_context
def settle(ctx: click.Context, agent_request_id: str | None, **_) -> None:
    """Burn the credits of one request through the facilitator (POST /api/v1/x402/settle).

    Prints the SettleResponse (camelCase wire JSON); exits 9 when success is false (the API may answer
    HTTP 200 with success false, e.g. no credits left and the auto-order failed).
    """
    _facilitator(ctx, "settle_permissions", "success", "error_reason", agent_request_id=agent_request_id)


@x402.command("get-token")
@click.argument("plan_id")
@click.option("--agent-id", help="Agent the token is for (accepted.extra.agentId).")
@click.option("--scheme", type=click.Choice(SCHEMES), default=SCHEMES[0], show_default=True)
@click.option("--x402-network", help="x402 network (default by scheme and environment, e.g. eip155:84532).")
@click.option("--delegation-id", help="Existing delegation to mint against (delegationConfig.delegationId).")
@click.option("--payment-method-id", help="delegationConfig.providerPaymentMethodId (cards).")
@click.option("--spending-limit-cents", type=click.IntRange(min=0), help="delegationConfig.spendingLimitCents.")
@click.option("--delegation-duration-secs", type=click.IntRange(min=0), help="delegationConfig.durationSecs.")
@click.option("--currency", type=click.Choice(["usd", "eur", "usdc", "eurc"]), help="delegationConfig.currency.")
@click.option("--resource", help="Resource URL a single-use (v3) token is bound to.")
@click.option("--http-verb", help="HTTP verb a single-use (v3) token is bound to.")
@click.option("--token-version", type=click.Choice(["2", "3"]), help="Ask for a v2 (reusable) or v3 token.")
@global_options
@click.pass_context
def get_token(ctx: click.Context, plan_id: str, agent_id: str | None, scheme: str, x402_network: str | None,
              delegation_id: str | None, payment_method_id: str | None, spending_limit_cents: int | None,
              delegation_duration_secs: int | None, currency: str | None, resource: str | None,
              http_verb: str | None, token_version: str | None, **_) -> None:
    """Mint an x402 access token for PLAN_ID as the API key's account (POST /api/v1/x402/permissions).

    Table format prints the bare token on stdout (pipe it into verify/settle/check) and a summary on stderr;
    --format json prints {accessToken, planId, subscriber, scheme, network, agentId, tokenVersion}.
    """
    from nvm_chain.rest import (
        DelegationConfig,
        X402TokenOptions,
        decode_access_token_or_none,
    )

    delegation = {"delegation_id": delegation_id, "provider_payment_method_id": payment_method_id,
                  "spending_limit_cents": spending_limit_cents, "duration_secs": delegation_duration_secs,
                  "currency": currency}
    delegation = {k: v for k, v in delegation.items() if v is not None}
    options = _model(X402TokenOptions, "token options", scheme=scheme, network=x402_network,
                     delegation_config=_model(DelegationConfig, "delegation", **delegation) if delegation else None,
                     resource=resource, http_verb=http_verb,
                     token_version=int(token_version) if token_version else None)
    with _rest() as rest:
        minted = rest.get_x402_access_token(plan_id, agent_id, options)
    decoded = decode_access_token_or_none(minted.access_token)
    if decoded is None:
        say("warning: the backend returned a token that does not decode as a documented x402 payload")
    info = {"accessToken": minted.access_token,
            "planId": str(decoded.plan_id) if decoded else plan_id,
            "subscriber": decoded.subscriber if decoded else None,
            "scheme": decoded.scheme if decoded else scheme,
            "network": decoded.network if decoded else x402_network,
            "agentId": decoded.agent_id if decoded else agent_id,
            "tokenVersion": decoded.token_version if decoded else None}
    if settings(ctx).format == "json":
        emit(info, "json")
        return
    click.echo(minted.access_token)
    say(f"x402 token for plan {info['planId']}, subscriber {info['subscriber']} "
        f"(v{info['tokenVersion']}, {info['network']})")


@x402.command("check")
@click.argument("token", required=False)
@click.option("--min-credits", type=click.IntRange(min=1), default=1, show_default=True,
              help="Credits the subscriber must hold.")
@global_options
@click.pass_context
def check(ctx: click.Context, token: str | None, min_credits: int, **_) -> None:
    """Decode TOKEN locally and check on chain that its subscriber holds credits of its plan.

    TOKEN may be '-' (stdin) or omitted (NVM_X402_TOKEN, else stdin). Reads the chain of --network only;
    with NVM_API_KEY the plan name is added from REST. The signature is not checked (use verify). Exits 0 when
    the subscriber holds at least --min-credits, 1 when not or when the plan does not exist, 3 when the token
    is malformed.
    """
    from nvm_chain.services.x402 import check_x402_token, decode_token

    text = read_token(token)
    decode_token(text)  # malformed: exit 3 before connecting anywhere
    client = open_client(ctx, account=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = check_x402_token(client, text, min_credits)
    for warning in caught:
        say(f"warning: {warning.message}")
    emit(result.model_dump(mode="json", by_alias=True), settings(ctx).format)
    if result.holds_credits:
        return
    if not result.plan_exists:
        raise NotSatisfied(f"plan {result.plan_id} does not exist on this chain")
    note = " (the plan keeps its credits off-chain: onchain_mirror is false)" if result.onchain_mirror is False else ""
    raise NotSatisfied(f"{result.subscriber} holds {result.balance} credits of plan {result.plan_id}, fewer than "
                       f"{result.min_credits}{note}")
