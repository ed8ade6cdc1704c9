"""Simulation: the whole protocol on the embedded chain (or a dev node), with funded named accounts.

    >>> from nvm_chain.sim import Simulation
    >>> sim = Simulation.start(fees=True)          # deploys and wires the suite
    >>> sim.book["AssetsRegistry"], sim.account("builder").address
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nvm_chain.chain.networks import AddressBook
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import ConfigurationError
from nvm_chain.sim.accounts import (
    DEFAULT_ACCOUNTS,
    GENESIS_KEY,
    TestAccount,
    test_account,
)
from nvm_chain.sim.chain import EmbeddedChain, RpcChain
from nvm_chain.sim.deploy import Deployment, deploy_protocol
from nvm_chain.sim.revm_chain import RevmChain

__all__ = ["Simulation", "EmbeddedChain", "RevmChain", "RpcChain", "TestAccount", "deploy_protocol", "Deployment"]


@dataclass
class Simulation:
    """A deployed protocol on a chain, with named test accounts."""

    chain: EmbeddedChain | RevmChain | RpcChain
    deployment: Deployment
    accounts: dict[str, TestAccount]
    owner: LocalSigner

    @property
    def w3(self):
        return self.chain.w3

    @property
    def book(self) -> AddressBook:
        return self.deployment.book

    def account(self, name: str) -> TestAccount:
        """The funded test account ``name``.

        Raises:
            ConfigurationError: no account of that name was funded in this simulation.
        """
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts))
            raise ConfigurationError(f"unknown account {name!r}; this simulation has: {known}") from None

    @classmethod
    def start(
        cls,
        *,
        fees: bool = False,
        accounts: Sequence[str] = DEFAULT_ACCOUNTS,
        chain: EmbeddedChain | RevmChain | RpcChain | None = None,
        owner: LocalSigner | None = None,
        engine: str = "pyevm",
    ) -> Simulation:
        """Deploy the suite on ``chain`` (default: a fresh embedded chain) and fund ``accounts``.

        With ``fees=True`` the ``fee_receiver`` account becomes the protocol fee receiver (1% crypto,
        2% fiat). The ``settler`` account, when present, holds FIAT_SETTLEMENT_ROLE. ``owner`` must hold
        ETH on ``chain``; it defaults to eth-tester's genesis account. Without ``chain``, ``engine`` picks the
        embedded chain: ``"pyevm"`` (eth-tester) or ``"revm"`` (pyrevm, far faster; ``nvm-chain[revm]``).

        Raises:
            ConfigurationError: ``fees=True`` without a ``fee_receiver`` account, duplicate names, an
                unknown ``engine``, or ``engine="revm"`` without pyrevm installed.
        """
        if len(set(accounts)) != len(accounts):
            raise ConfigurationError(f"duplicate account names in {list(accounts)}")
        if fees and "fee_receiver" not in accounts:
            raise ConfigurationError("fees=True needs an account named 'fee_receiver'")
        if engine not in ("pyevm", "revm"):
            raise ConfigurationError(f"unknown engine {engine!r}; choose 'pyevm' or 'revm'")
        chain = chain or (RevmChain() if engine == "revm" else EmbeddedChain())
        owner = owner or LocalSigner(GENESIS_KEY)
        named = {name: test_account(name) for name in accounts}
        deployment = deploy_protocol(
            chain.w3,
            owner,
            governor=named["governor"].signer if "governor" in named else None,
            fee_receiver=named["fee_receiver"].address if fees else None,
            fund=[a.address for a in named.values()],
            fiat_settler=named["settler"].address if "settler" in named else None,
        )
        return cls(chain, deployment, named, owner)
