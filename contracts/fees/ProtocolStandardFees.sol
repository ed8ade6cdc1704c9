// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {IAsset} from "../interfaces/IAsset.sol";
import {IFeeController} from "../interfaces/IFeeController.sol";

/// @title Default fee controller: a flat rate for crypto plans, another for fiat plans, 0 for external-price plans.
contract ProtocolStandardFees is IFeeController, AccessManagedUUPSSurface {
    uint256 internal _cryptoFeeRate = 100;
    uint256 internal _fiatFeeRate = 200;
    uint256 internal _feeDenominator = 10000;

    event FeeRatesUpdated(uint256 cryptoFeeRate, uint256 fiatFeeRate);

    error InvalidFeeRate();

    constructor(address authority) AccessManaged(authority) {}

    /// @inheritdoc IFeeController
    function calculateFee(
        uint256 totalAmount,
        IAsset.PriceConfig calldata priceConfig,
        IAsset.CreditsConfig calldata
    ) external view returns (uint256 fee, uint256 feeRate, uint256 feeDenominator) {
        feeDenominator = _feeDenominator;
        if (priceConfig.isCrypto) {
            feeRate = priceConfig.externalPriceAddress != address(0) ? 0 : _cryptoFeeRate;
        } else {
            feeRate = _fiatFeeRate;
        }
        fee = (totalAmount * feeRate) / feeDenominator;
    }

    function getFeeRates() external view returns (uint256 cryptoFeeRate, uint256 fiatFeeRate, uint256 feeDenominator) {
        return (_cryptoFeeRate, _fiatFeeRate, _feeDenominator);
    }

    function updateFeeRates(uint256 _newCryptoFeeRate, uint256 _newFiatFeeRate) external restricted {
        uint256 den = _feeDenominator;
        if (_newCryptoFeeRate > den || _newFiatFeeRate > den) revert InvalidFeeRate();
        _cryptoFeeRate = _newCryptoFeeRate;
        _fiatFeeRate = _newFiatFeeRate;
        emit FeeRatesUpdated(_newCryptoFeeRate, _newFiatFeeRate);
    }
}
