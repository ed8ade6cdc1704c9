"""Layer 6, accounts: encrypted keystores, password sources and secure files."""
