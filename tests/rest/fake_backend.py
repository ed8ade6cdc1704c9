"""A real HTTP server on 127.0.0.1 that speaks the documented Nevermined REST contract (test helper).

It records every request (method, path, query, headers, parsed JSON body) and answers either from a per-test
script (:meth:`FakeBackend.script`) or from default handlers that return the documented payloads and the
documented error envelope ``{code, message, httpStatus, hint, details}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eth_utils import to_checksum_address

PLAN_ID = "105906633592154016712415751065660953070604027297000423385655551747721326921578"
PLAN_ID_2 = "42"
AGENT_ID = "77145838226958411451412549848563183245765208153327399094447428745406446089561"
HOLDER = to_checksum_address("0x9a1d0c4b8b3f1a6ae2bb1e3c0d5e7f9a1b2c3d4f")
SUBSCRIBER = to_checksum_address("0x1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e")
CREDITS_CONTRACT = to_checksum_address("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
TEMPLATE = to_checksum_address("0x00000000000000000000000000000000000000a1")
TOKEN = to_checksum_address("0x75faf114eafb1bdbe2f0316df893fd58ce46aa4d")
CONTRACT_NAMES = (
    "AccessManager AgreementsStore AssetsRegistry DistributePaymentsCondition FiatPaymentTemplate "
    "FiatSettlementCondition FixedPaymentTemplate LinearPricing LockPaymentCondition NFT1155Credits "
    "NFT1155ExpirableCredits NFT1155ExpirableCreditsV2 NVMConfig OneTimeCreatorHook PayAsYouGoTemplate "
    "PaymentsVault ProtocolStandardFees TokenUtils TransferCreditsCondition"
).split()
#: Lower-case addresses, as a backend may publish them.
CONTRACTS = {name: "0x" + f"{0xa0 + i:02x}" * 20 for i, name in enumerate(CONTRACT_NAMES)}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw_body: bytes


@dataclass
class Reply:
    """One scripted answer: JSON ``body`` (or ``raw`` bytes), status, extra headers, and a delay before it."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def envelope(status: int, code: str, message: Any, hint: str | None = None, details: Any = None) -> Reply:
    return Reply(status, {"code": code, "message": message, "httpStatus": status, "hint": hint, "details": details})


def b64url_json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()


DEPLOYMENT = {"deployment": {"version": "1.5.0", "chainId": 84532, "contracts": CONTRACTS}}
AGENT_UPDATED = {"success": True, "message": "Agent updated", "httpStatus": 200, "when": "2026-09-01T00:00:00Z"}
VERIFIED = {"isValid": True, "payer": SUBSCRIBER, "network": "eip155:84532", "agentRequestId": "req-123",
            "urlMatching": "/weather"}
SETTLED = {"success": True, "payer": SUBSCRIBER, "transaction": "0x" + "ab" * 32, "network": "eip155:84532",
           "creditsRedeemed": "1", "remainingBalance": "99"}
DELEGATION_ID = "0b8e4f6c-2d1a-4e7b-9c3f-5a6b7c8d9e0f"
DELEGATION_CREATED = {"delegationId": DELEGATION_ID, "delegationToken": "dlg-token-SECRET"}
DELEGATIONS = [
    {"id": DELEGATION_ID, "cardId": None, "spendingLimitCents": 10000, "spentCents": 250, "durationSecs": 604800,
     "currency": "usdc", "status": "active", "createdAt": "2026-09-01T00:00:00Z", "expiresAt": "2026-09-08T00:00:00Z"},
    {"id": "7d9c1e2f-0000-4000-8000-000000000002", "cardId": "card-uuid-1", "spendingLimitCents": 500,
     "spentCents": 0, "durationSecs": 3600, "currency": "usd", "status": "expired"},
]
PAYMENT_METHODS = [
    {"id": "pm_1", "type": "card", "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2028,
     "provider": "stripe"},
    {"id": SUBSCRIBER, "type": "crypto_wallet", "brand": "ethereum", "last4": SUBSCRIBER[-4:], "expMonth": None,
     "expYear": None, "provider": "erc4337"},
]
STRIPE_CHECKOUT = {"result": {  # the TS SDK's StripeCheckoutResult shape
    "checkoutLink": "https://checkout.stripe.com/c/pay/cs_test_1", "stripeCheckoutSessionId": "cs_test_1",
    "clientReferenceId": "ref-1", "linkCreatedAt": "2026-09-01T00:00:00Z", "linkExpiresAt": "2026-09-02T00:00:00Z",
}}


def plan_document(plan_id: str, key: str = "id") -> dict[str, Any]:
    return {
        key: plan_id,
        "metadata": {
            "main": {"name": f"Plan {plan_id[:6]}", "price": "1000"},
            "plan": {"accessLimit": "credits", "currency": "USDC", "fiatPaymentProvider": None},
        },
        "registry": {
            "price": {
                "isCrypto": True,
                "tokenAddress": TOKEN.lower(),
                "templateAddress": TEMPLATE,
                "amounts": ["990000", "10000"],
                "receivers": [HOLDER.lower(), CREDITS_CONTRACT],
            },
            "credits": {"amount": "100", "durationSecs": "0"},
        },
        "owner": HOLDER,
    }


def agent_document(agent_id: str, key: str = "id") -> dict[str, Any]:
    return {key: agent_id, "metadata": {"main": {"name": "Weather agent", "tags": ["weather"]}}, "plans": [PLAN_ID]}


class FakeBackend:
    """State and routing of the fake backend; one instance per server, reset per test."""

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``method path`` with ``replies`` in order, then fall back to defaults."""
        with self._lock:
            self._scripts.setdefault((method.upper(), path), deque()).extend(replies)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(1 for r in self.requests if (method in (None, r.method)) and (path in (None, r.path)))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # -- dispatch ---------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        split = urlsplit(target)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<invalid json>"
        record = Recorded(method, split.path, parse_qs(split.query), headers, body, raw)
        with self._lock:
            self.requests.append(record)
            queue = self._scripts.get((method, split.path))
            if queue:
                return queue.popleft()
        return self._default(record)

    def _default(self, r: Recorded) -> Reply:
        authed = r.headers.get("authorization", "").startswith("Bearer ")
        routes: list[tuple[str, str, bool, Any]] = [
            ("GET", r"/", False, lambda m: Reply(body=DEPLOYMENT)),
            ("GET", r"/api/v1/protocol/plans/(\d+)", False, self._plan),
            ("GET", r"/api/v1/protocol/plans/(\d+)/balance/(0x[0-9a-fA-F]{40})", False, self._balance),
            ("GET", r"/api/v1/protocol/plans/(\d+)/agents", False,
             lambda m: self._list(r, "agents", [agent_document(AGENT_ID), agent_document("12", "agentId")])),
            ("GET", r"/api/v1/protocol/agents/(\d+)", False, lambda m: Reply(body=agent_document(m.group(1)))),
            ("GET", r"/api/v1/protocol/agents/(\d+)/plans", False,
             lambda m: self._list(r, "plans", [plan_document(PLAN_ID, "planId"), plan_document(PLAN_ID_2)])),
            ("PUT", r"/api/v1/protocol/agents/(\d+)", True, lambda m: Reply(body=AGENT_UPDATED)),
            ("POST", r"/api/v1/x402/permissions", True, lambda m: Reply(201, {"accessToken": self.mint(r.body)})),
            ("POST", r"/api/v1/x402/verify", True, lambda m: Reply(body=VERIFIED)),
            ("POST", r"/api/v1/x402/settle", True, lambda m: Reply(body=SETTLED)),
            ("POST", r"/api/v1/fiat/stripe/payment", True, lambda m: Reply(201, STRIPE_CHECKOUT)),
            ("POST", r"/api/v1/delegation/create", True, lambda m: Reply(201, DELEGATION_CREATED)),
            ("GET", r"/api/v1/delegation", True, lambda m: Reply(body=DELEGATIONS)),
            ("GET", r"/api/v1/payment-methods", True, lambda m: Reply(body=[
                pm for pm in PAYMENT_METHODS if pm["provider"] in r.query.get("provider", [pm["provider"]])])),
        ]
        for method, pattern, needs_auth, make in routes:
            match = re.fullmatch(pattern, r.path)
            if match and method == r.method:
                if needs_auth and not authed:
                    return envelope(401, "BCK.AUTH.0001", "Unauthorized", hint="Send Authorization: Bearer <key>")
                return make(match)
        return envelope(404, "BCK.COMMON.0404", f"Cannot {r.method} {r.path}")

    def _plan(self, m: re.Match[str]) -> Reply:
        if m.group(1) not in (PLAN_ID, PLAN_ID_2):
            return envelope(404, "BCK.PROTOCOL.0002", "Plan not found")
        return Reply(body=plan_document(m.group(1)))

    def _balance(self, m: re.Match[str]) -> Reply:
        return Reply(body={
            "planId": m.group(1), "planName": "Basic", "planType": "credits", "holderAddress": m.group(2).lower(),
            "balance": "100", "creditsContract": CREDITS_CONTRACT.lower(), "isSubscriber": True, "pricePerCredit": 0.01,
        })

    @staticmethod
    def _list(r: Recorded, key: str, items: list[Any]) -> Reply:
        page = int(r.query.get("page", ["1"])[0])
        offset = int(r.query.get("offset", ["10"])[0])
        return Reply(body={"total": 25, "page": page, "offset": offset, key: items})

    @staticmethod
    def mint(body: Any) -> str:
        """A token for the requested ``accepted`` block, as the backend would mint it: v2, or v3 (bound to the
        agent, resource and verb, with a nonce derived from the body) when ``tokenVersion`` 3 is asked for."""
        authorization: dict[str, Any] = {"from": SUBSCRIBER.lower(), "sessionKeysProvider": "zerodev",
                                         "sessionKeys": []}
        if body.get("tokenVersion") == 3:
            extra = body["accepted"].get("extra", {})
            authorization.update(agentId=extra.get("agentId", ""), resourceUrl=body.get("resource", {}).get("url", ""),
                                 httpVerb=extra.get("httpVerb", ""),
                                 nonce="0x" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest())
        return b64url_json({
            "x402Version": 2,
            "accepted": body["accepted"],
            "payload": {"signature": "0x" + "11" * 65, "authorization": authorization},
            "extensions": {},
        })


def make_handler(backend: FakeBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = backend.handle(self.command, self.path, headers, raw)
            if reply.delay:
                time.sleep(reply.delay)
            payload = reply.raw if reply.raw is not None else b""
            if reply.raw is None and reply.body is not None:
                payload = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json" if reply.raw is None else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # client gone after a timeout
        pass


def start(backend: FakeBackend) -> tuple[QuietServer, threading.Thread]:
    server = QuietServer(("127.0.0.1", 0), make_handler(backend))
    backend.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread
