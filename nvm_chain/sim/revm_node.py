"""An in-process Ethereum node over revm (``pyrevm``): JSON-RPC in, JSON-RPC out, instant mining.

Layer: simulation only. :class:`RevmNode` answers the JSON-RPC methods the client and the devnet use, from
Python dicts (``request``) or HTTP bodies (``handle_json``), one request at a time (a lock). The envelope, error
objects and revert answers are the devnet's (:mod:`nvm_chain.sim.devnet.jsonrpc`, ``node_errors``); refusals are
worded from the client's own refusal table (:mod:`nvm_chain.chain.tx.refusals`).

How it maps onto pyrevm 0.3.7 (whose ``message_call``/``deploy`` run a message without the transaction-level
bookkeeping, and keep all state in revm's journal, never finalised):

- ``eth_sendRawTransaction`` decodes and checks the signed transaction like geth's txpool (chain id, nonce,
  funds for gas × max fee + value, fee cap ≥ base fee, intrinsic gas, block gas limit), mines it at once in a
  block of its own, charges the sender ``gasUsed × effective price``, burns the base fee and pays the tip to
  the coinbase, and bumps the sender's nonce (revm bumps it itself for creations);
- every block remembers a journal checkpoint taken before its transaction. ``evm_revert`` rewinds to one; a
  call or state read at an older block rewinds there, answers, and re-executes the later blocks (at most
  ``history`` blocks back; older state is refused like a pruned node does);
- balance and nonce edits made outside the EVM (fees, nonce bumps) are not in revm's journal, so the node
  keeps its own journal of them (as deltas) and undoes them when it rewinds;
- ``anvil_setCode`` / ``hardhat_setCode`` write code outside the EVM too: the write joins the node's journal
  (undone by a rewind or by ``evm_revert`` to a snapshot taken before it) and is recorded with the block it
  happened in, after that block's transaction, so re-executing the block re-applies it;
- state reads run inside a throw-away checkpoint, so a read never warms an account for a later transaction.

Known differences from a production client (documented, deliberate):

- gas: because pyrevm never finalises its journal, accounts and storage slots touched by an earlier
  transaction stay warm, and every slot's "original value" (EIP-2200) stays its value when first loaded, so
  later transactions usually use less gas than on geth/py-evm (tests/test_revm_engine.py measures it);
- inside the EVM, ``BASEFEE`` reads 0 and ``GASPRICE`` reads 0 (pyrevm forces both), ``BLOCKHASH`` is not
  this chain's block hash, and the sender's balance during execution is already reduced by the gas limit ×
  price (as on a real chain);
- ``eth_call`` ignores fee fields (nothing is charged) and, like revm, refuses a ``from`` that holds code;
- block hashes are digests of this node's block data (no state or receipt tries).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

from nvm_chain.chain.rlp import rlp_encode, rlp_prefix
from nvm_chain.chain.tx import refusals
from nvm_chain.errors import ConfigurationError
from nvm_chain.protocol.hashing import keccak
from nvm_chain.sim.devnet.codecs import bloom_bits, bloom_hex
from nvm_chain.sim.devnet.jsonrpc import (
    SERVER_ERROR,
    MethodTable,
    RpcError,
    invalid_params,
)
from nvm_chain.sim.devnet.node_errors import reverted
from nvm_chain.sim.revm_tx import (
    MAX_INITCODE_SIZE,
    SignedTx,
    TxDecodeError,
    checksum,
    decode_signed,
)

GWEI = 10**9
DEFAULT_CHAIN_ID = 131277322940537  # eth-tester's, so ids and signatures match the py-evm engine
DEFAULT_GAS_LIMIT = 30_000_000
ZERO_ADDRESS = "0x" + "00" * 20
EMPTY_CODE_HASH = keccak(b"")
EMPTY_LIST_HASH = keccak(rlp_encode([]))
EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
_SEAL_MARK = rlp_encode(b"nvm-chain/revm")  # the last field of every block's header

_T = TypeVar("_T")
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")


def load_pyrevm() -> Any:
    """The ``pyrevm`` module.

    Raises:
        ConfigurationError: pyrevm is not installed (it is the optional ``revm`` extra).
    """
    try:
        import pyrevm
    except ImportError:
        raise ConfigurationError("the revm engine needs pyrevm: pip install 'nvm-chain[revm]'") from None
    return pyrevm


# ---------------------------------------------------------------------------------------------- records


@dataclass(slots=True)
class _Log:
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    index: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes = b""


@dataclass
class _Mark:
    """A point to rewind to: a revm journal checkpoint plus the length of the node's delta journal."""

    checkpoint: Any
    deltas: int


@dataclass(frozen=True)
class _CodeWrite:
    """Code written at ``address`` outside the EVM, and the code it replaced (to undo it)."""

    address: str
    code: bytes
    before: bytes


_Delta = tuple[str, int, int] | _CodeWrite  # (address, balance delta, nonce delta), or a code write


@dataclass
class _Block:
    number: int
    timestamp: int
    base_fee: int
    gas_limit: int
    parent_hash: bytes
    mark: _Mark | None = None  # state before the block's transactions
    hash: bytes = b""
    gas_used: int = 0
    tx_hashes: list[bytes] = field(default_factory=list)
    logs: list[_Log] = field(default_factory=list)
    bloom: int | None = None  # computed on first use
    code_writes: list[tuple[str, bytes]] = field(default_factory=list)  # out of band, after the transaction


@dataclass
class _Mined:
    tx: SignedTx
    block_number: int
    status: int
    gas_used: int
    price: int
    contract_address: str | None
    logs: list[_Log]
    output: bytes = b""  # revert data of a failed transaction


class _Sandbox(Generic[_T]):
    """A context that takes a revm checkpoint on entry and reverts to it on exit (yields ``value``)."""

    __slots__ = ("_evm", "_value", "_checkpoint")

    def __init__(self, evm: Any, value: _T):
        self._evm = evm
        self._value = value

    def __enter__(self) -> _T:
        self._checkpoint = self._evm.snapshot()
        return self._value

    def __exit__(self, *exc: object) -> None:
        self._evm.revert(self._checkpoint)


@dataclass
class _Outcome:
    """One execution: ``result`` is pyrevm's ExecutionResult (None when revm refused to run it)."""

    result: Any
    output: bytes
    failure: str | None


@dataclass(frozen=True)
class _Snapshot:
    height: int
    deltas: int  # length of the node's journal: undoes out-of-band writes made later in the same block
    code_writes: int  # how many of the latest block's code writes came before the snapshot
    offset: int
    next_timestamp: int | None


# ---------------------------------------------------------------------------------------------- param parsing


def _quantity(value: Any, what: str = "quantity") -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) > 2:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise invalid_params(f"{what} must be a 0x-prefixed hex quantity, got {value!r}")


def _data(value: Any, what: str = "data") -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise invalid_params(f"{what} must be 0x-prefixed hex bytes, got {value!r}")


def _address(value: Any, what: str = "address") -> str:
    if isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X"):
        try:
            return checksum(value)
        except ValueError:
            pass
    raise invalid_params(f"{what} must be a 20-byte 0x-hex address, got {value!r}")


def _params(params: Any, low: int, high: int) -> list[Any]:
    if params is None:
        params = []
    if not isinstance(params, (list, tuple)):
        raise invalid_params("params must be an array")
    if not low <= len(params) <= high:
        raise invalid_params(f"expected {low}..{high} params, got {len(params)}")
    return list(params) + [None] * (high - len(params))


def _hex(value: int) -> str:
    return hex(value)


def _bytes_hex(value: bytes) -> str:
    return "0x" + value.hex()


# ---------------------------------------------------------------------------------------------- errors


def _refused(refusal: refusals.NodeRefusal, detail: str = "") -> RpcError:
    """A refused transaction as geth answers it (-32000, the refusal table's wording)."""
    return RpcError(SERVER_ERROR, refusal.say(detail))


def _halt_message(reason: str) -> str:
    lowered = reason.lower()
    for needle, text in (("outofgas", "out of gas"), ("opcodenotfound", "invalid opcode"),
                         ("invalidfeopcode", "invalid opcode: INVALID"), ("invalidjump", "invalid jump destination"),
                         ("stackunderflow", "stack underflow"), ("stackoverflow", "stack limit reached"),
                         ("calltoodeep", "max call depth exceeded"),
                         ("outoffunds", "insufficient balance for transfer"),
                         ("createcollision", "contract address collision"),
                         ("createcontractsizelimit", "max code size exceeded"),
                         ("statechangeduringstaticcall", "write protection")):
        if needle in lowered:
            return text
    return reason


# revm's names for the refusals it makes itself → the refusal table's entries
_REVM_REFUSALS = (
    ("lackoffundformaxfee", refusals.INSUFFICIENT_FUNDS), ("overflowpayment", refusals.INSUFFICIENT_FUNDS),
    ("rejectcallerwithcode", refusals.SENDER_NOT_EOA), ("callgascostmorethangaslimit", refusals.INTRINSIC_GAS_TOO_LOW),
    ("createinitcodesizelimit", refusals.INITCODE_TOO_LARGE),
)


def _validation_message(text: str) -> str:
    """revm's refusal to run a message, worded like geth."""
    lowered = text.lower()
    for needle, refusal in _REVM_REFUSALS:
        if needle in lowered:
            return refusal.say()
    return text


# ---------------------------------------------------------------------------------------------- the node


class RevmNode(MethodTable):
    """A single-node chain over ``pyrevm.EVM(spec_id="PRAGUE")`` that answers JSON-RPC in-process."""

    def __init__(
        self,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        alloc: Mapping[str, int] | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        base_fee: int = GWEI,
        coinbase: str = ZERO_ADDRESS,
        timestamp: int | None = None,
        history: int = 256,
        clock: Callable[[], float] = time.time,
    ):
        """A fresh chain: genesis block 0 at ``timestamp`` (default: now) with ``alloc`` (address → wei).

        Raises:
            ConfigurationError: pyrevm is not installed.
        """
        self._pyrevm = load_pyrevm()
        self.chain_id = chain_id
        self.coinbase = checksum(coinbase)
        self.gas_limit = gas_limit
        self.history = history
        self._clock = clock
        cfg = self._pyrevm.CfgEnv(chain_id=chain_id)
        self._evm = self._pyrevm.EVM(env=self._pyrevm.Env(cfg=cfg), spec_id="PRAGUE", gas_limit=gas_limit)
        for address, wei in (alloc or {}).items():
            self._evm.set_balance(checksum(address), wei)
        genesis = _Block(0, int(clock()) if timestamp is None else timestamp, base_fee, gas_limit, b"\x00" * 32)
        self._seal(genesis)
        self._blocks: list[_Block] = [genesis]
        self._txs: dict[bytes, _Mined] = {}
        self._deltas: list[_Delta] = []  # state edits made outside revm, in order
        self._snapshots: dict[int, _Snapshot] = {}
        self._next_snapshot = 1
        self._offset = 0
        self._next_timestamp: int | None = None
        self._env_block: tuple[int, int] | None = None
        self._access_list_set = False
        self._code_cache: dict[bytes, bytes] = {}
        super().__init__()

    # ------------------------------------------------------------------------------ public helpers

    @property
    def latest(self) -> int:
        """Number of the latest block."""
        return len(self._blocks) - 1

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
        return self._blocks[-1].timestamp

    def mine(self, timestamp: int | None = None) -> int:
        """Mine one empty block (at ``timestamp`` when given); returns its timestamp.

        Raises:
            RpcError: ``timestamp`` is not after the latest block's.
        """
        with self.lock:
            if timestamp is not None:
                self._set_next_timestamp(timestamp)
            block = self._open_block()
            self._seal(block)
            self._blocks.append(block)
            return block.timestamp

    # ------------------------------------------------------------------------------ blocks and state

    def _next_base_fee(self, parent: _Block) -> int:
        """EIP-1559: the base fee moves by up to 1/8 towards keeping blocks half full."""
        target = parent.gas_limit // 2
        if parent.number == 0 or parent.gas_used == target:
            return parent.base_fee
        if parent.gas_used > target:
            return parent.base_fee + max(parent.base_fee * (parent.gas_used - target) // target // 8, 1)
        return parent.base_fee - parent.base_fee * (target - parent.gas_used) // target // 8

    def _upcoming_timestamp(self) -> int:
        if self._next_timestamp is not None:
            return self._next_timestamp
        return max(self._blocks[-1].timestamp + 1, int(self._clock()) + self._offset)

    def _open_block(self) -> _Block:
        parent = self._blocks[-1]
        block = _Block(parent.number + 1, self._upcoming_timestamp(), self._next_base_fee(parent), self.gas_limit,
                       parent.hash, mark=self._mark())
        self._next_timestamp = None
        return block

    def _seal(self, block: _Block) -> None:
        """Fix the block's hash and stamp it on its logs: the digest of ``rlp_encode([parent_hash, number,
        timestamp, base_fee, gas_limit, gas_used, tx_hashes, b"nvm-chain/revm"])``, laid out here directly
        (every hash is 32 bytes)."""
        hashes = b"".join([b"\xa0" + h for h in block.tx_hashes])
        header = b"".join((b"\xa0", block.parent_hash, rlp_encode(block.number), rlp_encode(block.timestamp),
                           rlp_encode(block.base_fee), rlp_encode(block.gas_limit), rlp_encode(block.gas_used),
                           rlp_prefix(len(hashes), 0xC0), hashes, _SEAL_MARK))
        block.hash = keccak(rlp_prefix(len(header), 0xC0) + header)
        for entry in block.logs:
            entry.block_hash = block.hash

    def _mark(self) -> _Mark:
        checkpoint = self._evm.snapshot()
        self._evm.commit()  # keep the journal depth at 0; the checkpoint indices stay valid
        return _Mark(checkpoint, len(self._deltas))

    def _restore(self, mark: _Mark) -> None:
        """Rewind state to ``mark``: revm's journal, then the node's own balance/nonce edits."""
        self._evm.snapshot()  # pyrevm only reverts above depth 0: this throw-away checkpoint is popped
        self._evm.revert(mark.checkpoint)
        self._undo(mark.deltas)

    def _undo(self, length: int) -> None:
        """Undo the node's own journal back to ``length`` entries, newest first."""
        for delta in reversed(self._deltas[length:]):
            if isinstance(delta, _CodeWrite):
                self._put_code(delta.address, delta.before)
            else:
                address, balance, nonce = delta
                self._edit(address, -balance, -nonce)
        del self._deltas[length:]

    def _put_code(self, address: str, code: bytes) -> None:
        """Replace the account's code, keeping its balance and nonce (not journaled by revm)."""
        with self._sandbox():
            info = self._evm.basic(address)
        code_hash = keccak(code) if code else EMPTY_CODE_HASH
        self._code_cache[code_hash] = code
        self._evm.insert_account_info(address, self._pyrevm.AccountInfo(
            balance=info.balance, nonce=info.nonce, code_hash=code_hash, code=code or None))

    def _write_code(self, address: str, code: bytes) -> None:
        """Set the code at ``address`` now, recorded in the node's journal so a rewind undoes it."""
        with self._sandbox():
            before = self._code(address)
        self._put_code(address, code)
        self._deltas.append(_CodeWrite(address, code, before))

    def _edit(self, address: str, balance: int, nonce: int = 0) -> None:
        """Change an externally owned account's balance and nonce outside revm (not journaled by revm)."""
        if nonce:
            info = self._evm.basic(address)
            self._evm.insert_account_info(address, self._pyrevm.AccountInfo(
                balance=info.balance + balance, nonce=info.nonce + nonce, code_hash=info.code_hash))
        elif balance:
            self._evm.set_balance(address, self._evm.get_balance(address) + balance)

    def _adjust(self, address: str, balance: int, nonce: int = 0) -> None:
        """:meth:`_edit`, recorded in the node's journal so a rewind undoes it."""
        if balance or nonce:
            self._edit(address, balance, nonce)
            self._deltas.append((address, balance, nonce))

    def _use_block(self, block: _Block) -> None:
        key = (block.number, block.timestamp)
        if self._env_block != key:
            self._evm.set_block_env(self._pyrevm.BlockEnv(
                number=block.number, coinbase=self.coinbase, timestamp=block.timestamp, basefee=block.base_fee,
                gas_limit=block.gas_limit, prevrandao=keccak(block.parent_hash + block.number.to_bytes(8, "big"))))
            self._env_block = key

    def _use_access_list(self, access_list: tuple[tuple[str, tuple[int, ...]], ...]) -> None:
        if access_list or self._access_list_set:
            self._evm.set_tx_env(self._pyrevm.TxEnv(access_list=[(a, list(k)) for a, k in access_list]))
            self._access_list_set = bool(access_list)

    def _sandbox(self) -> _Sandbox[None]:
        """Run reads or calls inside a checkpoint that is always reverted (nothing sticks, not even warmth)."""
        return _Sandbox(self._evm, None)

    def _at(self, number: int) -> AbstractContextManager[_Block]:
        """State as of the end of block ``number``, in a sandbox (older blocks: rewind, then re-execute).

        Raises:
            RpcError: the block does not exist, or is more than ``history`` blocks old.
        """
        latest = self.latest
        if number > latest:
            raise RpcError(SERVER_ERROR, "header not found")
        if number == latest:
            return _Sandbox(self._evm, self._blocks[number])
        if latest - number > self.history:
            raise RpcError(SERVER_ERROR, f"historical state unavailable: block {number} is more than "
                                         f"{self.history} blocks old (this node keeps {self.history})")
        return self._rewound(number)

    @contextmanager
    def _rewound(self, number: int) -> Iterator[_Block]:
        """:meth:`_at` an older block: rewind to it, sandbox, then re-execute the later blocks."""
        undone = self._blocks[number + 1:]
        first = undone[0].mark
        assert first is not None
        self._restore(first)
        try:
            with self._sandbox():
                yield self._blocks[number]
        finally:
            self._replay(undone)

    def _replay(self, blocks: list[_Block]) -> None:
        """Re-execute ``blocks`` after a rewind; their results must come out exactly as the first time."""
        for block in blocks:
            block.mark = self._mark()
            for tx_hash in block.tx_hashes:
                mined = self._txs[tx_hash]
                again = self._execute(mined.tx, block)
                result = again.result
                if result is None or result.gas_used != mined.gas_used or result.is_success != (mined.status == 1):
                    raise RuntimeError(f"re-execution of block {block.number} diverged")
            for address, code in block.code_writes:
                self._write_code(address, code)

    def _block_number(self, tag: Any, *, default: str = "latest") -> int:
        """A block parameter (tag, hex number or EIP-1898 object) → a block number."""
        if tag is None:
            tag = default
        if isinstance(tag, dict):
            if tag.get("blockHash") is not None:
                return self._by_hash(_data(tag["blockHash"], "blockHash")).number
            tag = tag.get("blockNumber", default)
        if tag in ("latest", "pending", "safe", "finalized"):
            return self.latest
        if tag == "earliest":
            return 0
        return _quantity(tag, "block number")

    def _by_hash(self, block_hash: bytes) -> _Block:
        for block in reversed(self._blocks):
            if block.hash == block_hash:
                return block
        raise RpcError(SERVER_ERROR, "header not found")

    def _code(self, address: str) -> bytes:
        """Deployed code as it was deployed (pyrevm hands it back zero-padded for analysis)."""
        info = self._evm.basic(address)
        code_hash = bytes(info.code_hash or EMPTY_CODE_HASH)
        if code_hash == EMPTY_CODE_HASH:
            return b""
        code = self._code_cache.get(code_hash)
        if code is None:
            padded = bytes(self._evm.get_code(address) or b"")
            code = padded
            for cut in range(len(padded), -1, -1):
                if keccak(padded[:cut]) == code_hash:
                    code = padded[:cut]
                    break
                if cut and padded[cut - 1] != 0:
                    break
            self._code_cache[code_hash] = code
        return code

    # ------------------------------------------------------------------------------ execution

    def _run(self, sender: str, to: str | None, data: bytes, value: int, gas: int) -> _Outcome:
        """One message through revm; the result stays in the journal unless the caller sandboxes it."""
        try:
            if to is None:
                address = self._evm.deploy(sender, data, value=value, gas=gas)
                output = self._code(address)
            else:
                output = bytes(self._evm.message_call(sender, to, data, value=value, gas=gas))
            return _Outcome(self._evm.result, output, None)
        except RuntimeError as exc:
            text = str(exc)
            result = self._evm.result
            match = _REVERT_OUTPUT.search(text) if result is not None else None
            return _Outcome(result, bytes.fromhex(match.group(1)) if match else b"", text)

    def _execute(self, tx: SignedTx, block: _Block) -> _Outcome:
        """Apply a checked transaction in ``block``: upfront gas, execution, refund, tip, nonce."""
        price = tx.effective_price(block.base_fee)
        self._use_block(block)
        self._use_access_list(tx.access_list)
        self._adjust(tx.sender, -tx.gas * price)
        outcome = self._run(tx.sender, tx.to, tx.data, tx.value, tx.gas)
        if outcome.result is None:
            return outcome
        gas_used = outcome.result.gas_used
        self._adjust(tx.sender, (tx.gas - gas_used) * price, 0 if tx.to is None else 1)
        self._adjust(self.coinbase, (price - block.base_fee) * gas_used)
        return outcome

    def _check(self, tx: SignedTx) -> None:
        """Refuse what geth's txpool refuses, with its wording.

        Raises:
            RpcError: -32000 with geth's message.
        """
        if tx.hash in self._txs:
            raise _refused(refusals.ALREADY_KNOWN)
        if tx.chain_id is not None and tx.chain_id != self.chain_id:
            raise _refused(refusals.WRONG_CHAIN_ID, f"have {tx.chain_id} want {self.chain_id}")
        if tx.gas > self.gas_limit:
            raise _refused(refusals.EXCEEDS_BLOCK_GAS_LIMIT)
        if tx.to is None and len(tx.data) > MAX_INITCODE_SIZE:
            raise _refused(refusals.INITCODE_TOO_LARGE, f"code size {len(tx.data)} limit {MAX_INITCODE_SIZE}")
        if tx.max_priority_fee > tx.max_fee:
            raise _refused(refusals.TIP_ABOVE_FEE_CAP, f"address {tx.sender}, maxPriorityFeePerGas: "
                                                       f"{tx.max_priority_fee}, maxFeePerGas: {tx.max_fee}")
        intrinsic = tx.intrinsic_gas()
        if tx.gas < intrinsic:
            raise _refused(refusals.INTRINSIC_GAS_TOO_LOW, f"have {tx.gas}, want {intrinsic}")
        base_fee = self._next_base_fee(self._blocks[-1])
        if tx.max_fee < base_fee:
            raise _refused(refusals.FEE_BELOW_BASE_FEE, f"address {tx.sender}, maxFeePerGas: {tx.max_fee}, "
                                                        f"baseFee: {base_fee}")
        with self._sandbox():
            info = self._evm.basic(tx.sender)
            balance, nonce, code_hash = info.balance, info.nonce, bytes(info.code_hash or EMPTY_CODE_HASH)
        if code_hash != EMPTY_CODE_HASH:
            raise _refused(refusals.SENDER_NOT_EOA, f"address {tx.sender}, codehash: 0x{code_hash.hex()}")
        if tx.nonce < nonce:
            raise _refused(refusals.NONCE_TOO_LOW, f"address {tx.sender}, tx: {tx.nonce} state: {nonce}")
        if tx.nonce > nonce:
            raise _refused(refusals.NONCE_TOO_HIGH, f"address {tx.sender}, tx: {tx.nonce} state: {nonce}")
        cost = tx.gas * tx.max_fee + tx.value
        if balance < cost:
            raise _refused(refusals.INSUFFICIENT_FUNDS, f"address {tx.sender} have {balance} want {cost}")

    def _mine_tx(self, tx: SignedTx, *, only_if_succeeds: bool = False) -> None:
        """Mine ``tx`` alone in a new block. With ``only_if_succeeds`` a failing transaction is not kept: the
        block is discarded (state, nonce, balances and the next block's timestamp as before) and the failure is
        raised as ``eth_call`` answers it.

        Raises:
            RpcError: revm refused to run it (the block is discarded; nothing changed); with
                ``only_if_succeeds``, a revert (code 3 with its data) or a halt (-32000).
        """
        next_timestamp = self._next_timestamp
        block = self._open_block()
        outcome = self._execute(tx, block)
        result = outcome.result
        if result is None or (only_if_succeeds and not result.is_success):
            assert block.mark is not None
            self._restore(block.mark)
            self._next_timestamp = next_timestamp
            if result is None:
                raise RpcError(SERVER_ERROR, _validation_message(outcome.failure or "transaction not executable"))
            if result.is_halt:
                raise RpcError(SERVER_ERROR, _halt_message(result.reason))
            raise reverted(outcome.output)
        status = 1 if result.is_success else 0
        logs = []
        for i, log in enumerate(result.logs if status else ()):
            topics, data = log.data  # pyrevm hands out bytes (the address checksummed)
            logs.append(_Log(log.address, tuple(topics), data, i, tx.hash, block.number))
        created = _create_address(tx.sender, tx.nonce) if tx.to is None else None
        block.tx_hashes.append(tx.hash)
        block.gas_used = result.gas_used
        block.logs = logs
        self._seal(block)
        self._blocks.append(block)
        self._txs[tx.hash] = _Mined(tx, block.number, status, result.gas_used, tx.effective_price(block.base_fee),
                                    created, logs, b"" if status else outcome.output)

    def _call_object(self, raw: Any) -> tuple[str, str | None, bytes, int, int]:
        if not isinstance(raw, dict):
            raise invalid_params("call object must be an object")
        sender = _address(raw["from"], "from") if raw.get("from") else ZERO_ADDRESS
        to = _address(raw["to"], "to") if raw.get("to") else None
        payload = raw.get("input", raw.get("data"))
        data = _data(payload, "input") if payload is not None else b""
        value = _quantity(raw["value"], "value") if raw.get("value") is not None else 0
        gas = _quantity(raw["gas"], "gas") if raw.get("gas") is not None else self.gas_limit
        if raw.get("chainId") is not None and _quantity(raw["chainId"], "chainId") != self.chain_id:
            raise invalid_params(f"chainId {raw['chainId']} is not this chain's ({hex(self.chain_id)})")
        return sender, to, data, value, min(gas, self.gas_limit)

    def _simulate(self, sender: str, to: str | None, data: bytes, value: int, gas: int) -> _Outcome:
        """Run a message in the current sandbox; raise the node's answer for anything but success."""
        outcome = self._run(sender, to, data, value, gas)
        if outcome.result is None:
            raise RpcError(SERVER_ERROR, _validation_message(outcome.failure or "call not executable"))
        if not outcome.result.is_success:
            if outcome.result.is_halt:
                raise RpcError(SERVER_ERROR, _halt_message(outcome.result.reason))
            raise reverted(outcome.output)
        return outcome

    # ------------------------------------------------------------------------------ formatting

    @staticmethod
    def _bloom(block: _Block) -> int:
        """The block's logs bloom (also its only transaction's: one transaction per block)."""
        if block.bloom is None:
            bloom = 0
            for entry in block.logs:
                bloom |= _address_bloom_bits(entry.address)
                for topic in entry.topics:
                    bloom |= bloom_bits(topic)
            block.bloom = bloom
        return block.bloom

    @staticmethod
    def _fmt_log(entry: _Log, shared: tuple[str, str, str] | None = None) -> dict[str, Any]:
        """A log as nodes answer it; ``shared`` is its block number, block hash and transaction hash in hex
        when the caller formats several logs of one transaction."""
        number, block_hash, tx_hash = shared or (_hex(entry.block_number), _bytes_hex(entry.block_hash),
                                                 _bytes_hex(entry.tx_hash))
        return {"address": entry.address, "topics": [_bytes_hex(t) for t in entry.topics],
                "data": _bytes_hex(entry.data), "blockNumber": number, "blockHash": block_hash,
                "transactionHash": tx_hash, "transactionIndex": "0x0", "logIndex": _hex(entry.index),
                "removed": False}

    def _fmt_tx(self, mined: _Mined) -> dict[str, Any]:
        tx = mined.tx
        out: dict[str, Any] = {
            "hash": _bytes_hex(tx.hash), "type": _hex(tx.type), "nonce": _hex(tx.nonce),
            "blockHash": _bytes_hex(self._blocks[mined.block_number].hash),
            "blockNumber": _hex(mined.block_number), "transactionIndex": "0x0",
            "from": tx.sender, "to": tx.to, "value": _hex(tx.value), "gas": _hex(tx.gas),
            "gasPrice": _hex(mined.price), "input": _bytes_hex(tx.data),
            "v": _hex(tx.v), "r": _hex(tx.r), "s": _hex(tx.s),
        }
        if tx.chain_id is not None:
            out["chainId"] = _hex(tx.chain_id)
        if tx.type:
            out["accessList"] = [{"address": a, "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in keys]}
                                 for a, keys in tx.access_list]
            out["yParity"] = _hex(tx.v)
        if tx.type == 2:
            out["maxFeePerGas"], out["maxPriorityFeePerGas"] = _hex(tx.max_fee), _hex(tx.max_priority_fee)
        return out

    def _fmt_receipt(self, mined: _Mined) -> dict[str, Any]:
        tx = mined.tx
        block = self._blocks[mined.block_number]
        shared = number, block_hash, tx_hash = _hex(block.number), _bytes_hex(block.hash), _bytes_hex(tx.hash)
        gas_used = _hex(mined.gas_used)
        return {
            "transactionHash": tx_hash, "transactionIndex": "0x0", "blockHash": block_hash, "blockNumber": number,
            "from": tx.sender, "to": tx.to, "cumulativeGasUsed": gas_used, "gasUsed": gas_used,
            "effectiveGasPrice": _hex(mined.price), "contractAddress": mined.contract_address,
            "logs": [self._fmt_log(e, shared) for e in mined.logs], "logsBloom": bloom_hex(self._bloom(block)),
            "status": _hex(mined.status), "type": _hex(tx.type),
        }

    def _fmt_block(self, block: _Block, full: bool) -> dict[str, Any]:
        txs: list[Any] = [self._fmt_tx(self._txs[h]) if full else _bytes_hex(h) for h in block.tx_hashes]
        return {
            "number": _hex(block.number), "hash": _bytes_hex(block.hash),
            "parentHash": _bytes_hex(block.parent_hash), "nonce": "0x0000000000000000",
            "sha3Uncles": _bytes_hex(EMPTY_LIST_HASH), "logsBloom": bloom_hex(self._bloom(block)),
            "transactionsRoot": _bytes_hex(keccak(b"".join(block.tx_hashes)) if block.tx_hashes else EMPTY_TRIE_ROOT),
            "stateRoot": "0x" + "00" * 32, "receiptsRoot": _bytes_hex(EMPTY_TRIE_ROOT),
            "miner": self.coinbase, "difficulty": "0x0", "totalDifficulty": "0x0", "extraData": "0x",
            "size": _hex(600 + sum(len(self._txs[h].tx.raw) for h in block.tx_hashes)),
            "gasLimit": _hex(block.gas_limit), "gasUsed": _hex(block.gas_used), "timestamp": _hex(block.timestamp),
            "transactions": txs, "uncles": [], "baseFeePerGas": _hex(block.base_fee),
            "mixHash": "0x" + "00" * 32, "withdrawals": [], "withdrawalsRoot": _bytes_hex(EMPTY_TRIE_ROOT),
            "blobGasUsed": "0x0", "excessBlobGas": "0x0", "parentBeaconBlockRoot": "0x" + "00" * 32,
        }

    # ------------------------------------------------------------------------------ methods: identity

    def rpc_web3_clientVersion(self, params: Any) -> str:
        _params(params, 0, 0)
        return f"nvm-chain-revm/pyrevm-{_version('pyrevm')}"

    def rpc_net_version(self, params: Any) -> str:
        _params(params, 0, 0)
        return str(self.chain_id)

    def rpc_net_listening(self, params: Any) -> bool:
        _params(params, 0, 0)
        return True

    def rpc_eth_chainId(self, params: Any) -> str:
        _params(params, 0, 0)
        return _hex(self.chain_id)

    def rpc_eth_syncing(self, params: Any) -> bool:
        _params(params, 0, 0)
        return False

    def rpc_eth_accounts(self, params: Any) -> list[str]:
        _params(params, 0, 0)
        return []

    def rpc_eth_blockNumber(self, params: Any) -> str:
        _params(params, 0, 0)
        return _hex(self.latest)

    def rpc_eth_gasPrice(self, params: Any) -> str:
        _params(params, 0, 0)
        return _hex(self._next_base_fee(self._blocks[-1]) + GWEI // 1000)

    def rpc_eth_maxPriorityFeePerGas(self, params: Any) -> str:
        _params(params, 0, 0)
        return _hex(GWEI // 1000)

    # ------------------------------------------------------------------------------ methods: state

    def rpc_eth_getBalance(self, params: Any) -> str:
        address, tag = _params(params, 1, 2)
        with self._at(self._block_number(tag)):
            return _hex(self._evm.get_balance(_address(address)))

    def rpc_eth_getTransactionCount(self, params: Any) -> str:
        address, tag = _params(params, 1, 2)
        with self._at(self._block_number(tag)):
            return _hex(self._evm.basic(_address(address)).nonce)

    def rpc_eth_getCode(self, params: Any) -> str:
        address, tag = _params(params, 1, 2)
        with self._at(self._block_number(tag)):
            return _bytes_hex(self._code(_address(address)))

    def rpc_eth_getStorageAt(self, params: Any) -> str:
        address, slot, tag = _params(params, 2, 3)
        with self._at(self._block_number(tag)):
            value = self._evm.storage(_address(address), _quantity(slot, "storage slot"))
        return "0x" + int(value).to_bytes(32, "big").hex()

    def rpc_eth_call(self, params: Any) -> str:
        """Run a call at a block (default latest) without changing anything; a revert answers code 3."""
        call, tag, overrides = _params(params, 1, 3)
        if overrides:
            raise invalid_params("state overrides are not supported by this node")
        sender, to, data, value, gas = self._call_object(call)
        with self._at(self._block_number(tag)) as block:
            self._use_block(block)
            self._use_access_list(())
            return _bytes_hex(self._simulate(sender, to, data, value, gas).output)

    def rpc_eth_estimateGas(self, params: Any) -> str:
        """The smallest gas limit with which the call succeeds (binary search, like geth)."""
        call, tag = _params(params, 1, 2)
        sender, to, data, value, cap = self._call_object(call)
        with self._at(self._block_number(tag)) as block:
            self._use_block(block)
            self._use_access_list(())

            def works(gas: int) -> bool:
                with self._sandbox():
                    result = self._run(sender, to, data, value, gas).result
                return result is not None and result.is_success

            with self._sandbox():
                first = self._simulate(sender, to, data, value, cap).result
            low = first.gas_used - 1
            high = cap
            guess = min((first.gas_used + first.gas_refunded + 2300) * 64 // 63, cap)
            if works(guess):
                high = guess
            else:
                low = guess
            while high - low > 1 and (high - low) * 1000 > 15 * high:
                middle = (low + high) // 2
                if works(middle):
                    high = middle
                else:
                    low = middle
            return _hex(high)

    # ------------------------------------------------------------------------------ methods: transactions

    def rpc_eth_sendRawTransaction(self, params: Any) -> str:
        """Check, mine (one transaction per block) and return the hash."""
        return self._send_raw(params, only_if_succeeds=False)

    def rpc_nvm_sendRawTransactionIfSucceeds(self, params: Any) -> str:
        """``eth_sendRawTransaction`` that keeps the transaction only when it succeeds: a failing one leaves no
        trace (no block, nonce and balances unchanged) and is answered as ``eth_call`` answers it (a revert:
        code 3 with the revert bytes in ``data``). One execution instead of a simulation plus the real one."""
        return self._send_raw(params, only_if_succeeds=True)

    def rpc_nvm_sendRawTransactionsIfAllSucceed(self, params: Any) -> list[str]:
        """The params (signed transactions) executed in order, each checked and mined in a block of its own as
        ``eth_sendRawTransaction`` mines one, and kept only if every one succeeds: then their hashes. Otherwise
        nothing is kept (as ``evm_revert`` to a snapshot taken before them; the snapshot ids are untouched) and
        the first failure is answered as ``nvm_sendRawTransactionIfSucceeds`` answers it, with its position in
        the params as the error's ``index``."""
        if not isinstance(params, list) or not params:
            raise invalid_params("expected a non-empty list of signed transactions")
        snapshot = self.rpc_evm_snapshot([])
        hashes: list[str] = []
        try:
            for raw in params:
                hashes.append(self._send_raw([raw], only_if_succeeds=True))
        except BaseException as exc:
            self.rpc_evm_revert([snapshot])
            if isinstance(exc, RpcError):
                raise RpcError(exc.code, exc.message, exc.data, {"index": len(hashes)}) from None
            raise
        finally:  # under the lock: no other snapshot was taken since, so its id is handed out again
            del self._snapshots[int(snapshot, 16)]
            self._next_snapshot -= 1
        return hashes

    def _send_raw(self, params: Any, *, only_if_succeeds: bool) -> str:
        (raw,) = _params(params, 1, 1)
        try:
            tx = decode_signed(_data(raw, "transaction"))
        except TxDecodeError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None
        self._check(tx)
        self._mine_tx(tx, only_if_succeeds=only_if_succeeds)
        return _bytes_hex(tx.hash)

    def rpc_eth_sendTransaction(self, params: Any) -> str:
        raise RpcError(SERVER_ERROR, "unknown account: this node holds no keys; send signed transactions")

    def rpc_eth_getTransactionByHash(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = _params(params, 1, 1)
        mined = self._txs.get(_data(tx_hash, "transaction hash"))
        return None if mined is None else self._fmt_tx(mined)

    def rpc_eth_getTransactionReceipt(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = _params(params, 1, 1)
        mined = self._txs.get(_data(tx_hash, "transaction hash"))
        return None if mined is None else self._fmt_receipt(mined)

    # ------------------------------------------------------------------------------ methods: blocks and logs

    def rpc_eth_getBlockByNumber(self, params: Any) -> dict[str, Any] | None:
        tag, full = _params(params, 1, 2)
        if tag == "pending":
            parent = self._blocks[-1]
            pending = _Block(parent.number + 1, self._upcoming_timestamp(), self._next_base_fee(parent),
                             self.gas_limit, parent.hash)
            self._seal(pending)
            return self._fmt_block(pending, bool(full))
        number = self._block_number(tag)
        return self._fmt_block(self._blocks[number], bool(full)) if number <= self.latest else None

    def rpc_eth_getBlockByHash(self, params: Any) -> dict[str, Any] | None:
        block_hash, full = _params(params, 1, 2)
        try:
            return self._fmt_block(self._by_hash(_data(block_hash, "block hash")), bool(full))
        except RpcError:
            return None

    def rpc_eth_getLogs(self, params: Any) -> list[dict[str, Any]]:
        """Logs matching address(es) and positional topics (None = any, list = one of) in a block range."""
        (query,) = _params(params, 1, 1)
        if not isinstance(query, dict):
            raise invalid_params("filter must be an object")
        addresses = query.get("address")
        wanted_addresses = None
        if addresses is not None:
            listed = addresses if isinstance(addresses, list) else [addresses]
            wanted_addresses = {_address(a) for a in listed}
        topics: list[set[bytes] | None] = []
        for position in query.get("topics") or []:
            if position is None:
                topics.append(None)
            else:
                options = position if isinstance(position, list) else [position]
                topics.append({_data(t, "topic") for t in options})
        if query.get("blockHash") is not None:
            blocks = [self._by_hash(_data(query["blockHash"], "blockHash"))]
        else:
            low = self._block_number(query.get("fromBlock"))
            high = min(self._block_number(query.get("toBlock")), self.latest)
            blocks = self._blocks[low:high + 1]
        found = []
        for block in blocks:
            for entry in block.logs:
                if wanted_addresses is not None and entry.address not in wanted_addresses:
                    continue
                if len(topics) > len(entry.topics):
                    continue
                if all(want is None or entry.topics[i] in want for i, want in enumerate(topics)):
                    found.append(self._fmt_log(entry))
        return found

    def rpc_eth_feeHistory(self, params: Any) -> dict[str, Any]:
        count_raw, newest_raw, percentiles = _params(params, 2, 3)
        count = min(_quantity(count_raw, "block count"), 1024)
        newest = min(self._block_number(newest_raw), self.latest)
        oldest = max(newest - count + 1, 0)
        blocks = self._blocks[oldest:newest + 1]
        answer: dict[str, Any] = {
            "oldestBlock": _hex(oldest),
            "baseFeePerGas": [_hex(b.base_fee) for b in blocks] + [_hex(self._next_base_fee(blocks[-1]))],
            "gasUsedRatio": [b.gas_used / b.gas_limit for b in blocks],
        }
        if percentiles:
            answer["reward"] = [[_hex(min((self._txs[h].price - b.base_fee for h in b.tx_hashes), default=0))
                                 for _ in percentiles] for b in blocks]
        return answer

    # ------------------------------------------------------------------------------ methods: dev controls

    def rpc_evm_snapshot(self, params: Any) -> str:
        _params(params, 0, 0)
        snapshot_id = self._next_snapshot
        self._next_snapshot += 1
        self._snapshots[snapshot_id] = _Snapshot(self.latest, len(self._deltas), len(self._blocks[-1].code_writes),
                                                 self._offset, self._next_timestamp)
        return _hex(snapshot_id)

    def rpc_evm_revert(self, params: Any) -> bool:
        """Return to a snapshot (it stays usable; later snapshots are dropped); False when unknown."""
        (raw,) = _params(params, 1, 1)
        snapshot_id = _quantity(raw, "snapshot id")
        snapshot = self._snapshots.get(snapshot_id)
        if snapshot is None:
            return False
        if snapshot.height < self.latest:
            first = self._blocks[snapshot.height + 1].mark
            assert first is not None
            self._restore(first)
            for block in self._blocks[snapshot.height + 1:]:
                for tx_hash in block.tx_hashes:
                    self._txs.pop(tx_hash, None)
            del self._blocks[snapshot.height + 1:]
        self._undo(snapshot.deltas)  # code written later in the snapshot's own block
        del self._blocks[-1].code_writes[snapshot.code_writes:]
        self._offset, self._next_timestamp = snapshot.offset, snapshot.next_timestamp
        self._snapshots = {k: v for k, v in self._snapshots.items() if k <= snapshot_id}
        return True

    def rpc_anvil_setCode(self, params: Any) -> None:
        """Replace the runtime code at an address (balance, nonce and storage stay), as anvil does: at once, in
        the latest block, without mining."""
        address_raw, code_raw = _params(params, 2, 2)
        address, code = _address(address_raw), _data(code_raw, "code")
        self._write_code(address, code)
        self._blocks[-1].code_writes.append((address, code))

    rpc_hardhat_setCode = rpc_anvil_setCode

    def rpc_evm_increaseTime(self, params: Any) -> str:
        """Move the clock ``seconds`` forward: the next block comes at least that much later than it would have."""
        (raw,) = _params(params, 1, 1)
        seconds = _quantity(raw, "seconds")
        upcoming = self._upcoming_timestamp()
        self._offset += seconds
        if self._upcoming_timestamp() < upcoming + seconds:  # the chain runs ahead of the wall clock
            self._next_timestamp = upcoming + seconds
        return _hex(self._offset)

    def rpc_evm_setNextBlockTimestamp(self, params: Any) -> None:
        (timestamp,) = _params(params, 1, 1)
        self._set_next_timestamp(_quantity(timestamp, "timestamp"))

    def _set_next_timestamp(self, timestamp: int) -> None:
        latest = self._blocks[-1].timestamp
        if timestamp <= latest:
            raise RpcError(SERVER_ERROR, f"timestamp {timestamp} is not after the latest block's ({latest})")
        self._next_timestamp = timestamp

    def rpc_evm_mine(self, params: Any) -> str:
        """Mine one empty block, or ``{"blocks": n}``; an optional timestamp (number or ``{"timestamp"}``)."""
        (option,) = _params(params, 0, 1)
        blocks, timestamp = 1, None
        if isinstance(option, dict):
            blocks = _quantity(option["blocks"], "blocks") if option.get("blocks") is not None else 1
            timestamp = option.get("timestamp")
        elif option is not None:
            timestamp = option
        if not 1 <= blocks <= 10_000:
            raise invalid_params("blocks must be between 1 and 10000")
        for i in range(blocks):
            self.mine(_quantity(timestamp, "timestamp") if timestamp is not None and i == 0 else None)
        return "0x0"


@lru_cache(maxsize=4096)
def _address_bloom_bits(address: str) -> int:
    """:func:`bloom_bits` of a log's 0x-hex address (cached by the string: no hex decoding per log)."""
    return bloom_bits(bytes.fromhex(address[2:]))


def _create_address(sender: str, nonce: int) -> str:
    return checksum(keccak(rlp_encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def _version(dist: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
