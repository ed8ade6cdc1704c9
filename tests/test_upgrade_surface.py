"""The proxy/upgrade surface of the v1.5.0 UUPS contracts (protocol-v1.5.md §2.0) and our LinearPricing (§2.18).

Selectors and topics are the literals of the spec, so a renamed or retyped declaration fails here.
"""

from __future__ import annotations

import eth_abi
import pytest

from nvm_chain.chain.abi import registry, selector, signature, topic0
from nvm_chain.chain.contracts import Contracts
from nvm_chain.chain.networks import bundled_address_book
from tests.support import ZERO

UUPS_CONTRACTS = ("AgreementsStore", "AssetsRegistry", "DistributePaymentsCondition", "FiatPaymentTemplate",
                  "FiatSettlementCondition", "FixedPaymentTemplate", "LockPaymentCondition", "NFT1155Credits",
                  "NFT1155ExpirableCredits", "NFT1155ExpirableCreditsV2", "NVMConfig", "OneTimeCreatorHook",
                  "PayAsYouGoTemplate", "PaymentsVault", "ProtocolStandardFees", "TransferCreditsCondition")
ADDRESS = "0x00000000000000000000000000000000DeaDBeef"
SLOT = bytes.fromhex("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc")

# selector, name, argument types, argument values, decoded arguments by name (§2.0 error table)
ERRORS = [
    ("4c9c8ce3", "ERC1967InvalidImplementation", ["address"], [ADDRESS], {"implementation": ADDRESS}),
    ("b398979f", "ERC1967NonPayable", [], [], {}),
    ("e07c8dba", "UUPSUnauthorizedCallContext", [], [], {}),
    ("aa1d49a4", "UUPSUnsupportedProxiableUUID", ["bytes32"], [SLOT], {"slot": SLOT}),
    ("d6bda275", "FailedCall", [], [], {}),
    ("9996b315", "AddressEmptyCode", ["address"], [ADDRESS], {"target": ADDRESS}),
    ("f92ee8a9", "InvalidInitialization", [], [], {}),
    ("d7e6bcf8", "NotInitializing", [], [], {}),
    ("068ca9d8", "AccessManagedUnauthorized", ["address"], [ADDRESS], {"caller": ADDRESS}),
    ("c2f31e5e", "AccessManagedInvalidAuthority", ["address"], [ADDRESS], {"authority": ADDRESS}),
    ("af77169d", "AccessManagedRequiredDelay", ["address", "uint32"], [ADDRESS, 86_400],
     {"caller": ADDRESS, "delay": 86_400}),
    ("8cd60291", "AuthorityCannotBeZero", [], [], {}),
]


@pytest.mark.parametrize("sel, name, types, values, args", ERRORS, ids=[e[1] for e in ERRORS])
def test_upgrade_surface_errors_decode_by_name_with_their_arguments(sel, name, types, values, args):
    reason = registry().decode_revert(bytes.fromhex(sel) + eth_abi.encode(types, values))
    assert reason is not None and (reason.name, reason.args) == (name, args)


@pytest.mark.parametrize("contract", UUPS_CONTRACTS)
def test_every_uups_contract_exposes_the_upgrade_functions_and_events(contract):
    abi = registry()[contract].abi
    functions = {"0x" + selector(e).hex(): signature(e) for e in abi if e["type"] == "function"}
    events = {"0x" + topic0(e).hex(): signature(e) for e in abi if e["type"] == "event"}
    assert {k: functions.get(k) for k in ("0xad3cb1cc", "0x52d1902d", "0x4f1ef286")} == {
        "0xad3cb1cc": "UPGRADE_INTERFACE_VERSION()", "0x52d1902d": "proxiableUUID()",
        "0x4f1ef286": "upgradeToAndCall(address,bytes)"}
    assert events.get("0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b") == "Upgraded(address)"
    assert events.get("0xc7f505b2f371ae2175ee4913f4499e1f2633a7b5936321eed1cdaeb6115181d2") == "Initialized(uint64)"


def test_proxiable_uuid_reverts_as_through_the_proxy(proto):
    err = proto.reverts(proto.sim.account("builder"), "AssetsRegistry", "proxiableUUID")
    assert (err.error_name, err.error_args) == ("UUPSUnauthorizedCallContext", {})
    assert proto.call("AssetsRegistry", "UPGRADE_INTERFACE_VERSION") == "5.0.0"


def test_upgrade_is_refused_to_a_stranger_and_checks_the_new_implementation(proto):
    stranger = proto.sim.account("subscriber")
    err = proto.reverts(stranger, "NFT1155Credits", "upgradeToAndCall", proto.addr("NFT1155Credits"), b"")
    assert (err.error_name, err.error_args) == ("AccessManagedUnauthorized", {"caller": stranger.address})
    admin = proto.sim.owner
    no_code = proto.reverts(admin, "NFT1155Credits", "upgradeToAndCall", ADDRESS, b"")
    assert (no_code.error_name, no_code.error_args) == ("ERC1967InvalidImplementation", {"implementation": ADDRESS})
    token = proto.addr("MockERC20")  # code, but no proxiableUUID
    not_uups = proto.reverts(admin, "NFT1155Credits", "upgradeToAndCall", token, b"")
    assert (not_uups.error_name, not_uups.error_args) == ("ERC1967InvalidImplementation", {"implementation": token})
    # another protocol contract answers proxiableUUID as a proxy does (revert): refused like an upgrade to a proxy
    proxy = proto.addr("AgreementsStore")
    to_proxy = proto.reverts(admin, "NFT1155Credits", "upgradeToAndCall", proxy, b"")
    assert (to_proxy.error_name, to_proxy.error_args) == ("ERC1967InvalidImplementation", {"implementation": proxy})


# ------------------------------------------------------------------------------------------------ LinearPricing


def test_linear_pricing_artifact_has_the_surface_of_the_spec_and_binds_to_the_address_books():
    abi = registry()["LinearPricing"].abi
    have = {"0x" + (topic0(e) if e["type"] == "event" else selector(e)).hex(): signature(e)
            for e in abi if e["type"] in ("function", "event", "error")}
    spec = {
        "0x911303b4": "assetsRegistry()", "0x924ba506": "increment(uint256,uint256)", "0xb1620616": "plans(uint256)",
        "0xd9ae93d2": "purchased(uint256)", "0xed1bd76c": "quote(uint256)",
        "0xa9cdf441": "setPlan(uint256,uint256,uint256,address[],uint256[])",
        "0xcf5724c3124ae54b75ac4a7395f9a902ee57a18d2ad415021ee3ffe293587b4f": "PriceQuoted(uint256,address,uint256[])",
        "0x107026b4": "InvalidAssetsRegistry()", "0x0b637d7a": "InvalidReceivers()", "0x84677ce8": "InvalidWeights()",
        "0xb3aee5e2": "NotPlanOwner(uint256,address)", "0xde8a482d": "PriceCalculationFailed(uint256,string)",
        "0x5ad61bb4": "UnsupportedPlanId(uint256)",
    }
    assert have == spec
    for network in ("base", "base-sepolia"):
        book = bundled_address_book(network)
        assert Contracts(book).LinearPricing.address == book["LinearPricing"]


def test_a_linear_price_plan_is_quoted_locked_and_paid_by_weight(fee_proto):
    p = fee_proto
    builder, agent, buyer = (p.sim.account(n) for n in ("builder", "agent", "subscriber"))
    pricing = p.addr("LinearPricing")
    price = (True, p.addr("MockERC20"), [0, 0], [builder.address, agent.address], pricing, ZERO, ZERO)
    credits = (True, 4, True, 0, 10, 1, 1, p.addr("NFT1155Credits"))
    receipt = p.send(builder, "AssetsRegistry", "createPlan", price, credits, 1)
    plan = receipt.events_named("PlanRegistered")[0].args["planId"]

    err = p.reverts(agent, "LinearPricing", "setPlan", plan, 1000, 10, [builder.address], [1])
    assert (err.error_name, err.error_args) == ("NotPlanOwner", {"planId": plan, "caller": agent.address})
    err = p.reverts(builder, "LinearPricing", "setPlan", plan, 1000, 10, [builder.address], [0])
    assert err.error_name == "InvalidWeights"
    p.send(builder, "LinearPricing", "setPlan", plan, 1000, 10, [builder.address, agent.address], [3, 1])
    p.send(builder, "LinearPricing", "increment", plan, 5)
    assert p.call("LinearPricing", "quote", plan) == (788, 262)  # 1050 by weight 3:1, remainder first
    assert p.call("LinearPricing", "plans", plan) == (1000, 10)

    p.send(buyer, "MockERC20", "approve", p.addr("PaymentsVault"), 1050)
    before = [p.call("MockERC20", "balanceOf", a.address) for a in (builder, agent, buyer)]
    p.send(buyer, "FixedPaymentTemplate", "order", b"\x07" * 32, plan, buyer.address, 1, [])
    after = [p.call("MockERC20", "balanceOf", a.address) for a in (builder, agent, buyer)]
    assert [a - b for a, b in zip(after, before)] == [788, 262, -1050]
    assert p.call("NFT1155Credits", "balanceOf", buyer.address, plan) == 10


def test_linear_pricing_refuses_unknown_plans(proto):
    assert proto.call("LinearPricing", "assetsRegistry") == proto.addr("AssetsRegistry")
    err = proto.reverts(proto.sim.account("builder"), "LinearPricing", "quote", 42)
    assert (err.error_name, err.error_args) == ("UnsupportedPlanId", {"planId": 42})
    err = proto.reverts(proto.sim.account("builder"), "LinearPricing", "setPlan", 42, 1, 1, [ADDRESS], [1])
    assert (err.error_name, err.error_args) == ("UnsupportedPlanId", {"planId": 42})
