"""Wire conventions of the REST API (pure: no I/O).

uint256 values (plan and agent IDs, amounts) are ``int`` in Python and decimal strings on the wire; addresses
are checksummed; JSON keys are camelCase. :class:`WireModel` is the frozen pydantic base of every REST model.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import is_hex_address, to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from nvm_chain.errors import ValidationError
from nvm_chain.protocol.models import ItemAccess

UINT256_MAX = 2**256 - 1
#: Largest integer a JSON number carries exactly in JavaScript (the backend is Node).
JS_SAFE_INT = 2**53 - 1


def to_uint256(value: Any, *, what: str = "value") -> int:
    """Return ``value`` (int, decimal string or ``0x`` hex string) as an int in ``[0, 2**256-1]``.

    Raises:
        ValidationError: for bools, floats, negative or too-large numbers and non-numeric strings.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(f"{what} must be an int or a decimal/hex string, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        try:
            if text[:2].lower() == "0x":
                if len(text) == 2:
                    raise ValueError
                number = int(text[2:], 16)
            elif text.isdigit() and text.isascii():
                number = int(text, 10)
            else:
                raise ValueError
        except ValueError:
            raise ValidationError(f"{what} is not a decimal or hex uint256: {text[:80]!r}") from None
    else:
        number = value
    if not 0 <= number <= UINT256_MAX:
        raise ValidationError(f"{what} is outside the uint256 range")
    return number


def to_address(value: Any, *, what: str = "address") -> str:
    """Return ``value`` as a checksummed 20-byte hex address.

    Raises:
        ValidationError: if ``value`` is not ``0x`` followed by 40 hex characters.
    """
    if not isinstance(value, str) or not is_hex_address(value):
        shown = value[:60] if isinstance(value, str) else type(value).__name__
        raise ValidationError(f"{what} is not a 20-byte hex address: {shown!r}")
    return to_checksum_address(value)


def _uint256_field(value: Any) -> int:
    try:
        return to_uint256(value)
    except ValidationError as exc:  # pydantic turns ValueError into its own ValidationError
        raise ValueError(str(exc)) from None


def _address_field(value: Any) -> str:
    try:
        return to_address(value)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


#: An int parsed from int / decimal / hex; serialized to a decimal string in JSON mode.
Uint256 = Annotated[int, BeforeValidator(_uint256_field), PlainSerializer(str, return_type=str, when_used="json")]
#: A checksummed address.
Address = Annotated[str, BeforeValidator(_address_field)]


class WireModel(ItemAccess, BaseModel):
    """Frozen base model: snake_case attributes, camelCase aliases, unknown keys ignored; payments-py's item
    access with camelCase keys (``checkout["checkoutUrl"]``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore")

    def to_wire(self, *, keep_nulls: bool = False) -> dict[str, Any]:
        """Return the camelCase JSON dict of this model (``None`` fields dropped unless ``keep_nulls``)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=not keep_nulls)


def js_safe(value: Any) -> Any:
    """Return ``value`` with every int outside ±(2**53-1) turned into a decimal string, recursively.

    The backend's ``@IsUint256()`` validator rejects such JSON numbers (``BCK.COMMON.0026``).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > JS_SAFE_INT else value
    if isinstance(value, dict):
        return {k: js_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [js_safe(v) for v in value]
    return value


def _optional_uint256_field(value: Any) -> int | None:
    return None if value is None or value == "" else _uint256_field(value)


#: Like :data:`Uint256` but ``None``/``""`` parse to ``None``.
OptionalUint256 = Annotated[
    int | None,
    BeforeValidator(_optional_uint256_field),
    PlainSerializer(lambda v: None if v is None else str(v), return_type=str | None, when_used="json"),
]
