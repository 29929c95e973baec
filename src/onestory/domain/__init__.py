"""The common model: the records and events every agency shares, as pure Python (no I/O)."""
