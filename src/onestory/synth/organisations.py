"""The organisations of the synthetic world: real forces, courts, prisons and services.

Police force codes are the two-digit codes of the Police National Computer as listed in the
Ministry of Justice's Bichard7 standing data (``forces.json``); court codes are the court agency
codes of HMPPS's prison register; prison codes are the three-letter establishment codes from the
same register. Which court, prison or education provider serves which force here is a plausible
simplification, not the official map. CPS areas, Witness Care Units and probation regions carry
codes of our own, since they have no public code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Force:
    """A police force and the places and services around it."""

    code: str
    name: str
    units: tuple[str, ...]  # two-character unit codes used in URNs and ASNs
    magistrates: tuple[str, ...]  # court codes
    crown: tuple[str, ...]
    cps_areas: tuple[str, ...]
    probation_region: str
    prisons_men: tuple[str, ...]  # local prisons first: reception after court
    prisons_women: tuple[str, ...]
    welsh: bool = False


COURTS: dict[str, str] = {
    "STRAMC": "Stratford Magistrates' Court",
    "THMSMC": "Thames Magistrates' Court",
    "STHWCC": "Southwark Crown Court",
    "SNARCC": "Snaresbrook Crown Court",
    "CNTRCC": "Central Criminal Court",
    "PRESMC": "Preston Magistrates' Court",
    "BLKBMC": "Blackburn Magistrates' Court",
    "PRESCC": "Preston Crown Court",
    "BURNCC": "Burnley Crown Court",
    "LVRDMC": "Liverpool Magistrates' Court",
    "SEFTMC": "Sefton Magistrates' Court",
    "LVRPCC": "Liverpool Crown Court",
    "MNCHMC": "Manchester Magistrates' Court",
    "STOCMC": "Stockport Magistrates' Court",
    "MNCMCC": "Manchester Crown Court (Minshull Street)",
    "MNCCCC": "Manchester Crown Court (Crown Square)",
    "NUTMQC": "Newcastle upon Tyne Magistrates' Court",
    "SUNDMC": "Sunderland Magistrates' Court",
    "NEUTCC": "Newcastle upon Tyne Crown Court",
    "LEEDMC": "Leeds Magistrates' Court",
    "BRADMC": "Bradford Magistrates' Court",
    "WAKFMC": "Wakefield Magistrates' Court",
    "LEEDCC": "Leeds Crown Court",
    "BRADCC": "Bradford Crown Court",
    "SHEFMC": "Sheffield Magistrates' Court",
    "DONCMC": "Doncaster Magistrates' Court",
    "SHEFCC": "Sheffield Crown Court",
    "DONCCC": "Doncaster Crown Court",
    "BRMCMC": "Birmingham Magistrates' Court",
    "CVNTMC": "Coventry Magistrates' Court",
    "BRMNCC": "Birmingham Crown Court",
    "CVNTCC": "Coventry Crown Court",
    "READMC": "Reading Magistrates' Court",
    "OXFRMC": "Oxford Magistrates' Court",
    "MLTKMC": "Milton Keynes Magistrates' Court",
    "READCC": "Reading Crown Court",
    "OXFDCC": "Oxford Crown Court",
    "AYLSCC": "Aylesbury Crown Court",
    "MDSTMC": "Maidstone Magistrates' Court",
    "MEDWMC": "Medway Magistrates' Court",
    "MDSTCC": "Maidstone Crown Court",
    "CANTCC": "Canterbury Crown Court",
    "BRSTMC": "Bristol Magistrates' Court",
    "TAUNMC": "Taunton Magistrates' Court",
    "BRSTCC": "Bristol Crown Court",
    "TAUNCC": "Taunton Crown Court",
    "LLDUMC": "Llandudno Magistrates' Court",
    "MOLDMC": "Mold Magistrates' Court",
    "CRNHMC": "Caernarfon Magistrates' Court",
    "MOLDCC": "Mold Crown Court",
    "CRNRCC": "Caernarfon Crown Court",
    "NEWPMC": "Newport (South Wales) Magistrates' Court",
    "CWMBMC": "Cwmbran Magistrates' Court",
    "NWPRCC": "Newport (South Wales) Crown Court",
    "CRDFMC": "Cardiff Magistrates' Court",
    "SWNGMC": "Swansea Magistrates' Court",
    "MRTHMC": "Merthyr Tydfil Magistrates' Court",
    "CRDFCC": "Cardiff Crown Court",
    "SWANCC": "Swansea Crown Court",
    "MRTHCC": "Merthyr Tydfil Crown Court",
    "LLNLMC": "Llanelli Magistrates' Court",
    "CARMMC": "Carmarthen Magistrates' Court",
    "ABRYMC": "Aberystwyth Magistrates' Court",
    "CARMCC": "Carmarthen Crown Court",
}

PRISONS: dict[str, str] = {
    "PVI": "HMP Pentonville",
    "WWI": "HMP Wandsworth",
    "BAI": "HMP Belmarsh",
    "TSI": "HMP Thameside",
    "WSI": "HMP Wormwood Scrubs",
    "BZI": "HMP Bronzefield",
    "DWI": "HMP Downview",
    "PNI": "HMP Preston",
    "LPI": "HMP Liverpool",
    "ACI": "HMP Altcourse",
    "MRI": "HMP Manchester",
    "FBI": "HMP & YOI Forest Bank",
    "STI": "HMP & YOI Styal",
    "DMI": "HMP Durham",
    "NLI": "HMP Northumberland",
    "LNI": "HMP Low Newton",
    "LEI": "HMP Leeds",
    "DNI": "HMP Doncaster",
    "MDI": "HMP & YOI Moorland",
    "HMI": "HMP Humber",
    "WDI": "HMP Wakefield",
    "NHI": "HMP New Hall",
    "BMI": "HMP Birmingham",
    "OWI": "HMP Oakwood",
    "DHI": "HMP & YOI Drake Hall",
    "BNI": "HMP Bullingdon",
    "EYI": "HMP Elmley",
    "BLI": "HMP Bristol",
    "EWI": "HMP Eastwood Park",
    "CFI": "HMP Cardiff",
    "SWI": "HMP Swansea",
    "PRI": "HMP Parc",
    "BWI": "HMP Berwyn",
    "UKI": "HMP Usk",
}

CPS_AREAS: dict[str, str] = {
    "CPS-LN": "CPS London North",
    "CPS-LS": "CPS London South",
    "CPS-NW": "CPS North West",
    "CPS-MC": "CPS Mersey-Cheshire",
    "CPS-NE": "CPS North East",
    "CPS-YH": "CPS Yorkshire and Humberside",
    "CPS-WM": "CPS West Midlands",
    "CPS-TC": "CPS Thames and Chiltern",
    "CPS-SE": "CPS South East",
    "CPS-SW": "CPS South West",
    "CPS-CW": "CPS Cymru-Wales",
}

PROBATION_REGIONS: dict[str, str] = {
    "PS-LDN": "Probation Service London",
    "PS-NW": "Probation Service North West",
    "PS-GM": "Probation Service Greater Manchester",
    "PS-NE": "Probation Service North East",
    "PS-YH": "Probation Service Yorkshire and the Humber",
    "PS-WM": "Probation Service West Midlands",
    "PS-SC": "Probation Service South Central",
    "PS-KSS": "Probation Service Kent, Surrey and Sussex",
    "PS-SW": "Probation Service South West",
    "PS-WAL": "Probation Service Wales",
}

# Real Prison Education Framework and community learning providers; the regions each serves
# here are a simplification.
EDUCATION_PROVIDERS: dict[str, str] = {
    "EDU-NOVUS": "Novus",
    "EDU-MKC": "Milton Keynes College",
    "EDU-WESTON": "Weston College",
    "EDU-PPLUS": "PeoplePlus",
}

PROVIDER_BY_REGION: dict[str, str] = {
    "PS-LDN": "EDU-MKC",
    "PS-NW": "EDU-NOVUS",
    "PS-GM": "EDU-NOVUS",
    "PS-NE": "EDU-NOVUS",
    "PS-YH": "EDU-NOVUS",
    "PS-WM": "EDU-PPLUS",
    "PS-SC": "EDU-MKC",
    "PS-KSS": "EDU-WESTON",
    "PS-SW": "EDU-WESTON",
    "PS-WAL": "EDU-NOVUS",
}

VICTIM_SUPPORT = ("VS", "Victim Support")
COMPENSATION = ("CICA", "Criminal Injuries Compensation Authority")

FORCES: tuple[Force, ...] = (
    Force("01", "Metropolitan Police Service", ("AB", "EK", "HT", "SX", "WA", "CW"),
          ("STRAMC", "THMSMC"), ("STHWCC", "SNARCC", "CNTRCC"), ("CPS-LN", "CPS-LS"),
          "PS-LDN", ("PVI", "WWI", "BAI", "TSI", "WSI"), ("BZI", "DWI")),
    Force("04", "Lancashire Constabulary", ("PR", "BB", "FY"), ("PRESMC", "BLKBMC"),
          ("PRESCC", "BURNCC"), ("CPS-NW",), "PS-NW", ("PNI", "WDI"), ("STI",)),
    Force("05", "Merseyside Police", ("LV", "WR", "SH"), ("LVRDMC", "SEFTMC"), ("LVRPCC",),
          ("CPS-MC",), "PS-NW", ("LPI", "ACI"), ("STI",)),
    Force("06", "Greater Manchester Police", ("MC", "SF", "BL", "OL"), ("MNCHMC", "STOCMC"),
          ("MNCMCC", "MNCCCC"), ("CPS-NW",), "PS-GM", ("MRI", "FBI"), ("STI",)),
    Force("10", "Northumbria Police", ("NC", "SU", "GH"), ("NUTMQC", "SUNDMC"), ("NEUTCC",),
          ("CPS-NE",), "PS-NE", ("DMI", "NLI"), ("LNI",)),
    Force("13", "West Yorkshire Police", ("LD", "BD", "WF", "KC"),
          ("LEEDMC", "BRADMC", "WAKFMC"), ("LEEDCC", "BRADCC"), ("CPS-YH",), "PS-YH",
          ("LEI", "MDI", "WDI"), ("NHI",)),
    Force("14", "South Yorkshire Police", ("SD", "DR", "RM"), ("SHEFMC", "DONCMC"),
          ("SHEFCC", "DONCCC"), ("CPS-YH",), "PS-YH", ("DNI", "MDI", "HMI"), ("NHI",)),
    Force("20", "West Midlands Police", ("BE", "CV", "WV", "WS"), ("BRMCMC", "CVNTMC"),
          ("BRMNCC", "CVNTCC"), ("CPS-WM",), "PS-WM", ("BMI", "OWI"), ("DHI",)),
    Force("43", "Thames Valley Police", ("RG", "OX", "MK"), ("READMC", "OXFRMC", "MLTKMC"),
          ("READCC", "OXFDCC", "AYLSCC"), ("CPS-TC",), "PS-SC", ("BNI",), ("BZI",)),
    Force("46", "Kent Police", ("MS", "ME", "CT"), ("MDSTMC", "MEDWMC"), ("MDSTCC", "CANTCC"),
          ("CPS-SE",), "PS-KSS", ("EYI",), ("BZI",)),
    Force("52", "Avon and Somerset Constabulary", ("BS", "TA", "BA"), ("BRSTMC", "TAUNMC"),
          ("BRSTCC", "TAUNCC"), ("CPS-SW",), "PS-SW", ("BLI",), ("EWI",)),
    Force("60", "North Wales Police", ("WX", "CN", "RH"), ("LLDUMC", "MOLDMC", "CRNHMC"),
          ("MOLDCC", "CRNRCC"), ("CPS-CW",), "PS-WAL", ("BWI",), ("STI",), welsh=True),
    Force("61", "Gwent Police", ("NP", "CB"), ("NEWPMC", "CWMBMC"), ("NWPRCC",), ("CPS-CW",),
          "PS-WAL", ("CFI", "UKI", "PRI"), ("EWI",), welsh=True),
    Force("62", "South Wales Police", ("CF", "SA", "MT", "BR"),
          ("CRDFMC", "SWNGMC", "MRTHMC"), ("CRDFCC", "SWANCC", "MRTHCC"), ("CPS-CW",),
          "PS-WAL", ("CFI", "SWI", "PRI"), ("EWI",), welsh=True),
    Force("63", "Dyfed-Powys Police", ("CM", "LL", "AY"), ("LLNLMC", "CARMMC", "ABRYMC"),
          ("CARMCC", "SWANCC"), ("CPS-CW",), "PS-WAL", ("SWI", "PRI"), ("EWI",), welsh=True),
)  # fmt: skip

FORCE_BY_CODE: dict[str, Force] = {force.code: force for force in FORCES}

# Rough shares of recorded crime: the Met is by far the largest force.
FORCE_WEIGHTS: tuple[float, ...] = (
    22.0, 5.0, 5.0, 10.0, 5.0, 9.0, 5.0, 10.0, 6.0, 6.0, 5.0, 2.5, 2.0, 5.0, 1.5
)  # fmt: skip


def witness_care_code(force: Force) -> str:
    """The organisation code of the force's Witness Care Unit."""
    return f"WCU{force.code}"


def police_code(force: Force) -> str:
    """The organisation code of a police force (its PNC force code, prefixed)."""
    return f"POL{force.code}"


def organisations() -> list[dict[str, str]]:
    """Every organisation of the world, as ``organisations.json`` lists them."""
    rows: list[dict[str, str]] = []
    for force in FORCES:
        rows.append({"code": police_code(force), "name": force.name, "kind": "police",
                     "forceCode": force.code})  # fmt: skip
    rows += [{"code": c, "name": n, "kind": "cps"} for c, n in CPS_AREAS.items()]
    rows += [
        {"code": c, "name": n, "kind": "court",
         "courtType": "crown" if c.endswith("CC") else "magistrates"}
        for c, n in COURTS.items()
    ]  # fmt: skip
    for force in FORCES:
        name = force.name.replace(" Service", "")
        rows.append({"code": witness_care_code(force), "name": f"{name} Witness Care Unit",
                     "kind": "witness_care", "forceCode": force.code})  # fmt: skip
    rows += [{"code": c, "name": n, "kind": "prison"} for c, n in PRISONS.items()]
    rows += [{"code": c, "name": n, "kind": "probation"} for c, n in PROBATION_REGIONS.items()]
    rows += [{"code": c, "name": n, "kind": "education"} for c, n in EDUCATION_PROVIDERS.items()]
    rows.append({"code": VICTIM_SUPPORT[0], "name": VICTIM_SUPPORT[1], "kind": "victim_support"})
    rows.append({"code": COMPENSATION[0], "name": COMPENSATION[1], "kind": "compensation"})
    return rows
