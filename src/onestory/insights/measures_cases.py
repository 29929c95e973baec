"""Placeholder: measures are added here by the insights work."""
