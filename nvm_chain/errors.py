"""Every exception and warning nvm-chain raises, in one tree (pure: no I/O, imports nothing of the package).

Each class carries ``exit_code``, the one exit code the ``nvm-chain`` command returns for it (README, "Exit
codes"). Subclasses also inherit the matching builtin, so callers may catch either::

    NvmChainError                                1  unexpected
    ├── ValidationError (ValueError)             3  bad input; nothing signed
    │   ├── FeeError                                 a price split without the protocol fee
    │   ├── InsufficientBalanceError                 the payer cannot pay the order
    │   ├── PlanNotInAgentError                      removing a plan the agent does not list
    │   ├── OffchainCreditsError                     credits kept off chain and no REST ledger to use
    │   ├── ClampedAmountError                       strict burn/redemption the contract would clamp
    │   ├── ApiKeyError, InvalidAccessTokenError     malformed API key / x402 access token
    │   │   └── X402NetworkMismatchError             an access token minted for another network
    │   └── ScenarioError                            a simulation scenario file that cannot be run
    ├── NotFoundError (LookupError)              3  PlanNotFoundError, AgentNotFoundError
    ├── NotPermittedError (PermissionError)      3  RedemptionRefused, NotAgentOwnerError
    ├── ConfigurationError (ValueError)          7  network, address book, profile, artifact
    │   ├── ChainMismatchError                       the node is on another chain; nothing signed
    │   ├── PlotsUnavailableError                    matplotlib is missing (pip install 'nvm-chain[plots]')
    │   └── KeystoreError                            WrongPassword, InsecureFile, AccountExists,
    │                                                AccountNotFound, PasswordUnavailable
    ├── ContractRevertError                      4  reverted in simulation, or mined with status 0
    ├── TransactionPending (TimeoutError)        5  sent (or maybe sent): hash, nonce; not failed
    ├── BroadcastError                           6  the node refused it: NOT sent, nonce free again
    │   └── InsufficientFundsError (ValueError)      cannot pay gas + value
    ├── NodeUnavailableError (ConnectionError)   6  no endpoint answered a read (after retries)
    ├── DuplicateIntentError                     3  the same write is still pending from an earlier run
    ├── RestError                                9  the REST API failed
    │   ├── RestTimeout (TimeoutError), RestConnectionError (ConnectionError)
    │   ├── RestClientError: RestAuthError, RestNotFoundError (LookupError), RestRateLimitError,
    │   │                    AccessTokenAlreadyUsedError
    │   ├── RestServerError
    │   └── RestResponseError
    ├── DryRun                                   0  dry-run mode: the simulation succeeded, nothing signed
    ├── SigningError                             1
    ├── JournalError                             7  the transaction journal cannot be used
    ├── IdMismatchError                          1  an offline id differs from the emitted one (tx WAS mined)
    └── DeploymentError                          1  the simulation suite could not be deployed

    NvmChainWarning (UserWarning): OffchainCreditsWarning, MetadataUnavailableWarning, DeploymentMismatchWarning,
                                   EnvironmentMismatchWarning
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

# exit codes of the nvm-chain command (README, "Exit codes")
EXIT_OK = 0
EXIT_FAILED = 1  # unexpected error
EXIT_USAGE = 2  # bad command line
EXIT_INVALID_INPUT = 3  # refused before signing: bad address, amount, id, fee rule, permission, not found
EXIT_REVERTED = 4  # the contract reverted (simulated or mined); the decoded error is printed
EXIT_PENDING = 5  # sent, but no receipt yet: the hash is printed; not a failure
EXIT_NETWORK = 6  # the node or API could not be reached, or the node refused the transaction (not sent)
EXIT_CONFIG = 7  # network, profile, address book, account or keystore problem
EXIT_DECLINED = 8  # not confirmed, or over --max-amount
EXIT_API = 9  # the REST API answered with an error


def shown(value: object, limit: int = 24) -> str:
    """``repr(value)`` for an error message, unless it could be a secret passed in the wrong place: long
    values and hex runs of 32+ digits are replaced by their type and length, so a private key given where
    an address, an amount or a network name was expected never reaches a message."""
    text = value if isinstance(value, str) else repr(value)
    digits = sum(c in "0123456789abcdefABCDEF" for c in text)
    if len(text) > limit or digits >= 32:
        return f"<{type(value).__name__} of {len(text)} characters, not shown>"
    return repr(value)


class NvmChainError(Exception):
    """Root of every nvm-chain exception."""

    exit_code: ClassVar[int] = EXIT_FAILED


# ---------------------------------------------------------------------------------- refused before signing


class ValidationError(NvmChainError, ValueError):
    """Bad input, found before anything is signed or sent. ``problems``: one ``path: problem`` per invalid field
    when a model raised it."""

    exit_code = EXIT_INVALID_INPUT
    problems: tuple[str, ...] = ()


class FeeError(ValidationError):
    """A price split does not carry the Nevermined fee the protocol requires."""


class InsufficientBalanceError(ValidationError):
    """The payer holds less than the order costs; nothing was signed or sent. ``token`` is the zero address for
    the native token."""

    def __init__(self, holder: str, token: str, needed: int, available: int, what: str):
        self.holder = holder
        self.token = token
        self.needed = needed
        self.available = available
        super().__init__(f"{holder} holds {available} of {what}, but the order costs {needed}; nothing was sent")


class PlanNotInAgentError(ValidationError):
    """``remove_plan_from_agent`` of a plan the agent does not list. Nothing was signed."""

    def __init__(self, agent_id: int, plan_id: int, plans: tuple[int, ...]):
        self.agent_id = agent_id
        self.plan_id = plan_id
        self.plans = plans
        listed = ", ".join(str(p) for p in plans) or "none"
        super().__init__(f"agent {agent_id} does not list plan {plan_id} (its plans: {listed}); nothing was signed")


class OffchainCreditsError(ValidationError):
    """The plan keeps its credits ledger off chain (``onchain_mirror=False``) and no REST fallback is configured:
    an order would take the payment and mint nothing on chain, and the on-chain balance would read 0. Nothing was
    signed."""

    def __init__(self, plan_id: int, action: str):
        self.plan_id = plan_id
        self.action = action
        super().__init__(
            f"plan {plan_id} keeps its credits off chain (onchain_mirror=False): {action}. Only the Nevermined "
            "backend holds that ledger; configure the REST fallback (nvm_api_key=, or rest=), or pass "
            "allow_offchain_credits=True to order anyway; nothing was signed")


class ClampedAmountError(ValidationError):
    """A strict burn or redemption asked for an amount the contract would clamp (a fixed amount per request, or
    outside the plan's ``[min, max]``). Nothing was signed."""

    def __init__(self, plan_id: int, requested: int, will_burn: int):
        self.plan_id = plan_id
        self.requested = requested
        self.will_burn = will_burn
        super().__init__(f"plan {plan_id}: requested {requested} credits but the contract will burn {will_burn} "
                         "(it clamps to the plan's per-request amount); refused because strict=True, nothing was "
                         "signed")


class ApiKeyError(ValidationError):
    """An NVM API key is malformed; the message never contains the key."""


class InvalidAccessTokenError(ValidationError):
    """An x402 access token cannot be decoded or does not have the documented shape."""


class X402NetworkMismatchError(InvalidAccessTokenError):
    """A well-formed x402 access token names another network (``accepted.network``) than the connected chain;
    nothing was read. ``token_network`` is the token's, ``chain_network`` the chain's (``eip155:<chain id>``)."""

    def __init__(self, token_network: str, chain_network: str):
        self.token_network = token_network
        self.chain_network = chain_network
        super().__init__(f"the x402 access token was minted for network {shown(token_network, 40)}, but the "
                         f"connected chain is {chain_network}: it cannot pay here")


class ScenarioError(ValidationError):
    """A scenario file of ``nvm-chain simulate`` is unreadable or invalid; the message names each field path."""


class NotFoundError(NvmChainError, LookupError):
    """What the call names does not exist on the connected deployment; nothing was signed."""

    exit_code = EXIT_INVALID_INPUT


class PlanNotFoundError(NotFoundError):
    """No plan with this id exists on chain (``AssetsRegistry.getPlan`` returned an empty record)."""

    def __init__(self, plan_id: int):
        self.plan_id = plan_id
        super().__init__(f"plan {plan_id} not found on chain (AssetsRegistry.getPlan returned an empty record)")


class AgentNotFoundError(NotFoundError):
    """No agent record with this id on the connected deployment (``getAgent`` is empty)."""

    def __init__(self, agent_id: int, chain_id: int, registry: str):
        self.agent_id = agent_id
        super().__init__(f"agent {agent_id} not found on chain {chain_id} (AssetsRegistry {registry}): "
                         "check the id and the network, or register the agent first")


class NotPermittedError(NvmChainError, PermissionError):
    """The signing account may not do this under the protocol's rules; nothing was signed."""

    exit_code = EXIT_INVALID_INPUT


class RedemptionRefused(NotPermittedError):
    """The caller may not burn these credits under the plan's redemption rule; nothing was sent.

    ``reason`` says why, e.g. "plan 123 has redemption type ONLY_SUBSCRIBER: only the holder may burn".
    """

    def __init__(self, plan_id: int, redemption_type: Any, sender: str, holder: str, reason: str):
        self.plan_id = plan_id
        self.redemption_type = redemption_type
        self.sender = sender
        self.holder = holder
        self.reason = reason
        super().__init__(reason)


class NotAgentOwnerError(NotPermittedError):
    """The signing account does not own the agent; only ``owner`` may change it. Nothing was signed."""

    def __init__(self, agent_id: int, caller: str, owner: str, action: str):
        self.agent_id = agent_id
        self.caller = caller
        self.owner = owner
        super().__init__(f"{action}: account {caller} is not the owner of agent {agent_id}; "
                         f"its owner is {owner} (connect as that account); nothing was signed")


# ---------------------------------------------------------------------------------- configuration


class ConfigurationError(NvmChainError, ValueError):
    """A network, address book, profile, artifact or account cannot be used as given."""

    exit_code = EXIT_CONFIG


class ChainMismatchError(ConfigurationError):
    """The node reports a different chain id than the one the caller expects; nothing was signed."""


class PlotsUnavailableError(ConfigurationError):
    """Plots were asked for but matplotlib is not installed (``pip install 'nvm-chain[plots]'``)."""


class KeystoreError(ConfigurationError):
    """A keystore or password source cannot be used (messages never include keys or passwords)."""


class WrongPasswordError(KeystoreError):
    """The password does not decrypt the keystore (MAC mismatch)."""


class InsecureFileError(KeystoreError):
    """A keystore or password file is accessible to group or others; the message names the chmod fix."""


class AccountExistsError(KeystoreError):
    """The account name, or the key's address, is already in the keystore directory."""


class AccountNotFoundError(KeystoreError):
    """No keystore by that name or path."""


class PasswordUnavailableError(KeystoreError):
    """No password source is set and no terminal is available to prompt on."""


# ---------------------------------------------------------------------------------- outcomes of a write


class ContractRevertError(NvmChainError):
    """A call or transaction reverted.

    ``reason`` is the decoded :class:`nvm_chain.chain.abi.RevertReason` (None when the revert data matched no
    known error); ``error_name`` and ``error_args`` repeat its name and decoded arguments; ``data`` is the
    raw revert bytes; ``tx_hash`` is set when the revert was a mined transaction.
    """

    exit_code = EXIT_REVERTED

    def __init__(self, reason: Any, data: bytes, *, action: str = "", tx_hash: str | None = None):
        self.reason = reason
        self.data = data
        self.action = action
        self.tx_hash = tx_hash
        self.error_name: str = reason.name if reason else "UnknownError"
        self.error_args: dict[str, Any] = dict(reason.args) if reason else {}
        what = str(reason) if reason else f"unknown revert data 0x{data.hex()}" if data else "no revert data"
        where = f"{action} reverted: " if action else "reverted: "
        suffix = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(where + what + suffix)


class TransactionPending(NvmChainError, TimeoutError):
    """The transaction was broadcast (or may have been) but no receipt arrived in time. It may still be mined:
    never a failure. ``tx_hash`` and ``nonce`` identify it; ``nvm-chain tx wait HASH`` resumes."""

    exit_code = EXIT_PENDING

    def __init__(self, tx_hash: str, timeout: float, nonce: int | None = None, *, reason: str = ""):
        self.tx_hash = tx_hash
        self.nonce = nonce
        self.timeout = timeout
        why = reason or f"no receipt after {timeout:g} s"
        super().__init__(f"transaction pending, hash {tx_hash}{'' if nonce is None else f', nonce {nonce}'}: "
                         f"{why} (not failed: it may still be mined; check it with its hash)")


class Refusal(Enum):
    """Why a node refused a signed transaction."""

    ALREADY_KNOWN = "already known"  # the same bytes were accepted earlier: treat as sent
    NONCE_TOO_LOW = "nonce too low"  # the nonce is used: maybe by this very transaction
    NONCE_TOO_HIGH = "nonce too high"
    UNDERPRICED = "underpriced"
    INSUFFICIENT_FUNDS = "insufficient funds"
    FEE_BELOW_BASE_FEE = "fee below base fee"
    OTHER = "other"


class BroadcastError(NvmChainError):
    """The node refused a signed transaction; it was not sent and its nonce is free again. ``refusal`` says
    why, ``sent`` lists the hashes of the same batch's earlier transactions, which were accepted."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, refusal: Refusal = Refusal.OTHER, sent: list[str] | None = None):
        self.refusal = refusal
        self.sent = sent or []
        super().__init__(message)


class InsufficientFundsError(BroadcastError, ValueError):
    """The sender cannot pay for gas and value; nothing was sent."""


class NodeUnavailableError(NvmChainError, ConnectionError):
    """No JSON-RPC endpoint answered (transport errors, 429 or 5xx after bounded retries); ``endpoints`` names
    them (host only: credentials never shown). ``maybe_delivered`` is True when a request may have reached a
    node before its answer was lost (what matters for a signed transaction)."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, endpoints: tuple[str, ...] = (), *, maybe_delivered: bool = False):
        self.endpoints = endpoints
        self.maybe_delivered = maybe_delivered
        super().__init__(message)


class DuplicateIntentError(NvmChainError):
    """The same write (same chain, account, contract, calldata and value) from an earlier run is still pending,
    or was mined without its outcome being reported (``mined_in`` is then its block); ``tx_hash`` names it.
    Nothing was signed: wait for it (``nvm-chain tx wait``), or ask for a new transaction explicitly (``--new``)."""

    exit_code = EXIT_INVALID_INPUT

    def __init__(self, tx_hash: str, nonce: int | None, action: str = "", *, mined_in: int | None = None):
        self.tx_hash = tx_hash
        self.nonce = nonce
        self.mined_in = mined_in
        what = action or "this transaction"
        state = f"was already mined in block {mined_in}" if mined_in is not None else "is still pending"
        super().__init__(f"{what} from an earlier run {state} (hash {tx_hash}, nonce {nonce}); not sent again: "
                         f"check it with `nvm-chain tx status {tx_hash}`, or pass --new to send another")


class DryRun(NvmChainError):
    """Raised instead of signing when the sender is in dry-run mode: ``request`` simulated successfully
    (``output`` is its return data) and would be the next transaction sent. Nothing was signed or sent."""

    exit_code = EXIT_OK

    def __init__(self, request: Any, output: bytes):
        self.request = request
        self.output = output
        super().__init__(f"dry run: {request.action or 'transaction'} to {request.to} would succeed "
                         f"(value {request.value}, gas limit {request.gas}); nothing was signed or sent")


class SigningError(NvmChainError):
    """Signing failed (the message never includes key material)."""


class IdMismatchError(NvmChainError):
    """An id computed offline differs from the one the mined transaction emitted (the transaction WAS mined)."""

    def __init__(self, what: str, computed: str, emitted: str, tx_hash: str):
        self.computed = computed
        self.emitted = emitted
        self.tx_hash = tx_hash
        super().__init__(f"{what} computed offline ({computed}) differs from the emitted one ({emitted}) "
                         f"in mined tx {tx_hash}")


class JournalError(NvmChainError):
    """The transaction journal cannot be opened or written, or an operation contradicts what it recorded."""

    exit_code = EXIT_CONFIG


class DeploymentError(NvmChainError):
    """The simulation suite could not be deployed or configured."""


class LogScanError(NvmChainError):
    """The node refused an ``eth_getLogs`` range even at the smallest size the scan tries (too many logs in one
    block range, or a provider limit the scan cannot work around); ``blocks`` is the refused range."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, blocks: tuple[int, int] | None = None):
        self.blocks = blocks
        super().__init__(message)


# ---------------------------------------------------------------------------------- REST fallback


class RestError(NvmChainError):
    """A call to the Nevermined REST API failed.

    Attributes: ``status`` (HTTP status or ``None`` when no response arrived), ``code`` (the API's error code
    such as ``BCK.X402.0059``, else ``http_<status>`` for a non-2xx status, else the class's code: ``timeout``,
    ``network_error``, ``invalid_response``), ``message``, ``hint``, ``details``, ``method``, ``path`` and
    ``retry_after`` (seconds, from a ``Retry-After`` header). Messages are masked by the transport before an
    exception is built: no API key or bearer token appears in them.
    """

    exit_code = EXIT_API
    default_code = "rest_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        details: Any = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        failed_status = status is not None and not 200 <= status < 300
        self.code = code or (f"http_{status}" if failed_status else self.default_code)
        self.hint = hint
        self.details = details
        self.method = method
        self.path = path
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.hint:
            text += f" — {self.hint}"
        if self.details not in (None, "", [], {}):
            text += f" ({self.details})"
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{where}{text} ({status}{self.code})"


class RestTimeout(RestError, TimeoutError):
    """The backend did not answer within the configured timeout (after retries, for GETs)."""

    default_code = "timeout"


class RestConnectionError(RestError, ConnectionError):
    """The backend could not be reached (DNS, refused, reset, TLS) after retries, for GETs."""

    default_code = "network_error"


class RestClientError(RestError):
    """A 4xx answer: the request, key or permissions must change before retrying."""


class RestAuthError(RestClientError):
    """401/403: the API key is missing, invalid, or not allowed to do this."""


class RestNotFoundError(RestClientError, LookupError):
    """404: the plan, agent or route does not exist on this backend."""


class RestRateLimitError(RestClientError):
    """429 once retries are exhausted (or at once for non-idempotent calls); see ``retry_after``."""


class AccessTokenAlreadyUsedError(RestClientError):
    """The backend reports ``BCK.X402.0059``: a single-use (v3) x402 token was already settled."""


class RestServerError(RestError):
    """A 5xx answer (after retries on 503, for GETs)."""


class RestResponseError(RestError):
    """A response is not the JSON the API documents (malformed JSON, wrong shape, odd status)."""

    default_code = "invalid_response"


# ---------------------------------------------------------------------------------- warnings


class NvmChainWarning(UserWarning):
    """Root of nvm-chain's warnings."""


class OffchainCreditsWarning(NvmChainWarning):
    """A credits plan was registered with ``onchain_mirror=False``: its orders will not mint credits on chain."""


class MetadataUnavailableWarning(NvmChainWarning):
    """The REST fallback is configured but the plan's off-chain metadata could not be fetched (API unreachable,
    timeout, HTTP error, plan unknown to the backend, malformed document): the result holds on-chain data only."""


class ScanIndexWarning(NvmChainWarning):
    """The on-disk index of scanned log ranges could not be read or written: the scan went on without it
    (correct, only slower)."""


class DeploymentMismatchWarning(NvmChainWarning):
    """The backend's deployment differs from the address book in use."""


class EnvironmentMismatchWarning(NvmChainWarning):
    """The API key's prefix names another environment than the one passed: the key's environment is used (as
    payments-py does), the one passed is ignored."""
