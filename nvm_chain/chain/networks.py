"""Networks and address books (pure: bundled JSON files, no network).

An address book has the shape of the protocol's published deployment files::

    {"chainId": 84532, "version": "1.5.0", "contracts": {"AssetsRegistry": "0x…", …}}

``base-sepolia`` (84532) and ``base`` (8453) ship with the published v1.5.0 books; ``local`` takes any
RPC URL plus a book file; ``embedded`` is the in-process simulation chain (its book comes from the
deployer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nvm_chain.errors import ConfigurationError

_BOOKS = Path(__file__).resolve().parent / "deployments"

#: network name → chain id of the bundled deployments
BUNDLED = {"base-sepolia": 84532, "base": 8453}
NETWORKS = (*BUNDLED, "local", "embedded")


class AddressBook(BaseModel):
    """Contract addresses of one protocol deployment on one chain."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    chain_id: int = Field(alias="chainId", gt=0)
    version: str
    contracts: dict[str, str]

    @field_validator("contracts")
    @classmethod
    def _checksum(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name, addr in value.items() if not is_address(addr))
        if bad:
            raise ValueError(f"not an address: {', '.join(bad)}")
        return {name: to_checksum_address(addr) for name, addr in value.items()}

    def __getitem__(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise ConfigurationError(
                f"address book for chain {self.chain_id} has no contract {name!r}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The published deployment-file shape."""
        return {"chainId": self.chain_id, "version": self.version, "contracts": dict(self.contracts)}

    @classmethod
    def from_file(cls, path: str | Path) -> AddressBook:
        """Read a deployment file.

        Raises:
            ConfigurationError: the file is missing, not JSON, or not of the deployment-file shape.
        """
        try:
            return cls.model_validate(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise ConfigurationError(f"address book not found: {path}") from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise ConfigurationError(f"invalid address book {path}: {exc}") from None


def bundled_address_book(network: str) -> AddressBook:
    """The published v1.5.0 address book of ``base-sepolia`` or ``base``.

    Raises:
        ConfigurationError: the network has no bundled book.
    """
    if network not in BUNDLED:
        raise ConfigurationError(
            f"unknown network {network!r}: bundled address books exist for {', '.join(BUNDLED)}"
        )
    return AddressBook.from_file(_BOOKS / f"{network}.json")
