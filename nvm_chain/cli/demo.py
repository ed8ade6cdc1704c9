"""``nvm-chain demo``: the payments-docs example on the embedded chain (CLI layer)."""

from __future__ import annotations

import click

from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options, resolve


@click.command()
@global_options
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def demo(ctx: click.Context, as_json: bool, **_) -> None:
    """Run the payments-docs example end to end on a fresh embedded chain.

    Builder, subscriber and agent are test accounts (their keys are public: test only). Each step prints
    who signed, the transaction hashes, gas used and the resulting balances.
    """
    from nvm_chain.scenarios.demo import run_demo

    fmt = "json" if as_json else resolve(ctx).format
    if fmt == "json":
        emit(run_demo(), "json")
        return

    def show(step) -> None:
        width = max(len(k) for k in ("signer", "tx", *step.balances))
        click.echo(f"\n== {step.title}")
        click.echo(f"   {'signer':<{width}}  {step.signer} {step.address}")
        for tx in step.txs:
            click.echo(f"   {'tx':<{width}}  {tx['action']}: {tx['txHash'] or '-'} ({tx['gasUsed']:,} gas)")
        for key, value in step.balances.items():
            click.echo(f"   {key:<{width}}  {value}")

    result = run_demo(show)
    say(f"\ndemo finished in {result['seconds']} s on the embedded chain (test accounts only)")
