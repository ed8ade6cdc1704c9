"""``nvm-chain plans`` with the nvm CLI page's syntax: pagination flags, payments-py's redeem-credits form,
``get-plan --format json`` with a top-level name, the burn preview (--dry-run, confirmation, --strict) and the
off-chain-credits refusal; against the devnet (fees on, JSON-RPC on 127.0.0.1)."""

from __future__ import annotations

import json

from tests import test_cli_plans as _cli
from tests.test_cli_plans import credits_json, erc20_price, nonce, ok, one_line_error, register

run, who, book = _cli.run, _cli.who, _cli.book  # the CLI tests' fixtures: the devnet runner and its accounts


def credits_of(devnet, plan_id: str, holder: str) -> int:
    from nvm_chain.client import NvmChain

    reader = NvmChain(devnet.sim.w3, devnet.sim.book, None, network="local")
    return reader.plans.get_plan_balance(plan_id, holder, ledger="onchain").balance


def test_get_plans_pages_and_sorts_with_the_nvm_flags(run, who, book):
    free = json.dumps(ok(run("plans", "get-free-price-config", "-f", "json")))
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 1)
    made = [register(run, free, credits, account="relayer")["planId"] for _ in range(3)]

    def listing(*flags):
        return ok(run("plans", "get-plans", *flags, "-f", "json", account="relayer"))

    newest = listing("--page", 1, "--offset", 2)
    assert (newest["total"], newest["page"], newest["offset"]) == (3, 1, 2)
    assert [p["planId"] for p in newest["plans"]] == [made[2], made[1]]
    assert [p["planId"] for p in listing("--page", 2, "--offset", 2)["plans"]] == [made[0]]
    assert [p["planId"] for p in listing("--sort-by", "created", "--sort-order", "asc")["plans"]] == made
    assert [p["planId"] for p in listing("--sort-by", "id", "--sort-order", "asc")["plans"]] == \
        sorted(made, key=int)
    assert [p["planId"] for p in listing("--pagination", '{"page": 1, "offset": 1, "sortOrder": "asc"}')["plans"]] \
        == made[:1]
    assert run("plans", "get-plans", "--sort-by", "price", account="relayer").exit_code == 2


def test_agents_of_a_plan_and_plans_of_an_agent_take_pagination(run, who, book):
    free = json.dumps(ok(run("plans", "get-free-price-config", "-f", "json")))
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 1)
    plan_id = register(run, free, credits)["planId"]
    other = register(run, free, credits)["planId"]
    api = json.dumps({"endpoints": [{"verb": "GET", "url": "https://a.example"}]})
    agent = ok(run("agents", "register-agent", "--agent-metadata", '{"name": "A"}', "--agent-api", api,
                   "--plans", f"{plan_id},{other}", "-f", "json"))

    page = ok(run("plans", "get-agents-associated-to-a-plan", plan_id, "--pagination", '{"page":1,"offset":10}',
                  "-f", "json"))
    assert (page["total"], page["page"], page["offset"]) == (1, 1, 10)
    assert [a["agentId"] for a in page["agents"]] == [agent["agentId"]]
    plans = ok(run("agents", "get-agent-plans", agent["agentId"], "--offset", 1, "--sort-order", "asc", "-f", "json"))
    assert (plans["total"], plans["plans"]) == (2, [plan_id])


def test_get_plan_json_has_a_top_level_name(run, who, book):
    free = json.dumps(ok(run("plans", "get-free-price-config", "-f", "json")))
    plan_id = register(run, free, credits_json(run, "get-fixed-credits-config", "--credits-granted", 1))["planId"]
    shown = ok(run("plans", "get-plan", plan_id, "--format", "json"))
    assert "name" in shown and shown["name"] is None  # names live off chain: null without NVM_API_KEY
    assert shown["planId"] == plan_id and shown["owner"] == who["builder"]


def test_redeem_credits_with_the_pages_syntax_and_the_burn_preview(run, who, book, devnet):
    owner_redeems = credits_json(run, "get-fixed-credits-config", "--credits-granted", 100, redemption="ONLY_OWNER")
    plan_id = register(run, erc20_price(run, who, book), owner_redeems)["planId"]
    ok(run("plans", "order-plan", plan_id, "--yes", "-f", "json", account="subscriber"))
    sent = nonce(devnet, "builder")

    # the contract would burn 1 (the plan's amount per request), not 10: shown before signing
    dry = run("plans", "redeem-credits", "request-123", "--plan-id", plan_id, "--redeem-from", who["subscriber"],
              "--credits-amount-to-redeem", 10, "--dry-run", "-f", "json")
    assert dry.exit_code == 0 and "will burn 1" in dry.stderr
    preview = json.loads(dry.stdout)
    assert (preview["dryRun"], preview["requested"], preview["willBurn"]) == (True, "10", "1")
    one_line_error(run("plans", "redeem-credits", "request-123", "--plan-id", plan_id, "--redeem-from",
                       who["subscriber"], "--credits-amount-to-redeem", 10, "--strict"), 3, "will burn 1", "strict")
    declined = run("plans", "redeem-credits", "request-123", "--plan-id", plan_id, "--redeem-from", who["subscriber"],
                   "--credits-amount-to-redeem", 10)
    assert declined.exit_code == 8 and "--yes" in declined.stderr  # not a terminal: must be confirmed
    assert nonce(devnet, "builder") == sent and credits_of(devnet, plan_id, who["subscriber"]) == 100

    redeemed = ok(run("plans", "redeem-credits", "request-123", "--plan-id", plan_id, "--redeem-from",
                      who["subscriber"], "--credits-amount-to-redeem", 10, "--yes", "-f", "json"))
    assert (redeemed["requested"], redeemed["burned"]) == ("10", "1")
    exact = ok(run("plans", "redeem-credits", "request-124", "--plan-id", plan_id, "--redeem-from", who["subscriber"],
                   "--credits-amount-to-redeem", 1, "--strict", "-f", "json"))
    assert exact["burned"] == "1" and credits_of(devnet, plan_id, who["subscriber"]) == 98


def test_order_plan_refuses_an_off_chain_ledger_plan_before_signing(run, who, book, devnet):
    offchain = credits_json(run, "get-fixed-credits-config", "--credits-granted", 100, mirror=False)
    plan_id = register(run, erc20_price(run, who, book), offchain)["planId"]
    sent = nonce(devnet, "subscriber")
    one_line_error(run("plans", "order-plan", plan_id, "--yes", account="subscriber"), 3, "off chain",
                   "allow_offchain_credits")
    assert nonce(devnet, "subscriber") == sent
    order = ok(run("plans", "order-plan", plan_id, "--yes", "--allow-offchain-credits", "-f", "json",
                   account="subscriber"))
    assert order["creditsReceived"] == 0 and order["success"] is True
