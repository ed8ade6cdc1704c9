"""The committed artifacts cover the v1.5.0 surface and match a fresh compile of contracts/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nvm_chain.chain.abi import registry, selector, signature, topic0

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = json.loads((Path(__file__).parent / "data" / "required-abi.json").read_text())


def _by_kind(contract: str, kind: str) -> dict[str, str]:
    out = {}
    for entry in registry()[contract].abi:
        if entry.get("type") == kind:
            key = topic0(entry) if kind == "event" else selector(entry)
            out["0x" + key.hex()] = signature(entry)
    return out


@pytest.mark.parametrize("contract", sorted(REQUIRED))
def test_functions_and_events_of_the_spec_are_in_the_contract_artifact(contract):
    functions = _by_kind(contract, "function")
    events = _by_kind(contract, "event")
    missing_fn = {s: sig for s, sig in REQUIRED[contract]["functions"].items() if functions.get(s) != sig}
    missing_ev = {t: sig for t, sig in REQUIRED[contract]["events"].items() if events.get(t) != sig}
    assert missing_fn == {} and missing_ev == {}


def test_every_error_of_the_spec_is_in_some_artifact():
    known = {"0x" + sel.hex(): signature(e) for sel, e in registry().errors.items()}
    required = {s: sig for c in REQUIRED.values() for s, sig in c["errors"].items()}
    assert {s: sig for s, sig in required.items() if known.get(s) != sig} == {}
    assert len(required) == 81  # distinct error selectors across the 16 contracts of the spec


def test_spec_selectors_are_keccak_of_their_signatures():
    from eth_utils import keccak

    for contract in REQUIRED.values():
        for kind in ("functions", "errors"):
            for sel, sig in contract[kind].items():
                assert sel == "0x" + keccak(text=sig)[:4].hex(), sig
        for topic, sig in contract["events"].items():
            assert topic == "0x" + keccak(text=sig).hex(), sig


def test_artifacts_fit_the_code_size_limit():
    for path in (ROOT / "abis").glob("*.json"):
        art = json.loads(path.read_text())
        assert art["bytecode"].startswith("0x") and len(art["bytecode"]) > 2
        assert art["deployedBytecodeSize"] <= 24_576, path.name


@pytest.mark.slow  # a fresh solc compile of every contract: ~50 s
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: cannot run the npm solc compiler")
@pytest.mark.skipif(not (ROOT / "node_modules" / "solc").is_dir(),
                    reason="npm packages not installed (run `npm install`)")
def test_committed_artifacts_match_a_fresh_compile():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--check"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "matches a fresh compile" in result.stdout
