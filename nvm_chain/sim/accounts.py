"""Named test accounts for simulations (TEST ONLY: their keys are derived from public names).

Never send real funds to these addresses: anyone can recompute their keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from nvm_chain.chain.tx.signer import LocalSigner

#: accounts every simulation funds, by role in the payments flow
DEFAULT_ACCOUNTS = ("governor", "fee_receiver", "builder", "subscriber", "agent", "settler", "relayer")

# eth-tester's genesis account 0 (key 0x…01): it holds 1,000,000 ETH and deploys the suite.
GENESIS_KEY = (1).to_bytes(32, "big")


@dataclass(frozen=True, repr=False)
class TestAccount:
    """A named, funded test account; ``signer`` holds its (public-knowledge) key."""

    __test__ = False  # not a pytest test class

    name: str
    signer: LocalSigner

    @property
    def address(self) -> str:
        return self.signer.address

    def __repr__(self) -> str:
        return f"TestAccount({self.name}, {self.address})"


def test_key(name: str) -> bytes:
    """The public-knowledge key of test account ``name``: keccak256("nvm-chain/sim/" + name)."""
    return keccak(text=f"nvm-chain/sim/{name}")


def test_account(name: str) -> TestAccount:
    """The deterministic test account called ``name`` (its key is :func:`test_key`)."""
    return TestAccount(name, LocalSigner(test_key(name)))


test_account.__test__ = False  # type: ignore[attr-defined]
test_key.__test__ = False  # type: ignore[attr-defined]
