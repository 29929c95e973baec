"""Insights and open data: measures of how the justice system works, computed from the data,
published with disclosure control."""
