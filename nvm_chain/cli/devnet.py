"""``nvm-chain devnet``: the embedded chain with the protocol deployed, served over JSON-RPC on 127.0.0.1.

Like ``anvil``: deploys the simulation suite on a fresh embedded chain (``--engine pyevm``: eth-tester on py-evm, the
default; ``--engine revm``: revm through pyrevm, far faster, ``pip install 'nvm-chain[revm]'``), funds the named test
accounts, writes
the address book file and prints the RPC URL, chain id, contracts and the test accounts with their keys (public
by construction: ``keccak("nvm-chain/sim/" + name)``; TEST ONLY). Then it serves until Ctrl-C or SIGTERM and
stops cleanly (exit 0). Other processes use it with::

    nvm-chain --network local --rpc-url http://127.0.0.1:8545 --address-book nvm-devnet.json plans ...

Testing hooks: :func:`start_devnet` deploys and binds without serving (a test can run ``serve_forever`` in a
thread and ``stop`` it), and the hidden ``--exit-after SECONDS`` option stops the server after that long.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from nvm_chain.cli.context import settings
from nvm_chain.cli.output import say
from nvm_chain.cli.settings import global_options

TEST_ONLY = "TEST ONLY — public keys, never use on a real network"
DEFAULT_PORT = 8545
DEFAULT_BOOK = "nvm-devnet.json"
ENGINES = ("pyevm", "revm")


@dataclass
class Devnet:
    """A deployed simulation behind a bound (not yet serving) DevnetServer."""

    sim: Any
    server: Any
    book_path: Path
    fees: bool
    seconds: float
    engine: str = "pyevm"

    def info(self) -> dict[str, Any]:
        """What ``devnet`` prints: URL, chain id, address book (path and contracts) and the test accounts."""
        from nvm_chain.sim.accounts import test_key

        w3 = self.sim.w3
        accounts = [{"name": name, "address": acct.address, "privateKey": "0x" + test_key(name).hex(),
                     "balanceWei": str(w3.eth.get_balance(acct.address)), "testOnly": True}
                    for name, acct in self.sim.accounts.items()]
        return {
            "rpcUrl": self.server.url, "engine": self.engine, "chainId": self.sim.book.chain_id,
            "version": self.sim.book.version, "blockNumber": self.sim.book.block_number,
            "addressBook": str(self.book_path), "fees": self.fees,
            "feeReceiver": self.sim.deployment.fee_receiver, "contracts": dict(self.sim.book.contracts),
            "accountsWarning": TEST_ONLY, "accounts": accounts,
        }


def _write_book(path: Path, book: dict[str, Any]) -> None:
    """Write the address book atomically (temp file + rename); it holds addresses only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(book, indent=2) + "\n")
    os.replace(tmp, path)


def start_devnet(port: int = DEFAULT_PORT, *, fees: bool = True, book_out: str | os.PathLike = DEFAULT_BOOK,
                 engine: str = "pyevm") -> Devnet:
    """Deploy the protocol on a fresh embedded chain run by ``engine`` (``"pyevm"`` or ``"revm"``), bind a
    DevnetServer on 127.0.0.1:``port`` (0: a free port) and write the address book to ``book_out``. Nothing is
    served until ``server.serve_forever()`` or ``server.start()``.

    Raises:
        ConfigurationError: the port is taken or out of range, an unknown ``engine``, or ``"revm"`` without
            pyrevm installed (nothing is left running).
    """
    from nvm_chain.errors import ConfigurationError
    from nvm_chain.sim import EmbeddedChain, RevmChain, Simulation
    from nvm_chain.sim.devnet import LOOPBACK, DevnetServer

    if engine not in ENGINES:
        raise ConfigurationError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    chain = RevmChain() if engine == "revm" else EmbeddedChain()
    try:  # bind before deploying, so that a taken port fails at once
        server = DevnetServer(chain, LOOPBACK, port)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {LOOPBACK}:{port} ({exc.strerror or exc}): choose another "
                                 "--port (0 picks a free one)") from None
    try:
        sim = Simulation.start(fees=fees, chain=chain)
    except BaseException:
        server.stop()
        raise
    path = Path(book_out).expanduser().absolute()
    try:
        _write_book(path, sim.book.to_json())
    except OSError as exc:
        server.stop()
        raise ConfigurationError(f"cannot write the address book {path}: {exc.strerror or exc}") from None
    return Devnet(sim, server, path, fees, time.perf_counter() - started, engine)


def _print_table(info: dict[str, Any]) -> None:
    click.echo(f"RPC URL       {info['rpcUrl']}  (127.0.0.1 only)")
    click.echo(f"engine        {info['engine']}")
    click.echo(f"chain id      {info['chainId']}")
    click.echo(f"address book  {info['addressBook']}  (protocol {info['version']}, "
               f"fees {'on' if info['fees'] else 'off'})")
    click.echo("\ncontracts")
    width = max(len(n) for n in info["contracts"])
    for name, address in sorted(info["contracts"].items()):
        click.echo(f"  {name.ljust(width)}  {address}")
    click.echo(f"\ntest accounts — {TEST_ONLY}")
    width = max(len(a["name"]) for a in info["accounts"])
    for a in info["accounts"]:
        click.echo(f"  {a['name'].ljust(width)}  {a['address']}  key {a['privateKey']}  "
                   f"({int(a['balanceWei']) // 10**18} ETH)  [TEST ONLY]")


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="TCP port on 127.0.0.1 (0 picks a free one; the URL printed has the real port).")
@click.option("--engine", type=click.Choice(ENGINES), default="pyevm", show_default=True,
              help="The EVM behind the chain: py-evm (eth-tester) or revm (pyrevm, far faster; "
                   "pip install 'nvm-chain[revm]').")
@click.option("--fees/--no-fees", default=True, show_default=True,
              help="Protocol fees on (1% crypto, 2% fiat to the fee_receiver test account) or off.")
@click.option("--address-book-out", "book_out", type=click.Path(dir_okay=False), default=DEFAULT_BOOK,
              show_default=True, help="Where to write the address book {chainId, version, contracts}.")
@click.option("--exit-after", type=click.FloatRange(min=0), default=None, hidden=True,
              help="Stop serving after this many seconds (for tests and scripted demos).")
@global_options
@click.pass_context
def devnet(ctx: click.Context, port: int, engine: str, fees: bool, book_out: str, exit_after: float | None,
           **_) -> None:
    """Serve a fresh embedded chain with the protocol deployed, like anvil (JSON-RPC on 127.0.0.1).

    Prints the RPC URL, chain id, contracts and the funded test accounts with their keys, which are PUBLIC
    (test only), and writes the address book to --address-book-out. Serves until Ctrl-C (or SIGTERM).
    """
    from nvm_chain.cli.output import emit

    fmt = settings(ctx).format
    say(f"deploying the protocol on a fresh embedded chain ({engine}) ...")
    net = start_devnet(port, fees=fees, book_out=book_out, engine=engine)
    info = net.info()
    if fmt == "json":
        emit(info, "json")
    else:
        _print_table(info)
    say(f"deployed in {net.seconds:.1f} s; wrote {net.book_path}")
    say(f"use it:  nvm-chain --network local --rpc-url {net.server.url} --address-book {net.book_path} plans ...")
    say(f"devnet listening on {net.server.url} (chain {info['chainId']}); Ctrl-C to stop")
    serve(net.server, exit_after)
    say("devnet stopped")


def serve(server, exit_after: float | None = None) -> None:
    """Serve in this thread until Ctrl-C, SIGTERM (main thread only) or ``exit_after`` seconds; then close."""
    previous = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        previous = signal.signal(signal.SIGTERM, lambda *_: server.stop())
    timer = threading.Timer(exit_after, server.stop) if exit_after is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        server.stop()
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
