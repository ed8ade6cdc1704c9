"""Exit codes and the one place that turns exceptions into a one-line message (CLI layer).

Library modules are imported lazily here, so that ``--help`` stays fast.
"""

from __future__ import annotations

import sys
import traceback

import click

OK = 0
FAILED = 1  # unexpected error
USAGE = 2  # bad command line (click)
INVALID_INPUT = 3  # refused before signing: bad address, amount, id, fee rule, permission
REVERTED = 4  # the contract reverted (simulated or mined); the decoded error is printed
PENDING = 5  # sent, but no receipt yet: the hash is printed; not a failure
NETWORK = 6  # the RPC node or REST API could not be reached / refused the transaction
CONFIG = 7  # network, profile, address book, account or keystore problem
DECLINED = 8  # not confirmed (--yes missing without a terminal, or answered no), or over --max-amount
API = 9  # the REST API answered with an error

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 unexpected error; 2 usage; 3 invalid input (nothing signed); 4 contract reverted; "
    "5 pending (hash printed, not failed); 6 network; 7 configuration; 8 declined or over --max-amount; "
    "9 REST API error."
)


class Declined(click.ClickException):
    """The user did not confirm a spend, or it exceeds --max-amount."""

    exit_code = DECLINED


def classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception raised by a command."""
    from nvm_chain.errors import ConfigurationError, ContractRevertError, NvmChainError, ValidationError
    from nvm_chain.chain.tx.sender import BroadcastError, TransactionPending

    if isinstance(exc, ContractRevertError):
        return REVERTED, f"reverted: {exc}"
    if isinstance(exc, TransactionPending):
        return PENDING, str(exc)
    if isinstance(exc, BroadcastError):
        return NETWORK, str(exc)
    if isinstance(exc, ConfigurationError):
        return CONFIG, str(exc)
    if isinstance(exc, ValidationError):
        return INVALID_INPUT, str(exc)
    rest_error = _class("nvm_chain.rest.errors", "RestError")
    if rest_error is not None and isinstance(exc, rest_error):
        return API, str(exc)
    keystore_error = _class("nvm_chain.accounts.keystore", "KeystoreError")
    if keystore_error is not None and isinstance(exc, keystore_error):
        return CONFIG, str(exc)
    if isinstance(exc, NvmChainError) and isinstance(exc, (PermissionError, LookupError, ValueError)):
        return INVALID_INPUT, str(exc)  # refused before signing: not permitted, not found, not enough funds
    if isinstance(exc, (ConnectionError, OSError)):
        return NETWORK, f"network error: {exc}"
    if isinstance(exc, NvmChainError):
        return FAILED, str(exc)
    return FAILED, f"unexpected error: {type(exc).__name__}: {exc}"


def _class(module_name: str, name: str):
    """``module_name.name`` if that module was imported by the command (else no instance can exist)."""
    module = sys.modules.get(module_name)
    return getattr(module, name, None) if module else None


def run_guarded(command: click.Command, argv: list[str]) -> int:
    """Run ``command``; print errors as one line on stderr (a traceback only with --debug)."""
    debug = "--debug" in argv
    try:
        command.main(args=argv, prog_name="nvm-chain", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return DECLINED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the CLI boundary
        code, message = classify(exc)
        if debug:
            traceback.print_exc()
        click.echo(f"error: {message}", err=True)
        return code
    return OK
