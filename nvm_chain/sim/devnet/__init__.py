"""The devnet: the embedded chain served as a standard Ethereum JSON-RPC node on 127.0.0.1.

Modules, outermost first:

- :mod:`~nvm_chain.sim.devnet.http`: :class:`DevnetServer`, the loopback HTTP server;
- :mod:`~nvm_chain.sim.devnet.methods`: :class:`DevnetRpc`, the JSON-RPC methods over an eth-tester chain
  (a revm chain brings its own, :class:`~nvm_chain.sim.revm_node.RevmNode`);
- :mod:`~nvm_chain.sim.devnet.pyevm_calls`: ``eth_call`` on py-evm and its failures;
- :mod:`~nvm_chain.sim.devnet.logs`: log filters;
- :mod:`~nvm_chain.sim.devnet.node_errors`: reverts, execution failures and refusals worded like geth;
- :mod:`~nvm_chain.sim.devnet.codecs`: hex params in, node-shaped blocks/transactions/receipts/logs out, blooms;
- :mod:`~nvm_chain.sim.devnet.jsonrpc`: error objects, codes, and the request/batch envelope.
"""

from __future__ import annotations

from nvm_chain.sim.devnet.http import LOOPBACK, MAX_BODY_BYTES, DevnetServer
from nvm_chain.sim.devnet.jsonrpc import MethodTable, RpcError
from nvm_chain.sim.devnet.methods import DevnetRpc

__all__ = ["DevnetServer", "DevnetRpc", "MethodTable", "RpcError", "LOOPBACK", "MAX_BODY_BYTES"]
