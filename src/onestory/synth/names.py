"""Names as people in England and Wales have them: weighted pools, Welsh names, nicknames.

English forenames and surnames come from Faker's ``en_GB`` lists, which hold ONS frequency
data (surnames with weights, forenames in frequency order), so common names collide as they do
in life. A share of people take names from other Faker locales or from the small tables here.
Everything is built once per process; picking a name is a bisect over cumulative weights.
"""

from __future__ import annotations

import importlib
import random
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any


class NamePool:
    """Names with cumulative weights, for fast weighted picks."""

    __slots__ = ("_cum", "_total", "names")

    def __init__(self, names: Sequence[str], weights: Sequence[float]) -> None:
        self.names = tuple(names)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> str:
        """One name, drawn by weight."""
        return self.names[bisect(self._cum, rng.random() * self._total)]


def _ranked(names: Sequence[str], *, shuffle_seed: str | None = None) -> NamePool:
    # A Zipf-like weight by rank: lists in frequency order keep their order; alphabetical
    # lists are shuffled first (with a fixed seed) so that no letter is favoured.
    unique = list(
        dict.fromkeys(n for n in names if n and all(c.isalpha() or c in "-' " for c in n))
    )
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(unique)
    return NamePool(unique, [1.0 / (rank + 8) for rank in range(len(unique))])


def _faker_attr(locale: str, attribute: str) -> Any:
    module = importlib.import_module(f"faker.providers.person.{locale}")
    return getattr(module.Provider, attribute)


WELSH_MALE = (
    "Dafydd", "Rhys", "Gareth", "Owain", "Huw", "Dylan", "Aled", "Gethin", "Iwan", "Emyr",
    "Ieuan", "Tomos", "Steffan", "Osian", "Ifan", "Cai", "Gruffudd", "Meirion", "Bryn", "Llŷr",
    "Gwilym", "Geraint", "Rhodri", "Alun", "Deiniol", "Elis", "Hywel", "Iestyn", "Trystan",
)  # fmt: skip
WELSH_FEMALE = (
    "Siân", "Gwenllian", "Cerys", "Ffion", "Nia", "Angharad", "Eleri", "Bethan", "Catrin",
    "Rhiannon", "Megan", "Elin", "Seren", "Mali", "Lowri", "Carys", "Manon", "Heledd", "Non",
    "Gwen", "Glesni", "Mererid", "Nerys", "Sioned", "Llinos", "Awen", "Branwen", "Mair",
)  # fmt: skip
WELSH_SURNAMES = (
    "Jones", "Davies", "Williams", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan",
    "Griffiths", "Edwards", "Owen", "Rees", "Jenkins", "Price", "Phillips", "Rhys", "Parry",
    "Pritchard", "Vaughan", "Powell", "Howells", "Llewellyn", "Pugh", "Prosser", "Bowen",
    "Bevan", "Probert", "Gruffydd", "Lloyd", "Meredith", "Humphreys", "Jarman", "Wyn",
)  # fmt: skip
IRISH_MALE = (
    "Patrick", "Sean", "Seán", "Liam", "Conor", "Ciarán", "Declan", "Eoin", "Niall", "Padraig",
    "Brendan", "Cathal", "Darragh", "Oisín", "Fergal", "Kieran", "Ronan", "Colm", "Diarmuid",
)  # fmt: skip
IRISH_FEMALE = (
    "Siobhán", "Aoife", "Niamh", "Róisín", "Caoimhe", "Saoirse", "Orla", "Sinéad", "Clodagh",
    "Aisling", "Bríd", "Deirdre", "Gráinne", "Mairéad", "Nuala", "Úna", "Eimear", "Fionnuala",
)  # fmt: skip
IRISH_SURNAMES = (
    "Murphy", "Kelly", "O'Brien", "O'Connor", "Byrne", "Ryan", "O'Sullivan", "Walsh", "Doyle",
    "McCarthy", "Gallagher", "O'Neill", "Kennedy", "Quinn", "Brennan", "Flanagan", "O'Donnell",
    "McLaughlin", "Fitzgerald", "Ó Briain", "Mac Giolla", "Nolan", "Kavanagh", "Dunne",
)  # fmt: skip
SOUTH_ASIAN_MALE = (
    "Mohammed", "Muhammad", "Ahmed", "Ali", "Hassan", "Imran", "Bilal", "Usman", "Adnan",
    "Zain", "Tariq", "Asif", "Faisal", "Kamran", "Shahid", "Nadeem", "Rizwan", "Abdul",
    "Ibrahim", "Yusuf", "Amir", "Haroon", "Zubair", "Waqas", "Arif", "Sajid", "Mohammad",
)  # fmt: skip
SOUTH_ASIAN_FEMALE = (
    "Ayesha", "Fatima", "Zainab", "Amina", "Sana", "Nadia", "Saima", "Shazia", "Rukhsana",
    "Samina", "Farah", "Hina", "Maryam", "Khadija", "Noor", "Iqra", "Sadia", "Bushra", "Uzma",
)  # fmt: skip
SOUTH_ASIAN_SURNAMES = (
    "Khan", "Hussain", "Ahmed", "Ali", "Akhtar", "Shah", "Iqbal", "Mahmood", "Butt", "Rashid",
    "Malik", "Aslam", "Rehman", "Chaudhry", "Mirza", "Qureshi", "Sheikh", "Javed", "Bibi",
    "Begum", "Miah", "Uddin", "Islam", "Rahman", "Hoque",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a person's names come from: forename pools by sex and surname pools by sex."""

    key: str
    male: NamePool
    female: NamePool
    surname_male: NamePool
    surname_female: NamePool


def _polish_female(surname: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


@cache
def origins() -> dict[str, Origin]:
    """The name origins of the world, built once from Faker's lists and the tables above."""
    gb_last: dict[str, float] = _faker_attr("en_GB", "last_names")
    gb_surnames = NamePool(list(gb_last), list(gb_last.values()))
    built = {
        "en_GB": Origin(
            "en_GB",
            _ranked(_faker_attr("en_GB", "first_names_male")),
            _ranked(_faker_attr("en_GB", "first_names_female")),
            gb_surnames,
            gb_surnames,
        ),
    }
    welsh = _ranked(WELSH_SURNAMES)
    built["cy"] = Origin("cy", _ranked(WELSH_MALE), _ranked(WELSH_FEMALE), welsh, welsh)
    irish = _ranked(IRISH_SURNAMES)
    built["ie"] = Origin("ie", _ranked(IRISH_MALE), _ranked(IRISH_FEMALE), irish, irish)
    asian = _ranked(SOUTH_ASIAN_SURNAMES)
    built["pk"] = Origin("pk", _ranked(SOUTH_ASIAN_MALE), _ranked(SOUTH_ASIAN_FEMALE), asian, asian)
    polish_male = list(_faker_attr("pl_PL", "male_last_names"))
    built["pl_PL"] = Origin(
        "pl_PL",
        _ranked(_faker_attr("pl_PL", "first_names_male"), shuffle_seed="pl_PL"),
        _ranked(_faker_attr("pl_PL", "first_names_female"), shuffle_seed="pl_PL"),
        _ranked(polish_male),
        _ranked([_polish_female(s) for s in polish_male]),
    )
    for locale in ("ro_RO", "en_IN", "yo_NG", "pt_PT", "tr_TR", "it_IT"):
        last = _ranked(_faker_attr(locale, "last_names"), shuffle_seed=locale)
        built[locale] = Origin(
            locale,
            _ranked(_faker_attr(locale, "first_names_male"), shuffle_seed=locale),
            _ranked(_faker_attr(locale, "first_names_female"), shuffle_seed=locale),
            last,
            last,
        )
    return built


# Shares of origins among people by kind of area; rough, for variety rather than census truth.
ORIGIN_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "england": (("en_GB", 80), ("cy", 2), ("ie", 3), ("pl_PL", 3), ("ro_RO", 2), ("en_IN", 3),
                ("pk", 3), ("yo_NG", 1.5), ("pt_PT", 1), ("tr_TR", 1), ("it_IT", 0.5)),
    "london": (("en_GB", 58), ("cy", 1), ("ie", 4), ("pl_PL", 5), ("ro_RO", 5), ("en_IN", 7),
               ("pk", 6), ("yo_NG", 6), ("pt_PT", 3), ("tr_TR", 3), ("it_IT", 2)),
    "asian_city": (("en_GB", 68), ("cy", 1), ("ie", 3), ("pl_PL", 4), ("ro_RO", 2),
                   ("en_IN", 6), ("pk", 12), ("yo_NG", 2), ("pt_PT", 1), ("tr_TR", 1)),
    "wales": (("en_GB", 56), ("cy", 36), ("ie", 2), ("pl_PL", 2), ("ro_RO", 1), ("en_IN", 1),
              ("pk", 1), ("yo_NG", 0.5), ("pt_PT", 0.5)),
}  # fmt: skip

NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"), "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"), "David": ("Dave", "Dai", "Davy"),
    "Richard": ("Rich", "Rick", "Dick", "Richie"), "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"), "Margaret": ("Maggie", "Peggy", "Meg"),
    "Catherine": ("Cath", "Cathy", "Kate"), "Katherine": ("Kate", "Kathy", "Katie"),
    "Michael": ("Mike", "Mick", "Micky"), "Thomas": ("Tom", "Tommy"), "Christopher": ("Chris",),
    "Anthony": ("Tony", "Ant"), "Stephen": ("Steve",), "Steven": ("Steve",),
    "Andrew": ("Andy", "Drew"), "Alexander": ("Alex", "Sandy"), "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"), "Samantha": ("Sam", "Sammy"), "Samuel": ("Sam", "Sammy"),
    "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",), "Nicholas": ("Nick", "Nicky"),
    "Joseph": ("Joe", "Joey"), "Benjamin": ("Ben",), "Edward": ("Ed", "Ted", "Eddie"),
    "Charles": ("Charlie", "Chas"), "Patricia": ("Pat", "Trish"), "Susan": ("Sue", "Suzy"),
    "Deborah": ("Debbie", "Debs"), "Victoria": ("Vicky", "Tori"), "Jonathan": ("Jon", "Jonny"),
    "Timothy": ("Tim",), "Peter": ("Pete",), "Gareth": ("Gaz",), "Gary": ("Gaz",),
    "Kenneth": ("Ken", "Kenny"), "Ronald": ("Ron", "Ronnie"), "Frederick": ("Fred", "Freddie"),
    "Henry": ("Harry", "Hal"), "Abigail": ("Abbie", "Abby"), "Amanda": ("Mandy",),
    "Christine": ("Chris", "Chrissie"), "Jacqueline": ("Jackie",), "Nicola": ("Nicky",),
    "Joanne": ("Jo",), "Kimberley": ("Kim",), "Philip": ("Phil",), "Anthea": ("Thea",),
    "Gwenllian": ("Gwen",), "Dafydd": ("Dai", "Dewi"), "Rhiannon": ("Rhi",),
    "Gruffudd": ("Guto",), "Llywelyn": ("Llew",), "Mohammed": ("Mohammad", "Muhammad", "Mo"),
    "Muhammad": ("Mohammed", "Mohamed", "Mo"), "Mohammad": ("Mohammed", "Mo"),
    "Patrick": ("Paddy", "Pat"), "Katarzyna": ("Kasia",), "Małgorzata": ("Gosia",),
    "Wojciech": ("Wojtek",), "Aleksandra": ("Ola",), "Agnieszka": ("Aga",),
    "Krzysztof": ("Krzysiek",), "Oluwaseun": ("Seun",), "Oluwatobi": ("Tobi",),
    "Mary": ("Molly", "Polly"), "Sarah": ("Sally",), "Helen": ("Nell",), "Ian": ("Iain",),
    "Alan": ("Allan", "Al"), "Lee": ("Leigh",), "Craig": ("Kraig",), "Paul": ("Paulie",),
    "Mark": ("Marc",), "Emma": ("Em",), "Lisa": ("Liz",), "Claire": ("Clare",),
    "Karen": ("Kaz",), "Sharon": ("Shaz",), "Tracey": ("Tracy",), "Louise": ("Lou",),
}  # fmt: skip

# The other way round too: someone known as "Bill" is recorded as "William".
_FORMAL: dict[str, list[str]] = {}
for _formal, _shorts in NICKNAMES.items():
    for _short in _shorts:
        _FORMAL.setdefault(_short, []).append(_formal)


def name_variants(forename: str) -> tuple[str, ...]:
    """Nicknames, formal forms and spellings a forename is also recorded as."""
    return NICKNAMES.get(forename, ()) + tuple(_FORMAL.get(forename, ()))


_NO_DECOMPOSITION = str.maketrans({"Ł": "L", "ł": "l", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i",
                                   "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE"})  # fmt: skip


def strip_diacritics(text: str) -> str:
    """Text with its accents dropped, as older systems store names (Siân as Sian)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
