"""The deployer: wiring, fees, funding, bad input, and the same suite on a real node (anvil)."""

from __future__ import annotations

import os

import pytest
from web3 import Web3

from nvm_chain.chain.networks import AddressBook
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import (
    ChainMismatchError,
    ConfigurationError,
    ContractRevertError,
    DeploymentError,
    ValidationError,
)
from nvm_chain.sim import EmbeddedChain, RpcChain, Simulation, deploy_protocol
from nvm_chain.sim.accounts import GENESIS_KEY, test_account
from nvm_chain.sim.deploy import (
    CONTRACT_TEMPLATE_ROLE,
    CREDITS_BURNER_ROLE,
    CREDITS_MINTER_ROLE,
    DEPLOY_ORDER,
    DEPOSITOR_ROLE,
    FIAT_SETTLEMENT_ROLE,
    GOVERNOR_ROLE,
    TARGET_ROLES,
    WITHDRAW_ROLE,
    create_address,
)
from tests.anvil import ANVIL, ANVIL_KEY, Anvil
from tests.support import ZERO, Protocol


def test_address_book_has_the_published_shape_and_every_contract(proto):
    book = proto.book.to_json()
    assert set(book) == {"chainId", "version", "blockNumber", "contracts"}
    assert book["chainId"] == proto.w3.eth.chain_id and book["version"] == "1.5.0"
    # blockNumber is the block of the first deployment: the first contract has no code just before it
    first = book["contracts"][DEPLOY_ORDER[0][0]]
    assert proto.w3.eth.get_code(first, book["blockNumber"] - 1) == b""
    assert len(proto.w3.eth.get_code(first, book["blockNumber"])) > 0
    assert set(book["contracts"]) == {name for name, _ in DEPLOY_ORDER}
    for address in book["contracts"].values():
        assert len(proto.w3.eth.get_code(address)) > 0
    assert AddressBook.model_validate(book) == proto.book


def test_create_address_matches_the_deployed_contracts(proto):
    first = create_address(proto.sim.owner.address, 0)
    assert first == proto.book["AccessManager"]


@pytest.mark.parametrize(("role", "holder"), [
    (CONTRACT_TEMPLATE_ROLE, "FixedPaymentTemplate"),
    (CONTRACT_TEMPLATE_ROLE, "PayAsYouGoTemplate"),
    (CONTRACT_TEMPLATE_ROLE, "FiatPaymentTemplate"),
    (DEPOSITOR_ROLE, "LockPaymentCondition"),
    (WITHDRAW_ROLE, "DistributePaymentsCondition"),
    (CREDITS_MINTER_ROLE, "TransferCreditsCondition"),
])
def test_roles_are_granted_to_the_protocol_contracts(proto, role, holder):
    assert proto.call("AccessManager", "hasRole", role, proto.addr(holder)) == (True, 0)


def test_accounts_get_their_roles_and_no_more(proto):
    governor, settler, subscriber = (proto.sim.account(n).address for n in ("governor", "settler", "subscriber"))
    assert proto.call("AccessManager", "hasRole", GOVERNOR_ROLE, governor) == (True, 0)
    assert proto.call("AccessManager", "hasRole", FIAT_SETTLEMENT_ROLE, settler) == (True, 0)
    for role in (GOVERNOR_ROLE, FIAT_SETTLEMENT_ROLE, CREDITS_BURNER_ROLE, CREDITS_MINTER_ROLE):
        assert proto.call("AccessManager", "hasRole", role, subscriber) == (False, 0)


def test_restricted_selectors_are_mapped_to_their_roles(proto):
    from eth_utils import keccak

    for contract, sigs, role in TARGET_ROLES:
        for sig in sigs:
            got = proto.call("AccessManager", "getTargetFunctionRole", proto.addr(contract), keccak(text=sig)[:4])
            assert got == role, (contract, sig)


def test_accounts_are_funded_with_eth_and_both_tokens(proto):
    for account in proto.sim.accounts.values():
        assert proto.balance(account.address) >= 999 * 10**18
        for token in ("MockERC20", "MockEIP3009Token"):
            assert proto.call(token, "balanceOf", account.address) == 10**24


def test_fees_are_off_by_default_and_on_when_asked(proto, fee_proto):
    assert proto.call("NVMConfig", "getFeeReceiver") == ZERO
    assert fee_proto.call("NVMConfig", "getFeeReceiver") == fee_proto.sim.account("fee_receiver").address
    assert fee_proto.call("ProtocolStandardFees", "getFeeRates") == (100, 200, 10_000)


def test_snapshot_and_time_travel(proto):
    chain = proto.sim.chain
    start = chain.now()
    snap = chain.snapshot()
    assert chain.travel(3600) == start + 3600
    chain.revert(snap)
    assert chain.now() == start


def test_unknown_account_name_is_a_clear_error(proto):
    with pytest.raises(ConfigurationError, match="unknown account 'nobody'.*builder"):
        proto.sim.account("nobody")


def test_fees_without_a_fee_receiver_account_is_refused():
    with pytest.raises(ConfigurationError, match="fee_receiver"):
        Simulation.start(fees=True, accounts=("builder",))


def test_wrong_chain_is_refused_before_anything_is_signed():
    chain = EmbeddedChain()
    with pytest.raises(ChainMismatchError, match="expected 8453"):
        deploy_protocol(chain.w3, LocalSigner(GENESIS_KEY), chain_id=8453)
    assert chain.w3.eth.get_transaction_count(LocalSigner(GENESIS_KEY).address) == 0


@pytest.mark.parametrize("kwargs", [
    {"fund": ["0x1234"]},
    {"fee_receiver": "not-an-address"},
    {"eth_per_account": 1.5},
    {"tokens_per_account": -1},
])
def test_bad_deployer_input_is_refused_before_sending(kwargs):
    chain = EmbeddedChain()
    with pytest.raises(ValidationError):
        deploy_protocol(chain.w3, LocalSigner(GENESIS_KEY), **kwargs)
    assert chain.w3.eth.get_transaction_count(LocalSigner(GENESIS_KEY).address) == 0


def test_missing_artifact_is_a_clear_error(monkeypatch):
    from nvm_chain.chain import abi

    reduced = abi.AbiRegistry({k: v for k, v in abi.registry().artifacts.items() if k != "PaymentsVault"})
    monkeypatch.setattr("nvm_chain.sim.deploy.registry", lambda: reduced)
    with pytest.raises(ConfigurationError, match="PaymentsVault"):
        deploy_protocol(EmbeddedChain().w3, LocalSigner(GENESIS_KEY))


def test_an_owner_without_funds_is_refused_before_sending():
    poor = test_account("poor")  # no ETH at all
    chain = EmbeddedChain()
    with pytest.raises(DeploymentError, match=f"owner {poor.address} holds 0 wei"):
        deploy_protocol(chain.w3, poor.signer)


def test_a_failing_deployment_step_names_the_step(monkeypatch):
    from nvm_chain.sim import deploy

    # granting the locked PUBLIC_ROLE makes the AccessManager multicall revert
    monkeypatch.setattr(deploy, "ROLE_GRANTS", (*deploy.ROLE_GRANTS, (deploy.PUBLIC_ROLE, ("TokenUtils",))))
    with pytest.raises(DeploymentError) as info:
        deploy_protocol(EmbeddedChain().w3, LocalSigner(GENESIS_KEY))
    assert "wire AccessManager roles reverted: AccessManagerLockedRole(roleId=18446744073709551615)" in str(info.value)


@pytest.mark.skipif(not ANVIL.exists(), reason="anvil not installed (run `npm install`)")
def test_the_same_deployer_and_protocol_run_on_anvil():
    node = Anvil()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, exception_retry_configuration=None))
        sim = Simulation.start(fees=True, chain=RpcChain(w3), owner=LocalSigner(ANVIL_KEY))
        p = Protocol(sim)
        assert w3.eth.chain_id == 31337 and sim.book.chain_id == 31337
        builder, subscriber = sim.account("builder"), sim.account("subscriber")
        fee_receiver = sim.account("fee_receiver").address
        price = (True, p.addr("MockERC20"), [990_000, 10_000], [builder.address, fee_receiver], ZERO, ZERO, ZERO)
        credits = (True, 1, True, 0, 100, 1, 1, p.addr("NFT1155Credits"))
        receipt = p.send(builder, "AssetsRegistry", "createPlan", price, credits, 1)
        plan = p.events(receipt, "PlanRegistered")[0].args["planId"]
        # a real node reports the custom error through ContractCustomError; it decodes the same way
        err = p.reverts(subscriber, "FixedPaymentTemplate", "order", os.urandom(32), plan, subscriber.address, 1, [])
        assert err.error_name == "ERC20InsufficientAllowance"
        assert err.error_args == {"spender": p.addr("PaymentsVault"), "allowance": 0, "needed": 1_000_000}
        p.send(subscriber, "MockERC20", "approve", p.addr("PaymentsVault"), 1_000_000)
        p.send(subscriber, "FixedPaymentTemplate", "order", os.urandom(32), plan, subscriber.address, 1, [])
        assert p.call("NFT1155Credits", "balanceOf", subscriber.address, plan) == 100
        assert p.call("MockERC20", "balanceOf", fee_receiver) == 10**24 + 10_000
        start = sim.chain.now()
        assert sim.chain.travel(100) >= start + 100
        with pytest.raises(ContractRevertError) as mined:  # a mined failure is replayed for its reason
            p.send(subscriber, "FixedPaymentTemplate", "order", os.urandom(32), plan, subscriber.address, 1, [],
                   gas=1_500_000)
        assert mined.value.error_name == "ERC20InsufficientAllowance" and mined.value.tx_hash
    finally:
        node.stop()
