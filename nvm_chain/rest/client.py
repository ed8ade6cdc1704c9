"""Synchronous client of the Nevermined REST API for what has no on-chain home.

REST fallback: HTTP only, never signs or sends transactions. It covers plan/agent documents and listings, the
plan balance as the backend sees it, deployment info, x402 token minting and facilitator verify/settle, and fiat
(Stripe) checkout. Plan/agent registration, orders, mints and burns are done on-chain elsewhere in nvm-chain.

Metadata gap: the API has **no** endpoint to attach metadata to a plan or agent that a third party registered
on-chain, so none is offered here; ``update_agent_metadata`` only updates agents the backend already knows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pydantic

from nvm_chain.errors import (
    ConfigurationError,
    DeploymentMismatchWarning,
    RestResponseError,
    ValidationError,
)
from nvm_chain.protocol.models import AgentAPIAttributes, AgentMetadata, PlanBalance
from nvm_chain.rest.access_tokens import X402AccessToken, X402TokenOptions
from nvm_chain.rest.api_key import NvmApiKey, parse_api_key
from nvm_chain.rest.deployment import (
    DeploymentComparison,
    DeploymentInfo,
    compare_deployment,
)
from nvm_chain.rest.documents import (
    AgentDocument,
    Page,
    PaginationOptions,
    PlanDocument,
)
from nvm_chain.rest.environments import (
    EnvironmentName,
    check_environment_name,
    default_network,
    display_url,
    get_environment,
)
from nvm_chain.rest.facilitator import SettleResponse, VerifyResponse
from nvm_chain.rest.models import ApiResult, FiatCheckout
from nvm_chain.rest.payment_required import PaymentRequired
from nvm_chain.rest.transport import (
    DEFAULT_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    HttpTransport,
    RetryPolicy,
)
from nvm_chain.rest.wire import to_address, to_uint256

T = TypeVar("T")

PLANS = "/api/v1/protocol/plans"
AGENTS = "/api/v1/protocol/agents"
X402 = "/api/v1/x402"
FIAT_PAYMENT = "/api/v1/fiat/stripe/payment"
INFO = "/"


def _shape_error(exc: pydantic.ValidationError, what: str) -> RestResponseError:
    # Field locations and reasons only: pydantic's own text would echo input values (tokens, say).
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])
    return RestResponseError(f"unexpected {what} response shape: {problems}")


def _parse(build: Callable[[Any], T], data: Any, what: str) -> T:
    try:
        return build(data)
    except pydantic.ValidationError as exc:
        raise _shape_error(exc, what) from None
    except ValidationError as exc:  # nvm_chain.protocol.models report field paths and problems, never raw values
        raise RestResponseError(f"unexpected {what} response shape: {exc}") from None


def resolve_environment_name(key: NvmApiKey | None, environment: str | None) -> EnvironmentName:
    """Pick the environment: a recognised key prefix, else ``environment``, else ``custom``.

    Raises:
        ConfigurationError: unknown name, or ``environment`` names another environment than the key's prefix
            (``custom`` may be combined with any key).
    """
    name = check_environment_name(environment) if environment is not None else None
    key_env = key.environment if key is not None else None
    if key_env is not None and name not in (None, "custom", key_env):
        raise ConfigurationError(f"the API key was minted for '{key_env}' but environment '{name}' was requested")
    return name or key_env or "custom"


class RestClient:
    """Sync httpx client of the Nevermined backend.

    Args:
        api_key: ``<prefix>:<jwt>`` string or a parsed :class:`NvmApiKey`; needed for authenticated calls only.
        environment: ``sandbox``, ``live`` or ``custom``; defaults to the key's prefix,
            else ``custom``.
        base_url: backend URL overriding the environment's (``custom`` otherwise uses ``NVM_BACKEND_URL``).
        api_version: ``Nevermined-Version`` header (default ``1.1``).
        organization_id: sent as ``X-Current-Org-Id`` when set.
        connect_timeout, read_timeout: seconds (default 10 and 30).
        retry: retry policy for idempotent GETs; POST/PUT/DELETE are never retried.

    Raises:
        ApiKeyError: malformed key. ConfigurationError: bad environment, URL, timeouts or key/environment clash.
    """

    def __init__(
        self,
        api_key: str | NvmApiKey | None = None,
        *,
        environment: str | None = None,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        organization_id: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        key = parse_api_key(api_key) if isinstance(api_key, str) else api_key
        self._key = key
        self._env = get_environment(resolve_environment_name(key, environment), base_url=base_url)
        self._http = HttpTransport(
            self._env.backend,
            api_key=key,
            api_version=api_version,
            organization_id=organization_id,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry=retry,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> RestClient:
        """Build from ``NVM_API_KEY`` and ``NVM_ENVIRONMENT`` (``NVM_BACKEND_URL`` serves ``custom``).

        Raises:
            ApiKeyError, ConfigurationError: as for the constructor.
        """
        source = os.environ if env is None else env
        kwargs.setdefault("environment", source.get("NVM_ENVIRONMENT") or None)
        if kwargs["environment"] == "custom" and "base_url" not in kwargs and source.get("NVM_BACKEND_URL"):
            kwargs["base_url"] = source["NVM_BACKEND_URL"]
        return cls(source.get("NVM_API_KEY") or None, **kwargs)

    def __repr__(self) -> str:
        return f"RestClient(environment={self._env.name!r}, base_url={display_url(self._env.backend)!r})"

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    @property
    def environment(self) -> EnvironmentName:
        return self._env.name

    @property
    def base_url(self) -> str:
        return self._env.backend

    @property
    def api_key(self) -> NvmApiKey | None:
        """The parsed key (its secret is masked in repr), or ``None``."""
        return self._key

    @property
    def account_address(self) -> str | None:
        """The key's ``sub`` claim (checksummed), or ``None`` without a key."""
        return self._key.account_address if self._key is not None else None

    # -- deployment ---------------------------------------------------------------------------------------

    def get_deployment_info(self) -> DeploymentInfo:
        """``GET /``: the contract addresses and version the backend uses (public).

        Raises:
            RestError subclasses (see :meth:`HttpTransport.request`); RestResponseError on a bad shape.
        """
        data = self._http.request("GET", INFO, authenticated=False)
        return _parse(DeploymentInfo.from_wire, data, "deployment info")

    def check_deployment(self, address_book: Mapping[str, Any], *, warn: bool = True) -> DeploymentComparison:
        """Fetch the deployment and compare it with an address book; on mismatch emit a
        :class:`DeploymentMismatchWarning` via ``warnings.warn`` (unless ``warn=False``) and return the result.

        Raises:
            ValidationError: malformed address book. RestError subclasses: the fetch failed.
        """
        comparison = compare_deployment(self.get_deployment_info(), address_book)
        if warn and not comparison.ok:
            warnings.warn(DeploymentMismatchWarning(comparison.summary()), stacklevel=2)
        return comparison

    # -- plans and agents (public reads) ---------------------------------------------------------------

    def get_plan(self, plan_id: int | str) -> PlanDocument:
        """``GET /api/v1/protocol/plans/{planId}`` (public).

        Raises:
            ValidationError: bad ``plan_id``. RestNotFoundError: unknown plan. Other RestError subclasses.
        """
        data = self._http.request("GET", f"{PLANS}/{to_uint256(plan_id, what='plan_id')}", authenticated=False)
        return _parse(PlanDocument.from_wire, data, "plan")

    def get_plan_balance(self, plan_id: int | str, account_address: str | None = None) -> PlanBalance:
        """``GET /api/v1/protocol/plans/{planId}/balance/{holder}`` (public); the holder defaults to the key's
        account address.

        Raises:
            ValidationError: bad ID or address. ConfigurationError: no holder and no key. RestError subclasses.
        """
        plan = to_uint256(plan_id, what="plan_id")
        if account_address is None:
            if self._key is None:
                raise ConfigurationError("account_address is required when the client has no API key")
            holder = self._key.account_address
        else:
            holder = to_address(account_address, what="account_address")
        data = self._http.request("GET", f"{PLANS}/{plan}/balance/{holder}", authenticated=False)
        return _parse(PlanBalance.model_validate, data, "plan balance")

    def get_agents_associated_to_plan(
        self, plan_id: int | str, pagination: PaginationOptions | None = None
    ) -> Page[AgentDocument]:
        """``GET /api/v1/protocol/plans/{planId}/agents?page=&offset=`` (public).

        Raises:
            ValidationError: bad ``plan_id``. RestError subclasses; RestResponseError on a bad shape.
        """
        pagination = pagination or PaginationOptions()
        path = f"{PLANS}/{to_uint256(plan_id, what='plan_id')}/agents"
        data = self._http.request("GET", path, authenticated=False, params=pagination.to_query())
        return self._page(data, "agents", AgentDocument, pagination)

    def get_agent(self, agent_id: int | str) -> AgentDocument:
        """``GET /api/v1/protocol/agents/{agentId}`` (public).

        Raises:
            ValidationError: bad ``agent_id``. RestNotFoundError: unknown agent. Other RestError subclasses.
        """
        data = self._http.request("GET", f"{AGENTS}/{to_uint256(agent_id, what='agent_id')}", authenticated=False)
        return _parse(AgentDocument.from_wire, data, "agent")

    def get_agent_plans(self, agent_id: int | str, pagination: PaginationOptions | None = None) -> Page[PlanDocument]:
        """``GET /api/v1/protocol/agents/{agentId}/plans?page=&offset=`` (public).

        Raises:
            ValidationError: bad ``agent_id``. RestError subclasses; RestResponseError on a bad shape.
        """
        pagination = pagination or PaginationOptions()
        path = f"{AGENTS}/{to_uint256(agent_id, what='agent_id')}/plans"
        data = self._http.request("GET", path, authenticated=False, params=pagination.to_query())
        return self._page(data, "plans", PlanDocument, pagination)

    @staticmethod
    def _page(
        data: Any, key: str, item_cls: type[PlanDocument] | type[AgentDocument], pagination: PaginationOptions
    ) -> Page[Any]:
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise RestResponseError(f"unexpected list response shape: expected an object with a '{key}' array")

        def build_page(body: dict[str, Any]) -> Page[Any]:
            return Page[item_cls].model_validate(  # type: ignore[valid-type]
                {
                    "total": body.get("total", len(body[key])),
                    "page": body.get("page", pagination.page),
                    "offset": body.get("offset", pagination.offset),
                    "items": tuple(item_cls.from_wire(item) for item in body[key]),
                }
            )

        return _parse(build_page, data, key)

    # -- writes that stay on REST (authenticated) ------------------------------------------------------

    def update_agent_metadata(
        self, agent_id: int | str, agent_metadata: AgentMetadata, agent_api: AgentAPIAttributes
    ) -> ApiResult:
        """``PUT /api/v1/protocol/agents/{agentId}`` with ``{metadataAttributes, agentApiAttributes}``.

        Only for agents the backend knows; it cannot attach metadata to third-party on-chain registrations.

        Raises:
            ValidationError: bad ``agent_id``. ConfigurationError: no API key. RestError subclasses (never retried).
        """
        body = {"metadataAttributes": agent_metadata.model_dump(mode="json", by_alias=True, exclude_none=True),
                "agentApiAttributes": agent_api.model_dump(mode="json", by_alias=True, exclude_none=True)}
        path = f"{AGENTS}/{to_uint256(agent_id, what='agent_id')}"
        data = self._http.request("PUT", path, authenticated=True, body=body)
        return _parse(ApiResult.from_wire, data, "agent update")

    def order_fiat_plan(self, plan_id: int | str) -> FiatCheckout:
        """``POST /api/v1/fiat/stripe/payment`` with ``{planId, sessionType: "embedded"}``: start a Stripe
        checkout. Credits arrive after payment, granted by the backend.

        Raises:
            ValidationError: bad ``plan_id``. ConfigurationError: no API key. RestError subclasses (never retried);
            RestResponseError when no checkout URL comes back.
        """
        body = {"planId": str(to_uint256(plan_id, what="plan_id")), "sessionType": "embedded"}
        data = self._http.request("POST", FIAT_PAYMENT, authenticated=True, body=body)
        return _parse(FiatCheckout.from_wire, data, "fiat checkout")

    # -- x402 -------------------------------------------------------------------------------------------

    def get_x402_access_token(
        self,
        plan_id: int | str,
        agent_id: int | str | None = None,
        token_options: X402TokenOptions | None = None,
    ) -> X402AccessToken:
        """``POST /api/v1/x402/permissions``: mint an access token for the key's account.

        Body: ``{"accepted": {scheme, network, planId, extra: {agentId?}}, "delegationConfig"?, "resource"?,
        "httpVerb"?, "tokenVersion"?}``; the network defaults by scheme and environment.

        Raises:
            ValidationError: bad IDs. ConfigurationError: no API key. RestError subclasses (never retried).
        """
        options = token_options or X402TokenOptions()
        extra: dict[str, str] = {}
        if agent_id is not None:
            extra["agentId"] = str(to_uint256(agent_id, what="agent_id"))
        body: dict[str, Any] = {
            "accepted": {
                "scheme": options.scheme,
                "network": options.network or default_network(options.scheme, self._env.name),
                "planId": str(to_uint256(plan_id, what="plan_id")),
                "extra": extra,
            }
        }
        if options.delegation_config is not None:
            body["delegationConfig"] = options.delegation_config.to_wire()
        for attr, wire_name in (("resource", "resource"), ("http_verb", "httpVerb"), ("token_version", "tokenVersion")):
            if getattr(options, attr) is not None:
                body[wire_name] = getattr(options, attr)
        data = self._http.request("POST", f"{X402}/permissions", authenticated=True, body=body)
        return _parse(X402AccessToken.from_wire, data, "x402 permissions")

    def _facilitator_body(
        self, payment_required: PaymentRequired, token: str | X402AccessToken, max_amount: int | str | None
    ) -> dict[str, Any]:
        access_token = token.access_token if isinstance(token, X402AccessToken) else token
        if not isinstance(access_token, str) or not access_token:
            raise ConfigurationError("an x402 access token string is required")
        body: dict[str, Any] = {"paymentRequired": payment_required.to_wire(), "x402AccessToken": access_token}
        if max_amount is not None:
            body["maxAmount"] = str(to_uint256(max_amount, what="max_amount"))
        return body

    def verify_permissions(
        self, payment_required: PaymentRequired, token: str | X402AccessToken, max_amount: int | str | None = None
    ) -> VerifyResponse:
        """``POST /api/v1/x402/verify``: check a token can pay (simulation; burns nothing).

        Raises:
            ValidationError: bad ``max_amount``. ConfigurationError: no API key or token.
            RestError subclasses (never retried).
        """
        body = self._facilitator_body(payment_required, token, max_amount)
        data = self._http.request("POST", f"{X402}/verify", authenticated=True, body=body)
        return _parse(VerifyResponse.model_validate, data, "verify")

    def settle_permissions(
        self,
        payment_required: PaymentRequired,
        token: str | X402AccessToken,
        max_amount: int | str | None = None,
        agent_request_id: str | None = None,
    ) -> SettleResponse:
        """``POST /api/v1/x402/settle``: burn the credits for one request.

        **Check** ``.success``: HTTP 200 with ``success: false`` is returned, not raised.

        Raises:
            ValidationError: bad ``max_amount``. ConfigurationError: no API key or token.
            AccessTokenAlreadyUsedError: a v3 token settled twice. Other RestError subclasses (never retried).
        """
        body = self._facilitator_body(payment_required, token, max_amount)
        if agent_request_id is not None:
            body["agentRequestId"] = agent_request_id
        data = self._http.request("POST", f"{X402}/settle", authenticated=True, body=body)
        return _parse(SettleResponse.model_validate, data, "settle")
