"""Layer 3, services: plans, agents and x402 checks, each given a
:class:`~nvm_chain.services.context.ServiceContext`."""
