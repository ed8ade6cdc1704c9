"""Test helpers: call and transact against a deployed simulation by contract name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from nvm_chain.chain.abi import decode_log, encode_call, registry
from nvm_chain.chain.contracts import BoundContract
from nvm_chain.chain.reads import eth_call
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.types import TxReceipt, TxRequest
from nvm_chain.errors import ContractRevertError
from nvm_chain.sim import Simulation

ZERO = "0x" + "00" * 20
GAS = 3_000_000


class Protocol:
    """Thin driver over a :class:`Simulation` used by the behaviour tests."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.w3 = sim.w3
        self.book = sim.book

    def addr(self, contract: str) -> str:
        return self.book[contract]

    def call(self, contract: str, fn: str, *args: Any, sender: str | None = None, arity: int | None = None,
             at: str | None = None, artifact: str | None = None) -> Any:
        bound = BoundContract(registry()[artifact or contract], at or self.addr(contract))
        n = len(args) if arity is None else arity
        raw = eth_call(self.w3, bound.address, bound.calldata(fn, *args, arity=n), sender=sender,
                       action=f"{bound.name}.{fn}")
        return bound.decode(fn, raw, arity=n)

    def calldata(self, contract: str, fn: str, *args: Any, arity: int | None = None) -> bytes:
        entry = registry()[contract].entry(fn, arity=len(args) if arity is None else arity)
        return encode_call(entry, args)

    def send(self, who, contract: str, fn: str, *args: Any, value: int = 0, gas: int = GAS,
             arity: int | None = None, at: str | None = None, simulate: bool = False) -> TxReceipt:
        """Transact as ``who`` (a TestAccount or LocalSigner) without simulating first (the behaviour tests
        check reverts with :meth:`reverts`); raises ContractRevertError on a mined status 0."""
        signer = getattr(who, "signer", who)
        data = self.calldata(contract, fn, *args, arity=arity)
        req = TxRequest(at or self.addr(contract), data, gas, value=value, action=f"{contract}.{fn}")
        return Sender(self.w3, signer).send(req, simulate=simulate)

    def reverts(self, who, contract: str, fn: str, *args: Any, value: int = 0, arity: int | None = None,
                at: str | None = None) -> ContractRevertError:
        """Simulate the call as ``who`` and return the decoded revert (fails the test if it succeeds)."""
        signer = getattr(who, "signer", who)
        data = self.calldata(contract, fn, *args, arity=arity)
        with pytest.raises(ContractRevertError) as info:
            eth_call(self.w3, at or self.addr(contract), data, sender=signer.address, value=value, gas=GAS,
                     action=f"{contract}.{fn}")
        return info.value

    @staticmethod
    def events(receipt: Any, name: str | None = None) -> list:
        """The decoded events of a receipt (ours or web3's), all or those called ``name``."""
        decoded = [e for e in (decode_log(log) for log in receipt.logs) if e is not None]
        return [e for e in decoded if name is None or e.name == name]

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(address)


@dataclass
class CliRun:
    """Exit code, stdout and stderr of one in-process ``nvm-chain`` run."""

    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(args: list[str], env: dict[str, str], input: str | None = None) -> CliRun:
    """Run ``nvm-chain ARGS`` in-process through ``main`` (the real exit-code mapping), with ``env``."""
    from click.testing import CliRunner

    from nvm_chain.cli import main

    with CliRunner().isolation(input=input, env=env) as (out, err, _):
        code = main(args)
    return CliRun(code, out.getvalue().decode(), err.getvalue().decode())
