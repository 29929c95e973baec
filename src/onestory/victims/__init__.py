"""Tell us once: victims' stories, consent, the timeline of their case, and Victims' Code duties."""
