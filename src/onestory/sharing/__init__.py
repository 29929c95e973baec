"""Who may see what: organisations, their people and systems, and (later) the sharing policy."""
