// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title AssetsRegistry data model (plans and agents) and the calls other contracts make.
/// @dev Struct field order and enum values are the ABI and hash order of protocol v1.5.0. Do not reorder.
interface IAsset {
    enum RedemptionType {
        ONLY_GLOBAL_ROLE,
        ONLY_OWNER,
        ONLY_PLAN_ROLE,
        OWNER_OR_GLOBAL_ROLE,
        ONLY_SUBSCRIBER
    }

    struct PriceConfig {
        bool isCrypto;
        address tokenAddress;
        uint256[] amounts;
        address[] receivers;
        address externalPriceAddress;
        address feeController;
        address templateAddress;
    }

    struct CreditsConfig {
        bool isRedemptionAmountFixed;
        RedemptionType redemptionType;
        bool onchainMirror;
        uint256 durationSecs;
        uint256 amount;
        uint256 minAmount;
        uint256 maxAmount;
        address nftAddress;
    }

    struct Plan {
        address owner;
        PriceConfig price;
        CreditsConfig credits;
        uint256 lastUpdated;
    }

    struct DIDAgent {
        address owner;
        address creator;
        string url;
        uint256 lastUpdated;
        uint256[] plans;
    }

    event PlanRegistered(uint256 indexed planId, address indexed creator, bool indexed onchainMirror);
    event AgentRegistered(uint256 indexed agentId, address indexed creator);
    event PlanAddedToAgent(uint256 indexed agentId, uint256 indexed planId, address indexed owner);
    event PlanRemovedFromAgent(uint256 indexed agentId, uint256 indexed planId, address indexed owner);
    event AgentPlansReplaced(uint256 indexed agentId, address indexed owner);
    event AgentOwnershipTransferred(uint256 indexed agentId, address indexed previousOwner, address indexed newOwner);
    event PlanOwnershipTransferred(uint256 indexed planId, address indexed previousOwner, address indexed newOwner);
    event PlanFeeControllerUpdated(uint256 indexed planId, address indexed feeController);
    event DefaultFeeControllerUpdated(address indexed feeController);
    event FeeControllerAllowedUpdated(address[] feeControllerAddresses, address[][] creator, bool[][] allowed);

    error PlanNotFound(uint256 planId);
    error PlanAlreadyRegistered(uint256 planId);
    error AgentNotFound(uint256 agentId);
    error AgentAlreadyRegistered(uint256 agentId);
    error NotOwner(uint256 assetId, address caller, address owner);
    error InvalidCreditsConfigAmounts(uint256 minAmount, uint256 maxAmount);
    error PriceConfigInvalidAmountsOrReceivers();
    error NeverminedFeesNotIncluded(uint256[] amounts, address[] receivers);
    error MultipleFeeReceiversIncluded();
    error NotAllowedToSetFeeController(address creator, address feeController);
    error InvalidNFTAddress(address nftAddress);
    error InvalidURL(string url);
    error InvalidAddress(address _address);
    error PlanNotInAgent(uint256 agentId, uint256 planId);
    error PlansMustBeUnique();
    error HooksMustBeUnique();
    error PlanWithInvalidTemplate(uint256 planId, address expectedTemplate);

    function getPlan(uint256 _planId) external view returns (Plan memory);
    function planExists(uint256 _planId) external view returns (bool);
    function areNeverminedFeesIncluded(uint256 _planId) external view returns (bool);
    function isPlanTemplate(uint256 _planId, address _templateAddress) external view returns (bool);
    function getPlanHooks(uint256 _planId) external view returns (address[] memory);
}
