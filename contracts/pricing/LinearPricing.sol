// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAsset} from "../interfaces/IAsset.sol";

/// @title A linear external price for dynamic-price plans (protocol-v1.5.md §2.18, §5.1).
/// @notice A plan registered with `externalPriceAddress = this` is quoted
///         `base + slope * purchased[planId]`, split between the plan's receivers by weight. The plan owner (per
///         AssetsRegistry) sets the parameters with `setPlan` and may advance the purchase counter with
///         `increment`. Not a proxy. `PriceQuoted` is declared but, as in v1.5.0, never emitted.
contract LinearPricing {
    struct PlanParams {
        uint256 base;
        uint256 slope;
        address[] receivers;
        uint256[] weights;
    }

    IAsset public immutable assetsRegistry;

    mapping(uint256 => PlanParams) public plans;
    mapping(uint256 => uint256) public purchased;

    event PriceQuoted(uint256 indexed planId, address indexed caller, uint256[] amounts);

    error InvalidAssetsRegistry();
    error InvalidReceivers();
    error InvalidWeights();
    error NotPlanOwner(uint256 planId, address caller);
    error PriceCalculationFailed(uint256 planId, string reason);
    error UnsupportedPlanId(uint256 planId);

    constructor(IAsset _assetsRegistry) {
        if (address(_assetsRegistry) == address(0)) revert InvalidAssetsRegistry();
        assetsRegistry = _assetsRegistry;
    }

    modifier onlyPlanOwner(uint256 _planId) {
        if (!assetsRegistry.planExists(_planId)) revert UnsupportedPlanId(_planId);
        if (assetsRegistry.getPlan(_planId).owner != msg.sender) revert NotPlanOwner(_planId, msg.sender);
        _;
    }

    /// @notice Sets the plan's price line and its split. Receivers must be non-empty, non-zero and as many as
    ///         the weights; the weights must not sum to 0.
    function setPlan(
        uint256 _planId,
        uint256 _base,
        uint256 _slope,
        address[] calldata _receivers,
        uint256[] calldata _weights
    ) external onlyPlanOwner(_planId) {
        if (_receivers.length == 0 || _receivers.length != _weights.length) revert InvalidReceivers();
        uint256 total;
        for (uint256 i = 0; i < _receivers.length; i++) {
            if (_receivers[i] == address(0)) revert InvalidReceivers();
            total += _weights[i];
        }
        if (total == 0) revert InvalidWeights();
        plans[_planId] = PlanParams(_base, _slope, _receivers, _weights);
    }

    /// @notice Advances the plan's purchase counter by `_amount` (the price rises by `slope` per purchase).
    function increment(uint256 _planId, uint256 _amount) external onlyPlanOwner(_planId) {
        if (plans[_planId].receivers.length == 0) revert UnsupportedPlanId(_planId);
        purchased[_planId] += _amount;
    }

    /// @notice The current price split by weight, one amount per receiver; the rounding remainder goes to the
    ///         first receiver so the amounts always sum to `base + slope * purchased`.
    function quote(uint256 _planId) external view returns (uint256[] memory amounts) {
        PlanParams storage p = plans[_planId];
        uint256 n = p.receivers.length;
        if (n == 0) revert UnsupportedPlanId(_planId);
        uint256 count = purchased[_planId];
        if (p.slope != 0 && count > (type(uint256).max - p.base) / p.slope) {
            revert PriceCalculationFailed(_planId, "price overflow");
        }
        uint256 price = p.base + p.slope * count;
        uint256 weightSum;
        for (uint256 i = 0; i < n; i++) {
            weightSum += p.weights[i];
        }
        amounts = new uint256[](n);
        uint256 given;
        for (uint256 i = 0; i < n; i++) {
            amounts[i] = _mulDiv(price, p.weights[i], weightSum, _planId);
            given += amounts[i];
        }
        amounts[0] += price - given;
    }

    function _mulDiv(uint256 a, uint256 b, uint256 d, uint256 _planId) private pure returns (uint256) {
        if (a != 0 && b > type(uint256).max / a) revert PriceCalculationFailed(_planId, "split overflow");
        return a * b / d;
    }
}
