"""Contract wrappers: build calls and decode results for the protocol contracts (pure: never send).

``Contracts(book)`` binds every artifact to its address; ``contracts.AssetsRegistry.tx("createPlan", …)``
builds a :class:`~nvm_chain.chain.tx.sender.TxRequest` with a gas limit from :data:`GAS_LIMITS` (no
``eth_estimateGas``: py-evm runs it as a ~10-execution binary search), ``.calldata``/``.decode`` build
and read ``eth_call`` payloads.
"""

from __future__ import annotations

from typing import Any

from eth_abi.exceptions import DecodingError

from nvm_chain.chain.abi import Artifact, decode_output, encode_call, registry
from nvm_chain.chain.networks import AddressBook
from nvm_chain.chain.reads import eth_call
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import ConfigurationError

#: gas limits per (contract, function): about twice the gas the real v1.5.0 contracts used on py-evm
#: (docs/observed.md#gas). Unused gas is not charged; the pre-send simulation runs with the same limit,
#: so a limit that is too low fails before anything is signed.
GAS_LIMITS: dict[tuple[str, str], int] = {
    ("AssetsRegistry", "createPlan"): 1_000_000,
    ("AssetsRegistry", "createPlanWithHooks"): 1_000_000,
    ("AssetsRegistry", "register"): 800_000,
    ("AssetsRegistry", "registerAgentAndPlan"): 1_500_000,
    ("AssetsRegistry", "addPlanToAgent"): 200_000,
    ("AssetsRegistry", "removePlanFromAgent"): 200_000,
    ("AssetsRegistry", "replacePlansForAgent"): 500_000,
    ("AssetsRegistry", "setMetadata"): 300_000,
    ("FixedPaymentTemplate", "order"): 1_500_000,
    ("FixedPaymentTemplate", "orderWithAuthorization"): 1_500_000,
    ("PayAsYouGoTemplate", "order"): 1_200_000,
    ("PayAsYouGoTemplate", "orderWithAuthorization"): 1_200_000,
    ("FiatPaymentTemplate", "order"): 1_200_000,
    ("*", "approve"): 120_000,
    ("*", "mint"): 400_000,
    ("*", "mintBatch"): 600_000,
    ("*", "burn"): 400_000,
    ("*", "burnBatch"): 600_000,
    ("*", "allowBurn"): 200_000,
    ("*", "revokeBurn"): 200_000,
    ("*", "purgeExpiredCredits"): 300_000,
    ("*", "grantRole"): 150_000,
    ("*", "revokeRole"): 100_000,
}
DEFAULT_GAS = 1_000_000


def gas_limit(contract: str, fn: str) -> int:
    """The gas limit used for ``contract.fn`` transactions."""
    return GAS_LIMITS.get((contract, fn)) or GAS_LIMITS.get(("*", fn)) or DEFAULT_GAS


class BoundContract:
    """One artifact at one address."""

    def __init__(self, artifact: Artifact, address: str):
        self.artifact = artifact
        self.name = artifact.name
        self.address = address

    def __repr__(self) -> str:
        return f"{self.name}({self.address})"

    def calldata(self, fn: str, *args: Any, arity: int | None = None) -> bytes:
        """ABI-encoded call of ``fn(*args)`` (``arity`` picks an overload; default: ``len(args)``)."""
        return encode_call(self.artifact.entry(fn, arity=len(args) if arity is None else arity), args)

    def decode(self, fn: str, raw: bytes, arity: int | None = None) -> Any:
        """Decode the return data of ``fn``."""
        return decode_output(self.artifact.entry(fn, arity=arity), raw)

    def read(self, w3: Any, fn: str, *args: Any, arity: int | None = None) -> Any:
        """``fn(*args)`` through ``eth_call``, decoded (structs as named tuples): the one read every service uses.

        Raises:
            ContractRevertError: the call reverted (decoded).
            ConfigurationError: the answer is empty or does not decode — no such contract at this address on
                this node (a wrong address book or RPC URL for the network).
        """
        n = len(args) if arity is None else arity
        raw = eth_call(w3, self.address, self.calldata(fn, *args, arity=n), action=f"{self.name}.{fn}")
        try:
            return self.decode(fn, raw, arity=n)
        except DecodingError:
            raise ConfigurationError(
                f"no {self.name} at {self.address} on this node ({'empty' if not raw else 'undecodable'} answer to "
                f"{fn}): wrong address book or RPC URL for this network") from None

    def tx(self, fn: str, *args: Any, value: int = 0, gas: int | None = None, arity: int | None = None) -> TxRequest:
        """A transaction request calling ``fn(*args)`` with its gas limit from :data:`GAS_LIMITS`."""
        return TxRequest(self.address, self.calldata(fn, *args, arity=arity), gas or gas_limit(self.name, fn),
                         value=value, action=f"{self.name}.{fn}")


class Contracts:
    """Every protocol contract of an address book, bound: ``contracts.AssetsRegistry``, ``contracts["X"]``."""

    def __init__(self, book: AddressBook):
        self.book = book
        abis = registry()
        self._bound = {name: BoundContract(abis[name], address)
                       for name, address in book.contracts.items() if name in abis.artifacts}

    def __getitem__(self, name: str) -> BoundContract:
        if name not in self._bound:
            self.book[name]  # raises ConfigurationError naming the missing contract
            raise KeyError(name)
        return self._bound[name]

    def __getattr__(self, name: str) -> BoundContract:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def at(self, name: str, address: str) -> BoundContract:
        """Artifact ``name`` bound to another address (e.g. an ERC-20 token, a plan's NFT contract)."""
        return BoundContract(registry()[name], address)

    def names_by_address(self) -> dict[str, str]:
        """address → contract name, for decoding receipt logs by address."""
        return {b.address: name for name, b in self._bound.items()}
