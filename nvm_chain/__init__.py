"""nvm-chain: the Nevermined payments protocol v1.5.0, driven on-chain with your own key.

The public surface, importable from here (loaded on first use, so ``import nvm_chain`` stays cheap)::

    from nvm_chain import NvmChain, PlanMetadata, ContractRevertError, TransactionPending

- the client: :class:`NvmChain` (and :class:`Simulation`, the embedded chain with the protocol deployed), and
  payments-py's entry point :class:`Payments` with :class:`PaymentOptions`;
- every error and warning (:mod:`nvm_chain.errors` draws the tree);
- the models a program builds or reads (configs, plans, balances, metadata) and the results of writes;
- payments-py's config helpers (``get_erc20_price_config``, ``get_fixed_credits_config``, …) and the payments-py
  types a program names (``PlanMetadata``, ``PaginationOptions``, ``PlanRedemptionType``, ``X402TokenOptions``…).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOME: dict[str, str] = {
    "NvmChain": "nvm_chain.client",
    "Payments": "nvm_chain.payments",
    "PaymentOptions": "nvm_chain.payments",
    "Simulation": "nvm_chain.sim",
    "LocalSigner": "nvm_chain.chain.tx.signer",
}
_HOME.update({name: "nvm_chain.protocol.models" for name in (
    "PriceConfig", "CreditsConfig", "RedemptionType", "Plan", "Agent", "PlanBalance", "PlanMetadata",
    "AgentMetadata", "AgentAPIAttributes", "Endpoint", "AuthType")})
_HOME.update({name: "nvm_chain.protocol.results" for name in (
    "TxResult", "PlanRegistration", "OrderResult", "MintResult", "BurnResult", "BurnerResult", "AgentRegistration",
    "AgentAndPlanRegistration", "AgentPlanChange", "PlansPage", "AgentsPage")})
# payments-py's type names
_HOME.update({"PlanPriceConfig": "nvm_chain.protocol.models", "PlanCreditsConfig": "nvm_chain.protocol.models",
              "PlanRedemptionType": "nvm_chain.protocol.models", "ZeroAddress": "nvm_chain.protocol.models"})
_HOME.update({name: "nvm_chain.protocol.configs" for name in (
    "ONE_DAY_DURATION", "ONE_WEEK_DURATION", "ONE_MONTH_DURATION", "ONE_YEAR_DURATION", "EURC_TOKEN_ADDRESS",
    "EURC_TOKEN_ADDRESS_TESTNET")})
_HOME.update({name: "nvm_chain.rest" for name in (
    "PaginationOptions", "X402TokenOptions", "DelegationConfig", "PaymentRequired", "VerifyResponse",
    "SettleResponse", "build_payment_required", "build_payment_required_for_plans", "decode_access_token",
    "encode_access_token", "RestClient")})
_HOME.update({name: "nvm_chain.protocol.configs" for name in (
    "get_fiat_price_config", "get_crypto_price_config", "get_erc20_price_config", "get_native_token_price_config",
    "get_eurc_price_config", "get_free_price_config", "get_pay_as_you_go_price_config", "get_fixed_credits_config",
    "get_dynamic_credits_config", "get_expirable_duration_config", "get_non_expirable_duration_config",
    "get_pay_as_you_go_credits_config", "set_redemption_type", "set_onchain_mirror", "set_proof_required")})
_HOME.update({name: "nvm_chain.errors" for name in (
    "NvmChainError", "ValidationError", "FeeError", "InsufficientBalanceError", "PlanNotInAgentError",
    "OffchainCreditsError", "ClampedAmountError",
    "ApiKeyError", "InvalidAccessTokenError", "NotFoundError", "PlanNotFoundError", "AgentNotFoundError",
    "NotPermittedError", "RedemptionRefused", "NotAgentOwnerError", "ConfigurationError", "ChainMismatchError",
    "KeystoreError", "ContractRevertError", "TransactionPending", "BroadcastError", "InsufficientFundsError",
    "NodeUnavailableError", "DuplicateIntentError", "RestError", "DryRun", "SigningError", "IdMismatchError",
    "JournalError", "DeploymentError", "LogScanError", "NvmChainWarning", "OffchainCreditsWarning",
    "MetadataUnavailableWarning", "ScanIndexWarning")})

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """Load a public name from its home module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'nvm_chain' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily above
    from nvm_chain.chain.tx.signer import LocalSigner as LocalSigner
    from nvm_chain.client import NvmChain as NvmChain
    from nvm_chain.errors import *  # noqa: F403
    from nvm_chain.payments import PaymentOptions as PaymentOptions
    from nvm_chain.payments import Payments as Payments
    from nvm_chain.protocol.configs import *  # noqa: F403
    from nvm_chain.protocol.models import *  # noqa: F403
    from nvm_chain.protocol.results import *  # noqa: F403
    from nvm_chain.sim import Simulation as Simulation
