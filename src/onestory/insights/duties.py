"""Placeholder: the Victims' Code duties derived from events (``insights.snapshot.derive``)."""
