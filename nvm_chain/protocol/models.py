"""Typed models of plans, agents, balances and metadata (pure: no I/O).

Frozen pydantic v2 models with payments-py's snake_case names and camelCase aliases for the REST wire names
(``model_dump(by_alias=True)``; with ``mode="json"`` every uint256 becomes a decimal string, as on the wire).
Amounts and IDs are ``int`` base units; addresses are checksummed on input. Bad input raises
:class:`nvm_chain.errors.ValidationError` naming the field, before anything is signed or sent.
"""

from __future__ import annotations

import operator
import os
from decimal import Decimal
from enum import Enum, IntEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, NoReturn, Self

import pydantic
from eth_utils import is_hex_address, to_checksum_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from nvm_chain.errors import ValidationError, shown

ZERO = "0x" + "00" * 20
UINT256_MAX = 2**256 - 1


# ---------------------------------------------------------------------------------------------- scalars


def to_uint256(value: Any, what: str = "value", *, hex_ok: bool = False, units: bool = False) -> int:
    """Return ``value`` (an int or a decimal string; a ``0x`` hex string too if ``hex_ok``) as an int in
    ``[0, 2**256-1]``. ``units`` words the type error for token amounts.

    Raises:
        ValidationError: for floats, bools, Decimals, non-numeric strings, negative or too-large numbers.
    """
    if isinstance(value, str):
        if hex_ok and value[:2].lower() == "0x" and len(value) > 2 and _is_hex(value[2:]):
            number = int(value[2:], 16)
        elif value.isascii() and value.isdigit():
            number = int(value, 10)
        else:
            raise _not_integer(what, value, hex_ok, units)
    else:
        try:
            if isinstance(value, bool):
                raise TypeError
            number = operator.index(value)  # int and int-like (numpy); never float or Decimal
        except TypeError:
            raise _not_integer(what, value, hex_ok, units) from None
    if number < 0:
        raise ValidationError(f"{what} must not be negative, got {number}")
    if number > UINT256_MAX:
        raise ValidationError(f"{what} does not fit in a uint256 (must be below 2**256)")
    return number


def _not_integer(what: str, value: Any, hex_ok: bool, units: bool) -> ValidationError:
    kind = f"{what}: amounts are integer base units" if units else f"{what} must be an integer"
    forms = "an int, a decimal or a 0x-hex string" if hex_ok else "an int or a decimal string"
    return ValidationError(f"{kind} ({forms}), not {type(value).__name__} {shown(value, limit=80)}")


def _is_hex(text: str) -> bool:
    return text.isascii() and all(c in "0123456789abcdefABCDEF" for c in text)


def to_address(value: Any, what: str = "address") -> str:
    """Return ``value`` as a checksummed address.

    Raises:
        ValidationError: unless ``value`` is ``0x`` + 40 hex characters (a mixed-case value must carry a
            valid EIP-55 checksum).
    """
    checksummed = _checksummed(value) if isinstance(value, str) else None
    if checksummed is None:
        got = shown(value, limit=44) if isinstance(value, str) else type(value).__name__
        raise ValidationError(f"{what} is not a valid address (0x + 40 hex, EIP-55 if mixed case): {got}")
    return checksummed


@lru_cache(maxsize=4096)
def _checksummed(value: str) -> str | None:
    """EIP-55 form of a hex address, None if malformed or mixed case with a wrong checksum."""
    if value[:2] not in ("0x", "0X") or not is_hex_address(value):
        return None
    checksummed = to_checksum_address(value)
    digits = value[2:]
    if checksummed == value or digits.islower() or digits.isupper() or digits.isdigit():
        return checksummed
    return None


def parse_id(value: Any) -> int:
    """Parse a plan or agent ID given as an int, a decimal string or a ``0x`` hex string.

    Raises:
        ValidationError: any other type, a negative value, or one of 2**256 or more.
    """
    return to_uint256(value, "id", hex_ok=True)


def parse_seed(value: Any, *, allow_zero: bool = False) -> bytes:
    """A bytes32 seed: a fresh random non-zero one for None, else 32 bytes, ``0x`` + 64 hex characters or a
    uint256.

    Raises:
        ValidationError: any other value, or zero unless ``allow_zero`` (the templates revert ``InvalidSeed``).
    """
    if value is None:
        while not any(fresh := os.urandom(32)):
            pass
        return fresh
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str) and value[:2].lower() == "0x":
        body = value[2:]
        if len(body) != 64 or not _is_hex(body):
            raise ValidationError("seed must be 32 bytes, 0x + 64 hex characters, or a uint256")
        raw = bytes.fromhex(body)
    else:
        raw = to_uint256(value, "seed").to_bytes(32, "big")
    if len(raw) != 32:
        raise ValidationError(f"seed must be 32 bytes, got {len(raw)}")
    if not allow_zero and not any(raw):
        raise ValidationError("seed must not be zero (the templates revert InvalidSeed)")
    return raw


def format_id(value: int) -> str:
    """Render a plan or agent ID as the decimal string the Nevermined API uses.

    Raises:
        ValidationError: ``value`` is not a uint256.
    """
    return str(to_uint256(value, "id"))


def _uint_field(value: Any, info: ValidationInfo) -> int:
    return to_uint256(value, info.field_name or "value")


def _id_field(value: Any, info: ValidationInfo) -> int:
    return to_uint256(value, info.field_name or "id", hex_ok=True)


def _address_field(value: Any, info: ValidationInfo) -> str:
    return to_address(value, info.field_name or "address")


def _address_or_zero_field(value: Any, info: ValidationInfo) -> str:
    return ZERO if value is None else to_address(value, info.field_name or "address")


_as_decimal_string = PlainSerializer(str, return_type=str, when_used="json")
#: uint256 parsed from an int or decimal string; a decimal string in JSON.
Uint256 = Annotated[int, BeforeValidator(_uint_field), _as_decimal_string]
#: plan/agent ID parsed from an int, decimal or hex string; a decimal string in JSON.
Id = Annotated[int, BeforeValidator(_id_field), _as_decimal_string]
#: checksummed address
Address = Annotated[str, BeforeValidator(_address_field)]
#: checksummed address; ``None`` (the API's "not set") becomes the zero address
ChainAddress = Annotated[str, BeforeValidator(_address_or_zero_field)]


# ---------------------------------------------------------------------------------------------- base


def _raise(model: str, exc: pydantic.ValidationError) -> NoReturn:
    """Re-raise pydantic's error as ValidationError listing one ``path: problem`` per failure."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        cause = (err.get("ctx") or {}).get("error")
        nested = getattr(cause, "problems", None)
        if nested:  # a nested model's own __init__ failed: prefix its paths with ours
            problems += [".".join(loc + [p]) for p in nested]
        elif isinstance(cause, ValidationError):  # ours: the message already names the leaf field
            problems.append(".".join(loc[:-1] + [str(cause)]))
        else:
            problems.append(f"{'.'.join(loc) or model}: {err['msg']}")
    error = ValidationError(f"invalid {model}: " + "; ".join(problems))
    error.problems = tuple(problems)
    raise error from exc


class ItemAccess:
    """payments-py's dict view of a model: ``result["planId"]``, ``result.get("txHash")``, ``"success" in result``.

    payments-py returns plain dicts decoded from the backend's JSON; here ``model[key]`` is the value of the
    field whose camelCase alias (or snake_case name) is ``key``, as it appears in ``model_dump(mode="json",
    by_alias=True)`` (so IDs and uint256 amounts read as decimal strings, as on the wire), and a key naming a
    read-only property (``txHash`` → ``tx_hash``) reads that property. Attributes keep their Python types.
    """

    def _item_key(self, key: Any) -> str | None:
        if not isinstance(key, str):
            return None
        fields: dict[str, Any] = type(self).model_fields  # type: ignore[attr-defined]
        for name, info in fields.items():
            if key in (name, info.alias):
                return str(name)
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        return snake if isinstance(getattr(type(self), snake, None), property) else None

    def __getitem__(self, key: str) -> Any:
        name = self._item_key(key)
        if name is None:
            raise KeyError(key)
        value = getattr(self, name)
        if name not in type(self).model_fields:  # type: ignore[attr-defined]
            return value
        dumped = self.model_dump(mode="json", by_alias=True, include={name})  # type: ignore[attr-defined]
        return next(iter(dumped.values())) if dumped else value

    def __contains__(self, key: object) -> bool:
        return self._item_key(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """``model[key]``, or ``default`` when no field or property answers to ``key``."""
        return self[key] if key in self else default


class CoreModel(ItemAccess, BaseModel):
    """Frozen base: snake_case attributes, camelCase aliases, ValidationError on bad input, and payments-py's
    item access with camelCase keys (:class:`ItemAccess`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel, loc_by_alias=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            _raise(type(self).__name__, exc)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: D102 - same as pydantic, ValidationError
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            _raise(cls.__name__, exc)

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> Self:  # noqa: D102
        try:
            return super().model_validate_json(json_data, **kwargs)
        except pydantic.ValidationError as exc:
            _raise(cls.__name__, exc)

    def replace(self, **changes: Any) -> Self:
        """A validated copy with ``changes`` (field names) applied.

        Raises:
            ValidationError: the result is invalid.
        """
        return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})


# ---------------------------------------------------------------------------------------------- price


class RedemptionType(IntEnum):
    """Who may burn a subscriber's credits (``IAsset.RedemptionType``, uint8)."""

    ONLY_GLOBAL_ROLE = 0
    ONLY_OWNER = 1
    ONLY_PLAN_ROLE = 2
    OWNER_OR_GLOBAL_ROLE = 3
    ONLY_SUBSCRIBER = 4


#: payments-py's names of the same types and constant
PlanRedemptionType = RedemptionType
ZeroAddress = ZERO


def _redemption_type(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValidationError("redemption_type must be a RedemptionType or its int value, not a bool")
    if isinstance(value, Enum) and not isinstance(value, RedemptionType):
        value = value.value  # e.g. payments-py's PlanRedemptionType
    if isinstance(value, str):
        if value in RedemptionType.__members__:
            return RedemptionType[value]
        if value.isascii() and value.isdigit():
            value = int(value)
    try:
        if not isinstance(value, int):
            raise ValueError
        return RedemptionType(value)
    except ValueError:
        names = ", ".join(f"{m.name}={m.value}" for m in RedemptionType)
        raise ValidationError(f"redemption_type must be one of {names}, got {value!r}") from None


def _each(value: Any, what: str, parse: Any) -> tuple[Any, ...]:
    """``parse(item, "what[i]")`` over a list; ValidationError if ``value`` is not a list."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ValidationError(f"{what} must be a list, got {type(value).__name__}")
    return tuple(parse(v, f"{what}[{i}]") for i, v in enumerate(value))


def _amount(value: Any, what: str) -> int:
    return to_uint256(value, what, units=True)


def _plan_id(value: Any, what: str) -> int:
    return to_uint256(value, what, hex_ok=True)


class PriceConfig(CoreModel):
    """``IAsset.PriceConfig``: who is paid how much, in which token (payments-py ``PlanPriceConfig``).

    ``amounts`` are integer base units (6-decimal units for fiat); pass each as an int or a decimal string
    (floats, bools and Decimals are refused). ``currency`` and ``contract_address`` are off-chain only and not
    part of the chain tuple. Unset addresses (``None``) mean the zero address. Unknown keys are refused, so a
    misspelt field cannot silently change the plan.
    """

    model_config = ConfigDict(extra="forbid")

    is_crypto: bool = False
    token_address: ChainAddress = ZERO
    amounts: Annotated[tuple[int, ...], PlainSerializer(lambda v: [str(a) for a in v], when_used="json")] = ()
    receivers: tuple[str, ...] = ()
    external_price_address: ChainAddress = ZERO
    fee_controller: ChainAddress = ZERO
    template_address: ChainAddress = ZERO
    currency: str | None = None
    contract_address: Address | None = None

    @field_validator("amounts", mode="before")
    @classmethod
    def _amounts(cls, value: Any) -> tuple[int, ...]:
        return _each(value, "amounts", _amount)

    @field_validator("receivers", mode="before")
    @classmethod
    def _receivers(cls, value: Any, info: ValidationInfo) -> tuple[str, ...]:
        receivers = _each(value, "receivers", to_address)
        amounts = info.data.get("amounts")
        if amounts is not None and len(amounts) != len(receivers):
            raise ValidationError(
                f"receivers ({len(receivers)}) and amounts ({len(amounts)}) must have the same length"
            )
        return receivers

    @property
    def total(self) -> int:
        """Σ amounts: what a buyer pays per purchase (fee entry included)."""
        return sum(self.amounts)

    @property
    def kind(self) -> Literal["fiat", "crypto", "external", "free"]:
        """``external`` (crypto with a price contract), ``free`` (total 0), ``fiat`` or ``crypto``."""
        if self.is_crypto and self.external_price_address != ZERO:
            return "external"
        if self.total == 0:
            return "free"
        return "crypto" if self.is_crypto else "fiat"

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple ``(is_crypto, token, amounts, receivers, external_price, fee_controller, template)``."""
        return (self.is_crypto, self.token_address, list(self.amounts), list(self.receivers),
                self.external_price_address, self.fee_controller, self.template_address)

    def with_distribution(self, amounts: Any, receivers: Any) -> PriceConfig:
        """A validated copy paying ``amounts[i]`` to ``receivers[i]``."""
        return self.replace(amounts=amounts, receivers=receivers)


PlanPriceConfig = PriceConfig  # payments-py's name


# ---------------------------------------------------------------------------------------------- credits


class CreditsConfig(CoreModel):
    """``IAsset.CreditsConfig``: what a purchase grants and how it is redeemed (payments-py ``PlanCreditsConfig``).

    ``duration_secs``, ``amount``, ``min_amount`` and ``max_amount`` accept ints or decimal strings (the API
    sends strings). ``onchain_mirror`` is also accepted under its old name ``proof_required``/``proofRequired``.
    ``nft_address`` (the ERC-1155 credits contract) may stay ``None`` until the client fills it in from the
    address book with :meth:`with_nft`; :meth:`as_tuple` needs it. Unknown keys are refused.
    """

    model_config = ConfigDict(extra="forbid")

    is_redemption_amount_fixed: bool = False
    redemption_type: Annotated[RedemptionType, BeforeValidator(_redemption_type)]
    onchain_mirror: bool = False
    duration_secs: Uint256
    amount: Uint256
    min_amount: Uint256
    max_amount: Uint256
    nft_address: Address | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_mirror_name(cls, data: Any) -> Any:
        """Map ``proof_required``/``proofRequired`` (payments-py before PR #176) to ``onchain_mirror``."""
        if not isinstance(data, dict) or not {"proof_required", "proofRequired"} & data.keys():
            return data
        data = dict(data)
        old = [data.pop(k) for k in ("proof_required", "proofRequired") if k in data]
        new = [data[k] for k in ("onchain_mirror", "onchainMirror") if k in data]
        if new and any(v != new[0] for v in old):
            raise ValidationError("onchain_mirror and its old name proof_required disagree")
        if not new:
            data["onchain_mirror"] = old[0]
        return data

    @field_validator("max_amount")
    @classmethod
    def _min_le_max(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_amount")
        if low is not None and low > value:
            raise ValidationError(f"min_amount ({low}) must not exceed max_amount ({value})")
        return value

    @model_serializer(mode="wrap")
    def _wire(self, handler: Any, info: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.nft_address is None and info.by_alias:  # the API omits nftAddress when unset
            data.pop("nftAddress", None)
        return data

    @property
    def is_time_based(self) -> bool:
        """True for time (expirable) plans: ``duration_secs > 0``."""
        return self.duration_secs > 0

    def with_nft(self, address: str) -> CreditsConfig:
        """A copy whose credits live in the ERC-1155 contract at ``address``.

        Raises:
            ValidationError: ``address`` is not an address.
        """
        return self.replace(nft_address=address)

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple ``(is_fixed, redemption_type, onchain_mirror, duration, amount, min, max, nft)``.

        Raises:
            ValidationError: ``nft_address`` is not set.
        """
        if self.nft_address is None:
            raise ValidationError(
                "credits config has no nft_address: set the ERC-1155 credits contract with with_nft() "
                "(NFT1155Credits, or NFT1155ExpirableCreditsV2 for time plans)"
            )
        return (self.is_redemption_amount_fixed, int(self.redemption_type), self.onchain_mirror,
                self.duration_secs, self.amount, self.min_amount, self.max_amount, self.nft_address)


PlanCreditsConfig = CreditsConfig  # payments-py's name


# ---------------------------------------------------------------------------------------------- chain records


class Plan(CoreModel):
    """A plan as stored on chain (``IAsset.Plan``) plus its hooks."""

    plan_id: Id
    owner: Address
    price: PriceConfig
    credits: CreditsConfig
    last_updated: Uint256
    hooks: tuple[str, ...] = ()

    @field_validator("hooks", mode="before")
    @classmethod
    def _hooks(cls, value: Any) -> tuple[str, ...]:
        return _each(value, "hooks", to_address)

    @property
    def plan_type(self) -> Literal["credits", "time"]:
        """``time`` when the credits expire (``duration_secs > 0``), else ``credits``."""
        return "time" if self.credits.duration_secs > 0 else "credits"

    @classmethod
    def from_chain(cls, plan_id: Any, record: Any, hooks: Any = ()) -> Plan:
        """Build from ``AssetsRegistry.getPlan``'s decoded ``(owner, price, credits, lastUpdated)``.

        Raises:
            ValidationError: the record is malformed, or empty (``lastUpdated == 0``: no such plan).
        """
        try:
            owner, price, credits, last_updated = record
            p_fields = dict(zip(("is_crypto", "token_address", "amounts", "receivers", "external_price_address",
                                 "fee_controller", "template_address"), price, strict=True))
            c_fields = dict(zip(("is_redemption_amount_fixed", "redemption_type", "onchain_mirror",
                                 "duration_secs", "amount", "min_amount", "max_amount", "nft_address"),
                                credits, strict=True))
        except (TypeError, ValueError):
            raise ValidationError("getPlan record must be (owner, price[7], credits[8], lastUpdated)") from None
        if last_updated == 0:
            raise ValidationError(f"no plan {format_id(parse_id(plan_id))} on chain (getPlan returned an empty record)")
        return cls(plan_id=plan_id, owner=owner, price=PriceConfig(**p_fields), credits=CreditsConfig(**c_fields),
                   last_updated=last_updated, hooks=hooks)


class Agent(CoreModel):
    """An agent as stored on chain (``IAsset.DIDAgent``)."""

    agent_id: Id
    owner: Address
    creator: Address
    url: str
    last_updated: Uint256
    plans: Annotated[tuple[int, ...], PlainSerializer(lambda v: [str(p) for p in v], when_used="json")] = ()

    @field_validator("plans", mode="before")
    @classmethod
    def _plans(cls, value: Any) -> tuple[int, ...]:
        return _each(value, "plans", _plan_id)

    @classmethod
    def from_chain(cls, agent_id: Any, record: Any) -> Agent:
        """Build from ``AssetsRegistry.getAgent``'s decoded ``(owner, creator, url, lastUpdated, plans)``.

        Raises:
            ValidationError: the record is malformed, or empty (``lastUpdated == 0``: no such agent).
        """
        try:
            owner, creator, url, last_updated, plans = record
        except (TypeError, ValueError):
            raise ValidationError("getAgent record must be (owner, creator, url, lastUpdated, plans)") from None
        if last_updated == 0:
            raise ValidationError(f"no agent {format_id(parse_id(agent_id))} on chain (getAgent returned nothing)")
        return cls(agent_id=agent_id, owner=owner, creator=creator, url=url, last_updated=last_updated, plans=plans)


def price_per_credit(price: PriceConfig, credits: CreditsConfig) -> Decimal:
    """Price total / credits granted per purchase, in base units; 0 for free or zero-credit plans."""
    if price.total == 0 or credits.amount == 0:
        return Decimal(0)
    return Decimal(price.total) / Decimal(credits.amount)


class PlanBalance(CoreModel):
    """Credits a holder has in a plan (payments-py ``PlanBalance``; camelCase on the wire)."""

    plan_id: Id
    plan_name: str = ""
    plan_type: Literal["credits", "time"]
    holder_address: Address
    balance: Uint256
    credits_contract: Address
    is_subscriber: bool
    price_per_credit: Decimal
    batch: bool | None = None  # set by the REST API's balance endpoint only
    #: where the balance was read: the plan's credits contract, or the Nevermined backend's ledger (REST)
    ledger: Literal["onchain", "backend"] | None = None

    @classmethod
    def from_plan(cls, plan: Plan, holder_address: str, balance: int, plan_name: str = "") -> PlanBalance:
        """The balance of ``holder_address`` read from ``plan``'s credits contract (subscriber ⇔ balance > 0).

        Raises:
            ValidationError: bad address or balance, or the plan has no credits contract.
        """
        if plan.credits.nft_address is None:
            raise ValidationError(f"plan {plan.plan_id} has no credits contract (nft_address)")
        return cls(plan_id=plan.plan_id, plan_name=plan_name, plan_type=plan.plan_type,
                   holder_address=holder_address, balance=balance, credits_contract=plan.credits.nft_address,
                   is_subscriber=to_uint256(balance, "balance") > 0,
                   price_per_credit=price_per_credit(plan.price, plan.credits), ledger="onchain")


# ---------------------------------------------------------------------------------------------- metadata (off-chain)


class AgentMetadata(CoreModel):
    """Descriptive metadata of an agent (off-chain, REST only)."""

    name: str = Field(min_length=1)
    description: str | None = None
    author: str | None = None
    license: str | None = None
    tags: tuple[str, ...] | None = None
    integration: str | None = None
    sample_link: str | None = None
    api_description: str | None = None
    date_created: str | None = None


class PlanMetadata(AgentMetadata):
    """Descriptive metadata of a plan (off-chain, REST only); ``is_trial_plan`` marks trial plans."""

    is_trial_plan: bool | None = False


class Endpoint(CoreModel):
    """One protected agent endpoint: HTTP ``verb`` and ``url`` (may hold placeholders such as ``:agentId``)."""

    verb: str
    url: str


class AuthType(str, Enum):
    """How the platform authenticates to the agent's API."""

    NONE = "none"
    BASIC = "basic"
    OAUTH = "oauth"
    BEARER = "bearer"


class AgentAPIAttributes(CoreModel):
    """How to reach an agent's API (off-chain, REST only); credentials are hidden from repr."""

    endpoints: tuple[Endpoint, ...] | None = None
    open_endpoints: tuple[str, ...] | None = None
    agent_definition_url: str | None = None
    auth_type: AuthType | None = AuthType.NONE
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    token: str | None = Field(default=None, repr=False)
    api_key: str | None = Field(default=None, repr=False)
    headers: dict[str, str] | None = Field(default=None, repr=False)
