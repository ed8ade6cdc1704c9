"""Contracts at their canonical addresses on development chains (simulation only).

Multicall3 sits at the same address on every public chain; the deployer copies the runtime code of its own
Multicall3 there so that a client reads the same way on the embedded chain, on anvil and on Base. Likewise the
ERC-20 the Nevermined docs' sandbox examples pay with (:data:`SANDBOX_ERC20`) can be given a test token's code,
so that a docs program runs unchanged against a simulation. Writing code is a development-node feature: py-evm
state through eth-tester's backend, ``anvil_setCode`` / ``hardhat_setCode`` over JSON-RPC (anvil, hardhat, and
the revm node, in process or behind the devnet). Any other node keeps the copy at its CREATE address.
"""

from __future__ import annotations

from eth_utils import to_canonical_address
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from nvm_chain.chain.abi import encode_call, registry
from nvm_chain.chain.multicall import MULTICALL3_ADDRESS
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import ConfigurationError

#: the ERC-20 of the payments-py docs' sandbox examples (Base Sepolia); a mintable test token in a simulation
SANDBOX_ERC20 = "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"

_SET_CODE_METHODS = ("anvil_setCode", "hardhat_setCode")


def set_code(w3: Web3, address: str, code: bytes) -> bool:
    """Write runtime ``code`` at ``address`` on a development chain; False when the node cannot.

    On eth-tester the code goes into the pending state and two empty blocks are mined: the first carries it,
    the second keeps it out of reach of a snapshot (reverting to the very block that holds an out-of-band
    write would re-execute that block without it).
    """
    provider = w3.provider
    if isinstance(provider, EthereumTesterProvider):
        backend = getattr(provider.ethereum_tester, "backend", None)
        chain = getattr(backend, "chain", None)
        if backend is None or chain is None or not hasattr(backend, "mine_blocks"):
            return False
        state = chain.get_vm().state
        state.set_code(to_canonical_address(address), code)
        state.persist()
        chain.header = chain.header.copy(state_root=state.state_root)
        backend.mine_blocks(2)
        return True
    for method in _SET_CODE_METHODS:
        response = provider.make_request(method, [address, "0x" + code.hex()])  # type: ignore[arg-type]
        if "error" not in response:
            return True
    return False


def place_multicall3(w3: Web3, deployed: str) -> str:
    """The address the book should list for Multicall3: :data:`MULTICALL3_ADDRESS` when code is already there or
    the node lets the deployer copy the code of ``deployed`` there, else ``deployed`` itself."""
    if w3.eth.get_code(Web3.to_checksum_address(MULTICALL3_ADDRESS)):
        return MULTICALL3_ADDRESS
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployed)))
    return MULTICALL3_ADDRESS if code and set_code(w3, MULTICALL3_ADDRESS, code) else deployed


def place_sandbox_token(w3: Web3, sender: Sender, mock_erc20: str, fund: list[str], amount: int) -> str:
    """Copy the code of the simulation's ``mock_erc20`` (MockERC20: anyone may mint, 18 decimals, empty name)
    to :data:`SANDBOX_ERC20` and mint ``amount`` of it to each address of ``fund``; returns the address.

    Raises:
        ConfigurationError: the node cannot write code (neither eth-tester nor an anvil/hardhat dev node).
    """
    address = Web3.to_checksum_address(SANDBOX_ERC20)
    if not w3.eth.get_code(address):
        code = bytes(w3.eth.get_code(Web3.to_checksum_address(mock_erc20)))
        if not code or not set_code(w3, address, code):
            raise ConfigurationError(f"this node cannot write code, so the docs' sandbox token {address} cannot be "
                                     "placed; use the simulation's MockERC20 instead")
    mint = registry()["MockERC20"].entry("mint")
    requests = [TxRequest(address, encode_call(mint, [a, amount]), 100_000, action="mint sandbox ERC-20")
                for a in fund if amount]
    if requests:
        sender.send_batch(requests)
    return address
