"""``nvm-chain tx …``: look up, wait for, list, resend, speed up or cancel transactions (CLI layer).

``status`` and ``wait`` need no account. Receipts are read through
:func:`nvm_chain.chain.tx.sender.wait_for_receipt`, which decodes every log against the protocol ABIs (by emitting
address and topic); a reverted transaction's reason is found by replaying its call, from its sender, on the
state of the block before it. Both also read the local journal (:mod:`nvm_chain.chain.tx.journal`) when it holds
the hash, and bring it up to date: a write recorded mined that a reorg dropped shows as "dropped by a reorg, not
mined".

``status`` reports ``pending`` (the node knows it, no receipt yet), ``mined`` (with ``status`` success or
reverted, block, gas and decoded events), ``dropped``, ``replaced``, ``not sent`` or ``unknown``; it exits 0 in
each case. ``wait`` exits 0 once mined successfully, 4 (with the decoded revert) when mined with status 0, and 5
(``pending, hash …``) on timeout. ``list``, ``resend``, ``speedup`` and ``cancel`` act on the account's journal.
"""

from __future__ import annotations

import re
from typing import Any

import click

from nvm_chain.cli.context import open_client, settings
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class TxHash(click.ParamType):
    """A 32-byte transaction hash, 0x + 64 hex characters."""

    name = "HASH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text.startswith("0x"):
            text = "0x" + text
        if not _HASH.fullmatch(text):
            self.fail(f"{value!r} is not a transaction hash (0x + 64 hex characters)", param, ctx)
        return text.lower()


def _receipt(client, tx_hash: str, timeout: float):
    """Wait up to ``timeout`` s for the receipt, its logs decoded by address (no account needed)."""
    from nvm_chain.chain.tx.sender import wait_for_receipt

    return wait_for_receipt(client.w3, tx_hash, timeout, names=client.contracts.names_by_address())


def _lookup(w3, tx_hash: str):
    """The transaction as the node knows it, or None."""
    from web3.exceptions import TransactionNotFound

    try:
        return w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return None


def _call_name(names: dict[str, str], to: str | None, data: bytes) -> str:
    """``Contract.function`` for a call into a known contract, else the selector (or ``transfer``/``create``)."""
    from nvm_chain.chain.abi import registry, selector

    if to is None:
        return "create"
    if len(data) < 4:
        return "transfer"
    contract = names.get(to)
    if contract and contract in registry().artifacts:
        for entry in registry()[contract].abi:
            if entry["type"] == "function" and selector(entry) == data[:4]:
                return f"{contract}.{entry['name']}"
    return f"{contract or to}:0x{data[:4].hex()}"


def _revert(client, tx, receipt, action: str):
    """The ContractRevertError of a mined, status-0 transaction (its call replayed at the parent block)."""
    from nvm_chain.chain.tx.sender import replay_revert

    call = {} if tx is None else {"from": tx["from"], "to": tx.get("to"), "data": bytes(tx["input"]),
                                  "value": tx["value"], "gas": tx["gas"]}
    return replay_revert(client.w3, call, receipt, action)


def _mined(client, tx, receipt) -> tuple[dict[str, Any], Any]:
    """The receipt as output fields, and the decoded ContractRevertError when it reverted (else None)."""
    names = client.contracts.names_by_address()
    action = _call_name(names, tx.get("to"), bytes(tx["input"])) if tx is not None else None
    out: dict[str, Any] = {
        "txHash": receipt.tx_hash, "state": "mined", "status": "success" if receipt.status == 1 else "reverted",
        "blockNumber": receipt.block_number, "gasUsed": receipt.gas_used,
        "from": tx["from"] if tx is not None else None, "to": tx.get("to") if tx is not None else None,
        "call": action, "nonce": tx["nonce"] if tx is not None else None,
        "events": [{"name": e.name, "contract": names.get(e.address), "address": e.address, "args": e.args}
                   for e in receipt.events],
    }
    undecoded = len(receipt.logs) - len(receipt.events)
    if undecoded:
        out["undecodedLogs"] = undecoded
    error = None
    if receipt.status != 1:
        error = _revert(client, tx, receipt, action or "transaction")
        out["revert"] = {"error": error.error_name, "args": error.error_args}
    return out, error


def _journal_entry(client, tx_hash: str):
    """The journal record of ``tx_hash`` among this chain's journals, brought up to date with the node, or None."""
    from nvm_chain.chain.tx.sender import refresh_entry

    for journal in client.journals():
        entry = journal.get(tx_hash)
        if entry is not None:
            return refresh_entry(client.w3, journal, entry)
    return None


def _entry_row(entry) -> dict[str, Any]:
    return {"txHash": entry.hash, "nonce": entry.nonce, "state": entry.status.replace("_", " "),
            "action": entry.action or None, "blockNumber": entry.block_number, "replaces": entry.replaces,
            "replacedBy": entry.replaced_by, "detail": entry.detail}


@click.group()
@global_options
def tx(**_) -> None:
    """Look up, wait for, list, resend, speed up or cancel transactions."""


@tx.command("status")
@click.argument("tx_hash", type=TxHash())
@global_options
@click.pass_context
def status(ctx: click.Context, tx_hash: str, **_) -> None:
    """Show whether HASH is pending, mined (status, block, gas, decoded events) or unknown to the node."""
    from nvm_chain.errors import TransactionPending

    client = open_client(ctx, account=False)
    entry = _journal_entry(client, tx_hash)
    tx_data = _lookup(client.w3, tx_hash)
    try:
        receipt = _receipt(client, tx_hash, 0)
    except TransactionPending:
        out: dict[str, Any] = {"txHash": tx_hash, "state": "pending" if tx_data is not None else "unknown"}
        if tx_data is not None:
            out.update({"from": tx_data["from"], "to": tx_data.get("to"), "nonce": tx_data["nonce"]})
        if entry is not None and out["state"] == "unknown":
            out.update(_entry_row(entry))  # the journal knows why: dropped by a reorg, replaced, not sent …
        emit(out, settings(ctx).format)
        if out["state"] == "unknown":
            say(f"the node at this network does not know transaction {tx_hash}")
        elif entry is not None and entry.detail and out["state"] != "pending":
            say(entry.detail)
        return
    emit(_mined(client, tx_data, receipt)[0], settings(ctx).format)


@tx.command("wait")
@click.argument("tx_hash", type=TxHash())
@click.option("--timeout", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Seconds to wait for the receipt; then exit 5 (pending, not failed).")
@global_options
@click.pass_context
def wait(ctx: click.Context, tx_hash: str, timeout: float, **_) -> None:
    """Wait until HASH is mined. Exit 0 on success, 4 if it reverted, 5 if still pending after --timeout."""
    from nvm_chain.errors import TransactionPending

    client = open_client(ctx, account=False)
    say(f"waiting for the receipt of {tx_hash} (up to {timeout:g} s) ...")
    try:
        receipt = _receipt(client, tx_hash, timeout)
        _journal_entry(client, tx_hash)  # record the outcome
    except TransactionPending:  # exit 5: pending, not failed
        if _lookup(client.w3, tx_hash) is None:
            say(f"note: the node does not know transaction {tx_hash} (not broadcast here, or dropped)")
        raise
    out, error = _mined(client, _lookup(client.w3, tx_hash), receipt)
    emit(out, settings(ctx).format)  # the decoded outcome, also when it reverted
    if error is not None:
        raise error  # exit 4 with the decoded reason


@tx.command("list")
@click.option("--pending", "only_pending", is_flag=True, help="Only transactions not final yet.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@global_options
@click.pass_context
def list_(ctx: click.Context, only_pending: bool, limit: int, **_) -> None:
    """The account's journal: its latest transactions (hash, nonce, state, action, block), newest first."""
    client = open_client(ctx)
    journal = client.sender.journal
    entries = journal.pending() if only_pending else journal.list(limit)
    emit([_entry_row(e) for e in entries[:limit]], settings(ctx).format,
         columns=["txHash", "nonce", "state", "action", "blockNumber", "detail"])


@tx.command("resend")
@click.argument("tx_hash", type=TxHash())
@global_options
@click.pass_context
def resend(ctx: click.Context, tx_hash: str, **_) -> None:
    """Broadcast the journal's signed bytes of HASH again: the same transaction, so it can execute at most once
    (e.g. after a reorg dropped it or a node forgot it)."""
    client = open_client(ctx)
    emit({"txHash": client.sender.resend(tx_hash), "state": "sent"}, settings(ctx).format)


def _replacement(ctx: click.Context, tx_hash: str, cancel: bool, wait: bool, timeout: float) -> None:
    client = open_client(ctx)
    sender = client.sender
    result = (sender.cancel if cancel else sender.speed_up)(tx_hash, wait=wait, timeout=timeout)
    new_hash = result if isinstance(result, str) else result.tx_hash
    out: dict[str, Any] = {"txHash": new_hash, "replaces": tx_hash,
                           "state": "sent" if isinstance(result, str) else "mined"}
    if not isinstance(result, str):
        out.update({"blockNumber": result.block_number, "status": "success" if result.status == 1 else "reverted"})
    emit(out, settings(ctx).format)
    say(f"{'cancel' if cancel else 'speed-up'} sent with the same nonce: only one of {tx_hash} and {new_hash} "
        f"can be mined (`nvm-chain tx status` says which)")


_WAIT = click.option("--wait/--no-wait", default=False, show_default=True, help="Wait for the replacement's receipt.")
_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0), default=120.0, show_default=True)


@tx.command("speedup")
@click.argument("tx_hash", type=TxHash())
@_WAIT
@_TIMEOUT
@global_options
@click.pass_context
def speedup(ctx: click.Context, tx_hash: str, wait: bool, timeout: float, **_) -> None:
    """Re-sign the pending HASH with the same nonce and higher fees (enough for the node's replacement rule)."""
    _replacement(ctx, tx_hash, False, wait, timeout)


@tx.command("cancel")
@click.argument("tx_hash", type=TxHash())
@_WAIT
@_TIMEOUT
@global_options
@click.pass_context
def cancel(ctx: click.Context, tx_hash: str, wait: bool, timeout: float, **_) -> None:
    """Replace the pending HASH by a 0-value transfer to yourself with the same nonce and higher fees."""
    _replacement(ctx, tx_hash, True, wait, timeout)
