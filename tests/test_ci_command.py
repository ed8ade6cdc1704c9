"""CI runs the README's test command, exactly."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"\*\*Run the tests\*\*.*?```bash\n(.*?)\n```", readme, re.S)
    assert match, "README.md has no 'Run the tests' command block"
    command = match.group(1)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == command
    assert "set -euo pipefail" in ci
    # lint, types and the import contract run before the suite, and the suite runs slow tests too
    assert re.search(r"ruff check \. && .*mypy && .*lint-imports && .*pytest -q", command)
    assert "not slow" not in command
