"""Client configuration: environments, base URLs, timeouts, TLS, headers and repr."""

from __future__ import annotations

import inspect
import ssl

import httpx
import pytest

from nvm_chain.errors import ConfigurationError
from nvm_chain.rest import RestClient, get_environment
from nvm_chain.rest.transport import _tls_context

from .fake_backend import PLAN_ID, FakeBackend
from .helpers import assert_no_secret, make_key


@pytest.mark.parametrize(
    ("prefix", "environment", "url"),
    [
        ("sandbox", "sandbox", "https://api.sandbox.nevermined.app"),
        ("live", "live", "https://api.live.nevermined.app"),
        ("live-staging", "staging_live", "https://api.live.nevermined.dev"),
    ],
)
def test_environment_comes_from_the_key_prefix(prefix: str, environment: str, url: str) -> None:
    with RestClient(make_key(prefix)) as client:
        assert client.environment == environment
        assert client.base_url == url


def test_explicit_environment_without_key_and_unknown_prefix() -> None:
    with RestClient(environment="live") as client:
        assert (client.environment, client.base_url) == ("live", "https://api.live.nevermined.app")
    with RestClient(make_key("nvm"), environment="sandbox") as client:
        assert client.environment == "sandbox"
        assert client.account_address is not None


def test_custom_environment_reads_nvm_backend_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVM_BACKEND_URL", "http://backend.internal:4000/")
    with RestClient() as client:
        assert (client.environment, client.base_url) == ("custom", "http://backend.internal:4000")
    monkeypatch.delenv("NVM_BACKEND_URL")
    assert get_environment("custom").backend == "http://localhost:3001"
    with RestClient(base_url="https://my.backend/api/") as client:
        assert (client.environment, client.base_url) == ("custom", "https://my.backend/api")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVM_API_KEY", make_key("live"))
    monkeypatch.delenv("NVM_ENVIRONMENT", raising=False)
    with RestClient.from_env() as client:
        assert client.environment == "live"
        assert client.api_key is not None


def test_key_and_environment_must_agree() -> None:
    with pytest.raises(ConfigurationError, match="minted for 'sandbox'"):
        RestClient(make_key("sandbox"), environment="live")
    with RestClient(make_key("sandbox"), environment="custom", base_url="http://127.0.0.1:9") as client:
        assert client.environment == "custom"


@pytest.mark.parametrize("kwargs", [{"environment": "mainnet"}, {"base_url": "ftp://x"}, {"base_url": "no-scheme"},
                                    {"read_timeout": 0}, {"connect_timeout": -1}])
def test_bad_configuration_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        RestClient(**kwargs)


def test_unknown_environment_message() -> None:
    with pytest.raises(ConfigurationError, match=r"^Environment 'mainnet' is not defined\.$"):
        get_environment("mainnet")


def test_default_timeouts_and_no_tls_switch() -> None:
    with RestClient(environment="sandbox") as client:
        timeout = client._http._client.timeout
        assert (timeout.connect, timeout.read) == (10.0, 30.0)
    with RestClient(environment="sandbox", connect_timeout=1.5, read_timeout=4) as client:
        timeout = client._http._client.timeout
        assert (timeout.connect, timeout.read) == (1.5, 4)
    assert not {"verify", "transport", "ssl_context"} & set(inspect.signature(RestClient).parameters)
    with pytest.raises(TypeError):
        RestClient(environment="sandbox", verify=False)  # type: ignore[call-arg]


def test_repr_shows_environment_and_base_url_only() -> None:
    key = make_key("sandbox")
    with RestClient(key, base_url="https://user:pw@api.example.org/v") as client:
        text = repr(client)
        assert text == "RestClient(environment='sandbox', base_url='https://api.example.org/v')"
        assert_no_secret(text + str(client) + repr(client.api_key) + repr(client._http), key)


def test_public_call_headers_have_no_authorization(client: RestClient, backend: FakeBackend) -> None:
    client.get_plan(PLAN_ID)
    headers = backend.last.headers
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["nevermined-version"] == "1.1"
    assert "authorization" not in headers
    assert "x-current-org-id" not in headers


def test_authenticated_call_sends_the_full_key_as_bearer(
    client: RestClient, backend: FakeBackend, api_key: str
) -> None:
    client.order_fiat_plan(PLAN_ID)
    assert backend.last.headers["authorization"] == f"Bearer {api_key}"
    assert api_key.startswith("sandbox:")
    assert backend.last.headers["nevermined-version"] == "1.1"


def test_api_version_and_organization_headers(backend: FakeBackend, api_key: str) -> None:
    with RestClient(api_key, base_url=backend.url, api_version="1.2", organization_id="org-42") as client:
        client.get_agent(1)
    assert backend.last.headers["nevermined-version"] == "1.2"
    assert backend.last.headers["x-current-org-id"] == "org-42"


def test_authenticated_call_without_key_fails_before_sending(public_client: RestClient, backend: FakeBackend) -> None:
    with pytest.raises(ConfigurationError, match="needs an NVM API key"):
        public_client.get_x402_access_token(PLAN_ID)
    assert backend.count() == 0


def test_tls_always_verifies_and_redirects_are_not_followed() -> None:
    context = _tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with RestClient(environment="sandbox") as client:
        assert isinstance(client._http._client, httpx.Client)
        assert client._http._client.follow_redirects is False
