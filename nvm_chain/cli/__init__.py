"""The ``nvm-chain`` command line (thin: parses, calls the services, renders, maps errors to exit codes).

Command groups are imported only when invoked, so ``nvm-chain --help`` starts without loading web3.
"""

from __future__ import annotations

import importlib
import sys

import click

from nvm_chain.cli.errors import EXIT_CODES_HELP, run_guarded
from nvm_chain.cli.settings import global_options

#: command name → "module:attribute" of its click command or group (loaded on first use)
COMMANDS = {
    "accounts": ("nvm_chain.cli.accounts:accounts", "Create, import and list encrypted keystore accounts."),
    "agents": ("nvm_chain.cli.agents:agents", "Register agents and manage the plans they list."),
    "demo": ("nvm_chain.cli.demo:demo", "Run the payments-docs example end to end on the embedded chain."),
    "devnet": ("nvm_chain.cli.devnet:devnet", "Serve the embedded chain with the protocol deployed (JSON-RPC)."),
    "plans": ("nvm_chain.cli.plans:plans", "Register, order, mint, redeem and read payment plans (nvm plans)."),
    "simulate": ("nvm_chain.cli.simulate:simulate", "Run a scenario file (an agent economy) and write its reports."),
    "tx": ("nvm_chain.cli.tx:tx", "Look up, wait for, list, resend, speed up or cancel transactions."),
    "x402": ("nvm_chain.cli.x402:x402", "x402 access tokens and facilitator verify/settle (REST)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.version_option(package_name="nvm-chain", prog_name="nvm-chain")
def cli(**options) -> None:
    """Nevermined payments protocol v1.5.0 on-chain, signed with your own key.

    Data goes to stdout (a table, or JSON with --format json); messages go to stderr.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nvm-chain`` script; returns the exit code."""
    return run_guarded(cli, argv if argv is not None else sys.argv[1:])
