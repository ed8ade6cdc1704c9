"""``nvm-chain accounts new|import|list``: encrypted keystore accounts (the CLI over
:mod:`nvm_chain.accounts.keystore`).

Keys are stored as Ethereum v3 keystores (scrypt, aes-128-ctr), one ``NAME.json`` per account, mode 0600, in
``$NVM_KEYSTORE_DIR`` or ``~/.config/nvm-chain/keystores``. Use an account for writes with
``--account NAME`` (or ``NVM_ACCOUNT``).

A key or a password is never a flag value and is never printed:

- password: ``--password-file PATH``, ``NVM_KEYSTORE_PASSWORD`` / ``NVM_KEYSTORE_PASSWORD_FILE``, or a hidden
  prompt (with confirmation for a new keystore) when stdin is a terminal;
- key to import: ``--key-stdin`` (the first line of stdin, for pipes), ``NVM_PRIVATE_KEY``, or a hidden prompt
  when stdin is a terminal.
"""

from __future__ import annotations

import sys

import click

from nvm_chain.cli.context import settings
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options


def _interactive() -> bool:
    """Whether stdin is a terminal (prompts allowed)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def _password(ctx: click.Context, *, confirm: bool) -> str:
    """The keystore password from --password-file, the environment, or a hidden prompt on a terminal.

    Raises:
        PasswordUnavailableError: no source and stdin is not a terminal.
    """
    from nvm_chain.accounts.keystore import resolve_password

    def prompt() -> str:
        return click.prompt("keystore password", hide_input=True, confirmation_prompt=confirm, err=True)

    return resolve_password(password_file=settings(ctx).password_file, prompt=prompt, interactive=_interactive())


def _key_to_import(key_stdin: bool) -> tuple[str, str]:
    """The private key to import and where it came from (never a command-line value).

    Raises:
        click.UsageError: no source is available.
    """
    import os

    from nvm_chain.accounts.keystore import ENV_PRIVATE_KEY

    if key_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise click.UsageError("--key-stdin: stdin is empty (pipe the key in, e.g. from a secrets manager)")
        return line.strip(), "stdin"
    if os.environ.get(ENV_PRIVATE_KEY, "").strip():
        return os.environ[ENV_PRIVATE_KEY].strip(), ENV_PRIVATE_KEY
    if _interactive():
        return click.prompt("private key to import (input hidden)", hide_input=True, err=True).strip(), "prompt"
    raise click.UsageError(f"no key to import: set {ENV_PRIVATE_KEY}, pipe it with --key-stdin, or run in a "
                           "terminal to be prompted (a key is never accepted as an argument)")


def _row(acct) -> dict[str, str]:
    return {"name": acct.name, "address": acct.address, "path": str(acct.path)}


@click.group()
@global_options
def accounts(**_) -> None:
    """Create, import and list encrypted keystore accounts ($NVM_KEYSTORE_DIR or ~/.config/nvm-chain/keystores).

    Sign with one using --account NAME; its password comes from --password-file, NVM_KEYSTORE_PASSWORD(_FILE)
    or a prompt. Keys and passwords are never command-line values.
    """


@accounts.command("new")
@click.argument("name")
@global_options
@click.pass_context
def new(ctx: click.Context, name: str, **_) -> None:
    """Create account NAME with a new random key, stored encrypted (prints its address, never the key)."""
    from nvm_chain.accounts.keystore import create_account

    acct = create_account(name, _password(ctx, confirm=True))
    emit(_row(acct), settings(ctx).format)
    say(f"created keystore account {acct.name}; back up {acct.path} and its password: without both the key "
        "is lost")


@accounts.command("import")
@click.argument("name")
@click.option("--key-stdin", is_flag=True, help="Read the private key from the first line of stdin (for pipes).")
@global_options
@click.pass_context
def import_(ctx: click.Context, name: str, key_stdin: bool, **_) -> None:
    """Import a private key as account NAME, stored encrypted.

    The key comes from --key-stdin, NVM_PRIVATE_KEY, or a hidden prompt; never from an argument.
    """
    from nvm_chain.accounts.keystore import import_account

    key, source = _key_to_import(key_stdin)
    acct = import_account(name, key, _password(ctx, confirm=True))
    del key
    emit(_row(acct), settings(ctx).format)
    say(f"imported the key from {source} as keystore account {acct.name}")


@accounts.command("list")
@global_options
@click.pass_context
def list_(ctx: click.Context, **_) -> None:
    """List stored accounts: name, address, keystore path (nothing is decrypted)."""
    from nvm_chain.accounts.keystore import keystore_dir, list_accounts

    rows = [_row(a) for a in list_accounts()]
    emit(rows, settings(ctx).format, columns=["name", "address", "path"])
    if not rows:
        say(f"no accounts in {keystore_dir()}; create one with `nvm-chain accounts new NAME`")
