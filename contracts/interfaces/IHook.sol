// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAgreement} from "./IAgreement.sol";

/// @title Plan hook called by the templates around agreement registration.
interface IHook {
    function beforeAgreementRegistered(
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] calldata _conditionIds,
        IAgreement.ConditionState[] calldata _conditionStates,
        bytes[] calldata _params
    ) external;

    function afterAgreementCreated(
        bytes32 _agreementId,
        address _creator,
        uint256 _planId,
        bytes32[] calldata _conditionIds,
        bytes[] calldata _params
    ) external;
}
