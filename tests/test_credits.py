"""Behaviour of the credit contracts NFT1155Credits, NFT1155ExpirableCredits (V1) and NFT1155ExpirableCreditsV2.

Each rule is taken from docs/protocol.md (#credits, #enums, #roles) and from
docs/observed.md (#quirks, #expirable-credits); the expected numbers are the ones the real
v1.5.0 contracts produced. Every test runs on the ``proto`` fixture (fees off), reverted by snapshot afterwards,
so roles granted here never leak into another test.

Custom errors are compared by name and by their arguments in declaration order: the decoder names arguments
after whichever bundled ABI declares the selector (InvalidRole comes back as ``addr``/``expectedRole``), so the
positional values are what the contract actually reverted with.
"""

from __future__ import annotations

import itertools

import pytest
from eth_abi import encode
from eth_utils import keccak

from nvm_chain.errors import ContractRevertError
from nvm_chain.sim.deploy import CREDITS_BURNER_ROLE, CREDITS_MINTER_ROLE
from tests.support import ZERO

CREDITS_TRANSFER_ROLE = 11914029060103770296
NEVER = 2**256 - 1  # V2 bucket of credits minted with duration 0
UNKNOWN_PLAN = int.from_bytes(keccak(text="no such plan"), "big")

CREDITS = "NFT1155Credits"
V1 = "NFT1155ExpirableCredits"
V2 = "NFT1155ExpirableCreditsV2"
NFTS = (CREDITS, V1, V2)
EXPIRABLE = (V1, V2)

ONLY_GLOBAL_ROLE, ONLY_OWNER, ONLY_PLAN_ROLE, OWNER_OR_GLOBAL_ROLE, ONLY_SUBSCRIBER = range(5)
RTYPE_NAMES = ("ONLY_GLOBAL_ROLE", "ONLY_OWNER", "ONLY_PLAN_ROLE", "OWNER_OR_GLOBAL_ROLE", "ONLY_SUBSCRIBER")

FREE_PRICE = (True, ZERO, [], [], ZERO, ZERO, ZERO)
_nonces = itertools.count(1)


# ---------------------------------------------------------------------------------------------------- helpers


def assert_error(err: ContractRevertError, name: str, *args) -> None:
    """The revert decoded to custom error ``name`` with exactly ``args`` (declaration order)."""
    assert (err.error_name, tuple(err.error_args.values())) == (name, args), str(err)


class Credits:
    """The protocol driver plus the accounts and the plan/mint/burn steps these tests repeat."""

    def __init__(self, p):
        self.p = p
        self.builder = p.sim.account("builder")  # owns the plans
        self.sub = p.sim.account("subscriber")  # holds the credits
        self.agent = p.sim.account("agent")  # gets roles / allowBurn in the tests that need them
        self.stranger = p.sim.account("relayer")  # never gets anything
        self.other_owner = p.sim.account("settler")  # owns a second plan where a test needs two owners

    # -- setup
    def plan(self, nft: str, *, rtype: int = ONLY_OWNER, fixed: bool = False, lo: int = 1, hi: int = 10,
             duration: int = 0, mirror: bool = True, owner=None) -> int:
        """Register a free plan whose credits live on ``nft``; returns the planId from PlanRegistered."""
        owner = owner or self.builder
        credits = (fixed, rtype, mirror, duration, 100, lo, hi, self.p.addr(nft))
        receipt = self.p.send(owner, "AssetsRegistry", "createPlan", FREE_PRICE, credits, next(_nonces))
        (event,) = self.p.events(receipt, "PlanRegistered")
        assert event.args["creator"] == owner.address and event.args["onchainMirror"] is mirror
        return event.args["planId"]

    def grant(self, role: int, who) -> None:
        self.p.send(self.p.sim.owner, "AccessManager", "grantRole", role, who.address, 0)

    def revoke(self, role: int, who) -> None:
        self.p.send(self.p.sim.owner, "AccessManager", "revokeRole", role, who.address)

    # -- actions
    def mint(self, nft: str, pid: int, value: int, *, to=None, by=None, secs: int | None = None):
        """4-argument mint, or the expirable 5-argument mint when ``secs`` is given."""
        to, by = to or self.sub, by or self.builder
        if secs is None:
            return self.p.send(by, nft, "mint", to.address, pid, value, b"", arity=4)
        return self.p.send(by, nft, "mint", to.address, pid, value, secs, b"", arity=5)

    def burn(self, nft: str, by, pid: int, amount: int, *, frm=None):
        return self.p.send(by, nft, "burn", (frm or self.sub).address, pid, amount, 0, b"")

    def burn_refused(self, nft: str, by, pid: int, amount: int, *, frm=None) -> ContractRevertError:
        return self.p.reverts(by, nft, "burn", (frm or self.sub).address, pid, amount, 0, b"")

    # -- reads
    def balance(self, nft: str, pid: int, who=None) -> int:
        return self.p.call(nft, "balanceOf", (who or self.sub).address, pid)

    def raw_balance(self, nft: str, pid: int, who=None) -> int:
        """The plain ERC-1155 ``_balances[id][account]`` (OZ ERC1155 keeps that mapping at storage slot 0)."""
        inner = keccak(encode(["uint256", "uint256"], [pid, 0]))
        slot = keccak(encode(["address", "bytes32"], [(who or self.sub).address, inner]))
        return int.from_bytes(self.p.w3.eth.get_storage_at(self.p.addr(nft), slot), "big")

    def stamp(self, receipt) -> int:
        return self.p.w3.eth.get_block(receipt.block_number)["timestamp"]

    def travel_to(self, timestamp: int) -> None:
        """Mine a block stamped exactly ``timestamp``: eth_call then runs at it, the next tx one second later."""
        assert self.p.sim.chain.travel(timestamp - self.p.sim.chain.now()) == timestamp

    def send_refused(self, who, contract: str, fn: str, *args, arity: int | None = None) -> ContractRevertError:
        """Mine the transaction and return its decoded revert (the send path, not an eth_call)."""
        with pytest.raises(ContractRevertError) as info:
            self.p.send(who, contract, fn, *args, arity=arity)
        assert info.value.tx_hash, "expected a mined, reverted transaction"
        return info.value

    # -- events
    def events(self, receipt, nft: str, name: str) -> list[dict]:
        return [e.args for e in self.p.events(receipt, name) if e.address == self.p.addr(nft)]

    def moved(self, receipt, nft: str, *, minted: bool) -> dict[int, int]:
        """Credits minted (from 0x0) or burned (to 0x0) per planId, from TransferSingle and TransferBatch."""
        side = "from" if minted else "to"
        out: dict[int, int] = {}
        for a in self.events(receipt, nft, "TransferSingle"):
            if a[side] == ZERO:
                out[a["id"]] = out.get(a["id"], 0) + a["value"]
        for a in self.events(receipt, nft, "TransferBatch"):
            if a[side] == ZERO:
                for i, v in zip(a["ids"], a["values"]):
                    out[i] = out.get(i, 0) + v
        return out


@pytest.fixture
def c(proto) -> Credits:
    return Credits(proto)


# ---------------------------------------------------------------------------------------------------- constants


def test_role_ids_are_the_low_64_bits_of_keccak_of_their_names():
    def role(name: str) -> int:
        return int.from_bytes(keccak(encode(["string"], [name]))[-8:], "big")

    assert role("CREDITS_MINTER_ROLE") == CREDITS_MINTER_ROLE == 331619801143826648
    assert role("CREDITS_BURNER_ROLE") == CREDITS_BURNER_ROLE == 16934877136143260882
    assert role("CREDITS_TRANSFER_ROLE") == CREDITS_TRANSFER_ROLE


# ---------------------------------------------------------------------------------------------------- mint


@pytest.mark.parametrize("nft", NFTS)
def test_plan_owner_mints_credits(c, nft):
    pid = c.plan(nft)
    receipt = c.mint(nft, pid, 7)
    assert c.events(receipt, nft, "TransferSingle") == [
        {"operator": c.builder.address, "from": ZERO, "to": c.sub.address, "id": pid, "value": 7}]
    if nft == V2:  # the 4-argument mint puts the credits in the never-expiring bucket
        assert c.events(receipt, nft, "Minted") == [
            {"_to": c.sub.address, "_planId": pid, "_value": 7, "_expiration": NEVER}]
    assert c.balance(nft, pid) == 7
    c.mint(nft, pid, 3)
    assert c.balance(nft, pid) == 10
    assert c.balance(nft, pid, c.builder) == 0


@pytest.mark.parametrize("nft", NFTS)
@pytest.mark.parametrize("who", ["stranger", "sub"])
def test_anyone_but_the_plan_owner_is_refused_minting(c, nft, who):
    pid = c.plan(nft)
    account = getattr(c, who)
    err = c.p.reverts(account, nft, "mint", account.address, pid, 5, b"", arity=4)
    assert_error(err, "InvalidRole", account.address, CREDITS_MINTER_ROLE)
    if nft in EXPIRABLE:
        err = c.p.reverts(account, nft, "mint", account.address, pid, 5, 3600, b"", arity=5)
        assert_error(err, "InvalidRole", account.address, CREDITS_MINTER_ROLE)
    err = c.send_refused(account, nft, "mint", account.address, pid, 5, b"", arity=4)
    assert_error(err, "InvalidRole", account.address, CREDITS_MINTER_ROLE)
    assert c.balance(nft, pid, account) == 0


@pytest.mark.parametrize("nft", NFTS)
def test_minter_role_is_global_across_plans_and_nft_contracts(c, nft):
    # two plans with different owners, both registered on a *different* NFT contract than the one minted on
    elsewhere = V2 if nft == CREDITS else CREDITS
    plans = [c.plan(elsewhere), c.plan(V1 if nft != V1 else V2, owner=c.other_owner)]
    for pid in plans:
        assert_error(c.p.reverts(c.agent, nft, "mint", c.sub.address, pid, 4, b"", arity=4),
                     "InvalidRole", c.agent.address, CREDITS_MINTER_ROLE)

    c.grant(CREDITS_MINTER_ROLE, c.agent)
    for pid in plans:
        receipt = c.mint(nft, pid, 4, by=c.agent)
        assert c.moved(receipt, nft, minted=True) == {pid: 4}
        assert c.balance(nft, pid) == 4
    if nft in EXPIRABLE:
        c.mint(nft, plans[0], 2, by=c.agent, secs=3600)
        assert c.balance(nft, plans[0]) == 6

    c.revoke(CREDITS_MINTER_ROLE, c.agent)
    assert_error(c.p.reverts(c.agent, nft, "mint", c.sub.address, plans[1], 1, b"", arity=4),
                 "InvalidRole", c.agent.address, CREDITS_MINTER_ROLE)


@pytest.mark.parametrize("nft", NFTS)
def test_mint_does_not_check_the_plans_nft_address(c, nft):
    pid = c.plan(CREDITS if nft != CREDITS else V2)
    c.mint(nft, pid, 5)
    assert c.balance(nft, pid) == 5


@pytest.mark.parametrize("nft", NFTS)
def test_owner_mints_on_a_plan_without_onchain_mirror(c, nft):
    pid = c.plan(nft, mirror=False)
    receipt = c.mint(nft, pid, 6)
    assert c.moved(receipt, nft, minted=True) == {pid: 6}
    assert c.balance(nft, pid) == 6


@pytest.mark.parametrize("nft", NFTS)
def test_mint_of_an_unknown_plan_reverts_plan_not_found(c, nft):
    c.grant(CREDITS_MINTER_ROLE, c.agent)  # the role does not make an unknown plan mintable
    for who in (c.builder, c.agent):
        assert_error(c.p.reverts(who, nft, "mint", c.sub.address, UNKNOWN_PLAN, 1, b"", arity=4),
                     "PlanNotFound", UNKNOWN_PLAN)
        assert_error(c.p.reverts(who, nft, "mintBatch", c.sub.address, [UNKNOWN_PLAN], [1], b"", arity=4),
                     "PlanNotFound", UNKNOWN_PLAN)
        if nft in EXPIRABLE:
            assert_error(c.p.reverts(who, nft, "mint", c.sub.address, UNKNOWN_PLAN, 1, 60, b"", arity=5),
                         "PlanNotFound", UNKNOWN_PLAN)
            assert_error(c.p.reverts(who, nft, "mintBatch", c.sub.address, [UNKNOWN_PLAN], [1], [60], b"",
                                     arity=5), "PlanNotFound", UNKNOWN_PLAN)


@pytest.mark.parametrize("nft", NFTS)
def test_plan_owner_mint_batch_mints_non_expiring_credits(c, nft):
    p1, p2 = c.plan(nft), c.plan(nft)
    receipt = c.p.send(c.builder, nft, "mintBatch", c.sub.address, [p1, p2], [3, 4], b"", arity=4)
    assert c.moved(receipt, nft, minted=True) == {p1: 3, p2: 4}
    if nft == V2:
        assert c.events(receipt, nft, "Minted") == [
            {"_to": c.sub.address, "_planId": p1, "_value": 3, "_expiration": NEVER},
            {"_to": c.sub.address, "_planId": p2, "_value": 4, "_expiration": NEVER}]
    c.p.sim.chain.travel(10 * 365 * 86400)
    assert c.p.call(nft, "balanceOfBatch", [c.sub.address, c.sub.address], [p1, p2]) == (3, 4)


@pytest.mark.parametrize("nft", NFTS)
def test_mint_batch_needs_every_plan_owned_or_the_minter_role(c, nft):
    mine, theirs = c.plan(nft), c.plan(nft, owner=c.other_owner)
    args = (c.sub.address, [mine, theirs], [2, 5], b"")
    assert_error(c.p.reverts(c.builder, nft, "mintBatch", *args, arity=4),
                 "InvalidRole", c.builder.address, CREDITS_MINTER_ROLE)
    assert_error(c.send_refused(c.builder, nft, "mintBatch", *args, arity=4),
                 "InvalidRole", c.builder.address, CREDITS_MINTER_ROLE)
    assert c.balance(nft, mine) == 0  # nothing of the batch was minted

    c.grant(CREDITS_MINTER_ROLE, c.agent)
    receipt = c.p.send(c.agent, nft, "mintBatch", *args, arity=4)
    assert c.moved(receipt, nft, minted=True) == {mine: 2, theirs: 5}
    assert (c.balance(nft, mine), c.balance(nft, theirs)) == (2, 5)


@pytest.mark.parametrize("nft", EXPIRABLE)
def test_mint_batch_length_mismatch_reverts_invalid_length(c, nft):
    p1, p2 = c.plan(nft), c.plan(nft)
    assert_error(c.p.reverts(c.builder, nft, "mintBatch", c.sub.address, [p1, p2], [1], b"", arity=4),
                 "InvalidLength", 2, 1)
    assert_error(c.p.reverts(c.builder, nft, "mintBatch", c.sub.address, [p1, p2], [1], [60, 60], b"",
                             arity=5), "InvalidLength", 2, 1)
    assert_error(c.p.reverts(c.builder, nft, "mintBatch", c.sub.address, [p1, p2], [1, 1], [60, 60, 60], b"",
                             arity=5), "InvalidLength", 2, 3)


@pytest.mark.parametrize("nft", EXPIRABLE)
def test_expiring_mint_batch_gives_each_lot_its_own_duration(c, nft):
    p1, p2 = c.plan(nft), c.plan(nft)
    receipt = c.p.send(c.builder, nft, "mintBatch", c.sub.address, [p1, p2, p1], [10, 5, 2], [3600, 0, 7200], b"",
                       arity=5)
    t = c.stamp(receipt)
    assert c.moved(receipt, nft, minted=True) == {p1: 12, p2: 5}
    if nft == V2:
        assert [(e["_planId"], e["_value"], e["_expiration"]) for e in c.events(receipt, nft, "Minted")] == [
            (p1, 10, t + 3600), (p2, 5, NEVER), (p1, 2, t + 7200)]
    assert (c.balance(nft, p1), c.balance(nft, p2)) == (12, 5)
    c.travel_to(t + 3600)
    assert (c.balance(nft, p1), c.balance(nft, p2)) == (2, 5)
    c.travel_to(t + 7200)
    assert (c.balance(nft, p1), c.balance(nft, p2)) == (0, 5)

    err = c.p.reverts(c.stranger, nft, "mintBatch", c.sub.address, [p1], [1], [60], b"", arity=5)
    assert_error(err, "InvalidRole", c.stranger.address, CREDITS_MINTER_ROLE)


@pytest.mark.parametrize("nft", EXPIRABLE)
def test_a_lot_is_expired_when_block_timestamp_equals_its_expiration(c, nft):
    pid = c.plan(nft, duration=3600)
    t = c.stamp(c.mint(nft, pid, 10, secs=3600))
    c.mint(nft, pid, 1, secs=0)
    c.travel_to(t + 3599)
    assert c.balance(nft, pid) == 11
    c.travel_to(t + 3600)
    assert c.balance(nft, pid) == 1


# ---------------------------------------------------------------------------------------------------- burn amount


@pytest.mark.parametrize("nft", NFTS)
def test_fixed_redemption_always_burns_min_amount(c, nft):
    one = c.plan(nft, fixed=True, lo=1, hi=10)
    three = c.plan(nft, fixed=True, lo=3, hi=10)
    c.mint(nft, one, 20)
    c.mint(nft, three, 20)
    assert c.moved(c.burn(nft, c.sub, one, 5), nft, minted=False) == {one: 1}
    assert c.balance(nft, one) == 19
    for asked in (5, 0, 1000):
        assert c.moved(c.burn(nft, c.builder, three, asked), nft, minted=False) == {three: 3}
    assert c.balance(nft, three) == 11


@pytest.mark.parametrize("nft", NFTS)
def test_dynamic_redemption_clamps_to_min_and_max(c, nft):
    pid = c.plan(nft, fixed=False, lo=1, hi=10)
    c.mint(nft, pid, 50)
    expected = 50
    for asked, burned in ((1000, 10), (0, 1), (4, 4)):
        receipt = c.burn(nft, c.sub, pid, asked)
        assert c.moved(receipt, nft, minted=False) == {pid: burned}
        expected -= burned
        assert c.balance(nft, pid) == expected


# ---------------------------------------------------------------------------------------------------- burn permission

BURNERS = ("holder", "owner", "global", "plan", "stranger")
# the redemption grids run on NFT1155Credits in the fast loop; the expirable contracts' legs (same rule) are slow
NFTS_FAST_FIRST = (CREDITS, *(pytest.param(nft, marks=pytest.mark.slow) for nft in EXPIRABLE))
ALLOWED = {
    ONLY_GLOBAL_ROLE: {"holder", "global"},
    ONLY_OWNER: {"holder", "owner"},
    ONLY_PLAN_ROLE: {"holder", "plan"},
    OWNER_OR_GLOBAL_ROLE: {"holder", "owner", "global"},
    ONLY_SUBSCRIBER: {"holder"},
}


@pytest.mark.parametrize("nft", NFTS_FAST_FIRST)
@pytest.mark.parametrize("rtype", range(5), ids=RTYPE_NAMES)
@pytest.mark.parametrize("kind", BURNERS)
def test_who_may_burn_the_subscribers_credits(c, nft, rtype, kind):
    pid = c.plan(nft, rtype=rtype)
    c.mint(nft, pid, 20)
    if kind == "global":
        c.grant(CREDITS_BURNER_ROLE, c.agent)
    elif kind == "plan":
        c.p.send(c.builder, nft, "allowBurn", c.agent.address, pid)
    burner = {"holder": c.sub, "owner": c.builder, "global": c.agent, "plan": c.agent, "stranger": c.stranger}[kind]

    if kind in ALLOWED[rtype]:
        receipt = c.burn(nft, burner, pid, 3)
        assert c.events(receipt, nft, "TransferSingle") == [
            {"operator": burner.address, "from": c.sub.address, "to": ZERO, "id": pid, "value": 3}]
        assert c.balance(nft, pid) == 17
    else:
        assert_error(c.burn_refused(nft, burner, pid, 3), "InvalidRedemptionPermission", pid, rtype, burner.address)
        assert_error(c.send_refused(burner, nft, "burn", c.sub.address, pid, 3, 0, b""),
                     "InvalidRedemptionPermission", pid, rtype, burner.address)
        assert c.balance(nft, pid) == 20


@pytest.mark.parametrize("nft", NFTS_FAST_FIRST)
@pytest.mark.parametrize("rtype", range(5), ids=RTYPE_NAMES)
def test_holder_with_too_small_a_balance_gets_the_permission_error(c, nft, rtype):
    pid = c.plan(nft, rtype=rtype)
    c.mint(nft, pid, 2)
    assert_error(c.burn_refused(nft, c.sub, pid, 5), "InvalidRedemptionPermission", pid, rtype, c.sub.address)
    assert c.balance(nft, pid) == 2


@pytest.mark.parametrize("nft", NFTS)
def test_permitted_burner_cannot_take_more_than_the_holder_has(c, nft):
    pid = c.plan(nft, rtype=ONLY_OWNER, lo=1, hi=10)
    c.mint(nft, pid, 3)
    err = c.burn_refused(nft, c.builder, pid, 10)
    if nft == CREDITS:
        assert_error(err, "ERC1155InsufficientBalance", c.sub.address, 3, 10, pid)
    else:
        assert_error(err, "NotEnoughCreditsToBurn", c.sub.address, pid, 10)
    assert c.balance(nft, pid) == 3


@pytest.mark.parametrize("nft", NFTS)
def test_allow_burn_and_revoke_burn_under_only_plan_role(c, nft):
    pid, other = c.plan(nft, rtype=ONLY_PLAN_ROLE), c.plan(nft, rtype=ONLY_PLAN_ROLE)
    c.mint(nft, pid, 20)
    c.mint(nft, other, 20)
    assert c.p.call(nft, "canBurn", c.agent.address, pid) is False
    assert_error(c.burn_refused(nft, c.agent, pid, 3), "InvalidRedemptionPermission", pid, ONLY_PLAN_ROLE,
                 c.agent.address)

    receipt = c.p.send(c.builder, nft, "allowBurn", c.agent.address, pid)
    assert c.events(receipt, nft, "BurnerAllowed") == [
        {"owner": c.builder.address, "burner": c.agent.address, "planId": pid}]
    assert c.p.call(nft, "canBurn", c.agent.address, pid) is True
    c.burn(nft, c.agent, pid, 3)
    assert c.balance(nft, pid) == 17
    # the plan owner itself stays refused, and the permission is per plan
    assert_error(c.burn_refused(nft, c.builder, pid, 3), "InvalidRedemptionPermission", pid, ONLY_PLAN_ROLE,
                 c.builder.address)
    assert c.p.call(nft, "canBurn", c.agent.address, other) is False
    assert_error(c.burn_refused(nft, c.agent, other, 3), "InvalidRedemptionPermission", other, ONLY_PLAN_ROLE,
                 c.agent.address)

    receipt = c.p.send(c.builder, nft, "revokeBurn", c.agent.address, pid)
    assert c.events(receipt, nft, "BurnerRevoked") == [
        {"owner": c.builder.address, "burner": c.agent.address, "planId": pid}]
    assert c.p.call(nft, "canBurn", c.agent.address, pid) is False
    assert_error(c.burn_refused(nft, c.agent, pid, 3), "InvalidRedemptionPermission", pid, ONLY_PLAN_ROLE,
                 c.agent.address)
    assert c.balance(nft, pid) == 17


@pytest.mark.parametrize("nft", NFTS)
@pytest.mark.parametrize("fn", ["allowBurn", "revokeBurn"])
def test_only_the_plan_owner_may_allow_or_revoke_burners(c, nft, fn):
    pid = c.plan(nft, rtype=ONLY_PLAN_ROLE)
    for who in (c.agent, c.sub):
        assert_error(c.p.reverts(who, nft, fn, c.agent.address, pid), "OnlyOwnerCanAllowBurn", who.address, pid)
    assert_error(c.send_refused(c.agent, nft, fn, c.agent.address, pid), "OnlyOwnerCanAllowBurn",
                 c.agent.address, pid)
    assert c.p.call(nft, "canBurn", c.agent.address, pid) is False


# ---------------------------------------------------------------------------------------------------- burnBatch


@pytest.mark.parametrize("nft", NFTS)
def test_burn_batch_is_restricted_to_credits_burner_role(c, nft):
    pid = c.plan(nft, rtype=ONLY_OWNER)
    c.mint(nft, pid, 10)
    args = (c.sub.address, [pid], [1], 0, b"")
    for who in (c.builder, c.stranger, c.sub):
        assert_error(c.p.reverts(who, nft, "burnBatch", *args), "AccessManagedUnauthorized", who.address)
    assert_error(c.send_refused(c.builder, nft, "burnBatch", *args), "AccessManagedUnauthorized", c.builder.address)

    c.grant(CREDITS_BURNER_ROLE, c.agent)
    c.p.send(c.agent, nft, "burnBatch", *args)
    assert c.balance(nft, pid) == 9
    c.revoke(CREDITS_BURNER_ROLE, c.agent)
    assert_error(c.p.reverts(c.agent, nft, "burnBatch", *args), "AccessManagedUnauthorized", c.agent.address)


@pytest.mark.parametrize("nft", NFTS)
def test_burn_batch_ignores_redemption_type_but_clamps_amounts(c, nft):
    subscriber_only = c.plan(nft, rtype=ONLY_SUBSCRIBER, lo=1, hi=10)
    plan_role_fixed = c.plan(nft, rtype=ONLY_PLAN_ROLE, fixed=True, lo=2, hi=10)
    foreign_owner = c.plan(nft, rtype=ONLY_OWNER, lo=1, hi=10, owner=c.other_owner)
    c.mint(nft, subscriber_only, 20)
    c.mint(nft, plan_role_fixed, 20)
    c.mint(nft, foreign_owner, 20, by=c.other_owner)
    c.grant(CREDITS_BURNER_ROLE, c.agent)

    ids = [subscriber_only, plan_role_fixed, foreign_owner]
    receipt = c.p.send(c.agent, nft, "burnBatch", c.sub.address, ids, [1000, 5, 0], 0, b"")
    assert c.moved(receipt, nft, minted=False) == {subscriber_only: 10, plan_role_fixed: 2, foreign_owner: 1}
    assert c.p.call(nft, "balanceOfBatch", [c.sub.address] * 3, ids) == (10, 18, 19)
    # the global role does not open the single burn of an ONLY_SUBSCRIBER plan
    assert_error(c.burn_refused(nft, c.agent, subscriber_only, 1), "InvalidRedemptionPermission",
                 subscriber_only, ONLY_SUBSCRIBER, c.agent.address)


@pytest.mark.parametrize("nft", NFTS)
def test_burn_batch_length_mismatch_and_unknown_plan(c, nft):
    p1, p2 = c.plan(nft), c.plan(nft)
    c.mint(nft, p1, 10)
    c.grant(CREDITS_BURNER_ROLE, c.agent)
    assert_error(c.p.reverts(c.agent, nft, "burnBatch", c.sub.address, [p1, p2], [1], 0, b""),
                 "InvalidLength", 2, 1)
    assert_error(c.p.reverts(c.agent, nft, "burnBatch", c.sub.address, [p1], [1, 1, 1], 0, b""),
                 "InvalidLength", 1, 3)
    assert_error(c.p.reverts(c.agent, nft, "burnBatch", c.sub.address, [p1, UNKNOWN_PLAN], [1, 1], 0, b""),
                 "PlanNotFound", UNKNOWN_PLAN)
    assert c.balance(nft, p1) == 10


# ---------------------------------------------------------------------------------------------------- transfers


@pytest.mark.parametrize("nft", NFTS)
def test_credits_cannot_be_transferred(c, nft):
    pid = c.plan(nft)
    c.mint(nft, pid, 5)
    c.p.send(c.sub, nft, "setApprovalForAll", c.agent.address, True)
    for who in (c.sub, c.agent, c.builder):
        err = c.p.reverts(who, nft, "safeTransferFrom", c.sub.address, c.agent.address, pid, 1, b"")
        assert_error(err, "InvalidRole", who.address, CREDITS_TRANSFER_ROLE)
        err = c.p.reverts(who, nft, "safeBatchTransferFrom", c.sub.address, c.agent.address, [pid], [1], b"")
        assert_error(err, "InvalidRole", who.address, CREDITS_TRANSFER_ROLE)
    err = c.send_refused(c.sub, nft, "safeTransferFrom", c.sub.address, c.agent.address, pid, 1, b"")
    assert_error(err, "InvalidRole", c.sub.address, CREDITS_TRANSFER_ROLE)
    assert (c.balance(nft, pid), c.balance(nft, pid, c.agent)) == (5, 0)


# ---------------------------------------------------------------------------------------------------- balanceOfBatch


@pytest.mark.parametrize("nft", NFTS)
def test_balance_of_batch_pairs_owners_with_ids(c, nft):
    p1, p2 = c.plan(nft), c.plan(nft)
    c.mint(nft, p1, 4)
    c.mint(nft, p2, 6, to=c.agent)
    owners = [c.sub.address, c.agent.address, c.sub.address, c.builder.address]
    assert c.p.call(nft, "balanceOfBatch", owners, [p1, p2, p2, p1]) == (4, 6, 0, 0)


@pytest.mark.parametrize("nft", NFTS)
def test_balance_of_batch_length_mismatch_reports_ids_length_first(c, nft):
    pid = c.plan(nft)
    err = c.p.reverts(c.sub, nft, "balanceOfBatch", [c.sub.address, c.sub.address], [pid])
    assert_error(err, "InvalidLength", 1, 2)


# ---------------------------------------------------------------------------------------------------- V2 ledger


def test_v2_timeline_matches_the_observed_run(c):
    pid = c.plan(V2, rtype=ONLY_OWNER, duration=3600, lo=1, hi=10)
    r1 = c.mint(V2, pid, 10, secs=3600)
    t1 = c.stamp(r1)
    assert c.events(r1, V2, "Minted") == [
        {"_to": c.sub.address, "_planId": pid, "_value": 10, "_expiration": t1 + 3600}]
    assert c.balance(V2, pid) == 10
    r2 = c.mint(V2, pid, 5, secs=7200)
    t2 = c.stamp(r2)
    assert c.events(r2, V2, "Minted") == [{"_to": c.sub.address, "_planId": pid, "_value": 5, "_expiration": t2 + 7200}]
    r3 = c.mint(V2, pid, 3, secs=0)
    assert c.events(r3, V2, "Minted") == [{"_to": c.sub.address, "_planId": pid, "_value": 3, "_expiration": NEVER}]
    assert c.balance(V2, pid) == 18

    burn = c.burn(V2, c.builder, pid, 4)
    assert c.events(burn, V2, "Burned") == [{"_from": c.sub.address, "_planId": pid, "_value": 4,
                                             "_expiration": t1 + 3600}]
    assert c.balance(V2, pid) == 14

    c.travel_to(t1 + 3601)  # the 6 left of the first lot expired
    assert c.balance(V2, pid) == 8
    assert c.p.call(V2, "balanceOfBatch", [c.sub.address, c.sub.address, c.builder.address], [pid, pid, pid]) == (
        8, 8, 0)
    assert c.raw_balance(V2, pid) == 14  # expired credits stay in the raw ERC-1155 balance

    c.travel_to(t1 + 7300)
    assert c.balance(V2, pid) == 3
    burn = c.burn(V2, c.sub, pid, 2)  # skips the expired buckets, takes from the never-expiring one
    assert c.events(burn, V2, "Burned") == [{"_from": c.sub.address, "_planId": pid, "_value": 2,
                                             "_expiration": NEVER}]
    assert c.balance(V2, pid) == 1
    assert c.p.call(V2, "balanceOfBatch", [c.sub.address], [pid]) == (1,)

    # the raw balance (12) would cover 5, the live ledger does not
    assert_error(c.burn_refused(V2, c.builder, pid, 5), "NotEnoughCreditsToBurn", c.sub.address, pid, 5)
    assert_error(c.send_refused(c.builder, V2, "burn", c.sub.address, pid, 5, 0, b""),
                 "NotEnoughCreditsToBurn", c.sub.address, pid, 5)
    assert c.balance(V2, pid) == 1


def test_v2_burn_takes_the_soonest_expiring_buckets_first(c):
    pid = c.plan(V2, rtype=ONLY_OWNER, lo=1, hi=20)
    ta = c.stamp(c.mint(V2, pid, 3, secs=7200))
    c.mint(V2, pid, 5, secs=0)
    tb = c.stamp(c.mint(V2, pid, 4, secs=600))  # minted last, expires first
    receipt = c.burn(V2, c.builder, pid, 9)
    assert [(e["_value"], e["_expiration"]) for e in c.events(receipt, V2, "Burned")] == [
        (4, tb + 600), (3, ta + 7200), (2, NEVER)]
    assert c.moved(receipt, V2, minted=False) == {pid: 9}
    assert c.balance(V2, pid) == 3


def test_v2_purge_needs_an_expiration_strictly_in_the_past(c):
    pid = c.plan(V2, rtype=ONLY_OWNER)
    expiration = c.stamp(c.mint(V2, pid, 10, secs=3600)) + 3600
    c.mint(V2, pid, 3, secs=0)
    assert (c.balance(V2, pid), c.raw_balance(V2, pid)) == (13, 13)

    c.travel_to(expiration - 1)  # the next mined transaction is stamped exactly `expiration`
    err = c.send_refused(c.stranger, V2, "purgeExpiredCredits", c.sub.address, pid, [expiration])
    assert_error(err, "NotExpired", expiration)
    mined = c.p.w3.eth.get_transaction_receipt(err.tx_hash)
    assert c.p.w3.eth.get_block(mined["blockNumber"])["timestamp"] == expiration
    # at that very second the bucket no longer counts, yet it is still in the raw balance
    assert (c.balance(V2, pid), c.raw_balance(V2, pid)) == (3, 13)

    receipt = c.p.send(c.stranger, V2, "purgeExpiredCredits", c.sub.address, pid, [expiration])  # expiration + 1
    assert c.stamp(receipt) == expiration + 1
    assert c.events(receipt, V2, "Purged") == [
        {"from": c.sub.address, "planId": pid, "amount": 10, "expiration": expiration}]
    assert c.events(receipt, V2, "TransferSingle") == [
        {"operator": c.stranger.address, "from": c.sub.address, "to": ZERO, "id": pid, "value": 10}]
    assert (c.balance(V2, pid), c.raw_balance(V2, pid)) == (3, 3)

    # purged once, the expiration is empty
    assert_error(c.send_refused(c.stranger, V2, "purgeExpiredCredits", c.sub.address, pid, [expiration]),
                 "NoCreditsToBurn", expiration)


def test_v2_purge_of_empty_or_unexpired_buckets(c):
    pid = c.plan(V2, rtype=ONLY_OWNER)
    expiration = c.stamp(c.mint(V2, pid, 10, secs=600)) + 600
    c.mint(V2, pid, 3, secs=0)
    c.travel_to(expiration + 100)
    empty = expiration - 50
    for args in ((c.sub.address, pid, [empty]), (c.sub.address, pid, [expiration, empty]),
                 (c.agent.address, pid, [expiration])):
        assert_error(c.p.reverts(c.stranger, V2, "purgeExpiredCredits", *args), "NoCreditsToBurn", args[2][-1])
    assert_error(c.p.reverts(c.stranger, V2, "purgeExpiredCredits", c.sub.address, pid, [NEVER]),
                 "NotExpired", NEVER)
    assert_error(c.send_refused(c.stranger, V2, "purgeExpiredCredits", c.sub.address, pid, [expiration, empty]),
                 "NoCreditsToBurn", empty)
    assert (c.balance(V2, pid), c.raw_balance(V2, pid)) == (3, 13)  # the failed batch purged nothing


# ---------------------------------------------------------------------------------------------------- V1 ledger


def test_v1_timeline_and_ledger_rows(c):
    pid = c.plan(V1, rtype=ONLY_OWNER, duration=3600, lo=1, hi=10)
    t1 = c.stamp(c.mint(V1, pid, 10, secs=3600))
    assert c.balance(V1, pid) == 10
    t2 = c.stamp(c.mint(V1, pid, 5, secs=7200))
    t3 = c.stamp(c.mint(V1, pid, 3, secs=0))
    assert c.balance(V1, pid) == 18
    rows = [(10, 3600, t1, True), (5, 7200, t2, True), (3, 0, t3, True)]
    assert list(c.p.call(V1, "getMintedEntries", c.sub.address, pid)) == rows

    t4 = c.stamp(c.burn(V1, c.builder, pid, 4))
    assert c.balance(V1, pid) == 14
    rows.append((4, 3600, t4, False))  # burn row: the consumed lot's duration, the burn's own timestamp
    assert list(c.p.call(V1, "getMintedEntries", c.sub.address, pid)) == rows
    assert list(c.p.call(V1, "whenWasMinted", c.sub.address, pid)) == [t1, t2, t3, t4]

    c.travel_to(t1 + 3601)  # the burn row outlives its lot and is still subtracted: V1 under-reports
    assert c.balance(V1, pid) == 4
    c.travel_to(t1 + 7300)
    assert c.balance(V1, pid) == 3
    assert list(c.p.call(V1, "getMintedEntries", c.sub.address, pid)) == rows  # views never compact

    t5 = c.stamp(c.burn(V1, c.sub, pid, 1))  # a burn compacts the expired rows first
    assert c.balance(V1, pid) == 2
    assert list(c.p.call(V1, "getMintedEntries", c.sub.address, pid)) == [(3, 0, t3, True), (1, 0, t5, False)]
    assert list(c.p.call(V1, "whenWasMinted", c.sub.address, pid)) == [t3, t5]
    assert_error(c.burn_refused(V1, c.builder, pid, 5), "NotEnoughCreditsToBurn", c.sub.address, pid, 5)
