"""Exit codes and the one place that turns exceptions into a one-line message (CLI layer).

Library modules are imported lazily here, so that ``--help`` stays fast.
"""

from __future__ import annotations

import traceback

import click

from nvm_chain import errors

# the exit codes, named as the CLI modules use them (defined with each error class in nvm_chain.errors)
OK, FAILED, USAGE, INVALID_INPUT, REVERTED = (errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_USAGE,
                                              errors.EXIT_INVALID_INPUT, errors.EXIT_REVERTED)
PENDING, NETWORK, CONFIG, DECLINED, API = (errors.EXIT_PENDING, errors.EXIT_NETWORK, errors.EXIT_CONFIG,
                                           errors.EXIT_DECLINED, errors.EXIT_API)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 unexpected error; 2 usage; 3 invalid input (nothing signed); 4 contract reverted; "
    "5 pending (hash printed, not failed); 6 network; 7 configuration; 8 declined or over --max-amount; "
    "9 REST API error."
)


class Declined(click.ClickException):
    """The user did not confirm a spend, or it exceeds --max-amount."""

    exit_code = DECLINED


def classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception raised by a command: an nvm-chain error's own
    ``exit_code`` (see :mod:`nvm_chain.errors`), 6 for a transport error, 1 for anything else."""
    if isinstance(exc, errors.ContractRevertError):
        return exc.exit_code, f"reverted: {exc}"
    if isinstance(exc, errors.NvmChainError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (ConnectionError, OSError)):
        return NETWORK, f"network error: {exc}"
    return FAILED, f"unexpected error: {type(exc).__name__}: {exc}"


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
