"""Deployment info compared with an address book, and the mismatch warning."""

from __future__ import annotations

import warnings

import pytest
from eth_utils import to_checksum_address

from nvm_chain.errors import DeploymentMismatchWarning, ValidationError
from nvm_chain.rest import DeploymentInfo, RestClient, compare_deployment

from .fake_backend import CONTRACTS, FakeBackend

BOOK = {"chainId": 84532, "version": "v1.5.0",
        "contracts": {"AssetsRegistry": to_checksum_address(CONTRACTS["AssetsRegistry"]),
                      "NVMConfig": CONTRACTS["NVMConfig"].upper().replace("0X", "0x")}}


def info(**changes) -> DeploymentInfo:
    deployment = {"version": "1.5.0", "chainId": 84532, "contracts": CONTRACTS, **changes}
    return DeploymentInfo.from_wire({"deployment": deployment})


def test_matching_book_is_ok_case_insensitively_and_ignoring_v_prefix() -> None:
    result = compare_deployment(info(), BOOK)
    assert result.ok and result.mismatches == () and result.chain_id_checked
    assert "AssetsRegistry" not in result.unknown_contracts and "PaymentsVault" in result.unknown_contracts
    assert result.summary() == "deployment matches the address book"


def test_mismatches_are_reported_per_field() -> None:
    book = {**BOOK, "chainId": 8453, "version": "1.4.0",
            "contracts": {**BOOK["contracts"], "AssetsRegistry": "0x" + "11" * 20, "Missing": "0x" + "22" * 20}}
    result = compare_deployment(info(), book)
    fields = {m.field: (m.expected, m.actual) for m in result.mismatches}
    assert fields == {
        "chainId": ("8453", "84532"),
        "version": ("1.4.0", "1.5.0"),
        "contracts.AssetsRegistry": ("0x" + "11" * 20, to_checksum_address(CONTRACTS["AssetsRegistry"])),
        "contracts.Missing": (to_checksum_address("0x" + "22" * 20), None),
    }
    assert not result.ok and "contracts.Missing: expected" in result.summary()


def test_chain_id_is_skipped_when_backend_has_none() -> None:
    deployment = DeploymentInfo.from_wire({"deployment": {"contracts": CONTRACTS}})
    result = compare_deployment(deployment, {**BOOK, "chainId": 1})
    assert result.ok and not result.chain_id_checked


@pytest.mark.parametrize(
    "book", [{}, {"contracts": []}, {"contracts": {"X": "0x12"}}, {"chainId": "x", "contracts": {}}]
)
def test_malformed_book(book: dict) -> None:
    with pytest.raises(ValidationError):
        compare_deployment(info(), book)


def test_client_warns_on_mismatch_and_not_when_ok(public_client: RestClient, backend: FakeBackend) -> None:
    with pytest.warns(DeploymentMismatchWarning, match="contracts.AssetsRegistry"):
        result = public_client.check_deployment({"contracts": {"AssetsRegistry": "0x" + "11" * 20}})
    assert not result.ok
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert public_client.check_deployment(BOOK).ok
        assert not public_client.check_deployment({"chainId": 1, "contracts": {}}, warn=False).ok
    assert backend.count("GET", "/") == 3
