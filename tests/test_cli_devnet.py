"""`nvm-chain devnet` as a real process: it deploys, writes the address book, prints the URL and the test
accounts (marked test-only), serves other processes and web3, and stops cleanly on SIGINT or SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from nvm_chain.cli import cli
from nvm_chain.cli.devnet import TEST_ONLY
from nvm_chain.sim.accounts import DEFAULT_ACCOUNTS, test_key
from tests.test_cli_agents import API, run

ROOT = Path(__file__).resolve().parents[1]
STARTUP = 60  # seconds; a cold start (imports + deploying 44 transactions) takes about 3 s


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NVM_")}
    env.update({"NVM_CONFIG": os.devnull + ".none", "PYTHONUNBUFFERED": "1", **extra})
    return env


class DevnetProcess:
    """``python -m nvm_chain.cli devnet …`` with its stdout/stderr drained by threads."""

    def __init__(self, *args: str, cwd: Path):
        """Run ``python -m nvm_chain.cli ARGS`` in ``cwd``."""
        self.proc = subprocess.Popen([sys.executable, "-m", "nvm_chain.cli", *args],
                                     cwd=cwd, env=clean_env(PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.out.put), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.err.append), daemon=True).start()

    @staticmethod
    def _drain(stream, sink) -> None:
        for line in stream:
            sink(line)

    def wait_for(self, done) -> list[str]:
        """Stdout lines up to and including the first one for which ``done(line)`` holds."""
        lines, deadline = [], time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            try:
                line = self.out.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            lines.append(line)
            if done(line):
                return lines
        self.stop(signal.SIGKILL)
        pytest.fail(f"devnet did not start: {''.join(lines)}{''.join(self.err)}")

    def wait_for_stderr(self, text: str) -> None:
        deadline = time.monotonic() + STARTUP
        while not any(text in line for line in self.err):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"no {text!r} on stderr: {''.join(self.err)}")
            time.sleep(0.05)

    def stop(self, sig: int) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def cli_process(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nvm_chain.cli", *args], env=clean_env(PYTHONPATH=str(ROOT), **env),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # two processes (devnet + CLI) with a cold start each; in-process below stays fast
def test_devnet_serves_other_processes_and_stops_on_sigint(tmp_path):
    net = DevnetProcess("--format", "json", "devnet", "--port", "0", cwd=tmp_path)  # default address book path
    info = json.loads("".join(net.wait_for(lambda line: line.rstrip("\n") == "}")))
    net.wait_for_stderr("listening")
    try:
        assert info["rpcUrl"].startswith("http://127.0.0.1:") and port_open(info["rpcUrl"])
        default_book = tmp_path / "nvm-devnet.json"  # --address-book-out default, relative to the cwd
        assert info["addressBook"] == str(default_book)
        book = json.loads(default_book.read_text())
        assert book == {"chainId": info["chainId"], "version": "1.5.0", "blockNumber": info["blockNumber"],
                        "contracts": info["contracts"]}
        assert info["blockNumber"] >= 1  # the deployment's first block: block 0 is the genesis
        assert info["fees"] is True and info["feeReceiver"] == info["accounts"][1]["address"]
        # every printed account is marked test-only, and its key really is the public test key
        assert info["accountsWarning"] == TEST_ONLY and "TEST ONLY" in TEST_ONLY
        assert [a["name"] for a in info["accounts"]] == list(DEFAULT_ACCOUNTS)
        for acct in info["accounts"]:
            assert acct["testOnly"] is True and acct["privateKey"] == "0x" + test_key(acct["name"]).hex()
            assert Account.from_key(acct["privateKey"]).address == acct["address"]
            assert int(acct["balanceWei"]) > 0
        assert any("deploying the protocol" in line for line in net.err)  # progress on stderr

        # any web3 tool can read it
        w3 = Web3(Web3.HTTPProvider(info["rpcUrl"]))
        assert w3.eth.chain_id == info["chainId"]
        assert len(w3.eth.get_code(info["contracts"]["AssetsRegistry"])) > 0

        # a second nvm-chain process writes and reads through it with --network local
        builder = next(a for a in info["accounts"] if a["name"] == "builder")
        network = ["--network", "local", "--rpc-url", info["rpcUrl"], "--address-book", str(default_book)]
        write = cli_process(*network, "-f", "json", "agents", "register-agent", "--agent-metadata",
                            '{"name": "over http"}', "--agent-api", json.dumps(API),
                            NVM_PRIVATE_KEY=builder["privateKey"])
        assert write.returncode == 0, write.stderr
        agent = json.loads(write.stdout)
        assert agent["owner"] == builder["address"]
        assert w3.eth.get_transaction_receipt(agent["txHash"])["status"] == 1
        # and in-process (click runner) through the same flags
        read = run([*network, "-f", "json", "agents", "get-agent", agent["agentId"]], clean_env())
        assert read.code == 0 and read.json()["owner"] == builder["address"]
        status = run([*network, "-f", "json", "tx", "status", agent["txHash"]], clean_env())
        assert status.json()["state"] == "mined" and status.json()["call"] == "AssetsRegistry.register"
    finally:
        code = net.stop(signal.SIGINT)
    assert code == 0, "".join(net.err)
    assert "devnet stopped" in "".join(net.err) and "Traceback" not in "".join(net.err)
    assert not port_open(info["rpcUrl"])


@pytest.mark.slow  # a devnet process with a cold start
def test_devnet_table_output_no_fees_custom_book_and_sigterm(tmp_path):
    book = tmp_path / "out" / "devnet-book.json"
    net = DevnetProcess("devnet", "--port", "0", "--no-fees", "--address-book-out", str(book), cwd=tmp_path)
    lines = net.wait_for(lambda line: "relayer" in line)
    text = "".join(lines)
    url = text.split("RPC URL", 1)[1].split()[0]
    try:
        assert url.startswith("http://127.0.0.1:") and "fees off" in text and str(book) in text
        assert f"test accounts — {TEST_ONLY}" in text
        account_lines = [line for line in lines if " key 0x" in line]
        assert len(account_lines) == len(DEFAULT_ACCOUNTS) and all("[TEST ONLY]" in line for line in account_lines)
        assert json.loads(book.read_text())["contracts"]["AssetsRegistry"] in text
        assert Web3(Web3.HTTPProvider(url)).eth.block_number > 0
    finally:
        code = net.stop(signal.SIGTERM)
    assert code == 0 and "devnet stopped" in "".join(net.err)
    assert not port_open(url)


def test_devnet_in_process_exit_after_and_taken_port(tmp_path):
    book = tmp_path / "book.json"
    result = CliRunner().invoke(cli, ["--format", "json", "devnet", "--port", "0", "--no-fees",
                                      "--address-book-out", str(book), "--exit-after", "0.3"],
                                env={"NVM_CONFIG": str(tmp_path / "none.json")})
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["fees"] is False and info["feeReceiver"] is None and json.loads(book.read_text())["chainId"] == \
        info["chainId"]
    assert "devnet stopped" in result.stderr and not port_open(info["rpcUrl"])

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run(["devnet", "--port", str(port), "--address-book-out", str(tmp_path / "b2.json")],
                   {"NVM_CONFIG": str(tmp_path / "none.json")})
    assert busy.code == 7 and f"cannot listen on 127.0.0.1:{port}" in busy.err and "--port" in busy.err
    assert not (tmp_path / "b2.json").exists()


@pytest.mark.slow
def test_devnet_on_the_revm_engine_serves_other_processes(tmp_path):
    pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")
    book = tmp_path / "revm-book.json"
    net = DevnetProcess("--format", "json", "devnet", "--engine", "revm", "--port", "0", "--address-book-out",
                        str(book), cwd=tmp_path)
    info = json.loads("".join(net.wait_for(lambda line: line.rstrip("\n") == "}")))
    net.wait_for_stderr("listening")
    try:
        assert info["engine"] == "revm" and any("(revm)" in line for line in net.err)
        w3 = Web3(Web3.HTTPProvider(info["rpcUrl"]))
        assert w3.client_version.startswith("nvm-chain-revm/")  # the revm node answers, not eth-tester
        assert w3.eth.chain_id == info["chainId"] == json.loads(book.read_text())["chainId"]
        # Multicall3 was copied to its canonical address (anvil_setCode on the revm node)
        assert info["contracts"]["Multicall3"] == "0xcA11bde05977b3631167028862bE2a173976CA11"
        assert len(w3.eth.get_code(info["contracts"]["Multicall3"])) > 0

        builder = next(a for a in info["accounts"] if a["name"] == "builder")
        network = ["--network", "local", "--rpc-url", info["rpcUrl"], "--address-book", str(book)]
        write = cli_process(*network, "-f", "json", "agents", "register-agent", "--agent-metadata",
                            '{"name": "on revm"}', "--agent-api", json.dumps(API),
                            NVM_PRIVATE_KEY=builder["privateKey"])
        assert write.returncode == 0, write.stderr
        agent = json.loads(write.stdout)
        receipt = w3.eth.get_transaction_receipt(agent["txHash"])
        assert receipt["status"] == 1 and receipt["from"] == builder["address"]
        assert w3.eth.get_transaction_count(builder["address"]) == 1
        read = run([*network, "-f", "json", "agents", "get-agent", agent["agentId"]], clean_env())
        assert read.code == 0 and read.json()["owner"] == builder["address"]
    finally:
        code = net.stop(signal.SIGTERM)
    assert code == 0 and "devnet stopped" in "".join(net.err)
    assert not port_open(info["rpcUrl"])


def test_devnet_refuses_an_unknown_engine(tmp_path):
    result = run(["devnet", "--engine", "evmone", "--port", "0", "--address-book-out", str(tmp_path / "b.json")],
                 {"NVM_CONFIG": str(tmp_path / "none.json")})
    assert result.code == 2 and "evmone" in result.err and not (tmp_path / "b.json").exists()
