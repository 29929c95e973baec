"""The ledger: an append-only, tamper-evident log of every shared fact and every access."""
