// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Multicall3
/// @notice Runs many calls in one transaction or one `eth_call`, so a client reads a whole listing or a batch
///         of balances with a single request.
/// @dev The client-facing subset of the Multicall3 interface: same function selectors, argument and result
///      shapes as the contract deployed at 0xcA11bde05977b3631167028862bE2a173976CA11 on Base and most EVM
///      chains, so one reader works against the embedded chain, a devnet and a public network alike. A call
///      that must succeed and fails reverts the whole batch with `Error("Multicall3: call failed")`, as there.
contract Multicall3 {
    /// @notice One call of `aggregate`: every call must succeed.
    struct Call {
        address target;
        bytes callData;
    }

    /// @notice One call of `aggregate3`: with `allowFailure` its failure is reported instead of reverting.
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    /// @notice The outcome of one `aggregate3` call: its success and its return (or revert) data.
    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Runs every call in order; reverts if any of them fails.
    /// @return blockNumber The block the calls ran in.
    /// @return returnData The return data of each call, in order.
    function aggregate(Call[] calldata calls)
        external
        payable
        returns (uint256 blockNumber, bytes[] memory returnData)
    {
        uint256 count = calls.length;
        returnData = new bytes[](count);
        for (uint256 i = 0; i < count; ++i) {
            (bool ok, bytes memory out) = calls[i].target.call(calls[i].callData);
            _require(ok);
            returnData[i] = out;
        }
        blockNumber = block.number;
    }

    /// @notice Runs every call in order; a failing call reverts the batch unless its `allowFailure` is set.
    /// @return returnData For each call, whether it succeeded and its return data (the revert data if not).
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        uint256 count = calls.length;
        returnData = new Result[](count);
        for (uint256 i = 0; i < count; ++i) {
            Call3 calldata one = calls[i];
            (bool ok, bytes memory out) = one.target.call(one.callData);
            if (!one.allowFailure) _require(ok);
            returnData[i] = Result(ok, out);
        }
    }

    /// @notice The current block number.
    function getBlockNumber() external view returns (uint256 blockNumber) {
        blockNumber = block.number;
    }

    /// @notice The current block timestamp.
    function getCurrentBlockTimestamp() external view returns (uint256 timestamp) {
        timestamp = block.timestamp;
    }

    /// @notice The native balance of `addr`.
    function getEthBalance(address addr) external view returns (uint256 balance) {
        balance = addr.balance;
    }

    function _require(bool ok) private pure {
        if (!ok) revert("Multicall3: call failed");
    }
}
