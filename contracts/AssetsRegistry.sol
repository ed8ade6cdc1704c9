// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "./common/AccessManagedUUPSSurface.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IAsset} from "./interfaces/IAsset.sol";
import {IFeeController} from "./interfaces/IFeeController.sol";
import {INVMConfig} from "./interfaces/INVMConfig.sol";

/// @title ERC-8004 identity registry surface exposed by AssetsRegistry (declared here, not in the shared interfaces).
interface IIdentityRegistry {
    struct MetadataEntry {
        string key;
        bytes value;
    }

    event Registered(uint256 indexed agentId, string tokenURI, address indexed owner);
    event MetadataSet(uint256 indexed agentId, string indexed indexedKey, string key, bytes value);

    function register() external returns (uint256 agentId);
    function register(string calldata tokenURI) external returns (uint256 agentId);
    function register(string calldata tokenURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId);
    function getMetadata(uint256 agentId, string calldata key) external view returns (bytes memory value);
    function setMetadata(uint256 agentId, string calldata key, bytes calldata value) external;
}

/// @title Registry of plans (price + credits config) and agents (non-transferable ERC-721 identities).
contract AssetsRegistry is IAsset, IIdentityRegistry, ERC721URIStorage, AccessManagedUUPSSurface {
    /// ERC-165 interface id of ERC-1155, required of every plan's credits.nftAddress.
    bytes4 internal constant ERC1155_INTERFACE_ID = 0xd9b67a26;
    /// Number of re-hashes tried when an ERC-8004 agentId collides.
    uint256 internal constant MAX_ID_ATTEMPTS = 10;

    INVMConfig internal immutable _nvmConfig;

    mapping(uint256 => Plan) internal _planStore;
    mapping(uint256 => address[]) internal _planHooks;
    mapping(uint256 => DIDAgent) internal _agents;
    /// agentId => keccak(key) => value
    mapping(uint256 => mapping(bytes32 => bytes)) internal _metadataStore;
    mapping(uint256 => mapping(bytes32 => bool)) internal _hasMetadataKey;
    mapping(uint256 => string[]) internal _metadataKeys;
    uint256 internal _totalAgents;

    error AgentIdsAreHashBased();
    error NotAuthorized();
    error TransfersDisabled();

    constructor(address nvmConfig, address authority)
        ERC721("Nevermined ERC-8004 Identity Registry", "NVM-ASSET")
        AccessManaged(authority)
    {
        if (nvmConfig == address(0)) revert InvalidAddress(nvmConfig);
        _nvmConfig = INVMConfig(nvmConfig);
    }

    // ================================================================ plans

    function hashPlanId(PriceConfig calldata _priceConfig, CreditsConfig calldata _creditsConfig, address _creator)
        external
        pure
        returns (uint256)
    {
        return hashPlanId(_priceConfig, _creditsConfig, _creator, 0);
    }

    function hashPlanId(
        PriceConfig calldata _priceConfig,
        CreditsConfig calldata _creditsConfig,
        address _creator,
        uint256 _nonce
    ) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(_priceConfig, _creditsConfig, _creator, _nonce)));
    }

    function createPlan(PriceConfig calldata _priceConfig, CreditsConfig calldata _creditsConfig, uint256 _nonce)
        external
        returns (uint256 planId)
    {
        planId = _createPlan(_priceConfig, _creditsConfig, _nonce);
        emit PlanRegistered(planId, msg.sender, _creditsConfig.onchainMirror);
    }

    function createPlanWithHooks(
        PriceConfig calldata _priceConfig,
        CreditsConfig calldata _creditsConfig,
        address[] calldata _hooks,
        uint256 _nonce
    ) external returns (uint256 planId) {
        planId = _createPlan(_priceConfig, _creditsConfig, _nonce);
        for (uint256 i = 1; i < _hooks.length; i++) {
            if (uint160(_hooks[i]) <= uint160(_hooks[i - 1])) revert HooksMustBeUnique();
        }
        _planHooks[planId] = _hooks;
        emit PlanRegistered(planId, msg.sender, _creditsConfig.onchainMirror);
    }

    /// @dev Checks 1-6 of docs/protocol.md#plan-registration and stores the plan. The caller emits PlanRegistered.
    function _createPlan(PriceConfig calldata _priceConfig, CreditsConfig calldata _creditsConfig, uint256 _nonce)
        internal
        returns (uint256 planId)
    {
        if (_creditsConfig.minAmount > _creditsConfig.maxAmount) {
            revert InvalidCreditsConfigAmounts(_creditsConfig.minAmount, _creditsConfig.maxAmount);
        }
        if (_priceConfig.amounts.length != _priceConfig.receivers.length) {
            revert PriceConfigInvalidAmountsOrReceivers();
        }
        planId = hashPlanId(_priceConfig, _creditsConfig, msg.sender, _nonce);
        if (_planStore[planId].lastUpdated != 0) revert PlanAlreadyRegistered(planId);

        address feeController = _priceConfig.feeController;
        if (
            feeController != address(0) && feeController != _nvmConfig.getDefaultFeeController()
                && !_nvmConfig.isFeeControllerAllowed(feeController, msg.sender)
        ) revert NotAllowedToSetFeeController(msg.sender, feeController);

        address nft = _creditsConfig.nftAddress;
        if (!_isERC1155(nft)) revert InvalidNFTAddress(nft);

        Plan storage plan = _planStore[planId];
        plan.owner = msg.sender;
        plan.price = _priceConfig;
        plan.credits = _creditsConfig;
        plan.lastUpdated = block.timestamp;

        if (!_feesIncluded(_priceConfig, _creditsConfig)) {
            revert NeverminedFeesNotIncluded(_priceConfig.amounts, _priceConfig.receivers);
        }
    }

    function _isERC1155(address nft) internal view returns (bool) {
        if (nft.code.length == 0) return false;
        try IERC165(nft).supportsInterface(ERC1155_INTERFACE_ID) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    function getPlan(uint256 _planId) external view returns (Plan memory) {
        return _planStore[_planId];
    }

    function planExists(uint256 _planId) public view returns (bool) {
        return _planStore[_planId].lastUpdated != 0;
    }

    function getPlanHooks(uint256 _planId) external view returns (address[] memory) {
        return _planHooks[_planId];
    }

    function isPlanTemplate(uint256 _planId, address _templateAddress) external view returns (bool) {
        return _planStore[_planId].price.templateAddress == _templateAddress;
    }

    /// @notice Replaces the plan's hooks (plan owner only; no ordering check).
    function setPlanHooks(uint256 _planId, address[] calldata _hooks) external {
        _ownedPlan(_planId);
        _planHooks[_planId] = _hooks;
    }

    function transferPlanOwnership(uint256 _planId, address _newOwner) external {
        Plan storage plan = _ownedPlan(_planId);
        if (_newOwner == address(0)) revert InvalidAddress(_newOwner);
        plan.owner = _newOwner;
        plan.lastUpdated = block.timestamp;
        emit PlanOwnershipTransferred(_planId, msg.sender, _newOwner);
    }

    function setPlanFeeController(uint256 _planId, address _feeControllerAddress) external restricted {
        Plan storage plan = _planStore[_planId];
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
        plan.price.feeController = _feeControllerAddress;
        plan.lastUpdated = block.timestamp;
        emit PlanFeeControllerUpdated(_planId, _feeControllerAddress);
    }

    function _ownedPlan(uint256 _planId) internal view returns (Plan storage plan) {
        plan = _planStore[_planId];
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
        if (plan.owner != msg.sender) revert NotOwner(_planId, msg.sender, plan.owner);
    }

    // ================================================================ fees (docs/protocol.md#fees)

    function areNeverminedFeesIncluded(uint256 _planId) external view returns (bool) {
        Plan storage plan = _planStore[_planId];
        return _feesIncluded(plan.price, plan.credits);
    }

    /// @notice Takes each receiver's share of the fee out of its amount, then appends the fee entry.
    function includeFeesInPaymentsDistribution(PriceConfig calldata priceConfig, CreditsConfig calldata creditsConfig)
        external
        view
        returns (uint256[] memory amounts, address[] memory receivers)
    {
        return _withFeeEntry(priceConfig, creditsConfig, true);
    }

    /// @notice Keeps the amounts and appends the fee entry on top.
    function addFeesToPaymentsDistribution(PriceConfig calldata priceConfig, CreditsConfig calldata creditsConfig)
        external
        view
        returns (uint256[] memory amounts, address[] memory receivers)
    {
        return _withFeeEntry(priceConfig, creditsConfig, false);
    }

    /// @dev Fee owed on the price's total: (feeReceiver, fee, rate, denominator). fee == 0 means no fee entry needed
    ///      (fee receiver unset, total 0, or the controller's fee rounds to 0).
    function _fee(PriceConfig memory price, CreditsConfig memory credits)
        internal
        view
        returns (address feeReceiver, uint256 fee, uint256 rate, uint256 den)
    {
        feeReceiver = _nvmConfig.getFeeReceiver();
        if (feeReceiver == address(0)) return (feeReceiver, 0, 0, 0);
        uint256 total;
        uint256[] memory amounts = price.amounts;
        for (uint256 i = 0; i < amounts.length; i++) {
            total += amounts[i];
        }
        if (total == 0) return (feeReceiver, 0, 0, 0);
        address ctrl = price.feeController != address(0) ? price.feeController : _nvmConfig.getDefaultFeeController();
        (fee, rate, den) = IFeeController(ctrl).calculateFee(total, price, credits);
    }

    /// @dev The last entry paid to the fee receiver must equal the fee on the total exactly.
    function _feesIncluded(PriceConfig memory price, CreditsConfig memory credits) internal view returns (bool) {
        (address feeReceiver, uint256 fee,,) = _fee(price, credits);
        if (fee == 0) return true;
        bool found;
        uint256 feeEntry;
        for (uint256 i = 0; i < price.receivers.length; i++) {
            if (price.receivers[i] == feeReceiver) {
                found = true;
                feeEntry = price.amounts[i];
            }
        }
        return found && feeEntry == fee;
    }

    function _withFeeEntry(PriceConfig memory price, CreditsConfig memory credits, bool deduct)
        internal
        view
        returns (uint256[] memory amounts, address[] memory receivers)
    {
        (address feeReceiver, uint256 fee, uint256 rate, uint256 den) = _fee(price, credits);
        if (fee == 0) return (price.amounts, price.receivers);
        uint256 n = price.amounts.length;
        if (n != price.receivers.length) revert PriceConfigInvalidAmountsOrReceivers();
        amounts = new uint256[](n + 1);
        receivers = new address[](n + 1);
        for (uint256 i = 0; i < n; i++) {
            uint256 a = price.amounts[i];
            amounts[i] = deduct ? a - (a * rate) / den : a;
            receivers[i] = price.receivers[i];
        }
        amounts[n] = fee;
        receivers[n] = feeReceiver;
    }

    // ================================================================ agents (Nevermined path)

    function hashAgentId(bytes32 _seed, address _creator) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(_seed, _creator)));
    }

    function register(bytes32 _seed, string calldata _url, uint256[] calldata _plans) external returns (uint256) {
        return _registerAgent(_seed, _url, _plans);
    }

    function register(
        bytes32 _seed,
        string calldata _tokenURI,
        uint256[] calldata _plans,
        MetadataEntry[] calldata _metadata
    ) external {
        uint256 agentId = _registerAgent(_seed, _tokenURI, _plans);
        for (uint256 i = 0; i < _metadata.length; i++) {
            _storeMetadata(agentId, _metadata[i].key, _metadata[i].value);
        }
    }

    function registerAgentAndPlan(
        bytes32 _seed,
        string calldata _url,
        PriceConfig calldata _priceConfig,
        CreditsConfig calldata _creditsConfig
    ) external {
        uint256 nonce = uint256(_seed);
        uint256 planId = hashPlanId(_priceConfig, _creditsConfig, msg.sender, nonce);
        if (!planExists(planId)) {
            _createPlan(_priceConfig, _creditsConfig, nonce);
            emit PlanRegistered(planId, msg.sender, _creditsConfig.onchainMirror);
        }
        uint256[] memory plans = new uint256[](1);
        plans[0] = planId;
        _registerAgent(_seed, _url, plans);
    }

    function _registerAgent(bytes32 _seed, string memory _url, uint256[] memory _planIds)
        internal
        returns (uint256 agentId)
    {
        if (bytes(_url).length == 0) revert InvalidURL(_url);
        agentId = hashAgentId(_seed, msg.sender);
        if (_agents[agentId].lastUpdated != 0 || _ownerOf(agentId) != address(0)) {
            revert AgentAlreadyRegistered(agentId);
        }
        for (uint256 i = 0; i < _planIds.length; i++) {
            if (!planExists(_planIds[i])) revert PlanNotFound(_planIds[i]);
        }
        DIDAgent storage agent = _agents[agentId];
        agent.owner = msg.sender;
        agent.creator = msg.sender;
        agent.url = _url;
        agent.lastUpdated = block.timestamp;
        agent.plans = _planIds;
        _totalAgents++;
        emit AgentRegistered(agentId, msg.sender);
        _mint(msg.sender, agentId);
        _setTokenURI(agentId, _url);
    }

    function getAgent(uint256 _agentId) external view returns (DIDAgent memory) {
        return _agents[_agentId];
    }

    function agentExists(uint256 agentId) external view returns (bool exists) {
        return _agents[agentId].lastUpdated != 0;
    }

    function addPlanToAgent(uint256 _agentId, uint256 _planId) external {
        DIDAgent storage agent = _ownedAgent(_agentId);
        if (!planExists(_planId)) revert PlanNotFound(_planId);
        uint256[] storage plans = agent.plans;
        for (uint256 i = 0; i < plans.length; i++) {
            if (plans[i] == _planId) return;
        }
        plans.push(_planId);
        agent.lastUpdated = block.timestamp;
        emit PlanAddedToAgent(_agentId, _planId, msg.sender);
    }

    function removePlanFromAgent(uint256 _agentId, uint256 _planId) external {
        DIDAgent storage agent = _ownedAgent(_agentId);
        uint256[] storage plans = agent.plans;
        uint256 n = plans.length;
        for (uint256 i = 0; i < n; i++) {
            if (plans[i] == _planId) {
                plans[i] = plans[n - 1];
                plans.pop();
                agent.lastUpdated = block.timestamp;
                emit PlanRemovedFromAgent(_agentId, _planId, msg.sender);
                return;
            }
        }
        revert PlanNotInAgent(_agentId, _planId);
    }

    /// @notice Replaces the agent's plans; the list must be strictly ascending and every plan must exist.
    function replacePlansForAgent(uint256 _agentId, uint256[] calldata _planIds) external {
        DIDAgent storage agent = _ownedAgent(_agentId);
        for (uint256 i = 0; i < _planIds.length; i++) {
            if (i > 0 && _planIds[i] <= _planIds[i - 1]) revert PlansMustBeUnique();
            if (!planExists(_planIds[i])) revert PlanNotFound(_planIds[i]);
        }
        agent.plans = _planIds;
        agent.lastUpdated = block.timestamp;
        emit AgentPlansReplaced(_agentId, msg.sender);
    }

    /// @notice Changes the registry owner of the agent; the ERC-721 token does not move.
    function transferAgentOwnership(uint256 _agentId, address _newOwner) external {
        DIDAgent storage agent = _ownedAgent(_agentId);
        if (_newOwner == address(0)) revert InvalidAddress(_newOwner);
        agent.owner = _newOwner;
        agent.lastUpdated = block.timestamp;
        emit AgentOwnershipTransferred(_agentId, msg.sender, _newOwner);
    }

    function _ownedAgent(uint256 _agentId) internal view returns (DIDAgent storage agent) {
        agent = _agents[_agentId];
        if (agent.lastUpdated == 0) revert AgentNotFound(_agentId);
        if (agent.owner != msg.sender) revert NotOwner(_agentId, msg.sender, agent.owner);
    }

    // ================================================================ agents (ERC-8004 path)

    function register() external returns (uint256 agentId) {
        return _registerIdentity("");
    }

    function register(string calldata tokenURI_) external returns (uint256 agentId) {
        return _registerIdentity(tokenURI_);
    }

    function register(string calldata tokenURI_, MetadataEntry[] calldata metadata)
        external
        returns (uint256 agentId)
    {
        agentId = _registerIdentity(tokenURI_);
        for (uint256 i = 0; i < metadata.length; i++) {
            _storeMetadata(agentId, metadata[i].key, metadata[i].value);
            emit MetadataSet(agentId, metadata[i].key, metadata[i].key, metadata[i].value);
        }
    }

    /// @dev Hash-based id, no DIDAgent record.
    function _registerIdentity(string memory _uri) internal returns (uint256 agentId) {
        agentId = uint256(keccak256(abi.encode(msg.sender, block.timestamp, _totalAgents)));
        uint256 attempts;
        while (_ownerOf(agentId) != address(0) || _agents[agentId].lastUpdated != 0) {
            if (attempts == MAX_ID_ATTEMPTS) revert AgentAlreadyRegistered(agentId);
            attempts++;
            agentId = uint256(keccak256(abi.encode(agentId, block.timestamp, attempts)));
        }
        _totalAgents++;
        _mint(msg.sender, agentId);
        if (bytes(_uri).length != 0) _setTokenURI(agentId, _uri);
        emit Registered(agentId, _uri, msg.sender);
    }

    function getTotalAgents() external view returns (uint256 count) {
        return _totalAgents;
    }

    function getNextAgentId() external pure returns (uint256) {
        revert AgentIdsAreHashBased();
    }

    // ================================================================ metadata

    function getMetadata(uint256 agentId, string calldata key) external view returns (bytes memory value) {
        return _metadataStore[agentId][keccak256(bytes(key))];
    }

    function getMetadataKeys(uint256 agentId) external view returns (string[] memory keys) {
        return _metadataKeys[agentId];
    }

    /// @notice `restricted`, and the caller must also be the agent NFT's owner or approved.
    function setMetadata(uint256 agentId, string calldata key, bytes calldata value) external restricted {
        address owner = _requireOwned(agentId);
        if (!_isAuthorized(owner, msg.sender, agentId)) revert NotAuthorized();
        _storeMetadata(agentId, key, value);
        emit MetadataSet(agentId, key, key, value);
    }

    function _storeMetadata(uint256 agentId, string memory key, bytes memory value) internal {
        bytes32 h = keccak256(bytes(key));
        if (!_hasMetadataKey[agentId][h]) {
            _hasMetadataKey[agentId][h] = true;
            _metadataKeys[agentId].push(key);
        }
        _metadataStore[agentId][h] = value;
    }

    // ================================================================ ERC-721 (non-transferable)

    /// @dev Agent identities are minted only; every transfer reverts.
    function transferFrom(address, address, uint256) public virtual override(ERC721, IERC721) {
        _disabled();
    }

    function safeTransferFrom(address, address, uint256, bytes memory) public virtual override(ERC721, IERC721) {
        _disabled();
    }

    /// @dev Always reverts (msg.sig is never 0 here). The condition keeps solc from flagging the inherited
    ///      ERC721.safeTransferFrom body as unreachable code.
    function _disabled() internal pure {
        if (msg.sig != bytes4(0)) revert TransfersDisabled();
    }

    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IIdentityRegistry).interfaceId || super.supportsInterface(interfaceId);
    }
}
