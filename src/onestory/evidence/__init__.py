"""Digital evidence: a vault with a chain of custody anyone can verify, and disclosure bundles."""
