"""A synthetic but realistic world: people, crimes and their journeys through every agency.

``write_world`` writes each agency's extract in its own layout, with the errors real extracts
have, the same journeys as validated common-model events, and the ground truth.
"""

from onestory.synth.rates import NoiseRates
from onestory.synth.world import WorldSummary, write_world

__all__ = ["NoiseRates", "WorldSummary", "write_world"]
