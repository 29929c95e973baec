"""Addresses: towns and postcode districts of each force area, and made-up streets in them.

Postcode areas and district ranges are the real ones for each town; the inward part, street
names and house numbers are drawn at random, so an address may or may not exist.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache

from onestory.synth.names import WELSH_SURNAMES, origins

# force code -> (town, postcode area, first district, last district)
TOWNS: dict[str, tuple[tuple[str, str, int, int], ...]] = {
    "01": (("London", "E", 1, 17), ("London", "N", 1, 22), ("London", "SE", 1, 28),
           ("London", "SW", 2, 20), ("London", "NW", 1, 11), ("London", "W", 2, 14)),
    "04": (("Preston", "PR", 1, 5), ("Blackburn", "BB", 1, 2), ("Blackpool", "FY", 1, 4),
           ("Burnley", "BB", 10, 12), ("Lancaster", "LA", 1, 2)),
    "05": (("Liverpool", "L", 1, 36), ("Birkenhead", "CH", 41, 43), ("St Helens", "WA", 9, 11),
           ("Southport", "PR", 8, 9)),
    "06": (("Manchester", "M", 1, 40), ("Salford", "M", 5, 7), ("Bolton", "BL", 1, 3),
           ("Oldham", "OL", 1, 9), ("Stockport", "SK", 1, 7), ("Wigan", "WN", 1, 6)),
    "10": (("Newcastle upon Tyne", "NE", 1, 15), ("Sunderland", "SR", 1, 6),
           ("Gateshead", "NE", 8, 11)),
    "13": (("Leeds", "LS", 1, 29), ("Bradford", "BD", 1, 15), ("Wakefield", "WF", 1, 4),
           ("Huddersfield", "HD", 1, 5), ("Halifax", "HX", 1, 3)),
    "14": (("Sheffield", "S", 1, 36), ("Doncaster", "DN", 1, 12), ("Rotherham", "S", 60, 66),
           ("Barnsley", "S", 70, 75)),
    "20": (("Birmingham", "B", 1, 48), ("Coventry", "CV", 1, 6), ("Wolverhampton", "WV", 1, 14),
           ("Walsall", "WS", 1, 10)),
    "43": (("Reading", "RG", 1, 6), ("Oxford", "OX", 1, 4), ("Milton Keynes", "MK", 1, 15),
           ("Slough", "SL", 1, 3), ("High Wycombe", "HP", 11, 13)),
    "46": (("Maidstone", "ME", 14, 16), ("Canterbury", "CT", 1, 2), ("Chatham", "ME", 4, 5),
           ("Margate", "CT", 9, 9), ("Dartford", "DA", 1, 2)),
    "52": (("Bristol", "BS", 1, 16), ("Bath", "BA", 1, 2), ("Taunton", "TA", 1, 2),
           ("Weston-super-Mare", "BS", 22, 24)),
    "60": (("Wrexham", "LL", 11, 14), ("Bangor", "LL", 57, 57), ("Rhyl", "LL", 18, 18),
           ("Llandudno", "LL", 30, 30), ("Caernarfon", "LL", 55, 55)),
    "61": (("Newport", "NP", 19, 20), ("Cwmbran", "NP", 44, 44), ("Pontypool", "NP", 4, 4),
           ("Ebbw Vale", "NP", 23, 23)),
    "62": (("Cardiff", "CF", 3, 24), ("Swansea", "SA", 1, 6), ("Merthyr Tydfil", "CF", 47, 48),
           ("Pontypridd", "CF", 37, 38), ("Bridgend", "CF", 31, 35)),
    "63": (("Carmarthen", "SA", 31, 33), ("Llanelli", "SA", 14, 15), ("Aberystwyth", "SY", 23, 23),
           ("Haverfordwest", "SA", 61, 62), ("Newtown", "SY", 16, 16)),
}  # fmt: skip

WELSH_FORCES = frozenset({"60", "61", "62", "63"})
STREET_SUFFIXES = ("Road", "Street", "Avenue", "Close", "Lane", "Drive", "Way", "Crescent",
                   "Grove", "Gardens", "Terrace", "Place", "Court", "Walk", "Rise", "Mews",
                   "View", "Park", "Row", "Green")  # fmt: skip
WELSH_STREETS = ("Heol y Parc", "Heol Tŷ Gwyn", "Ffordd Glyndŵr", "Stryd Fawr", "Heol y Felin",
                 "Ffordd yr Orsaf", "Heol Islwyn", "Lôn Las", "Heol Maes-y-Dre", "Ffordd Penrhos",
                 "Heol y Coed", "Cae Bryn", "Maes y Llan", "Stryd y Castell")  # fmt: skip
FLAT_BLOCKS = ("House", "Court", "Heights", "Lodge", "Point", "Mansions", "Tower")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # inward codes never use C, I, K, M, O or V


@dataclass(frozen=True, slots=True)
class Address:
    """An address a person lived at from ``since``."""

    since: date
    lines: tuple[str, ...]
    town: str
    postcode: str
    force: str

    def one_line(self) -> str:
        """The address as one comma-separated line, town included, postcode not."""
        return ", ".join((*self.lines, self.town))


@cache
def _street_names() -> tuple[str, ...]:
    # Fixed seed: the street list is part of the generator, not of any one world.
    rng = random.Random("onestory-streets")
    surnames = origins()["en_GB"].surname_male
    return tuple(f"{surnames.pick(rng)} {rng.choice(STREET_SUFFIXES)}" for _ in range(4000))


@cache
def _welsh_street_names() -> tuple[str, ...]:
    rng = random.Random("onestory-welsh-streets")
    made = [f"{rng.choice(WELSH_SURNAMES)} {rng.choice(STREET_SUFFIXES)}" for _ in range(300)]
    return tuple(made) + WELSH_STREETS * 20


def postcode(rng: random.Random, area: str, low: int, high: int) -> str:
    """A postcode in ``area`` with a district between ``low`` and ``high``."""
    inward = f"{rng.randint(1, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return f"{area}{rng.randint(low, high)} {inward}"


def make_address(rng: random.Random, force: str, since: date) -> Address:
    """A plausible address in the area of ``force``."""
    town, area, low, high = rng.choice(TOWNS[force])
    if force in WELSH_FORCES and rng.random() < 0.35:
        street = rng.choice(_welsh_street_names())
    else:
        street = rng.choice(_street_names())
    number = rng.randint(1, 180)
    if rng.random() < 0.18:
        block = f"{rng.choice(_street_names()).split()[0]} {rng.choice(FLAT_BLOCKS)}"
        lines: tuple[str, ...] = (f"Flat {rng.randint(1, 40)}", block, f"{number} {street}")
    else:
        lines = (f"{number} {street}",)
    return Address(since, lines, town, postcode(rng, area, low, high), force)
