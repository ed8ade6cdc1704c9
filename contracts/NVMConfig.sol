// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "./common/AccessManagedUUPSSurface.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {INVMConfig} from "./interfaces/INVMConfig.sol";

/// @title Protocol configuration: fee receiver, fee controllers and generic governance parameters.
contract NVMConfig is INVMConfig, AccessManagedUUPSSurface {
    struct ParamEntry {
        bytes value;
        bool isActive;
        uint256 lastUpdated;
    }

    bytes32 internal constant FEE_RECEIVER_KEY = keccak256("feeReceiver");
    bytes32 internal constant DEFAULT_FEE_CONTROLLER_KEY = keccak256("defaultFeeController");

    /// Receiver of the Nevermined fee; 0 means fees are off.
    address internal _feeReceiver;
    address internal _defaultFeeController;
    /// feeController => creator => allowed
    mapping(address => mapping(address => bool)) internal _feeControllerAllowed;
    mapping(bytes32 => ParamEntry) internal _params;

    event NeverminedConfigChange(address indexed whoChanged, bytes32 indexed parameter, bytes value);
    event FeeControllerAllowedUpdated(address[] indexed feeControllerAddresses, address[][] creator, bool[][] allowed);

    error InvalidAddress(address _address);
    error InvalidDefaultFeeControllerAddress();
    error InvalidFeeReceiver(address feeReceiver);
    error InvalidInputLength();

    constructor(address authority, address defaultFeeController) AccessManaged(authority) {
        _defaultFeeController = defaultFeeController;
    }

    // ---------------------------------------------------------------- roles

    /// @notice Whether msg.sender holds `roleId` in the AccessManager.
    function haveRole(uint64 roleId) external view returns (bool) {
        (bool isMember,) = IAccessManager(authority()).hasRole(roleId, msg.sender);
        return isMember;
    }

    // ---------------------------------------------------------------- fees

    function getFeeReceiver() external view returns (address) {
        return _feeReceiver;
    }

    function setFeeReceiver(address _newFeeReceiver) external restricted {
        if (_newFeeReceiver == address(0)) revert InvalidFeeReceiver(_newFeeReceiver);
        _feeReceiver = _newFeeReceiver;
        emit NeverminedConfigChange(msg.sender, FEE_RECEIVER_KEY, abi.encodePacked(_newFeeReceiver));
    }

    function getDefaultFeeController() external view returns (address) {
        return _defaultFeeController;
    }

    function setDefaultFeeController(address _newDefaultFeeController) external restricted {
        if (_newDefaultFeeController == address(0)) revert InvalidDefaultFeeControllerAddress();
        _defaultFeeController = _newDefaultFeeController;
        emit NeverminedConfigChange(msg.sender, DEFAULT_FEE_CONTROLLER_KEY, abi.encodePacked(_newDefaultFeeController));
    }

    function isFeeControllerAllowed(address _feeController, address _creator) external view returns (bool) {
        return _feeControllerAllowed[_feeController][_creator];
    }

    /// @notice For each controller i, sets allowed[i][j] for creator[i][j].
    function setFeeControllerAllowed(
        address[] calldata _feeControllerAddresses,
        address[][] calldata _creator,
        bool[][] calldata _allowed
    ) external restricted {
        uint256 n = _feeControllerAddresses.length;
        if (n != _creator.length || n != _allowed.length) revert InvalidInputLength();
        for (uint256 i = 0; i < n; i++) {
            address ctrl = _feeControllerAddresses[i];
            if (ctrl == address(0)) revert InvalidAddress(ctrl);
            address[] calldata creators = _creator[i];
            bool[] calldata flags = _allowed[i];
            if (creators.length != flags.length) revert InvalidInputLength();
            for (uint256 j = 0; j < creators.length; j++) {
                _feeControllerAllowed[ctrl][creators[j]] = flags[j];
            }
        }
        emit FeeControllerAllowedUpdated(_feeControllerAddresses, _creator, _allowed);
    }

    // ---------------------------------------------------------------- generic parameters

    function setParameter(bytes32 _paramName, bytes calldata _value) external restricted {
        _params[_paramName] = ParamEntry({value: _value, isActive: true, lastUpdated: block.timestamp});
        emit NeverminedConfigChange(msg.sender, _paramName, _value);
    }

    function disableParameter(bytes32 _paramName) external restricted {
        ParamEntry storage entry = _params[_paramName];
        if (entry.lastUpdated == 0) return;
        entry.isActive = false;
        entry.lastUpdated = block.timestamp;
        emit NeverminedConfigChange(msg.sender, _paramName, entry.value);
    }

    function getParameter(bytes32 _paramName)
        external
        view
        returns (bytes memory value, bool isActive, uint256 lastUpdated)
    {
        ParamEntry storage entry = _params[_paramName];
        return (entry.value, entry.isActive, entry.lastUpdated);
    }

    function parameterExists(bytes32 _paramName) external view returns (bool) {
        return _params[_paramName].lastUpdated != 0;
    }
}
