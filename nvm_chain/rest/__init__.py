"""REST fallback of nvm-chain: HTTP only, never signs or sends transactions.

It reaches the Nevermined backend for what has no on-chain home: plan/agent documents and listings, the plan
balance as the backend sees it (the source of truth for ``onchainMirror=false`` plans), deployment info
(``GET /``, compared with an address book by :meth:`RestClient.check_deployment`), x402 access-token minting,
facilitator verify/settle, delegations and enrolled payment methods (:class:`DelegationAPI`), and fiat (Stripe)
checkout. Pure helpers decode, encode and shape-check x402
access tokens (:mod:`nvm_chain.rest.x402`) and build ``PaymentRequired`` payloads.

Metadata gap: the REST API has **no endpoint to attach metadata** (``metadataAttributes``/``agentApiAttributes``)
to a plan or agent registered on-chain by a third party, and whether the backend indexes such registrations is
unknown. nvm-chain therefore offers no such call. ``update_agent_metadata`` (``PUT /api/v1/protocol/agents/{id}``)
exists, but only for agents the backend already knows.

Plan and agent documents (:class:`PlanDocument`, :class:`AgentDocument`) carry the fields the official SDKs read,
typed, plus the full JSON document in ``raw`` because the backend's DTOs are not published.

Secrets: the API key is held as a ``SecretStr``; it is sent only as ``Authorization: Bearer`` on authenticated
calls and is masked in every repr, log line (logger ``nvm_chain.rest``) and exception message.
"""

from nvm_chain.errors import (
    AccessTokenAlreadyUsedError,
    ApiKeyError,
    DeploymentMismatchWarning,
    EnvironmentMismatchWarning,
    InvalidAccessTokenError,
    RestAuthError,
    RestClientError,
    RestConnectionError,
    RestError,
    RestNotFoundError,
    RestRateLimitError,
    RestResponseError,
    RestServerError,
    RestTimeout,
    X402NetworkMismatchError,
)
from nvm_chain.protocol.models import (
    AgentAPIAttributes,
    AgentMetadata,
    AuthType,
    Endpoint,
    PlanBalance,
)
from nvm_chain.rest.access_tokens import (
    DelegationConfig,
    X402AccessToken,
    X402TokenOptions,
    token_request_body,
)
from nvm_chain.rest.api_key import (
    API_KEY_PREFIX_TO_ENVIRONMENT,
    NvmApiKey,
    parse_api_key,
)
from nvm_chain.rest.client import RestClient
from nvm_chain.rest.delegation import (
    DELEGATION_PROVIDERS,
    CreateDelegationPayload,
    CreateDelegationResponse,
    DelegationCurrency,
    DelegationProvider,
    DelegationSummary,
    PaymentMethodSummary,
)
from nvm_chain.rest.delegation_api import DelegationAPI
from nvm_chain.rest.deployment import (
    DeploymentComparison,
    DeploymentInfo,
    DeploymentMismatch,
    compare_deployment,
)
from nvm_chain.rest.documents import (
    AgentDocument,
    Page,
    PaginationOptions,
    PlanDocument,
)
from nvm_chain.rest.environments import (
    Environment,
    EnvironmentName,
    default_network,
    get_environment,
)
from nvm_chain.rest.facilitator import SettleResponse, StartAgentRequest, VerifyResponse
from nvm_chain.rest.models import ApiResult, FiatCheckout
from nvm_chain.rest.payment_required import (
    PaymentRequired,
    PaymentRequirement,
    PaymentRequirementExtra,
    PaymentResource,
    X402Scheme,
    build_payment_required,
    build_payment_required_for_plans,
)
from nvm_chain.rest.transport import NO_RETRY, X402_TOKEN_ALREADY_USED_CODE, RetryPolicy
from nvm_chain.rest.x402 import (
    X402_TOKEN_VERSION_V2,
    X402_TOKEN_VERSION_V3,
    X402Token,
    decode_access_token,
    decode_access_token_or_none,
    detect_access_token_version,
    encode_access_token,
    is_single_use_access_token,
    validate_access_token,
)

__all__ = [
    "API_KEY_PREFIX_TO_ENVIRONMENT",
    "DELEGATION_PROVIDERS",
    "NO_RETRY",
    "X402_TOKEN_ALREADY_USED_CODE",
    "X402_TOKEN_VERSION_V2",
    "X402_TOKEN_VERSION_V3",
    "AccessTokenAlreadyUsedError",
    "AgentAPIAttributes",
    "AgentDocument",
    "AgentMetadata",
    "ApiKeyError",
    "ApiResult",
    "AuthType",
    "CreateDelegationPayload",
    "CreateDelegationResponse",
    "DelegationAPI",
    "DelegationConfig",
    "DelegationCurrency",
    "DelegationProvider",
    "DelegationSummary",
    "DeploymentComparison",
    "DeploymentInfo",
    "DeploymentMismatch",
    "DeploymentMismatchWarning",
    "Endpoint",
    "Environment",
    "EnvironmentMismatchWarning",
    "EnvironmentName",
    "FiatCheckout",
    "InvalidAccessTokenError",
    "NvmApiKey",
    "Page",
    "PaginationOptions",
    "PaymentMethodSummary",
    "PaymentRequired",
    "PaymentRequirement",
    "PaymentRequirementExtra",
    "PaymentResource",
    "PlanBalance",
    "PlanDocument",
    "RestAuthError",
    "RestClient",
    "RestClientError",
    "RestConnectionError",
    "RestError",
    "RestNotFoundError",
    "RestRateLimitError",
    "RestResponseError",
    "RestServerError",
    "RestTimeout",
    "RetryPolicy",
    "SettleResponse",
    "StartAgentRequest",
    "VerifyResponse",
    "X402AccessToken",
    "X402NetworkMismatchError",
    "X402Scheme",
    "X402Token",
    "X402TokenOptions",
    "build_payment_required",
    "build_payment_required_for_plans",
    "compare_deployment",
    "decode_access_token",
    "decode_access_token_or_none",
    "default_network",
    "detect_access_token_version",
    "encode_access_token",
    "get_environment",
    "is_single_use_access_token",
    "parse_api_key",
    "token_request_body",
    "validate_access_token",
]
