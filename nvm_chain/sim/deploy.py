"""Deploy and wire the simulation suite in one call, on the embedded chain or any JSON-RPC node.

Every contract address is computed from the deployer's nonce before anything is sent, so the whole
deployment (contracts, AccessManager wiring in a single ``multicall``, optional fees, funding) is signed up
front and broadcast as one batch. Role wiring follows docs/protocol.md#wiring plus the governor mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address
from web3 import Web3

from nvm_chain.chain.abi import encode_call, encode_constructor, registry
from nvm_chain.chain.networks import AddressBook
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import ContractRevertError, DeploymentError, ValidationError
from nvm_chain.sim.canonical import place_multicall3

PROTOCOL_VERSION = "1.5.0"
DEPLOY_GAS = 8_000_000
CALL_GAS = 1_000_000

# role ids (docs/protocol.md#role-ids)
PUBLIC_ROLE = 2**64 - 1
GOVERNOR_ROLE = 13709648602636273795
CONTRACT_TEMPLATE_ROLE = 10197209388572726906
CONTRACT_CONDITION_ROLE = 16570836817734027638
UPDATE_CONDITION_STATUS_ROLE = 14777935691551675925
DEPOSITOR_ROLE = 14314970521567793544
WITHDRAW_ROLE = 8393396895733992431
CREDITS_MINTER_ROLE = 331619801143826648
CREDITS_BURNER_ROLE = 16934877136143260882
FIAT_SETTLEMENT_ROLE = 3860893312041324254

CREDIT_CONTRACTS = ("NFT1155Credits", "NFT1155ExpirableCredits", "NFT1155ExpirableCreditsV2")
TEMPLATES = ("FixedPaymentTemplate", "PayAsYouGoTemplate", "FiatPaymentTemplate")
CONDITIONS = (
    "LockPaymentCondition", "TransferCreditsCondition", "DistributePaymentsCondition", "FiatSettlementCondition",
)

# (contract, constructor arguments as names of earlier contracts or the special "@owner"/"@forwarder")
DEPLOY_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AccessManager", ("@owner",)),
    ("ERC2771Forwarder", ("@forwarder",)),
    ("ProtocolStandardFees", ("AccessManager",)),
    ("NVMConfig", ("AccessManager", "ProtocolStandardFees")),
    ("AssetsRegistry", ("NVMConfig", "AccessManager")),
    ("NFT1155Credits", ("AccessManager", "AssetsRegistry")),
    ("NFT1155ExpirableCredits", ("AccessManager", "AssetsRegistry")),
    ("NFT1155ExpirableCreditsV2", ("AccessManager", "AssetsRegistry")),
    ("AgreementsStore", ("AccessManager",)),
    ("PaymentsVault", ("AccessManager",)),
    ("TokenUtils", ()),
    ("LockPaymentCondition", ("AccessManager", "AssetsRegistry", "AgreementsStore", "PaymentsVault")),
    ("TransferCreditsCondition", ("AccessManager", "AssetsRegistry", "AgreementsStore")),
    ("DistributePaymentsCondition", ("AccessManager", "AssetsRegistry", "AgreementsStore", "PaymentsVault")),
    ("FiatSettlementCondition", ("AccessManager", "AssetsRegistry", "AgreementsStore")),
    ("FixedPaymentTemplate", ("ERC2771Forwarder", "NVMConfig", "AccessManager", "AssetsRegistry", "AgreementsStore",
                              "LockPaymentCondition", "TransferCreditsCondition", "DistributePaymentsCondition")),
    ("PayAsYouGoTemplate", ("ERC2771Forwarder", "NVMConfig", "AccessManager", "AssetsRegistry", "AgreementsStore",
                            "LockPaymentCondition", "DistributePaymentsCondition")),
    ("FiatPaymentTemplate", ("ERC2771Forwarder", "NVMConfig", "AccessManager", "AssetsRegistry", "AgreementsStore",
                             "FiatSettlementCondition", "TransferCreditsCondition")),
    ("OneTimeCreatorHook", ("AccessManager",)),
    ("MockERC20", ("@erc20",)),
    ("MockEIP3009Token", ("@eip3009",)),
    ("LinearPricing", ("AssetsRegistry",)),  # the example external price the live address books list
    ("Multicall3", ()),  # last, so the addresses of the others do not move; the book lists the canonical copy
)

_LITERAL_ARGS = {
    "@forwarder": ("ERC2771Forwarder",),
    "@erc20": ("Mock USD", "mUSD"),
    "@eip3009": ("Mock USDC", "mUSDC"),
}

# restricted selectors → role (docs/protocol.md#restricted-selectors)
TARGET_ROLES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("AgreementsStore", ("register(bytes32,address,uint256,bytes32[],uint8[],uint256,bytes[])",),
     CONTRACT_TEMPLATE_ROLE),
    ("LockPaymentCondition", (
        "fulfill(bytes32,bytes32,uint256,address)",
        "fulfillWithAuthorization(bytes32,bytes32,uint256,address,(uint256,uint256,uint8,bytes32,bytes32))",
    ), CONTRACT_TEMPLATE_ROLE),
    ("TransferCreditsCondition", ("fulfill(bytes32,bytes32,uint256,bytes32[],address)",), CONTRACT_TEMPLATE_ROLE),
    ("DistributePaymentsCondition", ("fulfill(bytes32,bytes32,uint256,bytes32,bytes32)",), CONTRACT_TEMPLATE_ROLE),
    ("FiatSettlementCondition", ("fulfill(bytes32,bytes32,uint256,address,bytes[])",), CONTRACT_TEMPLATE_ROLE),
    ("OneTimeCreatorHook", (
        "beforeAgreementRegistered(bytes32,address,uint256,bytes32[],uint8[],bytes[])",
        "afterAgreementCreated(bytes32,address,uint256,bytes32[],bytes[])",
    ), CONTRACT_TEMPLATE_ROLE),
    ("PaymentsVault", (
        "depositNativeToken()", "depositERC20(address,uint256,address)",
        "depositERC20WithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
    ), DEPOSITOR_ROLE),
    ("PaymentsVault", ("withdrawNativeToken(uint256,address)", "withdrawERC20(address,uint256,address)"),
     WITHDRAW_ROLE),
    *((nft, ("burnBatch(address,uint256[],uint256[],uint256,bytes)",), CREDITS_BURNER_ROLE)
      for nft in CREDIT_CONTRACTS),
    ("NVMConfig", ("setParameter(bytes32,bytes)", "disableParameter(bytes32)", "setFeeReceiver(address)",
                   "setDefaultFeeController(address)", "setFeeControllerAllowed(address[],address[][],bool[][])"),
     GOVERNOR_ROLE),
    ("ProtocolStandardFees", ("updateFeeRates(uint256,uint256)",), GOVERNOR_ROLE),
    ("AssetsRegistry", ("setPlanFeeController(uint256,address)",), GOVERNOR_ROLE),
    # the observed v1.5.0 run left setMetadata open; the contract still requires the agent's owner
    ("AssetsRegistry", ("setMetadata(uint256,string,bytes)",), PUBLIC_ROLE),
)

ROLE_GRANTS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (CONTRACT_TEMPLATE_ROLE, TEMPLATES),
    (CONTRACT_CONDITION_ROLE, CONDITIONS),
    (UPDATE_CONDITION_STATUS_ROLE, CONDITIONS),
    (DEPOSITOR_ROLE, ("LockPaymentCondition",)),
    (WITHDRAW_ROLE, ("DistributePaymentsCondition",)),
    (CREDITS_MINTER_ROLE, ("TransferCreditsCondition",)),
)

DEFAULT_ETH = 1_000 * 10**18
DEFAULT_TOKENS = 1_000_000 * 10**18


@dataclass(frozen=True)
class Deployment:
    """Result of :func:`deploy_protocol`."""

    book: AddressBook
    owner: str
    governor: str
    fee_receiver: str | None
    transactions: int
    gas_used: int


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract that ``sender`` creates with transaction ``nonce`` (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


def _sel(sig: str) -> bytes:
    return keccak(text=sig)[:4]


def _address(value: str, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValidationError(f"{what} is not an address: {value!r}")
    return to_checksum_address(value)


def deploy_protocol(
    w3: Web3,
    owner: LocalSigner,
    *,
    governor: LocalSigner | None = None,
    fee_receiver: str | None = None,
    fund: Sequence[str] = (),
    eth_per_account: int = DEFAULT_ETH,
    tokens_per_account: int = DEFAULT_TOKENS,
    fiat_settler: str | None = None,
    credits_burner: str | None = None,
    chain_id: int | None = None,
) -> Deployment:
    """Deploy the whole suite with ``owner`` as AccessManager admin and return its address book (which
    records the block of the first deployment transaction as ``blockNumber``).

    ``governor`` (default: the owner) gets GOVERNOR_ROLE; when ``fee_receiver`` is given the governor turns
    fees on (1% crypto, 2% fiat by default). Each address in ``fund`` receives ``eth_per_account`` wei and
    ``tokens_per_account`` of both test tokens. ``fiat_settler`` and ``credits_burner`` optionally receive
    FIAT_SETTLEMENT_ROLE and CREDITS_BURNER_ROLE. Multicall3 is deployed too and listed at its canonical
    address when the chain lets the deployer put its code there (embedded chain, anvil), else where it was created.

    Raises:
        ValidationError: an address argument is malformed.
        ConfigurationError: an artifact is missing from abis/.
        ChainMismatchError: ``chain_id`` is given and the node is on another chain.
        DeploymentError: a deployment or wiring transaction failed (names the step).
    """
    governor = governor or owner
    fund = [_address(a, "account to fund") for a in fund]
    fee_receiver = _address(fee_receiver, "fee receiver") if fee_receiver is not None else None
    fiat_settler = _address(fiat_settler, "fiat settler") if fiat_settler else None
    credits_burner = _address(credits_burner, "credits burner") if credits_burner else None
    for who, amount in (("eth_per_account", eth_per_account), ("tokens_per_account", tokens_per_account)):
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValidationError(f"{who} must be a non-negative int (wei), got {amount!r}")

    abis = registry()
    artifacts = {name: abis[name] for name, _ in DEPLOY_ORDER}  # fail early on a missing artifact
    sender = Sender(w3, owner, chain_id=chain_id)
    first_nonce = w3.eth.get_transaction_count(owner.address, "pending")
    book = {name: create_address(owner.address, first_nonce + i)
            for i, (name, _) in enumerate(DEPLOY_ORDER)}

    requests: list[TxRequest] = []
    for name, args in DEPLOY_ORDER:
        values: tuple = ()
        for arg in args:
            if arg == "@owner":
                values += (owner.address,)
            elif arg.startswith("@"):
                values += _LITERAL_ARGS[arg]
            else:
                values += (book[arg],)
        requests.append(TxRequest(None, encode_constructor(artifacts[name], values), DEPLOY_GAS,
                                  action=f"deploy {name}"))

    manager = abis["AccessManager"]
    calls = [encode_call(manager.entry("grantRole"), [role, book[c], 0]) for role, cs in ROLE_GRANTS for c in cs]
    calls.append(encode_call(manager.entry("grantRole"), [GOVERNOR_ROLE, governor.address, 0]))
    for role, grantee in ((FIAT_SETTLEMENT_ROLE, fiat_settler), (CREDITS_BURNER_ROLE, credits_burner)):
        if grantee:
            calls.append(encode_call(manager.entry("grantRole"), [role, grantee, 0]))
    for role in (CONTRACT_TEMPLATE_ROLE, CONTRACT_CONDITION_ROLE, UPDATE_CONDITION_STATUS_ROLE):
        calls.append(encode_call(manager.entry("setRoleAdmin"), [role, GOVERNOR_ROLE]))
    for contract, sigs, role in TARGET_ROLES:
        selectors = [_sel(s) for s in sigs]
        calls.append(encode_call(manager.entry("setTargetFunctionRole"), [book[contract], selectors, role]))
    requests.append(TxRequest(book["AccessManager"], encode_call(manager.entry("multicall"), [calls]),
                              5_000_000, action="wire AccessManager roles"))

    for token in ("MockERC20", "MockEIP3009Token"):
        mint = abis[token].entry("mint")
        requests += [TxRequest(book[token], encode_call(mint, [a, tokens_per_account]), CALL_GAS,
                               action=f"mint {token}")
                     for a in fund if tokens_per_account]
    requests += [TxRequest(a, b"", 21_000, value=eth_per_account, action="fund account")
                 for a in fund if eth_per_account]
    if fee_receiver is not None and governor is not owner and governor.address not in fund:
        requests.append(TxRequest(governor.address, b"", 21_000, value=10**18, action="fund governor for gas"))

    need, have = sender.max_cost(requests), w3.eth.get_balance(owner.address)
    if have < need:
        raise DeploymentError(f"owner {owner.address} holds {have} wei; the deployment may cost up to {need} wei")
    receipts = _send(sender, requests)
    if fee_receiver is not None:
        gov = sender if governor is owner else Sender(w3, governor, chain_id=chain_id)
        set_fee = abis["NVMConfig"].entry("setFeeReceiver")
        receipts += _send(gov, [TxRequest(book["NVMConfig"], encode_call(set_fee, [fee_receiver]), CALL_GAS,
                                          action="NVMConfig.setFeeReceiver")])

    book["Multicall3"] = place_multicall3(w3, book["Multicall3"])
    first_block = min(r.block_number for r in receipts)  # the book records it: scans start there
    address_book = AddressBook(chainId=w3.eth.chain_id, version=PROTOCOL_VERSION, blockNumber=first_block,
                               contracts=book)
    return Deployment(address_book, owner.address, governor.address, fee_receiver,
                      len(receipts), sum(r.gas_used for r in receipts))


def _send(sender: Sender, requests: list[TxRequest]) -> list:
    try:
        return sender.send_batch(requests)
    except ContractRevertError as exc:
        raise DeploymentError(f"deployment step failed: {exc}") from exc
