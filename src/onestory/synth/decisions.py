"""How cases are decided: the police outcome and, on conviction, the sentence.

The weights are rough shapes of published criminal justice statistics (more charges for serious
offences, more custody for indictable offences and for people with previous convictions), not
official figures.
"""

from __future__ import annotations

import random

from onestory.synth.cases import Hearing, Sentence
from onestory.synth.offences import OffenceType


def decision_weights(main: OffenceType, age: int, has_victim: bool) -> dict[str, float]:
    """Weights of the police outcome codes for a suspect of ``main``."""
    charge = {"indictable": 0.45, "either_way": 0.3, "summary": 0.26}[main.mode]
    weights = {"1": charge, "15": 0.2, "16": 0.18 if has_victim else 0.0, "21": 0.05}
    if main.mode != "indictable":
        weights["2" if age < 18 else "3"] = 0.08
        weights["8"] = 0.09 if main.mode == "summary" or not main.serious else 0.0
    return weights


def choose_sentence(
    rng: random.Random, main: OffenceType, priors: int, hearing: Hearing, court: str
) -> Sentence:
    """The sentence for ``main`` passed at ``hearing``, heavier with previous convictions."""
    custody = {"indictable": 0.62, "either_way": 0.2, "summary": 0.05}[main.mode]
    custody = min(0.9, custody + 0.07 * min(priors, 4))
    table = {
        "immediate_custody": custody,
        "suspended_sentence": 0.15 if main.mode != "summary" else 0.05,
        "community_order": 0.25,
        "fine": {"indictable": 0.01, "either_way": 0.18, "summary": 0.45}[main.mode],
        "conditional_discharge": 0.09,
        "absolute_discharge": 0.01,
        "hospital_order": 0.004 if main.mode == "indictable" else 0.0,
    }
    kind = rng.choices(list(table), list(table.values()))[0]
    sentence = Sentence(kind, hearing.day, hearing.minute + rng.randint(15, 200), court)
    if kind == "immediate_custody":
        low, high = {"indictable": (18, 120), "either_way": (2, 30), "summary": (1, 6)}[main.mode]
        sentence.custody_months = min(
            high, low + int(rng.expovariate(1 / max(1, (high - low) / 3)))
        )
    elif kind == "suspended_sentence":
        sentence.custody_months = rng.randint(2, 24)
        sentence.community_months = rng.choice((6, 12, 18, 24))
    elif kind == "community_order":
        sentence.community_months = rng.choice((6, 9, 12, 12, 18, 24, 36))
    elif kind == "fine":
        sentence.fine_pounds = rng.choice((80, 120, 200, 250, 300, 400, 500, 750, 1000, 2500))
    return sentence
