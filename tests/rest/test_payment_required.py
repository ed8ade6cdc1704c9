"""PaymentRequired builder: the exact wire shape (nulls kept), networks by scheme/environment, validation."""

from __future__ import annotations

import json

import pytest

from nvm_chain.errors import ValidationError
from nvm_chain.rest import (
    build_payment_required,
    build_payment_required_for_plans,
    default_network,
)

from .fake_backend import AGENT_ID, PLAN_ID


def test_defaults_keep_nulls_on_the_wire() -> None:
    assert build_payment_required(PLAN_ID).to_wire() == {
        "x402Version": 2,
        "error": None,
        "resource": {"url": "", "description": None, "mimeType": None},
        "accepts": [{"scheme": "nvm:erc4337", "network": "eip155:84532", "planId": PLAN_ID,
                     "extra": {"version": "1", "agentId": None, "httpVerb": None}}],
        "extensions": {},
    }


def test_all_fields_and_ids_as_decimal_strings() -> None:
    required = build_payment_required(
        int(PLAN_ID), endpoint="https://agent.example/x", agent_id=hex(int(AGENT_ID)), http_verb="POST",
        description="forecast", mime_type="application/json", environment="live")
    wire = required.to_wire()
    assert wire["resource"] == {"url": "https://agent.example/x", "description": "forecast",
                                "mimeType": "application/json"}
    assert wire["accepts"][0]["network"] == "eip155:8453"
    assert wire["accepts"][0]["extra"] == {"version": "1", "agentId": AGENT_ID, "httpVerb": "POST"}
    assert json.loads(json.dumps(wire))["accepts"][0]["planId"] == PLAN_ID  # a string, never a 2^256 JSON number
    assert required.accepts[0].plan_id == int(PLAN_ID)


@pytest.mark.parametrize(
    ("scheme", "environment", "network"),
    [("nvm:erc4337", None, "eip155:84532"), ("nvm:erc4337", "sandbox", "eip155:84532"),
     ("nvm:erc4337", "staging_live", "eip155:8453"), ("nvm:card-delegation", "live", "stripe")],
)
def test_default_network(scheme: str, environment: str | None, network: str) -> None:
    assert default_network(scheme, environment) == network
    required = build_payment_required(1, scheme=scheme, environment=environment)  # type: ignore[arg-type]
    assert required.accepts[0].network == network
    assert build_payment_required(1, scheme=scheme, network="braintree").accepts[0].network == "braintree"  # type: ignore[arg-type]


def test_one_accepts_entry_per_plan() -> None:
    wire = build_payment_required_for_plans([1, "2", "0x3"], agent_id=9).to_wire()
    assert [a["planId"] for a in wire["accepts"]] == ["1", "2", "3"]
    assert {a["extra"]["agentId"] for a in wire["accepts"]} == {"9"}


@pytest.mark.parametrize(
    "kwargs", [{"plan_id": "x"}, {"plan_id": 1, "scheme": "exact"}, {"plan_id": 1, "agent_id": -2}]
)
def test_invalid_input(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        build_payment_required(**kwargs)


def test_no_plans() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        build_payment_required_for_plans([])
