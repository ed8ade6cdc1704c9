// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAsset} from "./IAsset.sol";

/// @title Fee controller: computes the Nevermined fee owed on a plan's gross price.
interface IFeeController {
    /// @return fee floor(totalAmount * feeRate / feeDenominator)
    function calculateFee(
        uint256 totalAmount,
        IAsset.PriceConfig calldata priceConfig,
        IAsset.CreditsConfig calldata creditsConfig
    ) external view returns (uint256 fee, uint256 feeRate, uint256 feeDenominator);
}
