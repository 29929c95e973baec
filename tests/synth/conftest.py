"""Synthetic worlds shared by the synth tests: generated once per session, read many times."""

from __future__ import annotations

from typing import Any

import pytest
from synth_world import World

from onestory.synth import NoiseRates, write_world


def _world(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> World:
    path = tmp_path_factory.mktemp(name) / "world"
    summary = write_world(path, **kwargs)
    return World(path, summary, kwargs.get("noise") or NoiseRates())


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """300 people with the default noise."""
    return _world(tmp_path_factory, "small", people=300, seed=7)


@pytest.fixture(scope="session")
def noisy_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """1,500 people with every kind of noise at 20%, enough to measure rates."""
    return _world(
        tmp_path_factory, "noisy", people=1500, seed=11, noise=NoiseRates.parse("all=0.2")
    )


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """400 people and no noise at all."""
    return _world(tmp_path_factory, "clean", people=400, seed=7, noise=NoiseRates.none())
