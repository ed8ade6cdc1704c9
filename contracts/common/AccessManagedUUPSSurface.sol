// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";

/// @title The proxy and upgrade surface that every v1.5.0 UUPS contract exposes (protocol-v1.5.md §2.0).
/// @notice In v1.5.0 each protocol contract sits behind an ERC1967 proxy and inherits OpenZeppelin's
///         UUPSUpgradeable, Initializable and AccessManaged. The simulation deploys each contract directly,
///         without a proxy, so this base only reproduces what a caller of the proxy can observe:
///         * the errors and events of that surface are part of the ABI, so revert data decodes by name;
///         * `proxiableUUID()` reverts `UUPSUnauthorizedCallContext()`, as it does when called through a proxy;
///         * `upgradeToAndCall` is `restricted` (UPGRADE_ROLE in the live wiring, the AccessManager admin here)
///           and checks the new implementation like UUPSUpgradeable does (code present, `proxiableUUID()`
///           answering the ERC1967 implementation slot). A call that passes every check still reverts
///           `UUPSUnauthorizedCallContext()`, because there is no proxy to re-point: the simulation's code
///           cannot be upgraded.
///         * the constructor emits `Initialized(1)`, as the one-time initializer does on a live proxy.
abstract contract AccessManagedUUPSSurface is AccessManaged {
    /// keccak256("eip1967.proxy.implementation") - 1
    bytes32 internal constant ERC1967_IMPLEMENTATION_SLOT =
        0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    /// The upgrade interface version of OpenZeppelin UUPSUpgradeable 5.x.
    string public constant UPGRADE_INTERFACE_VERSION = "5.0.0";

    // ERC1967Utils
    event Upgraded(address indexed implementation);

    error ERC1967InvalidImplementation(address implementation);
    error ERC1967NonPayable();

    // UUPSUpgradeable
    error UUPSUnauthorizedCallContext();
    error UUPSUnsupportedProxiableUUID(bytes32 slot);

    // Initializable
    event Initialized(uint64 version);

    error InvalidInitialization();
    error NotInitializing();

    // AccessManagedUUPSUpgradeable of the protocol
    event UpgradeAuthorized(address indexed caller, address indexed newImplementation);

    error AuthorityCannotBeZero();

    constructor() {
        emit Initialized(1);
    }

    /// @notice ERC-1822 proxiable UUID; reverts as it does when called through the contract's proxy.
    function proxiableUUID() external pure returns (bytes32) {
        revert UUPSUnauthorizedCallContext();
    }

    /// @notice The upgrade entry point: access and implementation checks as in v1.5.0, then a revert because
    ///         the simulation has no proxy to re-point.
    /// @dev Reverts AccessManagedUnauthorized (caller without the role), ERC1967NonPayable (value without data),
    ///      ERC1967InvalidImplementation (no code, or no proxiableUUID), UUPSUnsupportedProxiableUUID
    ///      (another slot), otherwise UUPSUnauthorizedCallContext.
    function upgradeToAndCall(address newImplementation, bytes calldata data) external payable restricted {
        if (newImplementation.code.length == 0) revert ERC1967InvalidImplementation(newImplementation);
        (bool ok, bytes memory answer) =
            newImplementation.staticcall(abi.encodeWithSignature("proxiableUUID()"));
        if (!ok || answer.length != 32) revert ERC1967InvalidImplementation(newImplementation);
        bytes32 slot = abi.decode(answer, (bytes32));
        if (slot != ERC1967_IMPLEMENTATION_SLOT) revert UUPSUnsupportedProxiableUUID(slot);
        if (data.length == 0 && msg.value > 0) revert ERC1967NonPayable();
        revert UUPSUnauthorizedCallContext();
    }
}
