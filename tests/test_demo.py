"""The main job: ``nvm-chain demo`` runs the payments-docs example and reports every step."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from nvm_chain.cli import cli


def test_demo_json_reports_each_step_with_signer_transactions_and_balances():
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    steps = {s["title"].split(" (")[0]: s for s in out["steps"]}
    assert out["addressBook"]["version"] == "1.5.0" and len(out["steps"]) == 10
    order = steps["subscriber orders the plan"]
    assert order["signer"] == "subscriber" and [t["action"] for t in order["transactions"]] == [
        "MockERC20.approve", "FixedPaymentTemplate.order"]
    assert all(t["txHash"].startswith("0x") and t["gasUsed"] > 0 for t in order["transactions"])
    assert order["balances"]["credits"] == 100 and order["balances"]["paid"] == str(10 * 10**18)
    assert order["balances"]["feeReceiverMUSD"] == str(10**24 + 10**17)  # 1% of 10 mUSD
    assert steps["builder mints 50 more credits to the subscriber"]["balances"]["credits"] == 150
    redeem = steps["agent redeems 10 credits for a request"]
    assert redeem["signer"] == "agent" and redeem["balances"] == {"burned": 10, "credits": 140}
    assert steps["subscriber buys a one-day pass"]["balances"]["credits"] == 1
    assert steps["one day and one second later"]["balances"]["credits"] == 0
    payg = steps["subscriber pays one request of a pay-as-you-go plan"]["balances"]
    assert payg["paid"] == str(2 * 10**17) and payg["builderReceived"] == str(198 * 10**15)


@pytest.mark.slow  # a second full demo run (fresh deployment); the JSON test above covers every step
def test_demo_table_output_names_signers_and_hashes():
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "== agent redeems 10 credits for a request" in result.stdout
    assert re.search(r"signer +agent 0x[0-9a-fA-F]{40}", result.stdout)
    assert re.search(r"FixedPaymentTemplate.order: 0x[0-9a-f]{64} \([0-9,]+ gas\)", result.stdout)
    assert re.search(r"signer +owner 0x[0-9a-fA-F]{40}", result.stdout)  # the deployer
