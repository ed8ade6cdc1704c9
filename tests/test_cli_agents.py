"""`nvm-chain agents …` and `nvm-chain tx …` through the click runner against the served devnet (fees on).

Commands run through ``nvm_chain.cli.main`` (the ``cli`` group behind the same error mapping as the installed
script) inside ``CliRunner.isolation``, so exit codes and the one-line error messages are the real ones.
"""

from __future__ import annotations

import json

import pytest

from nvm_chain.client import NvmChain
from nvm_chain.errors import ContractRevertError
from nvm_chain.protocol.configs import get_fixed_credits_config, set_onchain_mirror
from tests.support import Protocol
from tests.support import run_cli as run

API = {"endpoints": [{"verb": "POST", "url": "https://agent.example/query"}], "authType": "bearer",
       "token": "super-secret-agent-token"}




def ok(args: list[str], env: dict[str, str]) -> dict:
    result = run(["--format", "json", *args], env)
    assert result.code == 0, result.err
    return result.json()


@pytest.fixture(scope="module")
def builder_env(devnet):
    return devnet.env("builder")


@pytest.fixture(scope="module")
def configs(devnet, tmp_path_factory):
    """Plan inputs as .json files: a fee-inclusive native-token price and 100 fixed credits (mirrored)."""
    folder = tmp_path_factory.mktemp("inputs")
    reader = NvmChain(devnet.sim.w3, devnet.sim.book, None, network="local")
    builder = devnet.sim.account("builder").address
    price = reader.plans.get_native_token_price_config(10**15, builder)
    files = {
        "agent-metadata": {"name": "Weather agent", "tags": ["weather"]},
        "agent-api": API,
        "plan-metadata": {"name": "Basic plan"},
        "price-config": price.model_dump(mode="json", by_alias=True),
        "credits-config": set_onchain_mirror(get_fixed_credits_config(100)).model_dump(mode="json", by_alias=True),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    return paths


@pytest.fixture(scope="module")
def agent_and_plan(builder_env, configs):
    """An agent and a plan registered in one transaction through the CLI."""
    args = ["agents", "register-agent-and-plan"]
    for name in ("agent-metadata", "agent-api", "plan-metadata", "price-config", "credits-config"):
        args += [f"--{name}", str(configs[name])]
    return ok(args, builder_env)


def _new_agent(env, plans: str = "") -> dict:
    return ok(["agents", "register-agent", "--agent-metadata", '{"name": "a"}', "--agent-api",
               json.dumps(API), *(["--plans", plans] if plans else [])], env)


# ---------------------------------------------------------------------------------------------- agents


def test_register_agent_and_plan_prints_decimal_ids_and_reads_back(agent_and_plan, devnet, builder_env):
    got = agent_and_plan
    builder = devnet.sim.account("builder").address
    assert got["agentId"].isdigit() and got["planId"].isdigit() and got["planCreated"] is True
    assert got["owner"] == builder and got["url"] == API["endpoints"][0]["url"]
    assert got["txHash"].startswith("0x") and {"AgentRegistered", "PlanRegistered"} <= set(got["events"])
    assert got["accessLimit"] == "credits" and got["creditsConfig"]["nftAddress"] == devnet.sim.book["NFT1155Credits"]

    agent = ok(["agents", "get-agent", got["agentId"]], builder_env)
    assert (agent["agentId"], agent["owner"], agent["creator"], agent["plans"]) == (
        got["agentId"], builder, builder, [got["planId"]])
    plans = ok(["agents", "get-agent-plans", hex(int(got["agentId"]))], builder_env)  # hex ids accepted too
    assert plans == {"agentId": got["agentId"], "plans": [got["planId"]], "total": 1, "page": 1, "offset": 1}
    table = run(["agents", "get-agent-plans", got["agentId"]], builder_env)
    assert table.code == 0 and table.out.split() == ["PLANID", got["planId"]]


def test_register_agent_lists_plans_and_never_prints_api_credentials(agent_and_plan, builder_env):
    result = run(["-f", "json", "agents", "register-agent", "--agent-metadata", '{"name": "b"}',
                  "--agent-api", json.dumps(API), "--plans", f"{agent_and_plan['planId']},{agent_and_plan['planId']}"],
                 builder_env)
    assert result.code == 0, result.err
    got = result.json()
    assert got["plans"] == [agent_and_plan["planId"]]  # duplicates dropped
    assert got["agentApi"]["token"] == "(hidden)" and got["agentMetadata"] == {"name": "b"}
    assert "super-secret-agent-token" not in result.out + result.err
    assert "not stored on chain" in result.err


def test_add_and_remove_plan_plan_first_like_payments_py(agent_and_plan, builder_env):
    plan = agent_and_plan["planId"]
    agent = _new_agent(builder_env)["agentId"]

    added = ok(["agents", "add-plan-to-agent", plan, agent], builder_env)
    assert (added["agentId"], added["planId"], added["changed"]) == (agent, plan, True) and added["txHash"]
    again = run(["-f", "json", "agents", "add-plan-to-agent", plan, agent], builder_env)
    assert again.code == 0 and again.json()["changed"] is False and again.json()["txHash"] is None
    assert "nothing was sent" in again.err
    assert ok(["agents", "get-agent-plans", agent], builder_env)["plans"] == [plan]

    removed = ok(["agents", "remove-plan-from-agent", plan, agent], builder_env)
    assert removed["changed"] is True and removed["txHash"]
    assert ok(["agents", "get-agent-plans", agent], builder_env)["plans"] == []
    missing = run(["agents", "remove-plan-from-agent", plan, agent], builder_env)
    assert missing.code == 3 and "does not list plan" in missing.err and missing.out == ""


def test_dry_run_simulates_and_sends_nothing(agent_and_plan, devnet, builder_env):
    w3, builder = devnet.sim.w3, devnet.sim.account("builder").address
    agent = _new_agent(builder_env)["agentId"]
    nonce, block = w3.eth.get_transaction_count(builder), w3.eth.block_number

    for args in (["agents", "register-agent", "--agent-metadata", '{"name": "d"}', "--agent-api", json.dumps(API)],
                 ["agents", "add-plan-to-agent", agent_and_plan["planId"], agent]):
        result = run(["--dry-run", "-f", "json", *args], builder_env)
        assert result.code == 0, result.err
        assert result.json()["dryRun"] is True and result.json()["to"] == devnet.sim.book["AssetsRegistry"]
        assert "nothing was signed or sent" in result.err
    assert (w3.eth.get_transaction_count(builder), w3.eth.block_number) == (nonce, block)
    assert ok(["agents", "get-agent-plans", agent], builder_env)["plans"] == []
    # a dry run still refuses what would revert
    reverted = run(["--dry-run", "agents", "register-agent", "--agent-metadata", '{"name": "d"}', "--agent-api",
                    json.dumps(API), "--plans", "5"], builder_env)
    assert reverted.code == 4 and "PlanNotFound(planId=5)" in reverted.err


def test_usage_errors_exit_2(builder_env, devnet, configs):
    cases = [
        (["agents", "register-agent", "--agent-metadata", '{"name": "x"', "--agent-api", "{}"], "not valid JSON"),
        (["agents", "register-agent", "--agent-metadata", "[1, 2]", "--agent-api", "{}"], "must hold a JSON object"),
        (["agents", "register-agent", "--agent-metadata", "no-such-file.json", "--agent-api", "{}"],
         "neither inline JSON nor an existing .json file"),
        (["agents", "register-agent", "--agent-api", "{}"], "Missing option '--agent-metadata'"),
        (["agents", "add-plan-to-agent", "1"], "Missing argument 'AGENT_ID'"),
    ]
    for args, message in cases:
        result = run(args, builder_env)
        assert (result.code, message in result.err) == (2, True), (args, result.err)
    # a write without an account is a usage error; reads need none
    read_only = devnet.env()
    result = run(["agents", "register-agent", "--agent-metadata", str(configs["agent-metadata"]), "--agent-api",
                  str(configs["agent-api"])], read_only)
    assert result.code == 2 and "signs transactions" in result.err


def test_invalid_input_exit_3_nothing_signed(builder_env, devnet, configs):
    w3, builder = devnet.sim.w3, devnet.sim.account("builder").address
    nonce = w3.eth.get_transaction_count(builder)
    no_url = run(["agents", "register-agent", "--agent-metadata", '{"name": "x"}', "--agent-api", "{}"],
                 builder_env)
    assert no_url.code == 3 and "agent_api has no URL" in no_url.err
    bad_id = run(["agents", "get-agent", "not-an-id"], builder_env)
    assert bad_id.code == 3 and bad_id.err.startswith("error: ")
    bad_plan = run(["agents", "register-agent", "--agent-metadata", '{"name": "x"}', "--agent-api", json.dumps(API),
                    "--plans", "1,x"], builder_env)
    assert bad_plan.code == 3 and "payment_plans[1]" in bad_plan.err
    # a price whose Nevermined fee entry is wrong is refused before signing (one without any is completed)
    wrong_fee = json.loads(configs["price-config"].read_text())
    wrong_fee["amounts"] = [str(int(wrong_fee["amounts"][0]) + 1), str(int(wrong_fee["amounts"][1]) - 1)]
    args = ["agents", "register-agent-and-plan", "--price-config", json.dumps(wrong_fee)]
    for name in ("agent-metadata", "agent-api", "plan-metadata", "credits-config"):
        args += [f"--{name}", str(configs[name])]
    result = run(args, builder_env)
    assert result.code == 3 and "Nevermined fee not included" in result.err
    assert len(result.err.strip().splitlines()) == 1  # one line, no traceback
    assert w3.eth.get_transaction_count(builder) == nonce


def test_contract_revert_exits_4_with_the_decoded_error(builder_env):
    result = run(["agents", "register-agent", "--agent-metadata", '{"name": "x"}', "--agent-api", json.dumps(API),
                  "--plans", "5"], builder_env)
    assert result.code == 4 and result.out == ""
    assert result.err.strip() == "error: reverted: AssetsRegistry.register reverted: PlanNotFound(planId=5)"


def test_configuration_problems_exit_7(devnet, tmp_path):
    no_book = run(["agents", "get-agent", "1"], devnet.env(NVM_ADDRESS_BOOK=""))
    assert no_book.code == 7 and "address_book" in no_book.err
    missing = run(["agents", "get-agent", "1"], devnet.env(NVM_ADDRESS_BOOK=str(tmp_path / "none.json")))
    assert missing.code == 7 and "address book not found" in missing.err


def test_unknown_agent_exits_3(builder_env):
    result = run(["agents", "get-agent", "12345"], builder_env)
    assert "agent 12345 not found" in result.err
    assert result.code == 3


def test_changing_another_owners_agent_exits_3(agent_and_plan, devnet):
    result = run(["agents", "add-plan-to-agent", agent_and_plan["planId"], agent_and_plan["agentId"]],
                 devnet.env("subscriber"))
    assert "is not the owner of agent" in result.err
    assert result.code == 3


# ---------------------------------------------------------------------------------------------- tx


def test_tx_status_and_wait_of_a_mined_transaction(agent_and_plan, devnet):
    env = devnet.env()  # no account needed
    tx_hash = agent_and_plan["txHash"]
    status = ok(["tx", "status", tx_hash], env)
    assert (status["state"], status["status"], status["call"]) == ("mined", "success",
                                                                   "AssetsRegistry.registerAgentAndPlan")
    assert status["blockNumber"] == agent_and_plan["blockNumber"] and status["gasUsed"] == agent_and_plan["gasUsed"]
    assert status["from"] == devnet.sim.account("builder").address
    registered = [e for e in status["events"] if e["name"] == "AgentRegistered"]
    assert registered and registered[0]["contract"] == "AssetsRegistry"
    assert str(registered[0]["args"]["agentId"]) == agent_and_plan["agentId"]

    waited = ok(["tx", "wait", tx_hash.upper().replace("0X", "0x"), "--timeout", "5"], env)
    assert waited == status
    table = run(["tx", "status", tx_hash], env)
    assert table.code == 0 and "mined" in table.out and "AgentRegistered" in table.out


def test_tx_of_a_reverted_transaction_status_shows_reason_wait_exits_4(devnet):
    proto = Protocol(devnet.sim)
    with pytest.raises(ContractRevertError) as mined:  # mined with status 0 (not simulated first)
        proto.send(devnet.sim.account("builder"), "AssetsRegistry", "addPlanToAgent", 7, 9, gas=300_000)
    tx_hash = mined.value.tx_hash
    env = devnet.env()

    status = ok(["tx", "status", tx_hash], env)
    assert (status["state"], status["status"]) == ("mined", "reverted")
    assert status["revert"]["error"] == "AgentNotFound" and status["revert"]["args"]["agentId"] == 7

    waited = run(["-f", "json", "tx", "wait", tx_hash], env)
    assert waited.code == 4 and waited.json()["status"] == "reverted"
    assert "AssetsRegistry.addPlanToAgent reverted: AgentNotFound(agentId=7)" in waited.err
    assert tx_hash in waited.err


def test_tx_unknown_hash_status_unknown_wait_times_out_with_exit_5(devnet):
    env = devnet.env()
    unknown = "0x" + "ab" * 32
    status = run(["-f", "json", "tx", "status", unknown], env)
    assert status.code == 0 and status.json() == {"txHash": unknown, "state": "unknown"}
    waited = run(["tx", "wait", unknown, "--timeout", "0.2"], env)
    assert waited.code == 5 and f"pending, hash {unknown}" in waited.err and waited.out == ""
    bad = run(["tx", "status", "0x1234"], env)
    assert bad.code == 2 and "not a transaction hash" in bad.err


def test_tx_status_pending_when_the_node_has_no_receipt_yet(agent_and_plan, devnet, monkeypatch):
    from web3.eth import Eth
    from web3.exceptions import TransactionNotFound

    def no_receipt(self, tx_hash):  # the devnet mines at once: fake a transaction still in the mempool
        raise TransactionNotFound(f"no receipt for {tx_hash}")

    monkeypatch.setattr(Eth, "get_transaction_receipt", no_receipt)
    monkeypatch.setattr("nvm_chain.chain.tx.sender._fetch_receipt", lambda w3, tx_hash: None)
    status = ok(["tx", "status", agent_and_plan["txHash"]], devnet.env())
    assert status["state"] == "pending" and status["from"] == devnet.sim.account("builder").address
    waited = run(["tx", "wait", agent_and_plan["txHash"], "--timeout", "0.1"], devnet.env())
    assert waited.code == 5 and "not failed" in waited.err and "does not know" not in waited.err
