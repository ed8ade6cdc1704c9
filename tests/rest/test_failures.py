"""Failures: retries (GET only), Retry-After, timeouts, typed 4xx/5xx, malformed answers, and key masking."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from nvm_chain.errors import (
    AccessTokenAlreadyUsedError,
    NvmChainError,
    RestAuthError,
    RestClientError,
    RestConnectionError,
    RestNotFoundError,
    RestRateLimitError,
    RestResponseError,
    RestServerError,
    RestTimeout,
)
from nvm_chain.rest import (
    NO_RETRY,
    AgentAPIAttributes,
    AgentMetadata,
    RestClient,
    RetryPolicy,
    build_payment_required,
)

from .fake_backend import PLAN_ID, FakeBackend, Reply, envelope
from .helpers import FAST_RETRY, SUB_CHECKSUM, assert_no_secret

PLAN_PATH = f"/api/v1/protocol/plans/{PLAN_ID}"
REQUIRED = build_payment_required(PLAN_ID)

POSTS = {
    "permissions": ("/api/v1/x402/permissions", lambda c: c.get_x402_access_token(PLAN_ID)),
    "verify": ("/api/v1/x402/verify", lambda c: c.verify_permissions(REQUIRED, "tok")),
    "settle": ("/api/v1/x402/settle", lambda c: c.settle_permissions(REQUIRED, "tok")),
    "fiat": ("/api/v1/fiat/stripe/payment", lambda c: c.order_fiat_plan(PLAN_ID)),
}


def test_get_retried_on_503_honouring_retry_after(client: RestClient, backend: FakeBackend) -> None:
    busy = Reply(503, {"code": "BCK.COMMON.0503", "message": "busy"}, headers={"Retry-After": "0.15"})
    backend.script("GET", PLAN_PATH, busy, busy)
    started = time.monotonic()
    plan = client.get_plan(PLAN_ID)
    elapsed = time.monotonic() - started
    assert plan.plan_id == int(PLAN_ID)
    assert backend.count("GET", PLAN_PATH) == 3
    assert elapsed >= 0.3  # two waits of Retry-After: 0.15


def test_get_retried_on_429_then_succeeds(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", "/", Reply(429, {"code": "BCK.COMMON.0429", "message": "slow down"},
                                     headers={"Retry-After": "0"}))
    info = client.get_deployment_info()
    assert backend.count("GET", "/") == 2
    assert info.version == "1.5.0"


def test_retry_after_is_capped(backend: FakeBackend, api_key: str) -> None:
    policy = RetryPolicy(max_attempts=2, backoff_base=0.01, retry_after_cap=0.05)
    backend.script("GET", "/", Reply(503, headers={"Retry-After": "120"}))
    with RestClient(api_key, base_url=backend.url, retry=policy) as client:
        started = time.monotonic()
        client.get_deployment_info()
    assert time.monotonic() - started < 2
    assert backend.count("GET", "/") == 2


def test_get_gives_up_after_max_attempts(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", PLAN_PATH, *[Reply(503, {"code": "BCK.COMMON.0503", "message": "maintenance"},
                                             headers={"Retry-After": "0.01"})] * 5)
    with pytest.raises(RestServerError) as info:
        client.get_plan(PLAN_ID)
    assert backend.count("GET", PLAN_PATH) == FAST_RETRY.max_attempts == 3
    assert (info.value.status, info.value.code, info.value.retry_after) == (503, "BCK.COMMON.0503", 0.01)


def test_persistent_429_is_a_rate_limit_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", "/", *[Reply(429, headers={"Retry-After": "0"})] * 3)
    with pytest.raises(RestRateLimitError) as info:
        client.get_deployment_info()
    assert isinstance(info.value, RestClientError)
    assert (info.value.status, info.value.code, info.value.retry_after) == (429, "http_429", 0.0)
    assert backend.count() == 3


def test_get_500_is_not_retried(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", PLAN_PATH, envelope(500, "BCK.COMMON.0500", "boom"))
    with pytest.raises(RestServerError, match="boom"):
        client.get_plan(PLAN_ID)
    assert backend.count() == 1


@pytest.mark.parametrize("name", sorted(POSTS))
@pytest.mark.parametrize("status", [503, 429])
def test_posts_are_never_retried(client: RestClient, backend: FakeBackend, name: str, status: int) -> None:
    path, call = POSTS[name]
    backend.script("POST", path, Reply(status, {"code": f"BCK.TEST.{status}", "message": "busy"},
                                       headers={"Retry-After": "0"}))
    with pytest.raises(RestServerError if status == 503 else RestRateLimitError) as info:
        call(client)
    assert info.value.status == status
    assert backend.count("POST", path) == 1


def test_put_is_never_retried(client: RestClient, backend: FakeBackend) -> None:
    backend.script("PUT", "/api/v1/protocol/agents/7", Reply(503, headers={"Retry-After": "0"}))
    with pytest.raises(RestServerError):
        client.update_agent_metadata(7, AgentMetadata(name="a"), AgentAPIAttributes())
    assert backend.count("PUT") == 1


def test_get_timeout_is_retried_then_raises_rest_timeout(backend: FakeBackend, api_key: str) -> None:
    backend.script("GET", "/", *[Reply(body={}, delay=0.4)] * 2)
    retry = RetryPolicy(max_attempts=2, backoff_base=0.01)
    with RestClient(api_key, base_url=backend.url, read_timeout=0.1, retry=retry) as c:
        with pytest.raises(RestTimeout) as info:
            c.get_deployment_info()
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, NvmChainError)
    assert info.value.status is None and info.value.code == "timeout"
    assert backend.count("GET", "/") == 2


def test_post_timeout_is_not_retried(backend: FakeBackend, api_key: str) -> None:
    backend.script("POST", "/api/v1/x402/settle", Reply(body={"success": True}, delay=0.4))
    with RestClient(api_key, base_url=backend.url, read_timeout=0.1, retry=FAST_RETRY) as c:
        with pytest.raises(RestTimeout):
            c.settle_permissions(REQUIRED, "tok")
    assert backend.count("POST", "/api/v1/x402/settle") == 1


def test_unreachable_backend_is_a_connection_error(api_key: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again on exit: nothing listens there
    sleeps: list[float] = []
    with RestClient(api_key, base_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY) as client:
        client._http._sleep = sleeps.append
        with pytest.raises(RestConnectionError) as info:
            client.get_deployment_info()
        assert len(sleeps) == 2  # GET: 3 attempts, 2 backoffs
        sleeps.clear()
        with pytest.raises(RestConnectionError):
            client.order_fiat_plan(PLAN_ID)
        assert sleeps == []  # POST: one attempt
    assert isinstance(info.value, ConnectionError)
    assert info.value.code == "network_error" and info.value.status is None


def test_4xx_envelope_becomes_typed_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", "/api/v1/x402/permissions", envelope(
        400, "BCK.COMMON.0026", "planId must be a uint256", hint="send it as a decimal string",
        details={"field": "planId"}))
    with pytest.raises(RestClientError) as info:
        client.get_x402_access_token(PLAN_ID)
    err = info.value
    assert type(err) is RestClientError
    assert (err.status, err.code, err.message) == (400, "BCK.COMMON.0026", "planId must be a uint256")
    assert (err.hint, err.details) == ("send it as a decimal string", {"field": "planId"})
    assert (err.method, err.path) == ("POST", "/api/v1/x402/permissions")
    assert str(err) == ("POST /api/v1/x402/permissions: planId must be a uint256 — send it as a decimal string "
                        "({'field': 'planId'}) (HTTP 400, BCK.COMMON.0026)")


def test_404_401_and_token_already_used(client: RestClient, public_client: RestClient, backend: FakeBackend) -> None:
    with pytest.raises(RestNotFoundError) as not_found:
        public_client.get_plan(7)
    assert isinstance(not_found.value, LookupError)
    assert (not_found.value.status, not_found.value.code) == (404, "BCK.PROTOCOL.0002")

    backend.script("POST", "/api/v1/x402/verify", envelope(401, "BCK.AUTH.0002", "Invalid API key"))
    with pytest.raises(RestAuthError) as unauthorized:
        client.verify_permissions(REQUIRED, "tok")
    assert unauthorized.value.status == 401

    backend.script("POST", "/api/v1/x402/settle", envelope(409, "BCK.X402.0059", "Access token already used"))
    with pytest.raises(AccessTokenAlreadyUsedError) as used:
        client.settle_permissions(REQUIRED, "tok")
    assert isinstance(used.value, RestClientError) and used.value.code == "BCK.X402.0059"


def test_error_without_json_body_and_list_messages(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", "/", Reply(418, raw=b"I'm a teapot"))
    with pytest.raises(RestClientError) as teapot:
        client.get_deployment_info()
    assert (teapot.value.code, teapot.value.message) == ("http_418", "I'm a teapot")

    backend.script("POST", "/api/v1/x402/verify",
                   Reply(400, {"statusCode": 400, "message": ["a must be set", "b too"]}))
    with pytest.raises(RestClientError) as nest:
        client.verify_permissions(REQUIRED, "tok")
    assert (nest.value.code, nest.value.message) == ("http_400", "a must be set; b too")


def test_malformed_json_is_a_response_error(client: RestClient, backend: FakeBackend) -> None:
    backend.script("GET", PLAN_PATH, Reply(200, raw=b"{not json"))
    with pytest.raises(RestResponseError) as info:
        client.get_plan(PLAN_ID)
    assert (info.value.status, info.value.code) == (200, "invalid_response")
    assert backend.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "call"),
    [
        ("GET", PLAN_PATH, {"metadata": {}}, lambda c: c.get_plan(PLAN_ID)),
        ("GET", PLAN_PATH, [1, 2], lambda c: c.get_plan(PLAN_ID)),
        ("GET", f"{PLAN_PATH}/balance/{SUB_CHECKSUM}", {"planId": PLAN_ID}, lambda c: c.get_plan_balance(PLAN_ID)),
        ("GET", "/", {"deployment": {"contracts": {"NVMConfig": "nope"}}}, lambda c: c.get_deployment_info()),
        ("POST", "/api/v1/x402/verify", {"payer": "x"}, lambda c: c.verify_permissions(REQUIRED, "tok")),
        ("POST", "/api/v1/x402/settle", {"success": "maybe"}, lambda c: c.settle_permissions(REQUIRED, "tok")),
    ],
    ids=["plan-no-id", "plan-not-object", "balance-missing-fields", "bad-address", "verify-no-isValid",
         "settle-bad-bool"],
)
def test_unexpected_shape_is_a_response_error(
    client: RestClient, backend: FakeBackend, method, path, body, call
) -> None:
    backend.script(method, path, Reply(200, body))
    with pytest.raises(RestResponseError, match="unexpected .* response shape"):
        call(client)


def test_shape_error_does_not_echo_the_minted_token(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", "/api/v1/x402/permissions", Reply(201, {"accessToken": ["TOKEN-SECRET-MARKER"]}))
    with pytest.raises(RestResponseError) as info:
        client.get_x402_access_token(PLAN_ID)
    assert "TOKEN-SECRET-MARKER" not in str(info.value)
    assert "access_token" in str(info.value)


def test_redirect_is_not_followed(client: RestClient, backend: FakeBackend) -> None:
    backend.script("POST", "/api/v1/x402/verify", Reply(307, headers={"Location": "http://evil.example/steal"}))
    with pytest.raises(RestResponseError) as info:
        client.verify_permissions(REQUIRED, "tok")
    assert info.value.status == 307
    assert backend.count() == 1


def test_key_echoed_by_backend_is_masked_everywhere(
    client: RestClient, backend: FakeBackend, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    jwt = api_key.split(":", 1)[1]
    backend.script("POST", "/api/v1/x402/permissions", envelope(
        401, "BCK.AUTH.0003", f"rejected Authorization: Bearer {api_key}", hint=f"key {jwt} revoked",
        details={"key": api_key, "nested": [jwt]}))
    with caplog.at_level(logging.DEBUG, logger="nvm_chain"):
        with pytest.raises(RestAuthError) as info:
            client.get_x402_access_token(PLAN_ID)
        logging.getLogger("nvm_chain.rest").warning("debug dump: Bearer %s", api_key)
    err = info.value
    for text in (str(err), repr(err), err.message, str(err.hint), str(err.details), str(err.args), caplog.text):
        assert_no_secret(text, api_key)
    assert "***" in err.message and err.details == {"key": "***", "nested": ["***"]}
    assert "BCK.AUTH.0003" in str(err)


def test_transport_errors_and_timeouts_do_not_mention_the_key(backend: FakeBackend, api_key: str) -> None:
    backend.script("GET", "/", Reply(body={}, delay=0.3))
    with RestClient(api_key, base_url=backend.url, read_timeout=0.05, retry=NO_RETRY) as client:
        with pytest.raises(RestTimeout) as info:
            client.get_deployment_info()
        assert_no_secret(str(info.value) + repr(info.value) + repr(client), api_key)
