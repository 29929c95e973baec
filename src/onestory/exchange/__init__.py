"""Agencies' data in and out of OneStory, in the common model."""
