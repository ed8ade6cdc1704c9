"""The Plans API (payments-py names, on-chain): reads, registrations, orders and credits."""

from nvm_chain.errors import MetadataUnavailableWarning, OffchainCreditsWarning
from nvm_chain.services.plans.api import PlansAPI
from nvm_chain.services.plans.reads import PlanWithMetadata

__all__ = ["PlansAPI", "OffchainCreditsWarning", "MetadataUnavailableWarning", "PlanWithMetadata"]
