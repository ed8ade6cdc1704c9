"""Layer 2, chain access: ABI registry, networks and address books, reads, contract wrappers and the
transaction engine (``tx``), whose ``sender`` module is the only code that broadcasts."""
