"""``eth_call`` and ``eth_estimateGas`` failures on py-evm, answered as geth answers them.

eth-tester's own ``call`` makes the sender pay for gas at 1 gwei, so calls from the zero address (what web3
sends without ``from``) or from any unfunded account fail; :func:`execute_call` runs the message on py-evm
directly instead.
"""

from __future__ import annotations

import ast
from typing import Any

from eth.exceptions import OutOfGas, Revert
from eth.vm.spoof import SpoofTransaction
from eth_utils.address import to_canonical_address
from eth_utils.exceptions import ValidationError as EvmValidationError

from nvm_chain.sim.devnet.jsonrpc import SERVER_ERROR, RpcError
from nvm_chain.sim.devnet.node_errors import refusal_message, reverted, vm_message


def estimate_error(exc: BaseException) -> RpcError:
    """Map eth-tester's failure of an estimate (it carries py-evm's exception object) to a node's answer."""
    inner: Any = exc.args[0] if exc.args else None
    if isinstance(exc, OutOfGas) or isinstance(inner, OutOfGas):
        return RpcError(SERVER_ERROR, "gas required exceeds allowance")
    if isinstance(inner, Revert):
        return reverted(bytes(inner.args[0]) if inner.args else b"")
    text = str(inner if inner is not None else exc)
    if text.startswith(("b'", 'b"')):  # a revert rendered as a Python bytes repr
        try:
            return reverted(bytes(ast.literal_eval(text)))
        except (ValueError, SyntaxError):
            pass
    return RpcError(SERVER_ERROR, vm_message(text))


def execute_call(chain: Any, chain_id: int, tx: dict[str, Any], number: int) -> bytes:
    """Run a call (eth-tester's transaction dict) on py-evm ``chain`` at block ``number``; return its output.

    Like geth, a call without fee fields runs at the block's base fee with the sender credited that gas
    money inside the throw-away state, so the contract still sees the sender's real balance.

    Raises:
        RpcError: a revert (3, with the revert bytes) or another execution failure (-32000).
    """
    header = chain.get_canonical_block_header_by_number(number)
    vm = chain.get_vm(at_header=header)
    state = vm.state
    builder = vm.get_transaction_builder()
    sender = to_canonical_address(tx["from"])
    to = to_canonical_address(tx["to"]) if tx.get("to") else b""
    data = bytes.fromhex(tx.get("data", "0x")[2:])
    value, gas = tx.get("value", 0), tx.get("gas", header.gas_limit)
    access = [(to_canonical_address(e["address"]), [int(k, 16) for k in e["storage_keys"]])
              for e in tx.get("access_list", [])]
    nonce = state.get_nonce(sender)
    free = not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas"))
    if "gas_price" in tx:
        price = tx["gas_price"]
        unsigned = (builder.new_unsigned_access_list_transaction(chain_id, nonce, price, gas, to, value, data,
                                                                 access) if access else
                    builder.create_unsigned_transaction(nonce=nonce, gas_price=price, gas=gas, to=to,
                                                        value=value, data=data))
    else:
        base_fee = header.base_fee_per_gas or 0
        tip = tx.get("max_priority_fee_per_gas", 0)
        if "max_fee_per_gas" in tx:
            price = tx["max_fee_per_gas"]
        else:  # no fees: exactly the base fee; a tip alone: eth-tester's default of tip + 2 x base fee
            price = base_fee if free else tip + 2 * base_fee
        unsigned = builder.new_unsigned_dynamic_fee_transaction(chain_id, nonce, tip, price, gas, to, value,
                                                                data, access)
    snapshot = state.snapshot()
    try:
        if free:
            state.set_balance(sender, state.get_balance(sender) + gas * price)
        computation = state.apply_transaction(SpoofTransaction(unsigned, from_=sender))
    except EvmValidationError as exc:
        raise RpcError(SERVER_ERROR, refusal_message(str(exc))) from None
    finally:
        state.revert(snapshot)
    if computation.is_error:
        error = computation.error
        if isinstance(error, Revert):
            raise reverted(computation.output)
        raise RpcError(SERVER_ERROR, "out of gas" if isinstance(error, OutOfGas) else vm_message(str(error)))
    return bytes(computation.output)
