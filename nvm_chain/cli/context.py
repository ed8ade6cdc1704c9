"""What every command needs: resolved settings, the client, the account, spend confirmation and dry-run
reporting (CLI layer; library modules are imported inside the functions so that --help stays fast)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from nvm_chain.cli.errors import Declined
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import Settings, resolve


def settings(ctx: click.Context) -> Settings:
    """The resolved global options of this invocation, computed once per command context."""
    cached = ctx.meta.get("nvm_settings")  # click shares ``meta`` along the whole context chain
    if cached is None or cached[0] is not ctx:
        ctx.meta["nvm_settings"] = cached = (ctx, resolve(ctx))
    return cached[1]


def load_account(s: Settings, environ=os.environ):
    """The signer: the keystore account of --account/NVM_ACCOUNT (password from --password-file,
    NVM_KEYSTORE_PASSWORD(_FILE) or a hidden prompt), else NVM_PRIVATE_KEY, else None (read-only)."""
    from nvm_chain.accounts.keystore import (
        load_signer,
        resolve_password,
        signer_from_env,
    )

    if s.account:
        def prompt() -> str:
            return click.prompt(f"password for keystore account {s.account}", hide_input=True, err=True)

        password = resolve_password(password_file=s.password_file, environ=environ, prompt=prompt)
        return load_signer(s.account, password)
    return signer_from_env(environ)


def open_rest(environ=os.environ):
    """The REST fallback client when NVM_API_KEY is set (never read from a flag), else None."""
    if not environ.get("NVM_API_KEY"):
        return None
    from nvm_chain.rest import RestClient

    return RestClient.from_env(environ)


def open_client(ctx: click.Context, *, account: bool = True):
    """An :class:`~nvm_chain.client.NvmChain` for the resolved network.

    Raises:
        click.UsageError: ``account`` is required and none is configured.
    """
    from nvm_chain.client import NvmChain

    s = settings(ctx)
    signer = load_account(s)
    if account and signer is None:
        raise click.UsageError("this command signs transactions: give --account NAME (a keystore, see "
                               "`nvm-chain accounts`) or set NVM_PRIVATE_KEY (automation only)")
    return NvmChain.connect(s.network, account=signer, rpc_url=s.rpc_url, address_book=s.address_book,
                            dry_run=s.dry_run, rest=open_rest(), refuse_duplicates=not s.new,
                            receipt_timeout=s.receipt_timeout)


def confirm_spend(ctx: click.Context, what: str, amount: int, unit: str) -> None:
    """Enforce --max-amount, then require --yes (or a terminal answer) before spending ``amount``.

    Raises:
        Declined: over --max-amount, stdin is not a terminal without --yes, or the user said no.
    """
    s = settings(ctx)
    if s.max_amount is not None and amount > s.max_amount:
        raise Declined(f"{what} would spend {amount} {unit}, more than --max-amount {s.max_amount}; nothing sent")
    if s.yes or s.dry_run or amount == 0:
        return
    if not sys.stdin.isatty():
        raise Declined(f"{what} spends {amount} {unit}: pass --yes to confirm (stdin is not a terminal)")
    if not click.confirm(f"{what}: spend {amount} {unit}?", err=True):
        raise Declined("not confirmed; nothing sent")


def confirm(ctx: click.Context, question: str) -> None:
    """Require --yes (or a terminal answer) before a write the user may not expect; --dry-run asks nothing.

    Raises:
        Declined: stdin is not a terminal without --yes, or the user said no.
    """
    s = settings(ctx)
    if s.yes or s.dry_run:
        return
    if not sys.stdin.isatty():
        raise Declined(f"{question}: pass --yes to confirm (stdin is not a terminal)")
    if not click.confirm(f"{question}?", err=True):
        raise Declined("not confirmed; nothing sent")


def execute(ctx: click.Context, action: Callable[[], Any], extra: dict[str, Any] | None = None) -> Any:
    """Run a write; in --dry-run mode print the simulated transaction (plus ``extra`` facts) instead and return
    None."""
    from nvm_chain.errors import DryRun

    try:
        return action()
    except DryRun as dry:
        req = dry.request
        emit({"dryRun": True, "wouldSend": req.action, "to": req.to, "value": req.value, "gasLimit": req.gas,
              "simulation": "ok", **(extra or {})}, settings(ctx).format)
        say("dry run: simulated only; nothing was signed or sent")
        return None
