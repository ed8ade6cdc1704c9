// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {AccessManagedUUPSSurface} from "../common/AccessManagedUUPSSurface.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IAsset} from "../interfaces/IAsset.sol";
import {Roles} from "../common/Roles.sol";

/// @title NFT1155Base
/// @notice Shared logic of the credit tokens: one ERC-1155 id per plan (tokenId = planId), minted by the plan owner
///         or a CREDITS_MINTER_ROLE holder, redeemed (burned) under the plan's redemption rules, never transferable.
/// @dev Expirable variants plug their ledgers into `_recordMint` / `_recordBurn` and override `balanceOf`.
abstract contract NFT1155Base is ERC1155, AccessManagedUUPSSurface {
    /// @notice Registry the plans (owner, credits config) are read from.
    IAsset internal immutable _assetsRegistry;

    /// @dev planId => burner => allowed by the plan owner (redemption type ONLY_PLAN_ROLE).
    mapping(uint256 => mapping(address => bool)) private _planBurners;

    event BurnerAllowed(address owner, address burner, uint256 planId);
    event BurnerRevoked(address owner, address burner, uint256 planId);
    event Purged(address from, uint256 planId, uint256 amount, uint256 expiration);

    error InvalidAddress();
    error InvalidAssetsRegistryAddress();
    error InvalidLength(uint256 idsLength, uint256 valuesLength);
    error InvalidRedemptionPermission(uint256 planId, IAsset.RedemptionType redemptionType, address sender);
    error InvalidRole(address sender, uint64 role);
    error InvalidVaultAddress();
    error NoCreditsToBurn(uint256 expiration);
    error NotExpired(uint256 expiration);
    error OnlyOwnerCanAllowBurn(address owner, uint256 planId);
    error PlanNotFound(uint256 planId);

    constructor(address _authority, address _assetsRegistryAddress) ERC1155("") AccessManaged(_authority) {
        if (_assetsRegistryAddress == address(0)) revert InvalidAssetsRegistryAddress();
        _assetsRegistry = IAsset(_assetsRegistryAddress);
    }

    // ------------------------------------------------------------------ mint

    /// @notice Mints `_value` non-expiring credits of plan `_planId` to `_to`.
    function mint(address _to, uint256 _planId, uint256 _value, bytes calldata _data) external virtual {
        _requireMinter(_planId);
        _recordMint(_to, _planId, _value, 0);
        _mint(_to, _planId, _value, _data);
        _afterMint(_to, _planId, _value, 0);
    }

    /// @notice Mints non-expiring credits of several plans to `_to`.
    function mintBatch(address _to, uint256[] calldata _ids, uint256[] calldata _values, bytes calldata _data)
        external
        virtual
    {
        if (_ids.length != _values.length) revert InvalidLength(_ids.length, _values.length);
        for (uint256 i = 0; i < _ids.length; i++) {
            _requireMinter(_ids[i]);
        }
        for (uint256 i = 0; i < _ids.length; i++) {
            _recordMint(_to, _ids[i], _values[i], 0);
        }
        _mintBatch(_to, _ids, _values, _data);
        for (uint256 i = 0; i < _ids.length; i++) {
            _afterMint(_to, _ids[i], _values[i], 0);
        }
    }

    // ------------------------------------------------------------------ burn

    /// @notice Redeems credits of `_from`. The keyspace and signature arguments are accepted and ignored.
    function burn(address _from, uint256 _planId, uint256 _amount, uint256, bytes calldata) external virtual {
        IAsset.Plan memory plan = _getPlan(_planId);
        uint256 credits = _creditsToBurn(plan.credits, _amount);
        if (!_canRedeemCredits(plan, _from, _planId, credits, msg.sender)) {
            revert InvalidRedemptionPermission(_planId, plan.credits.redemptionType, msg.sender);
        }
        _recordBurn(_from, _planId, credits);
        _burn(_from, _planId, credits);
    }

    /// @notice Redeems credits of several plans; gated by the AccessManager (CREDITS_BURNER_ROLE), no
    ///         redemption-type check.
    function burnBatch(address _from, uint256[] calldata _ids, uint256[] calldata _amounts, uint256, bytes calldata)
        external
        virtual
        restricted
    {
        if (_ids.length != _amounts.length) revert InvalidLength(_ids.length, _amounts.length);
        uint256[] memory credits = new uint256[](_ids.length);
        for (uint256 i = 0; i < _ids.length; i++) {
            IAsset.Plan memory plan = _getPlan(_ids[i]);
            credits[i] = _creditsToBurn(plan.credits, _amounts[i]);
            _recordBurn(_from, _ids[i], credits[i]);
        }
        _burnBatch(_from, _ids, credits);
    }

    // ------------------------------------------------------------------ plan burners

    /// @notice The plan owner lets `_burner` redeem anyone's credits of `_planId` (redemption type ONLY_PLAN_ROLE).
    function allowBurn(address _burner, uint256 _planId) external virtual {
        address owner = _planOwnerOrRevert(_planId);
        _planBurners[_planId][_burner] = true;
        emit BurnerAllowed(owner, _burner, _planId);
    }

    /// @notice The plan owner withdraws a permission given with `allowBurn`.
    function revokeBurn(address _burner, uint256 _planId) external virtual {
        address owner = _planOwnerOrRevert(_planId);
        _planBurners[_planId][_burner] = false;
        emit BurnerRevoked(owner, _burner, _planId);
    }

    /// @notice Whether the plan owner allowed `_burner` to redeem credits of `_planId`.
    function canBurn(address _burner, uint256 _planId) public view virtual returns (bool) {
        return _planBurners[_planId][_burner];
    }

    // ------------------------------------------------------------------ ERC-1155 overrides

    /// @notice Balances per (owner, id) pair, through the (possibly expiry-aware) `balanceOf`.
    function balanceOfBatch(address[] memory _owners, uint256[] memory _ids)
        public
        view
        virtual
        override
        returns (uint256[] memory balances)
    {
        if (_owners.length != _ids.length) revert InvalidLength(_ids.length, _owners.length);
        balances = new uint256[](_owners.length);
        for (uint256 i = 0; i < _owners.length; i++) {
            balances[i] = balanceOf(_owners[i], _ids[i]);
        }
    }

    /// @notice Credits are not transferable.
    function safeTransferFrom(address, address, uint256, uint256, bytes memory) public virtual override {
        revert InvalidRole(msg.sender, Roles.CREDITS_TRANSFER_ROLE);
    }

    /// @notice Credits are not transferable.
    function safeBatchTransferFrom(address, address, uint256[] memory, uint256[] memory, bytes memory)
        public
        virtual
        override
    {
        revert InvalidRole(msg.sender, Roles.CREDITS_TRANSFER_ROLE);
    }

    // ------------------------------------------------------------------ ledger hooks

    /// @dev Called before the ERC-1155 mint of `_value` credits of `_planId` to `_to`; `_secsDuration` 0 = no expiry.
    function _recordMint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration) internal virtual {}

    /// @dev Called after the ERC-1155 mint recorded by `_recordMint` (V2 emits `Minted` here, after
    ///      `TransferSingle`, in the order the v1.5.0 contracts emit them).
    function _afterMint(address _to, uint256 _planId, uint256 _value, uint256 _secsDuration) internal virtual {}

    /// @dev Called before the ERC-1155 burn of `_value` credits of `_planId` from `_from`.
    function _recordBurn(address _from, uint256 _planId, uint256 _value) internal virtual {}

    // ------------------------------------------------------------------ internals

    function _getPlan(uint256 _planId) internal view returns (IAsset.Plan memory plan) {
        plan = _assetsRegistry.getPlan(_planId);
        if (plan.lastUpdated == 0) revert PlanNotFound(_planId);
    }

    function _hasRole(uint64 _role, address _account) internal view returns (bool isMember) {
        (isMember,) = IAccessManager(authority()).hasRole(_role, _account);
    }

    /// @dev Plan must exist; caller must be its owner or hold CREDITS_MINTER_ROLE.
    function _requireMinter(uint256 _planId) internal view {
        IAsset.Plan memory plan = _getPlan(_planId);
        if (plan.owner != msg.sender && !_hasRole(Roles.CREDITS_MINTER_ROLE, msg.sender)) {
            revert InvalidRole(msg.sender, Roles.CREDITS_MINTER_ROLE);
        }
    }

    function _planOwnerOrRevert(uint256 _planId) internal view returns (address owner) {
        owner = _assetsRegistry.getPlan(_planId).owner;
        if (owner != msg.sender) revert OnlyOwnerCanAllowBurn(msg.sender, _planId);
    }

    /// @dev Fixed redemption burns `minAmount`; dynamic redemption clamps the request to [minAmount, maxAmount].
    function _creditsToBurn(IAsset.CreditsConfig memory _config, uint256 _amount) internal pure returns (uint256) {
        if (_config.isRedemptionAmountFixed) return _config.minAmount;
        if (_amount < _config.minAmount) return _config.minAmount;
        if (_amount > _config.maxAmount) return _config.maxAmount;
        return _amount;
    }

    /// @dev Holder rule first, then the plan's redemption type.
    function _canRedeemCredits(
        IAsset.Plan memory _plan,
        address _from,
        uint256 _planId,
        uint256 _credits,
        address _sender
    ) internal view returns (bool) {
        if (_sender == _from && balanceOf(_from, _planId) >= _credits) return true;
        IAsset.RedemptionType rt = _plan.credits.redemptionType;
        if (rt == IAsset.RedemptionType.ONLY_GLOBAL_ROLE) return _hasRole(Roles.CREDITS_BURNER_ROLE, _sender);
        if (rt == IAsset.RedemptionType.ONLY_OWNER) return _sender == _plan.owner;
        if (rt == IAsset.RedemptionType.ONLY_PLAN_ROLE) return canBurn(_sender, _planId);
        if (rt == IAsset.RedemptionType.OWNER_OR_GLOBAL_ROLE) {
            return _sender == _plan.owner || _hasRole(Roles.CREDITS_BURNER_ROLE, _sender);
        }
        return false; // ONLY_SUBSCRIBER: nobody but the holder
    }
}
