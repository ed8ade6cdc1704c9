"""Bundled address books and the address-book file format."""

from __future__ import annotations

import json

import pytest

from nvm_chain.chain.networks import BUNDLED, AddressBook, bundled_address_book
from nvm_chain.errors import ConfigurationError

SPEC_PROXIES = {  # docs/protocol.md#deployments: identical on 84532 and 8453
    "AccessManager": "0x3116A0aB34c8E829066d4D9Cd1e2534Ff14d5268",
    "AssetsRegistry": "0x1B093EE52104e407dfC80A28B07e62834AAB4Ae4",
    "FixedPaymentTemplate": "0x32037D176558Eb02f6980eFA14bde14B0C61d059",
    "PayAsYouGoTemplate": "0x5e852077b30099106Aa65B4d329FFF9b5C9a8e7C",
    "PaymentsVault": "0x47A72d7094c4c5B0566E159579DBD79220A0EA24",
    "NFT1155ExpirableCreditsV2": "0xF7Fe16718a779010E48859fb1c7Eae9fd540872F",
    "TokenUtils": "0x766fcde79BB22166d59FDb12b9a05C97bf5BF4b2",
}


@pytest.mark.parametrize(("network", "chain_id", "block"),
                         [("base-sepolia", 84532, 43_524_838), ("base", 8453, 48_016_294)])
def test_bundled_books_match_the_published_v1_5_deployment(network, chain_id, block):
    book = bundled_address_book(network)
    assert (book.chain_id, book.version, book.block_number) == (chain_id, "1.5.0", block)
    assert len(book.contracts) == 21 and BUNDLED[network] == chain_id
    assert book["Multicall3"] == "0xcA11bde05977b3631167028862bE2a173976CA11"  # the canonical Multicall3
    for name, address in SPEC_PROXIES.items():
        assert book[name] == address
    assert book.to_json()["blockNumber"] == block
    assert AddressBook.model_validate(book.to_json()) == book


def test_unknown_network_and_contract_are_clear_errors():
    with pytest.raises(ConfigurationError, match="unknown network 'mainnet'.*base-sepolia, base"):
        bundled_address_book("mainnet")
    with pytest.raises(ConfigurationError, match="no contract 'Nope'"):
        bundled_address_book("base")["Nope"]


def test_address_book_files_are_validated(tmp_path):
    good = tmp_path / "book.json"
    good.write_text(json.dumps({"chainId": 31337, "version": "1.5.0",
                                "contracts": {"AssetsRegistry": "0x1b093ee52104e407dfc80a28b07e62834aab4ae4"}}))
    assert AddressBook.from_file(good)["AssetsRegistry"] == SPEC_PROXIES["AssetsRegistry"]  # checksummed
    assert AddressBook.from_file(good).block_number is None  # optional: scans then start at block 0
    assert "blockNumber" not in AddressBook.from_file(good).to_json()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"chainId": 1, "version": "1.5.0", "contracts": {"X": "0x12"}}))
    with pytest.raises(ConfigurationError, match="not an address: X"):
        AddressBook.from_file(bad)
    bad.write_text(json.dumps({"chainId": 1, "version": "1.5.0", "blockNumber": -1, "contracts": {}}))
    with pytest.raises(ConfigurationError, match="blockNumber"):
        AddressBook.from_file(bad)
    with pytest.raises(ConfigurationError, match="address book not found"):
        AddressBook.from_file(tmp_path / "missing.json")
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(ConfigurationError, match="invalid address book"):
        AddressBook.from_file(tmp_path / "junk.json")
