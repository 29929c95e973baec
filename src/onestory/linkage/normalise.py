"""Agency records' person columns, normalised once so that comparisons are plain SQL.

Everything the model compares is worked out here in pandas, column at a time (a million
rows in about twenty seconds on two cores), so the comparisons and blocking rules stay simple
equalities and string distances that DuckDB and Spark both run the same way: the nickname
root of a forename, the date of birth with day and month swapped, the postcode's district and
sector, each identifier in its canonical spelling.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

LINK_COLUMNS: tuple[str, ...] = (
    "record_id",
    "source",
    "forenames",
    "surname",
    "date_of_birth",
    "sex",
    "postcode",
    "pnc_id",
    "cro_number",
    "prison_number",
    "probation_crn",
    "uln",
    "ni_number",
    "case_urn",
)
"""The input frame's columns: ``agency_record``'s person columns, ``source`` its layout.

``case_urn`` (the prosecution case a police, CPS or court record belongs to) is optional: a
frame without it links as well, only without the evidence that two records share a case.
"""

PREPARED_COLUMNS: tuple[str, ...] = (
    "record_id",
    "source",
    "forename1",
    "forename2",
    "forename1_root",
    "forenames_joined",
    "surname",
    "surname_first",
    "surname_last",
    "dob",
    "dob_swapped",
    "dob_year",
    "dob_md",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "pnc_id",
    "cro_number",
    "prison_number",
    "probation_crn",
    "uln",
    "ni_number",
    "case_urn",
)
"""What ``prepare`` returns: every column the comparisons and blocking rules use."""

_PNC_PIVOT = 39  # two-digit PNC years below this are 20YY (as domain.identifiers.PNCId)


@cache
def nicknames() -> dict[str, str]:
    """Forename -> the formal name it stands for (``data/nicknames.csv``)."""
    text = resources.files("onestory.linkage").joinpath("data/nicknames.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {row["name"]: row["root"] for row in csv.DictReader(lines)}


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The normalised columns (``PREPARED_COLUMNS``) of a frame of ``LINK_COLUMNS``.

    Names are upper case without accents or punctuation; the first and second forenames are
    split out and the first has a nickname root (BILL -> WILLIAM); a surname keeps its parts
    (hyphenated or double-barrelled) so that one part can match. A blank becomes None.
    """
    missing = [c for c in ("record_id", "forenames", "surname") if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the column(s) {', '.join(missing)} (see LINK_COLUMNS)")
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    out["record_id"] = frame["record_id"].astype(str)
    out["source"] = _column(frame, "source", n).astype("string")

    forenames = _clean_name(_column(frame, "forenames", n))
    parts = forenames.str.split(" ", n=2, expand=True, regex=False)
    out["forename1"] = _blank_none(parts[0]) if 0 in parts else None
    out["forename2"] = _blank_none(parts[1]) if 1 in parts else None
    roots = nicknames()
    out["forename1_root"] = out["forename1"].map(roots).fillna(out["forename1"])
    out["forenames_joined"] = _blank_none(forenames.str.replace(" ", "", regex=False))

    surname_spaced = _clean_name(_column(frame, "surname", n))
    out["surname"] = _blank_none(surname_spaced.str.replace(" ", "", regex=False))
    sparts = surname_spaced.str.split(" ")
    out["surname_first"] = _blank_none(sparts.str[0])
    out["surname_last"] = _blank_none(sparts.str[-1])

    dob = _dates(_column(frame, "date_of_birth", n))
    out["dob"] = _iso(dob)
    swappable = dob.notna() & (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    swapped = pd.to_datetime(
        {
            "year": dob.dt.year.where(swappable, 2000),
            "month": dob.dt.day.where(swappable, 1),
            "day": dob.dt.month.where(swappable, 1),
        },
        errors="coerce",
    ).where(swappable)
    out["dob_swapped"] = _iso(swapped)
    out["dob_year"] = dob.dt.year.astype("Int64")
    out["dob_md"] = _blank_none(dob.dt.strftime("%m-%d"))

    sex = _column(frame, "sex", n).astype("string").str.strip().str.upper().str[:1]
    out["sex"] = sex.where(sex.isin(["M", "F"]))

    postcode = _alnum(_column(frame, "postcode", n))
    valid = postcode.str.len().between(4, 8)
    postcode = postcode.where(valid)
    out["postcode"] = postcode
    out["postcode_district"] = postcode.str[:-3]
    out["postcode_sector"] = postcode.str[:-2]

    out["pnc_id"] = _pnc(_column(frame, "pnc_id", n))
    out["cro_number"] = _cro(_column(frame, "cro_number", n))
    for name in ("prison_number", "probation_crn", "uln", "ni_number", "case_urn"):
        out[name] = _alnum(_column(frame, name, n))
    out = out.astype(
        {c: "string" for c in PREPARED_COLUMNS if c not in ("dob_year",)}, copy=False
    ).astype({"dob_year": "Int64"})
    # Splink and the backends want None for missing text, not pandas' NA.
    return out[list(PREPARED_COLUMNS)].reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str, n: int) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * n, index=frame.index, dtype="object")


def _blank_none(series: pd.Series) -> pd.Series:
    series = series.astype("string")
    return series.where(series.str.len() > 0)


def _clean_name(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.normalize("NFKD")
    text = text.str.encode("ascii", "ignore").str.decode("ascii").astype("string").str.upper()
    # Apostrophes join (O'BRIEN -> OBRIEN); hyphens and other marks separate words.
    text = text.str.replace(r"['`’]", "", regex=True)
    text = text.str.replace(r"[^A-Z]+", " ", regex=True).str.strip()
    return text.fillna("")


def _alnum(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    return text.where(text.str.len() > 0)


def _dates(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip().str[:10]
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def _iso(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d").astype("string").where(dates.notna())


def _pnc(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.upper().str.replace(r"\s", "", regex=True)
    parts = text.str.extract(r"^(\d{4}|\d{2})/?(\d{1,7})([A-Z])$")
    year = pd.to_numeric(parts[0], errors="coerce").astype("float64")
    short = (parts[0].str.len() == 2).fillna(False).astype(bool)
    century = np.where(year < _PNC_PIVOT, 2000, 1900)
    year = year.where(~short, year + century)
    serial = pd.to_numeric(parts[1], errors="coerce").astype("float64")
    ok = year.notna() & serial.notna()
    canonical = (
        year.fillna(0).astype(int).astype(str)
        + "/"
        + serial.fillna(0).astype(int).astype(str).str.zfill(7)
        + parts[2].fillna("")
    )
    # An unparseable ID is kept as written (upper case): it can still equal itself elsewhere.
    return canonical.where(ok, _alnum(text)).astype("string")


def _cro(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.upper().str.replace(r"\s", "", regex=True)
    standard = text.str.extract(r"^0*(\d{1,6})/(\d{2})([A-Z])$")
    serial = pd.to_numeric(standard[0], errors="coerce").astype("float64")
    ok = serial.notna()
    canonical = (
        serial.fillna(0).astype(int).astype(str).str.zfill(6)
        + "/"
        + standard[1].fillna("")
        + standard[2].fillna("")
    )
    return canonical.where(ok, _alnum(text)).astype("string")
