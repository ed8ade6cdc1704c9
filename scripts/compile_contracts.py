"""Compile contracts/ with npm solc 0.8.30 and write one artifact per contract to abis/.

    python scripts/compile_contracts.py            # compile and write abis/<Name>.json
    python scripts/compile_contracts.py --check    # compile and compare with the committed abis/
    python scripts/compile_contracts.py --only contracts/X.sol [...]   # compile a subset, print sizes, write nothing

The build is reproducible: sources are read in sorted order under stable relative paths, and the
CBOR metadata trailer is left out of the bytecode, so the same sources give the same artifacts on any
machine. Needs node and the npm packages of package.json (`npm install`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
ABIS = ROOT / "abis"
SOLC_VERSION = "0.8.30"
EVM_VERSION = "prague"
CODE_SIZE_LIMIT = 24_576

# Artifacts written to abis/: every contract declared in contracts/ (interfaces and abstract bases are
# skipped because they have no bytecode) plus these OpenZeppelin contracts the suite deploys unmodified.
EXTRA_SOURCES = {
    "AccessManager": "@openzeppelin/contracts/access/manager/AccessManager.sol",
    "ERC2771Forwarder": "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol",
}


def standard_json(sources: list[Path]) -> dict:
    """Build the solc standard-JSON input for the given source files."""
    content = {p.relative_to(ROOT).as_posix(): {"content": p.read_text()} for p in sorted(sources)}
    for src in EXTRA_SOURCES.values():
        content[src] = {"content": (ROOT / "node_modules" / src).read_text()}
    return {
        "language": "Solidity",
        "sources": content,
        "settings": {
            "evmVersion": EVM_VERSION,
            "viaIR": False,
            "optimizer": {"enabled": True, "runs": 200},
            "metadata": {"appendCBOR": False, "bytecodeHash": "none"},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def run_solc(sources: list[Path]) -> dict:
    """Run solcjs on the sources; raise SystemExit with the compiler's messages on any error."""
    if shutil.which("node") is None:
        raise SystemExit("node is not installed: the Solidity compiler is the npm package solc")
    if not (ROOT / "node_modules" / "solc").is_dir():
        raise SystemExit("npm packages missing: run `npm install` in the project root")
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp, "in.json"), Path(tmp, "out.json")
        inp.write_text(json.dumps(standard_json(sources)))
        subprocess.run(["node", str(ROOT / "scripts" / "solc_compile.mjs"), str(inp), str(out)], check=True)
        result = json.loads(out.read_text())
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    for e in result.get("errors", []):
        from_oz = e.get("sourceLocation", {}).get("file", "").startswith("@openzeppelin/")
        if e["severity"] != "error" and "SPDX" not in e["message"] and not from_oz:
            print(e["formattedMessage"].rstrip(), file=sys.stderr)
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    return result


def artifacts(result: dict) -> dict[str, dict]:
    """Select the deployable contracts of contracts/ (and EXTRA_SOURCES) from a solc output."""
    wanted: dict[str, dict] = {}
    for source, contracts in sorted(result["contracts"].items()):
        ours = source.startswith("contracts/")
        for name, out in sorted(contracts.items()):
            bytecode = out["evm"]["bytecode"]["object"]
            if not bytecode or not out["abi"] or not (ours or EXTRA_SOURCES.get(name) == source):
                continue
            if name in wanted:
                raise SystemExit(f"two contracts named {name}: {wanted[name]['sourceName']} and {source}")
            wanted[name] = {
                "contractName": name,
                "sourceName": source,
                "compiler": f"solc-{SOLC_VERSION}, evm {EVM_VERSION}, optimizer 200 runs",
                "abi": out["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecodeSize": len(out["evm"]["deployedBytecode"]["object"]) // 2,
            }
    return wanted


def missing_surface(name: str, abi: list[dict]) -> list[str]:
    """Functions and events of tests/data/required-abi.json (the v1.5.0 surface) that this contract's ABI lacks
    (errors are checked across all artifacts by the tests, not per contract)."""
    spec = ROOT / "tests" / "data" / "required-abi.json"
    required = json.loads(spec.read_text()).get(name, {})
    have = {f"{e['name']}({','.join(_canonical(i) for i in e['inputs'])})" for e in abi if "name" in e}
    want = list(required.get("functions", {}).values()) + list(required.get("events", {}).values())
    return sorted(set(want) - have)


def _canonical(param: dict) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh compile with abis/")
    parser.add_argument("--only", nargs="+", type=Path, help="compile these sources only, write nothing")
    args = parser.parse_args(argv)

    sources = [p.resolve() for p in args.only] if args.only else sorted(CONTRACTS.rglob("*.sol"))
    built = artifacts(run_solc(sources))
    too_big = {n: a["deployedBytecodeSize"] for n, a in built.items() if a["deployedBytecodeSize"] > CODE_SIZE_LIMIT}
    if args.only:
        for name, a in built.items():
            missing = missing_surface(name, a["abi"])
            print(f"{name:32s} {a['deployedBytecodeSize']:6d} bytes" + (f"  MISSING {missing}" if missing else ""))
    if too_big:
        raise SystemExit(f"over the EIP-170 code size limit ({CODE_SIZE_LIMIT} bytes): {too_big}")
    if args.only:
        return 0

    expected = {f"{n}.json": render(a) for n, a in built.items()}
    if args.check:
        committed = {p.name: p.read_text() for p in ABIS.glob("*.json")}
        stale = sorted(n for n in expected.keys() | committed.keys() if expected.get(n) != committed.get(n))
        if stale:
            print("abis/ differs from a fresh compile: " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"abis/ matches a fresh compile ({len(expected)} artifacts)")
        return 0

    ABIS.mkdir(exist_ok=True)
    for old in ABIS.glob("*.json"):
        if old.name not in expected:
            old.unlink()
    for name, text in expected.items():
        (ABIS / name).write_text(text)
    print(f"wrote {len(expected)} artifacts to {ABIS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
