"""nvm-chain: the Nevermined payments protocol v1.5.0, driven on-chain with your own key."""

__version__ = "0.1.0"
