"""``nvm-chain plans``: every command against the devnet (fees on, JSON-RPC on 127.0.0.1), JSON output parsed and
checked, exit codes, refusal paths, --dry-run, and a few real subprocesses.

In-process runs go through ``run_guarded`` (what the ``nvm-chain`` script does), so library exceptions come out
as their documented exit codes and one-line messages instead of CliRunner's generic exit code 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nvm_chain.cli import cli
from nvm_chain.cli.errors import run_guarded
from nvm_chain.client import NvmChain

ZERO = "0x" + "00" * 20


class _Script:
    """``cli`` run as the ``nvm-chain`` script runs it: errors mapped to exit codes in one place."""

    name = "nvm-chain"

    def main(self, args=(), prog_name=None, **_):
        sys.exit(run_guarded(cli, list(args)))


@pytest.fixture(scope="module")
def who(devnet):
    return {name: devnet.sim.account(name).address for name in devnet.sim.accounts}


@pytest.fixture(scope="module")
def book(devnet):
    return devnet.sim.book


@pytest.fixture
def run(devnet):
    """``run(*args, account="builder", env={...}, input=None)`` → click Result."""

    def invoke(*args, account="builder", env=None, input=None):
        return CliRunner().invoke(_Script(), [str(a) for a in args], env={**devnet.env(account), **(env or {})},
                                  input=input)

    return invoke


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def nonce(devnet, name):
    return devnet.sim.w3.eth.get_transaction_count(devnet.sim.account(name).address)


def one_line_error(result, code, *needles):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.stdout == ""


def credits_json(run, *args, mirror=True, redemption=None):
    """A credits config printed by a helper (on-chain mirror by default), piped through set-onchain-mirror /
    set-redemption-type."""
    config = json.dumps(ok(run("plans", *args, "-f", "json")))
    if not mirror:
        config = json.dumps(ok(run("plans", "set-onchain-mirror", "--no-onchain-mirror", "--credits-config", config,
                                   "-f", "json")))
    if redemption is not None:
        config = json.dumps(ok(run("plans", "set-redemption-type", "--credits-config", config,
                                   "--redemption-type", redemption, "-f", "json")))
    return config


def erc20_price(run, who, book, amount=1_000_000):
    return json.dumps(ok(run("plans", "get-erc20-price-config", "--amount", amount, "--receiver", who["builder"],
                             "--token-address", book["MockERC20"], "-f", "json")))


def register(run, price, credits, command="register-credits-plan", *extra, account="builder"):
    return ok(run("plans", command, "--price-config", price, "--credits-config", credits, *extra, "-f", "json",
                  account=account))


@pytest.fixture
def credits_plan(run, who, book):
    """A 1_000_000-unit MockERC20 plan granting 100 credits (dynamic, 1..10 per request, ONLY_PLAN_ROLE)."""
    credits = credits_json(run, "get-dynamic-credits-config", "--credits-granted", 100,
                           "--min-credits-per-request", 1, "--max-credits-per-request", 10, redemption="ONLY_PLAN_ROLE")
    return register(run, erc20_price(run, who, book), credits)


# ---------------------------------------------------------------------------------------------- config helpers


def test_config_helpers_print_the_current_api_shape_offline(run, who):
    dead = {"NVM_RPC_URL": "http://127.0.0.1:9", "NVM_ADDRESS_BOOK": "/nonexistent/book.json"}  # never contacted
    receiver, token = who["builder"], who["agent"]

    free = ok(run("plans", "get-free-price-config", "-f", "json", env=dead))
    assert free["amounts"] == [] and free["receivers"] == [] and free["isCrypto"] is True
    fiat = ok(run("plans", "get-fiat-price-config", "--amount", 2_000_000, "--receiver", receiver, "--currency", "EUR",
                  "--no-fees", "-f", "json", env=dead))
    assert (fiat["amounts"], fiat["receivers"], fiat["isCrypto"], fiat["currency"]) == (["2000000"], [receiver],
                                                                                      False, "EUR")
    crypto = ok(run("plans", "get-crypto-price-config", "--amount", 5, "--receiver", receiver, "--no-fees",
                    "-f", "json", env=dead))
    assert crypto["tokenAddress"] == ZERO and crypto["amounts"] == ["5"] and crypto["isCrypto"] is True
    native = ok(run("plans", "get-native-token-price-config", "--amount", 10**18, "--receiver", receiver,
                    "--no-fees", "-f", "json", env=dead))
    assert native["amounts"] == [str(10**18)] and native["tokenAddress"] == ZERO
    erc20 = ok(run("plans", "get-erc20-price-config", "--amount", 7, "--receiver", receiver, "--token-address", token,
                   "--no-fees", "-f", "json", env=dead))
    assert erc20["tokenAddress"] == token and erc20["receivers"] == [receiver]
    eurc = ok(run("plans", "get-eurc-price-config", "--amount", 3, "--receiver", receiver, "--no-fees", "-f", "json",
                  env=dead))
    assert eurc["currency"] == "EURC" and eurc["tokenAddress"] == "0x60a3E35Cc302bFA44Cb288Bc5a4F316Fdb1adb42"
    assert set(erc20) == {"isCrypto", "tokenAddress", "amounts", "receivers", "externalPriceAddress", "feeController",
                          "templateAddress", "currency", "contractAddress"}

    fixed = ok(run("plans", "get-fixed-credits-config", "--credits-granted", 100, "--credits-per-request", 2,
                   "-f", "json", env=dead))
    assert fixed == {"isRedemptionAmountFixed": True, "redemptionType": 4, "onchainMirror": True,
                     "durationSecs": "0", "amount": "100", "minAmount": "2", "maxAmount": "2"}
    dynamic = ok(run("plans", "get-dynamic-credits-config", "--credits-granted", 50, "--min-credits-per-request", 1,
                     "--max-credits-per-request", 5, "-f", "json", env=dead))
    assert (dynamic["isRedemptionAmountFixed"], dynamic["minAmount"], dynamic["maxAmount"]) == (False, "1", "5")
    expirable = ok(run("plans", "get-expirable-duration-config", "--duration-of-plan", 86_400, "-f", "json", env=dead))
    assert expirable["durationSecs"] == "86400" and expirable["amount"] == "1"
    never = ok(run("plans", "get-non-expirable-duration-config", "-f", "json", env=dead))
    payg = ok(run("plans", "get-pay-as-you-go-credits-config", "-f", "json", env=dead))
    assert never["durationSecs"] == "0" and payg["amount"] == "1" and payg["redemptionType"] == 4

    table = run("plans", "get-fixed-credits-config", "--credits-granted", 100, "--format", "table", env=dead)
    assert table.exit_code == 0 and "minAmount" in table.stdout and not table.stdout.lstrip().startswith("{")


def test_price_helpers_include_the_chains_fee_by_default(run, who, book):
    erc20 = ok(run("plans", "get-erc20-price-config", "--amount", 1_000_000, "--receiver", who["builder"],
                   "--token-address", book["MockERC20"], "-f", "json"))
    assert erc20["amounts"] == ["990000", "10000"] and erc20["receivers"] == [who["builder"], who["fee_receiver"]]
    fiat = run("plans", "get-fiat-price-config", "--amount", 2_000_000, "--receiver", who["builder"], "-f", "json")
    assert json.loads(fiat.stdout)["amounts"] == ["1960000", "40000"]  # fiat fee 2%
    assert "fee receiver" in fiat.stderr and who["fee_receiver"] in fiat.stderr
    native = ok(run("plans", "get-native-token-price-config", "--amount", 10_000, "--receiver", who["builder"],
                    "-f", "json"))
    crypto = ok(run("plans", "get-crypto-price-config", "--amount", 10_000, "--receiver", who["builder"], "-f", "json"))
    assert native == crypto and native["amounts"] == ["9900", "100"]
    eurc = ok(run("plans", "get-eurc-price-config", "--amount", 100, "--receiver", who["builder"], "-f", "json"))
    assert eurc["amounts"] == ["99", "1"]
    payg = ok(run("plans", "get-pay-as-you-go-price-config", "--amount", 500, "--receiver", who["builder"],
                  "--token-address", book["MockERC20"], "-f", "json"))
    assert payg["templateAddress"] == book["PayAsYouGoTemplate"] and payg["amounts"] == ["495", "5"]
    raw = ok(run("plans", "get-pay-as-you-go-price-config", "--amount", 500, "--receiver", who["builder"],
                 "--no-fees", "-f", "json"))
    assert raw["templateAddress"] == book["PayAsYouGoTemplate"] and raw["amounts"] == ["500"]


def test_set_helpers_read_inline_json_or_files_and_rewrite_one_field(run, tmp_path):
    path = tmp_path / "credits.json"
    path.write_text(run("plans", "get-fixed-credits-config", "--credits-granted", 10, "-f", "json").stdout)

    by_name = ok(run("plans", "set-redemption-type", "--credits-config", path, "--redemption-type", "only_plan_role",
                     "-f", "json"))
    by_number = ok(run("plans", "set-redemption-type", "--credits-config", path.read_text(), "--redemption-type", 1,
                       "-f", "json"))
    assert (by_name["redemptionType"], by_number["redemptionType"], by_name["amount"]) == (2, 1, "10")
    mirrored = ok(run("plans", "set-onchain-mirror", "--credits-config", path, "-f", "json"))
    unmirrored = ok(run("plans", "set-onchain-mirror", "--credits-config", json.dumps(mirrored), "--no-onchain-mirror",
                        "-f", "json"))
    assert mirrored["onchainMirror"] is True and unmirrored["onchainMirror"] is False
    old = run("plans", "set-proof-required", "--credits-config", path, "--proof-required", "-f", "json")
    assert json.loads(old.stdout)["onchainMirror"] is True and "deprecated" in old.stderr

    one_line_error(run("plans", "set-redemption-type", "--credits-config", path, "--redemption-type", "7"), 3,
                   "redemption_type")
    one_line_error(run("plans", "set-onchain-mirror", "--credits-config", tmp_path / "missing.json"), 3,
                   "no such file")
    one_line_error(run("plans", "set-onchain-mirror", "--credits-config", "{not json"), 3, "not valid JSON")


# ---------------------------------------------------------------------------------------------- input refusals


def test_stale_config_shapes_are_refused_naming_the_right_fields(run, who, book, tmp_path, devnet):
    stale_price = tmp_path / "price.json"
    stale_price.write_text(json.dumps({"tokenAddress": book["MockERC20"], "price": 100, "amountOfCredits": 10}))
    stale_credits = json.dumps({"subscriptionType": "credits", "accessType": "credits", "minCreditsToCharge": 1,
                                "maxCreditsToCharge": 1, "duration": 0})
    good_credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 5)
    before = nonce(devnet, "builder")

    result = run("plans", "register-credits-plan", "--price-config", stale_price, "--credits-config", good_credits)
    one_line_error(result, 3, "price config fields 'price', 'amountOfCredits' are from the old docs",
                   "use 'amounts' (list of base units) and 'receivers'")
    only_price = run("plans", "register-plan", "--price-config", '{"price": "1"}', "--credits-config", good_credits)
    one_line_error(only_price, 3, "price config field 'price' is from the old docs: use 'amounts' (list of base "
                                  "units) and 'receivers'")
    result = run("plans", "register-plan", "--price-config", erc20_price(run, who, book), "--credits-config",
                 stale_credits)
    one_line_error(result, 3, "credits config fields", "'minCreditsToCharge': use 'minAmount'",
                   "'maxCreditsToCharge': use 'maxAmount'", "'duration': use 'durationSecs'")
    one_line_error(run("plans", "set-onchain-mirror", "--credits-config", stale_credits), 3, "subscriptionType")
    swapped = run("plans", "register-plan", "--price-config", good_credits, "--credits-config", good_credits)
    one_line_error(swapped, 3, "holds a credits config")
    unknown = run("plans", "register-plan", "--price-config",
                  f'{{"amounts": ["1"], "receivers": ["{who["builder"]}"], "colour": 1}}',
                  "--credits-config", good_credits)
    one_line_error(unknown, 3, "colour")
    assert nonce(devnet, "builder") == before  # nothing was sent


def test_amounts_must_be_whole_base_units(run, who, credits_plan, devnet):
    for bad in ("1.5", "1e6", "-3", "abc"):
        result = run("plans", "get-erc20-price-config", "--amount", bad, "--receiver", who["builder"],
                     "--token-address", who["agent"], "--no-fees")
        one_line_error(result, 3, "--amount must be a whole number of base units")
    assert "no decimal point" in run("plans", "mint-plan-credits", credits_plan["planId"], "--credits-amount", "2.5",
                                     "--credits-receiver", who["agent"]).stderr
    before = nonce(devnet, "subscriber")
    result = run("plans", "order-plan", credits_plan["planId"], "--number-of-purchases", "0.5", "--yes",
                 account="subscriber")
    one_line_error(result, 3, "--number-of-purchases")
    assert nonce(devnet, "subscriber") == before


def test_price_without_the_fee_is_split_and_a_wrong_fee_refused_before_signing(run, who, book, devnet):
    raw = ok(run("plans", "get-erc20-price-config", "--amount", 1_000_000, "--receiver", who["builder"],
                 "--token-address", book["MockERC20"], "--no-fees", "-f", "json"))
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 5)
    plan = ok(run("plans", "register-credits-plan", "--price-config", json.dumps(raw), "--credits-config", credits,
                  "-f", "json"))
    assert plan["priceConfig"]["amounts"] == ["990000", "10000"]  # the buyer still pays 1_000_000
    wrong = {**raw, "amounts": ["990001", "9999"], "receivers": [who["builder"], who["fee_receiver"]]}
    before = nonce(devnet, "builder")
    one_line_error(run("plans", "register-credits-plan", "--price-config", json.dumps(wrong), "--credits-config",
                       credits), 3, "fee")
    assert nonce(devnet, "builder") == before


def test_usage_errors_exit_2(run, devnet, credits_plan):
    assert run("plans", "order-plan").exit_code == 2  # missing PLAN_ID
    result = run("plans", "register-plan", "--credits-config", "{}")
    assert result.exit_code == 2 and "--price-config" in result.stderr
    result = run("plans", "register-plan", "--price-config", "{}", "--credits-config", "{}", "--access-limit", "days")
    assert result.exit_code == 2 and "days" in result.stderr
    result = run("plans", "get-plan-balance", credits_plan["planId"], account=None)
    assert result.exit_code == 2 and "--account-address" in result.stderr
    result = run("plans", "mint-plan-credits", credits_plan["planId"], "--credits-amount", 1, "--credits-receiver",
                 devnet.sim.account("agent").address, account=None)
    assert result.exit_code == 2 and "NVM_PRIVATE_KEY" in result.stderr
    assert run("plans", "no-such-command").exit_code == 2


# ---------------------------------------------------------------------------------------------- register and read


def test_register_then_get_plan_and_get_plans(run, who, book):
    price = erc20_price(run, who, book)
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 100)
    result = run("plans", "register-credits-plan", "--price-config", price, "--credits-config", credits,
                 "--plan-metadata", '{"name": "Basic", "tags": ["test"]}', "--nonce", 7, "-f", "json")
    reg = ok(result)
    assert "not stored on chain" in result.stderr
    assert reg["owner"] == who["builder"] and reg["nonce"] == "7" and reg["accessLimit"] == "credits"
    assert reg["planMetadata"]["name"] == "Basic" and reg["tx"]["txHash"].startswith("0x")
    assert reg["planId"].isdigit() and int(reg["planId"]) > 2**53  # decimal string, exact

    plan = ok(run("plans", "get-plan", reg["planId"], "-f", "json", account=None))
    assert plan["planId"] == reg["planId"] and plan["owner"] == who["builder"]
    assert plan["price"]["amounts"] == json.loads(price)["amounts"] == ["990000", "10000"]
    assert plan["credits"]["amount"] == "100" and plan["credits"]["onchainMirror"] is True
    assert plan["credits"]["nftAddress"] == book["NFT1155Credits"] and plan["hooks"] == []
    assert ok(run("plans", "get-plan", hex(int(reg["planId"])), "-f", "json"))["planId"] == reg["planId"]

    mine = ok(run("plans", "get-plans", "--offset", 100, "-f", "json"))
    theirs = ok(run("plans", "get-plans", "--creator", who["builder"], "--sort-order", "asc", "--offset", 100,
                    "-f", "json", account=None))
    assert mine["creator"] == who["builder"] and mine["plans"][0]["planId"] == reg["planId"]  # newest first
    assert theirs["plans"][-1]["planId"] == reg["planId"] and theirs["total"] == mine["total"] >= 1
    page = ok(run("plans", "get-plans", "--offset", 1, "--page", 1, "-f", "json"))
    assert len(page["plans"]) == 1 and page["offset"] == 1
    assert ok(run("plans", "get-plans", "--creator", "0x" + "de" * 20, "-f", "json"))["plans"] == []  # never registered
    table = run("plans", "get-plans")
    assert table.exit_code == 0 and "PLANID" in table.stdout and reg["planId"] in table.stdout


def test_every_registration_command(run, who, book):
    price = erc20_price(run, who, book)
    timed = credits_json(run, "get-expirable-duration-config", "--duration-of-plan", 3600)
    counted = credits_json(run, "get-fixed-credits-config", "--credits-granted", 10)

    general = register(run, price, timed, "register-plan", "--access-limit", "time")
    assert general["accessLimit"] == "time" and general["creditsConfig"]["nftAddress"] == \
        book["NFT1155ExpirableCreditsV2"]
    time_plan = register(run, price, timed, "register-time-plan")
    assert time_plan["creditsConfig"]["durationSecs"] == "3600" and time_plan["hooks"] == []
    trial = register(run, price, counted, "register-credits-trial-plan", "--plan-metadata", '{"name": "Trial"}')
    assert trial["hooks"] == [book["OneTimeCreatorHook"]] and trial["planMetadata"]["isTrialPlan"] is True
    time_trial = register(run, price, timed, "register-time-trial-plan")
    assert time_trial["hooks"] == [book["OneTimeCreatorHook"]] and time_trial["accessLimit"] == "time"
    payg_price = json.dumps(ok(run("plans", "get-pay-as-you-go-price-config", "--amount", 1000, "--receiver",
                                   who["builder"], "--token-address", book["MockERC20"], "-f", "json")))
    payg = ok(run("plans", "register-pay-as-you-go-plan", "--price-config", payg_price, "-f", "json"))
    assert payg["priceConfig"]["templateAddress"] == book["PayAsYouGoTemplate"]
    ids = {general["planId"], time_plan["planId"], trial["planId"], time_trial["planId"], payg["planId"]}
    assert len(ids) == 5
    assert ok(run("plans", "get-plan", trial["planId"], "-f", "json"))["hooks"] == [book["OneTimeCreatorHook"]]

    one_line_error(run("plans", "register-time-plan", "--price-config", price, "--credits-config", counted), 3,
                   "time plan needs duration_secs > 0")
    unmirrored = credits_json(run, "get-fixed-credits-config", "--credits-granted", 10, mirror=False)
    warned = run("plans", "register-credits-plan", "--price-config", price, "--credits-config", unmirrored,
                 "-f", "json")
    assert warned.exit_code == 0 and "warning: credits_config.onchain_mirror is False" in warned.stderr
    assert json.loads(warned.stdout)["creditsConfig"]["onchainMirror"] is False


# ---------------------------------------------------------------------------------------------- orders


def test_order_plan_then_balance_shows_the_credits(run, who, credits_plan, devnet):
    pid = credits_plan["planId"]
    order = ok(run("plans", "order-plan", pid, "--yes", "-f", "json", account="subscriber"))
    assert order["planId"] == pid and order["payer"] == who["subscriber"] and order["amountPaid"] == "1000000"
    assert order["creditsReceived"] == 100 and order["agreementId"].startswith("0x")
    assert order["tx"]["txHash"].startswith("0x") and order["token"] == devnet.sim.book["MockERC20"]
    assert order["approvalAdded"] == "1000000" and order["approveTx"]["txHash"] != order["tx"]["txHash"]

    balance = ok(run("plans", "get-plan-balance", pid, "-f", "json", account="subscriber"))
    assert balance["balance"] == "100" and balance["holderAddress"] == who["subscriber"]
    assert balance["isSubscriber"] is True and balance["planType"] == "credits"
    other = ok(run("plans", "get-plan-balance", pid, "--account-address", who["subscriber"], "-f", "json",
                   account=None))
    assert other == balance

    gift = ok(run("plans", "order-plan", pid, "--number-of-purchases", 2, "--credits-receiver", who["relayer"],
                  "--max-amount", 2_000_000, "-y", "-f", "json", account="subscriber"))
    assert (gift["amountPaid"], gift["creditsReceived"], gift["creditsReceiver"]) == ("2000000", 200,
                                                                                         who["relayer"])
    assert ok(run("plans", "get-plan-balance", pid, "--account-address", who["relayer"], "-f", "json"))["balance"] \
        == "200"
    table = run("plans", "order-plan", pid, "--yes", account="subscriber")
    assert table.exit_code == 0 and "agreementId" in table.stdout and "txHash" in table.stdout


def test_orders_need_yes_without_a_terminal_and_respect_max_amount(run, credits_plan, devnet):
    pid = credits_plan["planId"]
    before = nonce(devnet, "subscriber")
    result = run("plans", "order-plan", pid, account="subscriber")
    assert result.exit_code == 8 and "pass --yes" in result.stderr and "1000000" in result.stderr
    result = run("plans", "order-plan", pid, "--number-of-purchases", 3, "--max-amount", 2_999_999, "--yes",
                 account="subscriber")
    assert result.exit_code == 8 and "more than --max-amount 2999999" in result.stderr
    result = run("plans", "order-plan", pid, "--yes", account="subscriber", env={"NVM_MAX_AMOUNT": "10"})
    assert result.exit_code == 8 and result.stdout == ""
    broke = run("plans", "order-plan", pid, "--number-of-purchases", 10**30, "--yes", account="subscriber")
    one_line_error(broke, 3, "nothing was sent")  # refused before signing
    assert nonce(devnet, "subscriber") == before


def test_native_and_free_plans_and_pay_as_you_go(run, who, book):
    native_price = json.dumps(ok(run("plans", "get-native-token-price-config", "--amount", 10_000, "--receiver",
                                     who["builder"], "-f", "json")))
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 3)
    native = register(run, native_price, credits)
    order = ok(run("plans", "order-plan", native["planId"], "--max-amount", 10_000, "--yes", "-f", "json",
                   account="subscriber"))
    assert order["token"] == ZERO and order["amountPaid"] == "10000" and order["creditsReceived"] == 3

    free_price = json.dumps(ok(run("plans", "get-free-price-config", "-f", "json")))
    free = register(run, free_price, credits)
    order = ok(run("plans", "order-plan", free["planId"], "-f", "json", account="subscriber"))  # spends 0: no --yes
    assert order["amountPaid"] == "0" and order["creditsReceived"] == 3

    payg_price = json.dumps(ok(run("plans", "get-pay-as-you-go-price-config", "--amount", 1000, "--receiver",
                                   who["builder"], "--token-address", book["MockERC20"], "-f", "json")))
    payg = ok(run("plans", "register-pay-as-you-go-plan", "--price-config", payg_price, "-f", "json"))
    paid = ok(run("plans", "order-pay-as-you-go-plan", payg["planId"], "--yes", "-f", "json", account="subscriber"))
    assert paid["template"] == "PayAsYouGoTemplate" and paid["amountPaid"] == "1000" and paid["creditsReceived"] == 0
    assert run("plans", "order-pay-as-you-go-plan", payg["planId"], account="subscriber").exit_code == 8
    routed = ok(run("plans", "order-plan", payg["planId"], "--yes", "-f", "json", account="subscriber"))
    assert routed["template"] == "PayAsYouGoTemplate" and routed["amountPaid"] == "1000"  # as payments-py routes it
    one_line_error(run("plans", "order-pay-as-you-go-plan", native["planId"], "--yes", account="subscriber"), 3,
                   "not a pay-as-you-go plan")


def test_trial_plan_reordered_reverts_with_the_decoded_error(run, who, book, devnet):
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 1)
    trial = register(run, erc20_price(run, who, book, 1000), credits, "register-credits-trial-plan")
    ok(run("plans", "order-plan", trial["planId"], "--yes", "-f", "json", account="subscriber"))
    before = nonce(devnet, "subscriber")
    one_line_error(run("plans", "order-plan", trial["planId"], "--yes", account="subscriber"), 4, "reverted",
                   "CreatorAlreadyCreatedAgreement")
    assert nonce(devnet, "subscriber") == before


def test_fiat_orders_go_through_the_rest_api(run, who, devnet):
    from tests.rest.fake_backend import FakeBackend, start
    from tests.rest.helpers import make_key

    fiat_price = json.dumps(ok(run("plans", "get-fiat-price-config", "--amount", 2_000_000, "--receiver",
                                   who["builder"], "-f", "json")))
    fiat = register(run, fiat_price, credits_json(run, "get-fixed-credits-config", "--credits-granted", 5))
    one_line_error(run("plans", "order-fiat-plan", fiat["planId"], account="subscriber"), 7, "NVM_API_KEY")
    one_line_error(run("plans", "order-plan", fiat["planId"], "--yes", account="subscriber"), 3, "fiat price")

    backend = FakeBackend()
    server, thread = start(backend)
    try:
        rest = {"NVM_API_KEY": make_key("sandbox"), "NVM_ENVIRONMENT": "custom", "NVM_BACKEND_URL": backend.url}
        dry = ok(run("plans", "order-fiat-plan", fiat["planId"], "--dry-run", "-f", "json", env=rest))
        assert dry["dryRun"] is True and backend.requests == []
        result = run("plans", "order-fiat-plan", fiat["planId"], "-f", "json", env=rest, account="subscriber")
        checkout = ok(result)
        assert checkout["planId"] == fiat["planId"] and checkout["checkoutUrl"].startswith("https://checkout.stripe")
        assert backend.requests[-1].body == {"planId": fiat["planId"], "sessionType": "embedded"}
        assert "checkout URL" in result.stderr
        merged = run("plans", "get-plan", fiat["planId"], "-f", "json", env=rest)  # the backend does not know it
        assert json.loads(merged.stdout)["planId"] == fiat["planId"] and merged.exit_code == 0
        assert merged.stderr.startswith("warning:") and len(merged.stderr.strip().splitlines()) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------- credits


def test_mint_allow_burner_redeem_burn_revoke(run, who, credits_plan):
    pid = credits_plan["planId"]
    mint = ok(run("plans", "mint-plan-credits", pid, "--credits-amount", 50, "--credits-receiver", who["subscriber"],
                  "-f", "json"))
    assert (mint["planId"], mint["creditsAmount"], mint["creditsReceiver"]) == (pid, "50", who["subscriber"])

    refused = run("plans", "redeem-credits", pid, "--redeem-from", who["subscriber"], "--credits-amount", 5,
                  account="agent")
    # refused by the read-only permission check before signing, nothing sent: exit code 3
    one_line_error(refused, 3, "ONLY_PLAN_ROLE", "allow_burner")
    allowed = ok(run("plans", "allow-burner", pid, "--burner", who["agent"], "-f", "json"))
    assert allowed["allowed"] is True and allowed["burner"] == who["agent"]
    redeemed = ok(run("plans", "redeem-credits", pid, "--redeem-from", who["subscriber"], "--credits-amount-to-redeem",
                      5, "-f", "json", account="agent"))
    assert (redeemed["burned"], redeemed["holder"], redeemed["burner"]) == ("5", who["subscriber"], who["agent"])
    burned = ok(run("plans", "burn-credits", pid, "--credits-amount", 3, "-f", "json", account="subscriber"))
    assert burned["burned"] == "3" and burned["holder"] == who["subscriber"]
    assert ok(run("plans", "get-plan-balance", pid, "--account-address", who["subscriber"], "-f", "json"))["balance"] \
        == "42"

    revoked = ok(run("plans", "revoke-burner", pid, "--burner", who["agent"], "-f", "json"))
    assert revoked["allowed"] is False
    again = run("plans", "redeem-credits", pid, "--redeem-from", who["subscriber"], "--credits-amount", 1,
                account="agent")
    one_line_error(again, 3, "ONLY_PLAN_ROLE")


def test_writes_by_the_wrong_account_revert_with_the_decoded_error(run, who, credits_plan, devnet):
    pid = credits_plan["planId"]
    before = nonce(devnet, "subscriber")
    one_line_error(run("plans", "mint-plan-credits", pid, "--credits-amount", 1, "--credits-receiver",
                       who["subscriber"], account="subscriber"), 4, "reverted", "InvalidRole")
    one_line_error(run("plans", "allow-burner", pid, "--burner", who["agent"], account="subscriber"), 4,
                   "OnlyOwnerCanAllowBurn")
    assert nonce(devnet, "subscriber") == before


def test_mint_expirable_on_a_time_plan(run, who, book):
    timed = credits_json(run, "get-expirable-duration-config", "--duration-of-plan", 3600)
    plan = register(run, erc20_price(run, who, book), timed, "register-time-plan")
    minted = ok(run("plans", "mint-plan-expirable", plan["planId"], "--credits-amount", 4, "--credits-receiver",
                    who["agent"], "--credits-duration", 600, "-f", "json"))
    assert minted["creditsDuration"] == "600" and minted["expiresAt"] is not None
    assert minted["creditsContract"] == book["NFT1155ExpirableCreditsV2"]
    balance = ok(run("plans", "get-plan-balance", plan["planId"], "--account-address", who["agent"], "-f", "json"))
    assert balance["balance"] == "4" and balance["planType"] == "time"

    counted = register(run, erc20_price(run, who, book), credits_json(run, "get-fixed-credits-config",
                                                                      "--credits-granted", 1))
    one_line_error(run("plans", "mint-plan-expirable", counted["planId"], "--credits-amount", 1,
                       "--credits-receiver", who["agent"]), 3, "not an expirable credits contract")


def test_agents_associated_to_a_plan(run, who, credits_plan, devnet):
    pid = credits_plan["planId"]
    assert ok(run("plans", "get-agents-associated-to-a-plan", pid, "-f", "json"))["agents"] == []
    sim = devnet.sim
    client = NvmChain(sim.w3, sim.book, sim.account("agent").signer, network="local")
    agent = client.agents.register_agent({"name": "weather"}, {"agent_definition_url": "https://a.example/def"}, [pid])
    listed = ok(run("plans", "get-agents-associated-to-a-plan", pid, "-f", "json", account=None))
    assert listed["planId"] == pid and listed["total"] == 1
    assert listed["agents"][0]["agentId"] == str(agent.agent_id) and listed["agents"][0]["owner"] == who["agent"]
    assert pid in listed["agents"][0]["plans"]
    table = run("plans", "get-agents-associated-to-a-plan", pid)
    assert table.exit_code == 0 and str(agent.agent_id) in table.stdout


# ---------------------------------------------------------------------------------------------- dry run, lookups


def test_dry_run_sends_nothing(run, who, book, credits_plan, devnet):
    price = erc20_price(run, who, book)
    credits = credits_json(run, "get-fixed-credits-config", "--credits-granted", 5)
    pid = credits_plan["planId"]
    builder, subscriber = nonce(devnet, "builder"), nonce(devnet, "subscriber")
    ids_before = ok(run("plans", "get-plans", "--offset", 1000, "-f", "json"))["total"]

    dry = ok(run("plans", "register-credits-plan", "--price-config", price, "--credits-config", credits, "--dry-run",
                 "-f", "json"))
    assert dry["dryRun"] is True and dry["to"] == book["AssetsRegistry"] and "createPlan" in dry["wouldSend"]
    dry = ok(run("plans", "order-plan", pid, "--dry-run", "-f", "json", account="subscriber"))  # no --yes needed
    assert dry["dryRun"] is True
    dry = ok(run("plans", "mint-plan-credits", pid, "--credits-amount", 9, "--credits-receiver", who["agent"],
                 "--dry-run", "-f", "json"))
    assert dry["to"] == book["NFT1155Credits"]
    result = run("plans", "--dry-run", "allow-burner", pid, "--burner", who["agent"])  # on the group works too
    assert result.exit_code == 0 and "nothing was signed or sent" in result.stderr

    assert (nonce(devnet, "builder"), nonce(devnet, "subscriber")) == (builder, subscriber)
    assert ok(run("plans", "get-plans", "--offset", 1000, "-f", "json"))["total"] == ids_before
    assert ok(run("plans", "get-plan-balance", pid, "--account-address", who["agent"], "-f", "json"))["balance"] == "0"


def test_unknown_plan_and_missing_address_book(run, who, tmp_path):
    # an unknown plan is invalid input, found before anything is signed: exit code 3
    one_line_error(run("plans", "get-plan", "12345"), 3, "12345", "not found")
    one_line_error(run("plans", "burn-credits", "12345", "--credits-amount", 1), 3, "not found")
    one_line_error(run("plans", "get-plan", "not-an-id"), 3, "id")

    missing = {"NVM_ADDRESS_BOOK": str(tmp_path / "absent.json")}
    one_line_error(run("plans", "get-plan", "1", env=missing), 7, "address book not found")
    one_line_error(run("plans", "get-pay-as-you-go-price-config", "--amount", 1, "--receiver", who["builder"],
                       "--no-fees", env=missing), 7, "address book")
    one_line_error(run("plans", "get-plans", env={"NVM_ADDRESS_BOOK": ""}), 7, "address_book")


# ---------------------------------------------------------------------------------------------- real subprocesses


@pytest.mark.slow  # one cold CLI process per command; the same commands run in-process above
def test_subprocess_register_order_balance_keep_stdout_for_data(devnet, who, book):
    def nvm(account, *args):
        env = {**os.environ, **devnet.env(account)}
        return subprocess.run([sys.executable, "-m", "nvm_chain.cli", "plans", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=60)

    price = nvm("builder", "get-erc20-price-config", "--amount", 2_000_000, "--receiver", who["builder"],
                "--token-address", book["MockERC20"], "--format", "json")
    assert price.returncode == 0 and "fee receiver" in price.stderr
    credits = {"isRedemptionAmountFixed": True, "redemptionType": 4, "onchainMirror": True, "durationSecs": "0",
               "amount": "20", "minAmount": "1", "maxAmount": "1"}
    reg = nvm("builder", "register-credits-plan", "--price-config", price.stdout, "--credits-config",
              json.dumps(credits), "--plan-metadata", '{"name": "sub"}', "--format", "json")
    assert reg.returncode == 0 and "not stored on chain" in reg.stderr
    pid = json.loads(reg.stdout)["planId"]  # stdout is the data and nothing else

    refused = nvm("subscriber", "order-plan", pid, "--format", "json")
    assert refused.returncode == 8 and refused.stdout == "" and "--yes" in refused.stderr
    order = nvm("subscriber", "order-plan", pid, "--yes", "--format", "json")
    assert order.returncode == 0, order.stderr
    assert json.loads(order.stdout)["creditsReceived"] == 20
    balance = nvm("subscriber", "get-plan-balance", pid, "--format", "json")
    assert balance.returncode == 0 and json.loads(balance.stdout)["balance"] == "20" and balance.stderr == ""
