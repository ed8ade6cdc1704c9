"""Transactions: signing, fee policy, revert extraction and the one module that broadcasts (sender)."""
