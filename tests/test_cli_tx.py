"""``nvm-chain tx list|resend|speedup|cancel`` and a CLI order retried after a failure, against anvil behind the
fault-injecting proxy. Effects are counted on chain (credits, token balances, nonces)."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.cli import cli
from nvm_chain.cli.errors import run_guarded
from nvm_chain.client import NvmChain
from nvm_chain.protocol import configs
from nvm_chain.protocol.models import PlanMetadata
from nvm_chain.sim.accounts import test_key

pytestmark = pytest.mark.slow


class _Script:
    name = "nvm-chain"

    def main(self, args=(), prog_name=None, **_):
        sys.exit(run_guarded(cli, list(args)))


class Cli:
    """The CLI on network ``local`` through the proxy, its journals under ``state``."""

    def __init__(self, faulty, tmp_path):
        self.faulty, self.state = faulty, tmp_path / "state"
        self.book = tmp_path / "book.json"
        self.book.write_text(json.dumps(faulty.sim.book.to_json()))
        self.none = tmp_path / "none.json"

    def __call__(self, *args, account="subscriber"):
        env = {"NVM_NETWORK": "local", "NVM_RPC_URL": self.faulty.url, "NVM_ADDRESS_BOOK": str(self.book),
               "NVM_STATE_DIR": str(self.state), "NVM_CONFIG": str(self.none),
               "NVM_PRIVATE_KEY": "0x" + test_key(account).hex(), "NVM_ACCOUNT": "", "NVM_API_KEY": ""}
        return CliRunner().invoke(_Script(), ["--format", "json", *map(str, args)], env=env)

    def sender(self, account="subscriber"):
        """The library's sender of ``account``, sharing the CLI's journal."""
        return NvmChain(self.faulty.w3, self.faulty.sim.book, self.faulty.sim.account(account).signer,
                        network="local", state_dir=self.state).sender


@pytest.fixture
def cli_env(faulty, tmp_path):
    return Cli(faulty, tmp_path)


def _credits(faulty, plan_id: int, holder: str) -> int:
    client = faulty.client("agent")
    return client.plans.get_plan_balance(plan_id, holder).balance


@pytest.fixture
def plan_id(faulty, tmp_path):
    builder = faulty.client("builder", state_dir=tmp_path / "builder")
    plans = builder.plans
    price = plans.get_native_token_price_config(10**15, builder.address)  # one transaction per order
    credits = configs.set_onchain_mirror(configs.get_fixed_credits_config(100))
    return plans.register_credits_plan(PlanMetadata(name="cli"), price, credits).plan_id


def test_an_order_retried_after_a_pending_exit_is_refused_and_orders_once(faulty, cli_env, plan_id):
    subscriber = faulty.sim.account("subscriber").address
    faulty.proxy.hang("eth_getTransactionReceipt", None, times=None)
    first = cli_env("plans", "order-plan", plan_id, "--yes", "--receipt-timeout", "2")
    assert first.exit_code == 5, first.stderr
    pending_hash = first.stderr.split("hash ")[1].split(",")[0]
    faulty.proxy.clear()
    retry = cli_env("plans", "order-plan", plan_id, "--yes")
    assert retry.exit_code == 3 and pending_hash in retry.stderr and "--new" in retry.stderr
    assert _credits(faulty, plan_id, subscriber) == 100  # one order on chain, not two
    again = cli_env("plans", "order-plan", plan_id, "--yes", "--new")
    assert again.exit_code == 0, again.stderr
    assert _credits(faulty, plan_id, subscriber) == 200  # asked for explicitly: a second order


def test_tx_list_speedup_cancel_and_resend(faulty, cli_env):
    token, sink = faulty.sim.book["MockERC20"], "0x" + "7c" * 20
    data = bytes.fromhex("a9059cbb") + bytes(12) + bytes.fromhex(sink[2:]) + (1).to_bytes(32, "big")
    transfer = TxRequest(token, data, 100_000, action="MockERC20.transfer")
    sender = cli_env.sender()
    assert json.loads(cli_env("tx", "list", "--pending").stdout) == []
    faulty.anvil("evm_setAutomine", [False])
    tx_hash = sender.send(transfer, wait=False)
    listed = json.loads(cli_env("tx", "list", "--pending").stdout)
    assert [row["txHash"] for row in listed] == [tx_hash] and listed[0]["state"] == "sent"
    sped = cli_env("tx", "speedup", tx_hash)
    assert sped.exit_code == 0, sped.stderr
    faster = json.loads(sped.stdout)["txHash"]
    faulty.anvil("evm_mine")
    status = json.loads(cli_env("tx", "status", faster).stdout)
    assert status["state"] == "mined" and status["status"] == "success"
    old = json.loads(cli_env("tx", "status", tx_hash).stdout)
    assert old["state"] == "replaced" and old["replacedBy"] == faster
    doomed = sender.send(TxRequest(token, data[:-1] + b"\x02", 100_000, action="MockERC20.transfer"), wait=False)
    assert cli_env("tx", "cancel", doomed).exit_code == 0
    faulty.anvil("evm_mine")
    assert json.loads(cli_env("tx", "status", doomed).stdout)["state"] == "replaced"
    balance = faulty.direct.eth.call({"to": token, "data": bytes.fromhex("70a08231") + bytes(12)
                                      + bytes.fromhex(sink[2:])})
    assert int.from_bytes(balance, "big") == 1  # the sped-up transfer once; the cancelled one never
    faulty.anvil("evm_setAutomine", [True])
    snapshot = faulty.anvil("evm_snapshot")
    lost = sender.send(transfer)
    faulty.anvil("evm_revert", [snapshot])
    dropped = json.loads(cli_env("tx", "status", lost.tx_hash).stdout)
    assert dropped["state"] == "dropped" and "reorg" in dropped["detail"]
    assert cli_env("tx", "resend", lost.tx_hash).exit_code == 0
    assert json.loads(cli_env("tx", "wait", lost.tx_hash).stdout)["status"] == "success"


