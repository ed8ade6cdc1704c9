"""payments-py's entry point on chain: ``Payments.get_instance(PaymentOptions(...))`` (facade layer, above the
client).

    >>> from nvm_chain import Payments, PaymentOptions
    >>> payments = Payments.get_instance(PaymentOptions(network="embedded", account="builder"))
    >>> payments.plans.register_credits_plan(plan_metadata=..., price_config=..., credits_config=...)['planId']

A payments-py program runs with its import line and its ``PaymentOptions(...)`` arguments changed:

- the options name an on-chain account and network with the names of ``NvmChain.connect`` (``private_key``,
  ``account``, ``network``, ``rpc_url``, ``address_book``, ``engine``), plus payments-py's own (``nvm_api_key``,
  ``environment``, ``api_version``, ``organization_id``, …) for the REST fallback;
- ``payments.plans`` and ``payments.agents`` are nvm-chain's Plans and Agents APIs: payments-py's method names,
  argument names, order and defaults, every write a transaction signed locally; results read like payments-py's
  dicts (``result['planId']``, ``order['success']``) and have typed attributes too;
- ``payments.x402``, ``payments.facilitator`` and ``payments.delegation`` reach the Nevermined API, which alone can
  mint x402 tokens, verify and settle them, and hold delegations (same wire as payments-py).

Every ``Payments`` on the ``embedded`` network of one engine shares one simulation (started on first use, fees on,
the docs' sandbox ERC-20 placed at its address), so a builder and a subscriber built from two option sets see the
same chain. ``account="builder"`` names one of its funded test accounts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from nvm_chain.chain.networks import AddressBook
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.client import NvmChain
from nvm_chain.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from nvm_chain.rest import RestClient
    from nvm_chain.rest.access_tokens import X402AccessToken, X402TokenOptions
    from nvm_chain.rest.facilitator import SettleResponse, VerifyResponse
    from nvm_chain.rest.payment_required import PaymentRequired
    from nvm_chain.services.agents import AgentsAPI
    from nvm_chain.services.plans import PlansAPI
    from nvm_chain.sim import Simulation

__all__ = ["Payments", "PaymentOptions", "X402TokenAPI", "FacilitatorAPI", "shared_simulation"]

#: the chain each Nevermined environment settles on (payments-py's x402 network defaults)
ENVIRONMENT_NETWORKS = {"sandbox": "base-sepolia", "staging_sandbox": "base-sepolia", "live": "base",
                        "staging_live": "base"}


@dataclass(frozen=True)
class PaymentOptions:
    """What :meth:`Payments.get_instance` connects with. Secrets (``private_key``, ``nvm_api_key``) never show
    in the repr.

    On chain (names of ``NvmChain.connect``): ``network`` (``base-sepolia``, ``base``, ``local``, ``embedded``;
    default: ``embedded`` with a ``simulation``, ``local`` with an ``address_book``, else the chain of
    ``environment`` or of the API key's prefix, else ``base-sepolia``), ``private_key`` or
    ``account`` (a :class:`LocalSigner`, or a name: a test account of the simulation on ``embedded``, a keystore
    account elsewhere, its password from ``NVM_KEYSTORE_PASSWORD(_FILE)``), ``rpc_url``, ``address_book``,
    ``engine`` (embedded EVM), ``simulation`` (an explicit one instead of the shared one), ``dry_run``.

    REST fallback (payments-py's names): ``nvm_api_key``, ``environment``, ``api_version``, ``organization_id``,
    ``base_url`` (a custom backend; also ``NVM_BACKEND_URL`` for ``environment="custom"``), or a ready ``rest``
    client. ``return_url``, ``app_id``, ``version`` and ``headers`` are accepted for payments-py's sake and unused.
    """

    private_key: str | bytes | None = field(default=None, repr=False)
    account: LocalSigner | str | None = None
    network: str | None = None
    rpc_url: str | None = None
    address_book: AddressBook | str | Path | None = None
    engine: str = "pyevm"
    simulation: Simulation | None = field(default=None, repr=False)
    dry_run: bool = False
    nvm_api_key: str | None = field(default=None, repr=False)
    environment: str | None = None
    api_version: str | None = None
    organization_id: str | None = None
    base_url: str | None = None
    rest: RestClient | None = field(default=None, repr=False)
    return_url: str | None = None
    app_id: str | None = None
    version: str | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------- shared chain

_SHARED: dict[str, Simulation] = {}
_SHARED_LOCK = threading.Lock()


def shared_simulation(engine: str = "pyevm") -> Simulation:
    """The process-wide simulation of ``network="embedded"`` for ``engine``, started on first use with fees on
    and the docs' sandbox ERC-20 (``nvm_chain.sim.SANDBOX_ERC20``, minted to every test account; py-evm only:
    revm cannot yet write code at an address).

    Raises:
        ConfigurationError: unknown engine, or revm without pyrevm.
    """
    from nvm_chain.sim import Simulation

    with _SHARED_LOCK:
        if engine not in _SHARED:
            _SHARED[engine] = Simulation.start(fees=True, engine=engine, sandbox_token=engine == "pyevm")
        return _SHARED[engine]


def _rest(options: PaymentOptions) -> RestClient | None:
    if options.rest is not None:
        return options.rest
    if options.nvm_api_key is None and options.base_url is None:
        return None
    from nvm_chain.rest import RestClient

    base_url = options.base_url
    if base_url is None and options.environment == "custom":
        base_url = os.environ.get("NVM_BACKEND_URL") or None
    extra: dict[str, Any] = {"api_version": options.api_version} if options.api_version else {}
    return RestClient(options.nvm_api_key, environment=options.environment, base_url=base_url,
                      organization_id=options.organization_id, **extra)


def _network(options: PaymentOptions, rest: RestClient | None) -> str:
    if options.network is not None:
        return options.network
    if options.simulation is not None:
        return "embedded"
    if options.address_book is not None:
        return "local"  # a deployment of one's own: the bundled networks carry their books
    environment = rest.environment if rest is not None else options.environment
    return ENVIRONMENT_NETWORKS.get(environment or "", "base-sepolia")


def _signer(options: PaymentOptions, simulation: Simulation | None) -> LocalSigner | None:
    if options.private_key is not None and options.account is not None:
        raise ConfigurationError("give private_key= or account=, not both")
    if options.private_key is not None:
        return LocalSigner(options.private_key)
    account = options.account
    if account is None or isinstance(account, LocalSigner):
        return account
    if not isinstance(account, str):
        raise ValidationError(f"account must be a LocalSigner or an account name, not {type(account).__name__}")
    if simulation is not None:
        return simulation.account(account).signer
    from nvm_chain.accounts.keystore import load_signer, resolve_password

    return load_signer(account, resolve_password(interactive=False))


# ---------------------------------------------------------------------------------------------- REST-only APIs


class _RestAPI:
    def __init__(self, rest: RestClient | None, what: str):
        self._rest_client = rest
        self._what = what

    @property
    def _rest(self) -> RestClient:
        if self._rest_client is None:
            raise ConfigurationError(f"{self._what} is done by the Nevermined API: give "
                                     "PaymentOptions(nvm_api_key=...) (or rest=) to use it")
        return self._rest_client

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._rest_client!r})"


def _payment_required(value: Any) -> PaymentRequired:
    """payments-py's ``X402PaymentRequired`` (or its dict) as nvm-chain's :class:`PaymentRequired`."""
    from nvm_chain.rest.payment_required import PaymentRequired

    if isinstance(value, PaymentRequired):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, Mapping):
        raise ValidationError(f"payment_required must be a PaymentRequired or its dict, not {type(value).__name__}")
    return PaymentRequired.model_validate(dict(value))


class X402TokenAPI(_RestAPI):
    """payments-py's ``payments.x402``: x402 access tokens, minted by the Nevermined API for the key's account."""

    def get_x402_access_token(self, plan_id: Any, agent_id: Any = None, token_options: X402TokenOptions | None = None,
                              *, redemption_limit: Any = None, order_limit: Any = None,
                              expiration: Any = None) -> X402AccessToken:
        """``POST /api/v1/x402/permissions``: a token for ``plan_id`` (``result['accessToken']``).

        The seed-era limits (``redemption_limit``, ``order_limit``, ``expiration``) no longer exist in the API:
        they are accepted only as None.

        Raises:
            ValidationError: bad ids, or a seed-era limit given a value.
            ConfigurationError: no API key.
            RestError: the API refused or failed.
        """
        stale = {k: v for k, v in (("redemption_limit", redemption_limit), ("order_limit", order_limit),
                                   ("expiration", expiration)) if v is not None}
        if stale:
            raise ValidationError(f"{', '.join(stale)}: the Nevermined API no longer takes these limits (payments-py "
                                  "dropped them too); limit spending with token_options=X402TokenOptions("
                                  "delegation_config=...)")
        return self._rest.get_x402_access_token(plan_id, agent_id, token_options)


class FacilitatorAPI(_RestAPI):
    """payments-py's ``payments.facilitator``: verify and settle x402 tokens (the backend is the facilitator)."""

    def verify_permissions(self, payment_required: Any, x402_access_token: str,
                           max_amount: Any = None) -> VerifyResponse:
        """``POST /api/v1/x402/verify`` (simulates; burns nothing).

        Raises:
            ValidationError: malformed payment_required or max_amount.
            ConfigurationError: no API key.
            RestError: the API refused or failed.
        """
        return self._rest.verify_permissions(_payment_required(payment_required), x402_access_token, max_amount)

    def settle_permissions(self, payment_required: Any, x402_access_token: str, max_amount: Any = None,
                           agent_request_id: str | None = None) -> SettleResponse:
        """``POST /api/v1/x402/settle``: burns the credits. Check ``result['success']``: it can be False with
        HTTP 200.

        Raises:
            as :meth:`verify_permissions`; AccessTokenAlreadyUsedError for a v3 token settled twice.
        """
        return self._rest.settle_permissions(_payment_required(payment_required), x402_access_token, max_amount,
                                             agent_request_id)


class _NeedsRest:
    """Stands for a REST-only API when no API key is configured: any call raises, saying how to configure it."""

    def __init__(self, what: str):
        self._what = what

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def unavailable(*_: Any, **__: Any) -> Any:
            raise ConfigurationError(f"{self._what} is done by the Nevermined API: give "
                                     "PaymentOptions(nvm_api_key=...) (or rest=) to use it")

        return unavailable


# ---------------------------------------------------------------------------------------------- the facade


class Payments:
    """payments-py's ``Payments``, on chain: ``plans``, ``agents`` (signed locally), ``x402``, ``facilitator``
    and ``delegation`` (REST), ``account_address``. Build it with :meth:`get_instance`."""

    def __init__(self, options: PaymentOptions):
        if not isinstance(options, PaymentOptions):
            raise ValidationError(f"options must be a PaymentOptions, not {type(options).__name__}")
        self.options = options
        rest = _rest(options)
        network = _network(options, rest)
        simulation = options.simulation
        if network == "embedded" and simulation is None:
            simulation = shared_simulation(options.engine)
        signer = _signer(options, simulation)
        #: the underlying on-chain client (``NvmChain``)
        self.chain = NvmChain.connect(network, account=signer, rpc_url=options.rpc_url,
                                      address_book=options.address_book, simulation=simulation,
                                      dry_run=options.dry_run, rest=rest, engine=options.engine)
        self.x402 = X402TokenAPI(rest, "x402 token minting")
        self.facilitator = FacilitatorAPI(rest, "x402 verify/settle")
        from nvm_chain.rest.delegation_api import DelegationAPI

        #: payments-py's ``payments.delegation`` (:class:`nvm_chain.rest.delegation_api.DelegationAPI`)
        self.delegation: Any = DelegationAPI(rest) if rest is not None else _NeedsRest("the delegation API")

    @classmethod
    def get_instance(cls, options: PaymentOptions) -> Payments:
        """A client for ``options`` (payments-py's entry point).

        Raises:
            ConfigurationError: unknown network, missing RPC URL or address book for ``local``, a bad API key
                environment, an unknown test account, or both ``private_key`` and ``account``.
            ValidationError: a malformed private key (never shown) or options of the wrong type.
            ApiKeyError: a malformed API key (never shown).
        """
        return cls(options)

    def __repr__(self) -> str:
        return f"Payments({self.chain!r}, rest={self.chain.rest!r})"

    @property
    def plans(self) -> PlansAPI:
        return self.chain.plans

    @property
    def agents(self) -> AgentsAPI:
        return self.chain.agents

    @property
    def account_address(self) -> str:
        """The signing account's address (payments-py: the API key's account).

        Raises:
            ConfigurationError: no account was given (read-only).
        """
        return self.chain.address

    def get_account_address(self) -> str:
        """Same as :attr:`account_address`."""
        return self.account_address

    @property
    def rest(self) -> RestClient | None:
        """The REST fallback, when an API key (or ``rest=``) was given."""
        return self.chain.rest

    @property
    def environment_name(self) -> str | None:
        """The REST environment (``sandbox``, ``live``, ``custom``…), None without REST."""
        return self.rest.environment if self.rest is not None else None
