"""Each agency's extract in its own layout, and the events feed in the common model."""
