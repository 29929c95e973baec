"""OneStory: one record of a victim's and an offender's journey across the justice agencies."""

__version__ = "0.1.0"
