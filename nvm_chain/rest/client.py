"""Synchronous client of the Nevermined REST API for what has no on-chain home.

REST fallback: HTTP only, never signs or sends transactions. It covers plan/agent documents and listings, the
plan balance as the backend sees it, deployment info, x402 token minting and facilitator verify/settle, and fiat
(Stripe) checkout. Plan/agent registration, orders, mints and burns are done on-chain elsewhere in nvm-chain.

Metadata gap: the API has **no** endpoint to attach metadata to a plan or agent that a third party registered
on-chain, so none is offered here; ``update_agent_metadata`` only updates agents the backend already knows.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pydantic

from nvm_chain.errors import (
    ConfigurationError,
    DeploymentMismatchWarning,
    EnvironmentMismatchWarning,
    RestResponseError,
    ValidationError,
)
from nvm_chain.protocol.models import AgentAPIAttributes, AgentMetadata, PlanBalance
from nvm_chain.rest.access_tokens import X402AccessToken, X402TokenOptions, token_request_body
from nvm_chain.rest.api_key import NvmApiKey, parse_api_key
from nvm_chain.rest.delegation import (
    CreateDelegationPayload,
    CreateDelegationResponse,
    DelegationSummary,
    PaymentMethodSummary,
    check_provider,
    parse_list,
)
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
M = TypeVar("M", bound=pydantic.BaseModel)

PLANS = "/api/v1/protocol/plans"
AGENTS = "/api/v1/protocol/agents"
X402 = "/api/v1/x402"
DELEGATION = "/api/v1/delegation"
PAYMENT_METHODS = "/api/v1/payment-methods"
FIAT_PAYMENT = "/api/v1/fiat/stripe/payment"
INFO = "/"


def _problems(exc: pydantic.ValidationError) -> str:
    # Field locations and reasons only: pydantic's own text would echo input values (tokens, say).
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])


def _shape_error(exc: pydantic.ValidationError, what: str) -> RestResponseError:
    return RestResponseError(f"unexpected {what} response shape: {_problems(exc)}")


def _input(model: type[M], value: Any, what: str) -> M:
    """Validate caller input into ``model``; field locations and reasons only, never the values.

    Raises:
        ValidationError: the input does not fit ``model``.
    """
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise ValidationError(f"invalid {what}: {_problems(exc)}") from None


def _parse(build: Callable[[Any], T], data: Any, what: str) -> T:
    try:
        return build(data)
    except pydantic.ValidationError as exc:
        raise _shape_error(exc, what) from None
    except ValidationError as exc:  # nvm_chain.protocol.models report field paths and problems, never raw values
        raise RestResponseError(f"unexpected {what} response shape: {exc}") from None


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the calling function point at the first frame
    outside the nvm_chain package (the user's line, however deep the facade)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def resolve_environment_name(key: NvmApiKey | None, environment: str | None) -> EnvironmentName:
    """Pick the environment as payments-py does: a recognised key prefix wins, else ``environment``, else
    ``custom``. ``custom`` may be combined with any key (a self-hosted backend named by ``base_url`` or
    ``NVM_BACKEND_URL``).

    Warns :class:`EnvironmentMismatchWarning` (at the caller's line) when ``environment`` names another
    environment than the key's prefix; the key's environment is then used.

    Raises:
        ConfigurationError: unknown environment name.
    """
    name = check_environment_name(environment) if environment is not None else None
    key_env = key.environment if key is not None else None
    if key_env is not None and name not in (None, "custom", key_env):
        warnings.warn(EnvironmentMismatchWarning(
            f"the API key was minted for '{key_env}': environment '{name}' is ignored and '{key_env}' is used"),
            stacklevel=_caller_stacklevel())
        return key_env
    return name or key_env or "custom"


class RestClient:
    """Sync httpx client of the Nevermined backend.

    Args:
        api_key: ``<prefix>:<jwt>`` string or a parsed :class:`NvmApiKey`; needed for authenticated calls only.
        environment: ``sandbox``, ``live`` or ``custom``; a key whose prefix names an environment uses that
            one (``custom`` excepted), warning :class:`EnvironmentMismatchWarning` if this names another;
            without a recognised prefix it defaults to ``custom``.
        base_url: backend URL overriding the environment's (``custom`` otherwise uses ``NVM_BACKEND_URL``).
        api_version: ``Nevermined-Version`` header (default ``1.1``).
        organization_id: sent as ``X-Current-Org-Id`` when set.
        connect_timeout, read_timeout: seconds (default 10 and 30).
        retry: retry policy for idempotent GETs; POST/PUT/DELETE are never retried.

    Raises:
        ApiKeyError: malformed key. ConfigurationError: unknown environment, bad URL or timeouts.
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

        Body as payments-py sends it (see :func:`nvm_chain.rest.access_tokens.token_request_body`): ``{"accepted":
        {scheme, network, planId, extra: {agentId?, httpVerb?}}, "resource"?: {"url", …}, "tokenVersion"?,
        "delegationConfig"?}``; the network defaults by scheme and environment. The version actually minted is
        ``result.token_version``.

        Raises:
            ValidationError: bad IDs or a blank resource URL (nothing sent). ConfigurationError: no API key.
            RestError subclasses (never retried).
        """
        body = token_request_body(plan_id, agent_id, token_options, self._env.name)
        data = self._http.request("POST", f"{X402}/permissions", authenticated=True, body=body)
        return _parse(X402AccessToken.from_wire, data, "x402 permissions")

    def _facilitator_body(
        self,
        payment_required: PaymentRequired,
        x402_access_token: str | X402AccessToken | None,
        token: str | X402AccessToken | None,
        max_amount: int | str | None,
    ) -> dict[str, Any]:
        if x402_access_token is not None and token is not None:
            raise ValidationError("pass the access token once: x402_access_token= or token=, not both")
        given = x402_access_token if x402_access_token is not None else token
        access_token = given.access_token if isinstance(given, X402AccessToken) else given
        if not isinstance(access_token, str) or not access_token:
            raise ConfigurationError("an x402 access token string is required")
        body: dict[str, Any] = {"paymentRequired": payment_required.to_wire(), "x402AccessToken": access_token}
        if max_amount is not None:
            body["maxAmount"] = str(to_uint256(max_amount, what="max_amount"))
        return body

    def verify_permissions(
        self,
        payment_required: PaymentRequired,
        x402_access_token: str | X402AccessToken | None = None,
        max_amount: int | str | None = None,
        *,
        token: str | X402AccessToken | None = None,
    ) -> VerifyResponse:
        """``POST /api/v1/x402/verify``: check a token can pay (simulation; burns nothing).

        The token goes second, or as ``x402_access_token=`` (payments-py's name) or ``token=`` (older name).

        Raises:
            ValidationError: bad ``max_amount``, or the token given twice. ConfigurationError: no API key or token.
            RestError subclasses (never retried).
        """
        body = self._facilitator_body(payment_required, x402_access_token, token, max_amount)
        data = self._http.request("POST", f"{X402}/verify", authenticated=True, body=body)
        return _parse(VerifyResponse.model_validate, data, "verify")

    def settle_permissions(
        self,
        payment_required: PaymentRequired,
        x402_access_token: str | X402AccessToken | None = None,
        max_amount: int | str | None = None,
        agent_request_id: str | None = None,
        *,
        token: str | X402AccessToken | None = None,
    ) -> SettleResponse:
        """``POST /api/v1/x402/settle``: burn the credits for one request.

        **Check** ``.success``: HTTP 200 with ``success: false`` is returned, not raised. The token goes second,
        or as ``x402_access_token=`` (payments-py's name) or ``token=`` (older name).

        Raises:
            ValidationError: bad ``max_amount``, or the token given twice. ConfigurationError: no API key or token.
            AccessTokenAlreadyUsedError: a v3 token settled twice. Other RestError subclasses (never retried).
        """
        body = self._facilitator_body(payment_required, x402_access_token, token, max_amount)
        if agent_request_id is not None:
            body["agentRequestId"] = agent_request_id
        data = self._http.request("POST", f"{X402}/settle", authenticated=True, body=body)
        return _parse(SettleResponse.model_validate, data, "settle")

    # -- delegations (authenticated) --------------------------------------------------------------------

    def create_delegation(self, payload: CreateDelegationPayload | Mapping[str, Any]) -> CreateDelegationResponse:
        """``POST /api/v1/delegation/create``: create a delegation (card or ``erc4337``) to mint tokens against.

        ``payload`` is a :class:`CreateDelegationPayload` or a mapping of its fields (snake_case or camelCase).

        Raises:
            ValidationError: a payload of the wrong shape (nothing sent). ConfigurationError: no API key.
            RestError subclasses (never retried; ``BCK.VISA.0014`` for a Visa delegation outside the web app).
        """
        if not isinstance(payload, CreateDelegationPayload):
            payload = _input(CreateDelegationPayload, payload, "delegation payload")
        data = self._http.request("POST", f"{DELEGATION}/create", authenticated=True, body=payload.to_wire())
        return _parse(CreateDelegationResponse.model_validate, data, "create delegation")

    def list_delegations(self) -> list[DelegationSummary]:
        """``GET /api/v1/delegation``: the user's delegations.

        Raises:
            ConfigurationError: no API key. RestError subclasses; RestResponseError on a bad shape.
        """
        data = self._http.request("GET", DELEGATION, authenticated=True)
        return _parse(lambda body: parse_list(body, DelegationSummary), data, "delegation list")

    def list_payment_methods(self, provider: str | None = None) -> list[PaymentMethodSummary]:
        """``GET /api/v1/payment-methods[?provider=]``: the user's enrolled cards and smart-account wallet.

        Raises:
            ValidationError: unknown ``provider`` (nothing sent). ConfigurationError: no API key.
            RestError subclasses; RestResponseError on a bad shape.
        """
        params = {"provider": check_provider(provider)} if provider is not None else None
        data = self._http.request("GET", PAYMENT_METHODS, authenticated=True, params=params)
        return _parse(lambda body: parse_list(body, PaymentMethodSummary), data, "payment methods")
