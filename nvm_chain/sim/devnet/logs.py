"""Log filters: the filter object of ``eth_getLogs`` / ``eth_newFilter``, validated, with geth's matching rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nvm_chain.sim.devnet.codecs import address, hash32, may_contain
from nvm_chain.sim.devnet.jsonrpc import invalid_params


@dataclass(frozen=True)
class LogQuery:
    """An eth_getLogs / eth_newFilter filter object, validated."""

    from_block: Any  # tag or int
    to_block: Any
    block_hash: str | None
    addresses: frozenset[str] | None  # lower-case
    topics: tuple[frozenset[str] | None, ...]  # per position: None = any, else any of (lower-case)

    @classmethod
    def parse(cls, raw: Any) -> LogQuery:
        """Validate a filter object.

        Raises:
            RpcError: -32602 for a malformed filter, or blockHash combined with a block range.
        """
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise invalid_params("the filter must be an object")
        block_hash = raw.get("blockHash")
        if block_hash is not None:
            if raw.get("fromBlock") is not None or raw.get("toBlock") is not None:
                raise invalid_params("blockHash cannot be combined with fromBlock/toBlock")
            block_hash = hash32(block_hash, "blockHash")
        wanted = raw.get("address")
        if wanted is None:
            addresses = None
        elif isinstance(wanted, list):
            addresses = frozenset(address(a).lower() for a in wanted) or None
        else:
            addresses = frozenset({address(wanted).lower()})
        topics_raw = raw.get("topics") or []
        if not isinstance(topics_raw, list) or len(topics_raw) > 4:
            raise invalid_params("topics must be an array of at most 4 entries")
        topics: list[frozenset[str] | None] = []
        for position in topics_raw:
            if position is None:
                topics.append(None)
            elif isinstance(position, list):
                options = frozenset(hash32(t, "topic") for t in position if t is not None)
                # an empty OR-list, or one holding null, matches anything (geth semantics)
                topics.append(options if options and None not in position else None)
            else:
                topics.append(frozenset({hash32(position, "topic")}))
        from_block = raw.get("fromBlock") if raw.get("fromBlock") is not None else "latest"
        to_block = raw.get("toBlock") if raw.get("toBlock") is not None else "latest"
        return cls(from_block, to_block, block_hash, addresses, tuple(topics))

    def matches(self, entry: dict[str, Any]) -> bool:
        """Whether a log (``address`` and ``topics`` as hex) passes the filter."""
        if self.addresses is not None and entry["address"].lower() not in self.addresses:
            return False
        log_topics = entry["topics"]
        for i, wanted in enumerate(self.topics):
            if wanted is None:
                continue
            if i >= len(log_topics) or log_topics[i].lower() not in wanted:
                return False
        return True

    def may_be_in(self, bloom: int) -> bool:
        """False when the block's bloom proves no log of it can match."""
        if bloom == 0:
            return False
        if self.addresses is not None and not any(may_contain(bloom, a) for a in self.addresses):
            return False
        return all(wanted is None or any(may_contain(bloom, t) for t in wanted) for wanted in self.topics)
