// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Role ids of the Nevermined v1.5.0 AccessManager wiring.
/// @notice Each id is the low 64 bits of keccak256(abi.encode(string name)), as in protocol v1.5.0.
library Roles {
    uint64 internal constant ADMIN_ROLE = 0;
    uint64 internal constant PUBLIC_ROLE = type(uint64).max;
    uint64 internal constant UPGRADE_ROLE = 16061234310146353691;
    uint64 internal constant DEPOSITOR_ROLE = 14314970521567793544;
    uint64 internal constant WITHDRAW_ROLE = 8393396895733992431;
    uint64 internal constant CREDITS_MINTER_ROLE = 331619801143826648;
    uint64 internal constant GOVERNOR_ROLE = 13709648602636273795;
    uint64 internal constant CONTRACT_TEMPLATE_ROLE = 10197209388572726906;
    uint64 internal constant CONTRACT_CONDITION_ROLE = 16570836817734027638;
    uint64 internal constant UPDATE_CONDITION_STATUS_ROLE = 14777935691551675925;
    uint64 internal constant FIAT_SETTLEMENT_ROLE = 3860893312041324254;
    uint64 internal constant CREDITS_BURNER_ROLE = 16934877136143260882;
    uint64 internal constant CREDITS_TRANSFER_ROLE = 11914029060103770296;
    uint64 internal constant NVM_INFRA_ADMIN_ROLE = 7924818820658164977;
    uint64 internal constant IDENTITY_REGISTRY_ROLE = 5238499825143577583;
}
