// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {IAgreement} from "../interfaces/IAgreement.sol";
import {IHook} from "../interfaces/IHook.sol";

/// @title Plan hook allowing each agreement creator a single agreement per plan (trial plans).
contract OneTimeCreatorHook is IHook, AccessManagedUUPSSurface {
    bytes32 public constant NVM_CONTRACT_NAME = keccak256("OneTimeCreatorHook");

    /// planId => creator => already created an agreement
    mapping(uint256 => mapping(address => bool)) internal _hasCreatedAgreement;

    event FirstAgreementCreated(address indexed creator, bytes32 indexed agreementId);

    error CreatorAlreadyCreatedAgreement(address creator, bytes32 agreementId);

    constructor(address authority) AccessManaged(authority) {}

    /// @inheritdoc IHook
    function beforeAgreementRegistered(
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] calldata,
        IAgreement.ConditionState[] calldata,
        bytes[] calldata
    ) external restricted {
        if (_hasCreatedAgreement[_planId][_creator]) revert CreatorAlreadyCreatedAgreement(_creator, _agreementId);
        _hasCreatedAgreement[_planId][_creator] = true;
        emit FirstAgreementCreated(_creator, _agreementId);
    }

    /// @inheritdoc IHook
    function afterAgreementCreated(
        bytes32, /* _agreementId */
        address, /* _creator */
        uint256, /* _planId */
        bytes32[] calldata, /* _conditionIds */
        bytes[] calldata /* _params */
    ) external restricted {}
}
