"""Rendering: data to stdout as a table or JSON, messages and progress to stderr (CLI layer)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any

import click


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``: models dumped, ints above 2**53 and Decimals as strings, bytes as hex."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="python")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if hasattr(value, "value") and not isinstance(value, str):  # enums
        return jsonable(value.value)
    return str(value)


def emit(data: Any, fmt: str | None, *, columns: list[str] | None = None) -> None:
    """Print ``data`` (a mapping, a model or a list of them) on stdout in ``fmt`` ("table" or "json"; None, the
    unset ``--format``: a table)."""
    plain = jsonable(data)
    if fmt == "json":
        click.echo(json.dumps(plain, indent=2))
        return
    if isinstance(plain, list):
        click.echo(_table(plain, columns))
    elif isinstance(plain, dict):
        click.echo(_pairs(plain))
    else:
        click.echo(plain)


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else str(value)


def _pairs(row: dict[str, Any]) -> str:
    width = max((len(k) for k in row), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in row.items())


def _table(rows: list[Any], columns: list[str] | None) -> str:
    if not rows:
        return "(none)"
    if not isinstance(rows[0], dict):
        return "\n".join(_cell(r) for r in rows)
    columns = columns or list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def say(message: str) -> None:
    """A message for the human, on stderr."""
    click.echo(message, err=True)


def steps(items: Iterable[Any], label: str) -> Iterable[Any]:
    """Iterate with a progress line on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar


class ProgressBar:
    """A progress bar on stderr for a long library operation, passed to it as ``progress(done, total)``.

    Draws only when ``enabled`` (callers: stderr is a terminal and the output is not JSON), only once the
    operation has lasted ``delay`` seconds (short ones stay silent), at most every ``interval`` seconds; use it
    as a context manager so that the line is ended afterwards."""

    def __init__(self, label: str, *, unit: str = "blocks", enabled: bool = True, stream: IO[str] | None = None,
                 delay: float = 0.5, interval: float = 0.1, width: int = 30,
                 clock: Any = time.monotonic):
        self.label, self.unit, self.enabled = label, unit, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.delay, self.interval, self.width, self.clock = delay, interval, width, clock
        self._started: float | None = None
        self._drawn_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        now = self.clock()
        if self._started is None:
            self._started = now
        if now - self._started < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < self.interval and done < total:
            return
        self._drawn_at = now
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {100 * done // total:3d}% {done:,}/{total:,} {self.unit}")
        self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()


def progress_bar(label: str, fmt: str | None, *, unit: str = "blocks") -> ProgressBar:
    """A :class:`ProgressBar` on stderr, drawn only when stderr is a terminal and ``fmt`` is not "json"."""
    return ProgressBar(label, unit=unit, enabled=fmt != "json" and sys.stderr.isatty())
