"""The event ledger of a simulation run: one row per operation attempted on chain, and per expiry.

``kind`` is what happened: ``register_plan``, ``register_agent``, ``allow_burner``, ``order`` (fixed-price
order; ``credits`` minted by it), ``payg`` (one pay-as-you-go payment), ``mint`` (builder mint), ``redeem``
(credits burned), ``expire`` (credits that reached their expiry unused; no transaction), or ``failure`` (the
attempted ``op`` did not happen: ``error_name`` is the decoded contract error, or the client's exception class
when it refused before signing). Amounts are integers in base units of the test token: ``amount`` paid by the
subscriber, of which ``revenue`` went to the builder and ``fee`` to the protocol fee receiver. ``t`` is seconds
since the scenario started (block time), ``day`` its whole days.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields

KINDS = ("register_plan", "register_agent", "allow_burner", "order", "payg", "mint", "redeem", "expire", "failure")


@dataclass(frozen=True)
class Event:
    """One ledger row (see the module docstring)."""

    seq: int
    t: int
    kind: str
    op: str
    builder: str = ""
    plan: str = ""
    subscriber: str = ""
    actor: str = ""
    credits: int = 0
    amount: int = 0
    revenue: int = 0
    fee: int = 0
    gas: int = 0
    txs: int = 0
    tx: str = ""
    error_name: str = ""
    error: str = ""

    @property
    def day(self) -> int:
        return self.t // 86_400

    def as_dict(self) -> dict[str, object]:
        """The row in column order (:data:`COLUMNS`)."""
        return {"seq": self.seq, "day": self.day, **{name: getattr(self, name) for name in _FIELDS}}


_FIELDS = tuple(f.name for f in fields(Event) if f.name != "seq")
COLUMNS = ("seq", "day", *_FIELDS)


class Ledger:
    """The ordered list of events of one run."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def add(self, t: int, kind: str, op: str | None = None, **values: object) -> Event:
        """Append an event at scenario time ``t``; returns it."""
        event = Event(len(self.events), t, kind, op or kind, **values)  # type: ignore[arg-type]
        self.events.append(event)
        return event

    def rows(self) -> list[dict[str, object]]:
        """Every event as a dict in column order."""
        return [e.as_dict() for e in self.events]

    def to_json(self) -> str:
        """The ledger as a JSON array (amounts as decimal strings: they exceed 2**53)."""
        return json.dumps([{k: (str(v) if k in ("amount", "revenue", "fee") else v) for k, v in row.items()}
                           for row in self.rows()], indent=1)

    def to_csv(self) -> str:
        """The ledger as CSV with a header row."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return out.getvalue()

    def fingerprint(self) -> str:
        """sha256 of the CSV: equal for equal ledgers."""
        return hashlib.sha256(self.to_csv().encode()).hexdigest()
