"""Start a real anvil node (npm @foundry-rs/anvil, Prague) on 127.0.0.1 for network tests."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
# anvil's first default dev account (public test key; never holds real funds)
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class Anvil:
    """A running anvil process; ``url`` is its JSON-RPC endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", "0", "--hardfork", "prague"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.search(r"Listening on (127\.0\.0\.1:\d+)", line)
            if match:
                self.url = f"http://{match.group(1)}"
                break
        else:
            raise RuntimeError(f"anvil did not start (exit code {self.proc.wait()})")
        # keep draining its log: a full pipe (~64 KiB) would block anvil and time out every request
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
