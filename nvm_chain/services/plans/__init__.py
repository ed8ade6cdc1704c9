"""The Plans API (payments-py names, on-chain): reads, registrations, orders and credits."""

from nvm_chain.services.plans.api import OffchainCreditsWarning, PlansAPI
from nvm_chain.services.plans.reads import MetadataUnavailableWarning, PlanWithMetadata

__all__ = ["PlansAPI", "OffchainCreditsWarning", "MetadataUnavailableWarning", "PlanWithMetadata"]
