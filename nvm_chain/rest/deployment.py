"""Deployment info (``GET /``) and its comparison with an address book (pure: no I/O).

REST fallback helper. The backend publishes the contract addresses it uses; :func:`compare_deployment` checks
them against an nvm-chain address book ``{"chainId", "version", "contracts": {Name: address}}`` so that a
client never signs against contracts the backend does not know. The client's ``check_deployment`` warns with
:class:`DeploymentMismatchWarning` (``warnings.warn``) when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nvm_chain.errors import ValidationError
from nvm_chain.rest.wire import Address, WireModel, to_address


class DeploymentInfo(WireModel):
    """The backend's deployment: protocol ``version``, ``chain_id`` (TS backends only) and contract addresses."""

    version: str | None = None
    chain_id: int | None = None
    contracts: dict[str, Address]

    @classmethod
    def from_wire(cls, body: Any) -> DeploymentInfo:
        """Parse ``{"deployment": {...}}`` (a bare deployment object is accepted too).

        Raises:
            pydantic.ValidationError: no ``contracts`` object, or an address that is not an address.
        """
        if isinstance(body, dict) and isinstance(body.get("deployment"), dict):
            body = body["deployment"]
        return cls.model_validate(body)


class DeploymentMismatch(WireModel):
    """One difference: ``field`` is ``chainId``, ``version`` or ``contracts.<Name>``; ``None`` means absent."""

    field: str
    expected: str | None
    actual: str | None


class DeploymentComparison(WireModel):
    """Result of :func:`compare_deployment`. ``ok`` is true when there is no mismatch.

    ``unknown_contracts`` lists contracts the backend publishes that the address book does not name (not a
    mismatch). ``chain_id_checked`` is false when the backend did not publish a chain id.
    """

    mismatches: tuple[DeploymentMismatch, ...]
    unknown_contracts: tuple[str, ...]
    chain_id_checked: bool

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        """Return a one-line human summary of the mismatches."""
        if self.ok:
            return "deployment matches the address book"
        parts = [f"{m.field}: expected {m.expected}, backend has {m.actual}" for m in self.mismatches]
        return "backend deployment differs from the address book: " + "; ".join(parts)


def _norm_version(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[1:] if text[:1] in ("v", "V") else text


def compare_deployment(info: DeploymentInfo, address_book: Mapping[str, Any]) -> DeploymentComparison:
    """Compare the backend's deployment with an address book; addresses compare case-insensitively.

    Every contract the book names must be published with the same address; ``chainId`` is compared when both
    sides have one, ``version`` when both have one (a leading ``v`` is ignored).

    Raises:
        ValidationError: the address book has no ``contracts`` mapping, or holds a malformed address/chain id.
    """
    contracts = address_book.get("contracts") if isinstance(address_book, Mapping) else None
    if not isinstance(contracts, Mapping):
        raise ValidationError("address book must be a mapping with a 'contracts' mapping")
    mismatches: list[DeploymentMismatch] = []
    book_chain = address_book.get("chainId")
    chain_checked = info.chain_id is not None and book_chain is not None
    if info.chain_id is not None and book_chain is not None:
        try:
            expected_chain = int(book_chain)
        except (TypeError, ValueError):
            raise ValidationError("address book 'chainId' is not an integer") from None
        if expected_chain != info.chain_id:
            mismatches.append(
                DeploymentMismatch(field="chainId", expected=str(expected_chain), actual=str(info.chain_id))
            )
    book_version, api_version = _norm_version(address_book.get("version")), _norm_version(info.version)
    if book_version is not None and api_version is not None and book_version != api_version:
        mismatches.append(DeploymentMismatch(field="version", expected=book_version, actual=api_version))
    for name, address in sorted(contracts.items()):
        expected = to_address(address, what=f"address book contract {name}")
        actual = info.contracts.get(name)
        if actual != expected:
            mismatches.append(DeploymentMismatch(field=f"contracts.{name}", expected=expected, actual=actual))
    unknown = tuple(sorted(set(info.contracts) - set(contracts)))
    return DeploymentComparison(
        mismatches=tuple(mismatches), unknown_contracts=unknown, chain_id_checked=chain_checked
    )
