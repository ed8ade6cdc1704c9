"""The package's public surface and its architectural rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nvm_chain
from nvm_chain import errors

PACKAGE = Path(nvm_chain.__file__).parent


def test_import_is_cheap_and_every_public_name_resolves():
    code = "import sys, nvm_chain; assert 'web3' not in sys.modules and 'eth_tester' not in sys.modules; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"
    for name in nvm_chain.__all__:
        assert getattr(nvm_chain, name) is not None, name
    assert nvm_chain.NvmChain.__module__ == "nvm_chain.client"


def test_every_exception_of_the_package_is_defined_in_the_errors_module():
    """One error tree: library modules define no exception classes of their own (the CLI's click exceptions
    and the devnet's internal JSON-RPC error object excepted)."""
    allowed = {"nvm_chain/errors.py", "nvm_chain/cli/errors.py", "nvm_chain/cli/x402.py"}
    strays = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel in allowed or rel.startswith("nvm_chain/sim/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if any(b.endswith(("Error", "Exception", "Warning")) for b in bases):
                    strays.append(f"{rel}:{node.name}")
    assert strays == []


def test_every_error_class_maps_to_a_documented_exit_code():
    readme = (PACKAGE.parent / "README.md").read_text()
    documented = {0, 1, 3, 4, 5, 6, 7, 9}
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.NvmChainError):
            assert obj.exit_code in documented, name
    assert "Exit codes" in readme


def test_only_the_sender_broadcasts():
    """``eth_sendRawTransaction`` is reached from one module of the library (the simulation nodes serve it)."""
    senders = sorted(p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")
                     if "send_raw_transaction" in p.read_text() and "/sim/" not in p.as_posix())
    assert senders == ["nvm_chain/chain/tx/sender.py"]
