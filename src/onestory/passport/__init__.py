"""Skills passport: verifiable credentials for learning and work achievements."""
