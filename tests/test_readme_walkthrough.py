"""The README walk-through runs as written: a devnet in one process, the copy-paste steps in a shell.

The README's port (8545) may be taken on the machine running the suite, so the devnet line runs with
``--port 0`` and every mention of the README's port in the steps becomes the port the devnet printed; nothing
else of the README lines changes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
README_PORT = "8545"


def block(marker: str) -> str:
    """The ```bash block that follows ``<!-- walkthrough:marker -->`` in README.md."""
    match = re.search(rf"<!-- walkthrough:{marker} -->\s*```bash\n(.*?)```", README.read_text(), re.S)
    assert match, f"README.md has no walkthrough:{marker} block"
    return match.group(1)


def on_port(lines: str, port: str) -> str:
    """``lines`` with the README's port replaced by ``port`` (at least one mention is expected)."""
    pattern = rf"(?<![0-9A-Za-z]){README_PORT}(?![0-9A-Za-z])"
    assert re.search(pattern, lines), f"the README block no longer mentions port {README_PORT}: {lines!r}"
    return re.sub(pattern, port, lines)


@pytest.mark.slow  # a devnet process and a dozen cold CLI processes; each command is tested in-process
def test_the_walkthrough_runs_as_written(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "NVM_CONFIG": str(tmp_path / "no-config.json")}
    for var in ("NVM_NETWORK", "NVM_RPC_URL", "NVM_ADDRESS_BOOK", "NVM_PRIVATE_KEY", "NVM_ACCOUNT", "NVM_API_KEY"):
        env.pop(var, None)
    devnet = subprocess.Popen(["bash", "-c", "exec " + on_port(block("devnet").strip(), "0")], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in devnet.stderr:
            listening = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if listening:
                break
        else:
            pytest.fail(f"devnet did not start: {devnet.stdout.read()}")
        port = listening.group(1)
        assert port != "0"
        steps = subprocess.run(["bash", "-euo", "pipefail", "-c", on_port(block("steps"), port)], cwd=tmp_path,
                               env=env, capture_output=True, text=True, timeout=300)
        assert steps.returncode == 0, steps.stderr[-3000:]
    finally:
        devnet.send_signal(signal.SIGINT)
        devnet.wait(timeout=30)
    balances = [int(b) for b in re.findall(r"^balance\s+(\d+)$", steps.stdout, re.M)]
    assert balances == [0, 100, 140]  # before the order, after it, after mint 50 and redeem 10
    assert re.search(r"agreementId\s+0x[0-9a-f]{64}", steps.stdout)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["priceConfig"]["amounts"] == ["9900000000000000000", "100000000000000000"]  # 1% fee split off
    assert devnet.returncode == 0
