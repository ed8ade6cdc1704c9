"""Batch reads: many calls in one ``eth_call`` through Multicall3, and ERC-1155 ``balanceOfBatch`` (chain layer:
reads only, never signs or sends).

Multicall3 lives at :data:`MULTICALL3_ADDRESS` on Base, Base Sepolia and most EVM chains; the simulation
deploys the same interface (``contracts/utils/Multicall3.sol``) and lists it in its address book as
``"Multicall3"``. Every call of a batch runs with ``allowFailure``, so one failing call reports its revert data
in its :class:`Result` instead of failing the batch; :meth:`Result.unwrap` turns it into the same typed
:class:`~nvm_chain.errors.ContractRevertError` a single read raises.

Batches are cut into chunks so that no single ``eth_call`` grows past ``chunk`` calls or ``max_bytes`` of
calldata (public RPCs cap request size and the gas of one ``eth_call``). With several chunks at ``"latest"``,
the first one also reads the block number and the others run at that block, so the whole batch sees one state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from eth_utils import keccak
from web3 import Web3
from web3.types import BlockIdentifier

from nvm_chain.chain.abi import RevertReason, registry
from nvm_chain.chain.codec import decode_values, encode_values
from nvm_chain.chain.contracts import BoundContract
from nvm_chain.chain.reads import eth_call
from nvm_chain.errors import ConfigurationError, ContractRevertError, ValidationError
from nvm_chain.protocol.models import to_address

#: where Multicall3 is deployed on Base, Base Sepolia and most EVM chains (same address everywhere)
MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"

#: calls per ``eth_call``: 200 plan reads stay far below the 50M gas most RPCs allow one call
DEFAULT_CHUNK = 200
#: calldata bytes per ``eth_call`` (request bodies of public RPCs are capped at a few hundred KB)
DEFAULT_MAX_BYTES = 100_000
#: holders per ``balanceOfBatch`` call
DEFAULT_BALANCE_CHUNK = 500

_AGGREGATE3 = keccak(text="aggregate3((address,bool,bytes)[])")[:4]
_GET_BLOCK_NUMBER = keccak(text="getBlockNumber()")[:4]
_CALL3 = ("(address,bool,bytes)[]",)
_RESULT = ("(bool,bytes)[]",)

Block = BlockIdentifier


class Result(NamedTuple):
    """The outcome of one call of a batch: whether it succeeded, and its return data (revert data if not)."""

    success: bool
    return_data: bytes

    def revert_reason(self) -> RevertReason | None:
        """The decoded revert of a failed call (custom error of any bundled ABI, ``Error`` or ``Panic``); None
        when the call succeeded or its revert data matches no known error."""
        return None if self.success else registry().decode_revert(self.return_data)

    def unwrap(self, action: str = "") -> bytes:
        """The return data of a successful call.

        Raises:
            ContractRevertError: the call reverted (decoded, ``action`` names it in the message).
        """
        if not self.success:
            raise ContractRevertError(self.revert_reason(), self.return_data, action=action)
        return self.return_data


def _chunks(calls: Sequence[tuple[str, bytes]], chunk: int, max_bytes: int) -> Iterator[list[tuple[str, bytes]]]:
    """Consecutive runs of ``calls`` with at most ``chunk`` calls and about ``max_bytes`` of calldata each."""
    batch: list[tuple[str, bytes]] = []
    size = 0
    for call in calls:
        cost = 160 + (len(call[1]) + 31) // 32 * 32  # ABI words of one (address,bool,bytes) tuple
        if batch and (len(batch) >= chunk or size + cost > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(call)
        size += cost
    if batch:
        yield batch


def multicall(w3: Web3, multicall_address: str, calls: Sequence[tuple[str, bytes]], *, block: Block = "latest",
              chunk: int = DEFAULT_CHUNK, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Result]:
    """Run ``calls`` (``(target, calldata)`` pairs) through Multicall3 ``aggregate3`` with ``allowFailure``,
    one ``eth_call`` per chunk, and return one :class:`Result` per call, in order.

    Raises:
        ValidationError: ``chunk`` or ``max_bytes`` below 1.
        ContractRevertError: the batch itself reverted (e.g. out of gas), decoded.
        ConfigurationError: nothing at ``multicall_address`` answered (empty return data: a wrong address book).
    """
    if chunk < 1 or max_bytes < 1:
        raise ValidationError(f"chunk and max_bytes must be at least 1, got {chunk} and {max_bytes}")
    calls = [(to_address(target, "call target"), bytes(data)) for target, data in calls]
    parts = list(_chunks(calls, chunk, max_bytes))
    pin = block == "latest" and len(parts) > 1
    results: list[Result] = []
    for n, part in enumerate(parts):
        if pin and n == 0:
            part = [(multicall_address, _GET_BLOCK_NUMBER), *part]
        data = _AGGREGATE3 + encode_values(_CALL3, [[(t, True, d) for t, d in part]])
        raw = eth_call(w3, multicall_address, data, block=block, action=f"Multicall3.aggregate3 ({len(part)} calls)")
        if not raw:
            raise ConfigurationError(f"no Multicall3 at {multicall_address}: aggregate3 returned nothing")
        decoded = [Result(ok, out) for ok, out in decode_values(_RESULT, raw)[0]]
        if pin and n == 0:
            block = int.from_bytes(decoded.pop(0).unwrap("Multicall3.getBlockNumber"), "big")
        results += decoded
    return results


def call_many(w3: Web3, multicall_address: str, calls: Sequence[tuple[BoundContract, str, tuple[Any, ...]]], *,
              block: Block = "latest", chunk: int = DEFAULT_CHUNK) -> list[Result]:
    """:func:`multicall` of ``bound.fn(*args)`` calls; decode each with :func:`decode` (or ``bound.decode``)."""
    encoded = [(bound.address, bound.calldata(fn, *args)) for bound, fn, args in calls]
    return multicall(w3, multicall_address, encoded, block=block, chunk=chunk)


def decode(bound: BoundContract, fn: str, result: Result, arity: int | None = None) -> Any:
    """The decoded return value of ``bound.fn`` from its batch result.

    Raises:
        ContractRevertError: the call reverted (decoded; the message names ``Contract.fn``).
    """
    return bound.decode(fn, result.unwrap(f"{bound.name}.{fn}"), arity=arity)


def plan_records(w3: Web3, multicall_address: str, assets_registry: BoundContract, plan_ids: Sequence[int], *,
                 hooks: bool = True, block: Block = "latest", chunk: int = DEFAULT_CHUNK,
                 ) -> list[tuple[Any, tuple[str, ...]]]:
    """``(getPlan record, getPlanHooks)`` of each plan id (hooks ``()`` when not asked for), all read through
    Multicall3: one ``eth_call`` per ``chunk`` calls (two per plan with hooks). A missing plan comes back as the
    registry answers it (an empty record, ``lastUpdated == 0``).

    Raises:
        ContractRevertError: a read reverted (decoded).
    """
    per_plan = 2 if hooks else 1
    calls = [(assets_registry, fn, (pid,)) for pid in plan_ids
             for fn in (("getPlan", "getPlanHooks") if hooks else ("getPlan",))]
    results = call_many(w3, multicall_address, calls, block=block, chunk=max(chunk - chunk % per_plan, per_plan))
    out = []
    for i in range(0, len(results), per_plan):
        record = decode(assets_registry, "getPlan", results[i])
        plan_hooks = tuple(decode(assets_registry, "getPlanHooks", results[i + 1])) if hooks else ()
        out.append((record, plan_hooks))
    return out


def balances_of_batch(w3: Web3, nft_address: str, holders: Sequence[str], ids: Sequence[int] | int, *,
                      block: Block = "latest", chunk: int = DEFAULT_BALANCE_CHUNK) -> list[int]:
    """ERC-1155 balances of ``holders`` (token ``ids``, one per holder, or one id for all) through the contract's
    own ``balanceOfBatch``: one ``eth_call`` per ``chunk`` holders, no Multicall3 needed (plus one
    ``eth_blockNumber`` to read every chunk at the same block when there are several). On the protocol's
    expirable credits contracts expired credits are excluded, as by ``balanceOf``.

    Raises:
        ValidationError: a bad address, ``ids`` and ``holders`` differ in length, or ``chunk`` is below 1.
        ContractRevertError: the read reverted (decoded).
    """
    token_ids = [ids] * len(holders) if isinstance(ids, int) else list(ids)
    if len(token_ids) != len(holders):
        raise ValidationError(f"{len(holders)} holders but {len(token_ids)} ids")
    if chunk < 1:
        raise ValidationError(f"chunk must be at least 1, got {chunk}")
    nft = BoundContract(registry()["NFT1155Credits"], to_address(nft_address, "credits contract"))
    owners = [to_address(h, "holder") for h in holders]
    if block == "latest" and len(owners) > chunk:
        block = w3.eth.block_number  # every chunk reads the same state
    balances: list[int] = []
    for start in range(0, len(owners), chunk):
        part, part_ids = owners[start:start + chunk], token_ids[start:start + chunk]
        data = nft.calldata("balanceOfBatch", part, part_ids)
        raw = eth_call(w3, nft.address, data, block=block, action="NFT1155.balanceOfBatch")
        balances += nft.decode("balanceOfBatch", raw)
    return balances

