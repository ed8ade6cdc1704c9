"""Layer 1, pure protocol logic (no I/O, no web3): id formulas, the fee rule, configs, models and results."""
