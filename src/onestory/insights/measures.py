"""Every measure, registered by importing the modules that define them."""

from __future__ import annotations

from onestory.insights import (  # noqa: F401  (each module registers its measures)
    measures_cases,
    measures_learning,
    measures_quality,
    measures_victims,
)
