"""A synthetic world's extracts as one linkage frame, with its ground truth for scoring.

The benchmark and the tests read the files ``onestory synth`` writes. The exchange's mapping
(``exchange.mapping``) is the real reader; until its ``iter_mapped`` is there, a small reader
here takes the person columns straight from each layout (``reader`` in the result says which
one was used). Ground truth is for scoring only: training never sees it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from onestory.linkage.normalise import LINK_COLUMNS

EXTRACTS: tuple[str, ...] = (
    "police.csv",
    "police_victims.csv",
    "cps.json",
    "courts.json",
    "prisons.csv",
    "education.csv",
    "probation.jsonl",
)


def world_frame(directory: Path) -> tuple[pd.DataFrame, str]:
    """Every agency record of a world as LINK_COLUMNS, ``record_id`` = ``file:record_key``."""
    rows = list(_mapping_rows(directory) or _simple_rows(directory))
    reader = "exchange.mapping" if _has_mapping() else "linkage.worlds (temporary)"
    frame = pd.DataFrame(rows, columns=list(LINK_COLUMNS))
    return frame, reader


def ground_truth(directory: Path) -> pd.DataFrame:
    """``record_id`` -> ``person_id`` for the agency records (events left out)."""
    truth = pd.read_csv(directory / "ground_truth.csv", dtype=str, keep_default_na=False)
    truth = truth[truth["file"].isin(EXTRACTS)]
    return pd.DataFrame(
        {"record_id": truth["file"] + ":" + truth["record_key"], "person_id": truth["person_id"]}
    ).drop_duplicates("record_id")


def _has_mapping() -> bool:
    from onestory.exchange import mapping

    return hasattr(mapping, "iter_mapped") and hasattr(mapping, "detect_layout")


def _mapping_rows(directory: Path) -> list[dict[str, Any]] | None:
    if not _has_mapping():
        return None
    from onestory.exchange import mapping

    agencies = {
        "police.csv": "police",
        "police_victims.csv": "police",
        "cps.json": "cps",
        "courts.json": "court",
        "prisons.csv": "prison",
        "education.csv": "education",
        "probation.jsonl": "probation",
    }
    rows: list[dict[str, Any]] = []
    for name, agency in agencies.items():
        path = directory / name
        if not path.exists():
            continue
        layout = mapping.detect_layout(agency, path)
        for result in mapping.iter_mapped(layout, path):
            if not isinstance(result, mapping.Mapped):
                continue
            person = result.person
            row = {c: getattr(person, c, None) for c in LINK_COLUMNS[2:]}
            row["record_id"] = f"{name}:{result.row.record_key}"
            row["source"] = layout.name
            rows.append(row)
    return rows


def _simple_rows(directory: Path) -> Iterator[dict[str, Any]]:
    readers = {
        "police.csv": _police,
        "police_victims.csv": _victims,
        "cps.json": _cps,
        "courts.json": _courts,
        "prisons.csv": _prisons,
        "education.csv": _education,
        "probation.jsonl": _probation,
    }
    for name, read in readers.items():
        path = directory / name
        if path.exists():
            for key, row in read(path):
                row["record_id"] = f"{name}:{key}"
                row["source"] = name.split(".")[0]
                yield row


def _csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        yield from enumerate(csv.DictReader(handle), start=1)


def _dmy(text: str | None) -> str | None:
    if not text:
        return None
    parts = text.strip().split("/")
    if len(parts) == 3:
        return f"{parts[2]}-{parts[1].zfill(2)}-{parts[0].zfill(2)}"
    return text.strip()


def _police(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in _csv(path):
        surname, _, forenames = (row.get("NAME") or "").partition(",")
        yield (
            number,
            {
                "forenames": forenames.strip(),
                "surname": surname.strip(),
                "date_of_birth": _dmy(row.get("DOB")),
                "sex": row.get("SEX"),
                "postcode": row.get("POSTCODE"),
                "pnc_id": row.get("PNC_ID"),
                "cro_number": row.get("CRO_NO"),
                "case_urn": row.get("URN"),
            },
        )


def _victims(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in _csv(path):
        yield (
            number,
            {
                "forenames": row.get("forenames"),
                "surname": row.get("surname"),
                "date_of_birth": _dmy(row.get("date_of_birth")),
                "postcode": row.get("postcode"),
                "case_urn": row.get("urn"),
            },
        )


def _prisons(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in _csv(path):
        yield (
            number,
            {
                "forenames": row.get("FORENAME"),
                "surname": row.get("SURNAME"),
                "date_of_birth": row.get("DOB"),
                "pnc_id": row.get("PNC"),
                "cro_number": row.get("CRO"),
                "prison_number": row.get("NOMS_NUMBER"),
            },
        )


def _education(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in _csv(path):
        forenames, _, surname = (row.get("LEARNER_NAME") or "").strip().rpartition(" ")
        yield (
            number,
            {
                "forenames": forenames,
                "surname": surname,
                "date_of_birth": _dmy(row.get("DOB")),
                "prison_number": row.get("PRISON_NUMBER"),
                "uln": row.get("ULN"),
            },
        )


def _cps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, case in enumerate(json.loads(path.read_text("utf-8"))):
        for j, d in enumerate(case.get("defendants") or []):
            middle = d.get("middleNames")
            yield (
                f"/{i}/defendants/{j}",
                {
                    "forenames": " ".join(x for x in (d.get("forename"), middle) if x),
                    "surname": d.get("surname"),
                    "date_of_birth": d.get("dateOfBirth"),
                    "case_urn": case.get("urn"),
                },
            )


def _courts(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    cases = json.loads(path.read_text("utf-8"))["prosecutionCases"]
    for i, case in enumerate(cases):
        for j, d in enumerate(case.get("defendants") or []):
            p = (d.get("personDefendant") or {}).get("personDetails") or {}
            yield (
                f"/prosecutionCases/{i}/defendants/{j}",
                {
                    "forenames": " ".join(
                        x for x in (p.get("firstName"), p.get("middleName")) if x
                    ),
                    "surname": p.get("lastName"),
                    "date_of_birth": p.get("dateOfBirth"),
                    "sex": (p.get("gender") or "")[:1],
                    "postcode": (p.get("address") or {}).get("postcode"),
                    "pnc_id": d.get("pncId"),
                    "cro_number": d.get("croNumber"),
                    "case_urn": (case.get("prosecutionCaseIdentifier") or {}).get("caseURN"),
                },
            )


def _probation(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            d = json.loads(line)
            name = d.get("name") or {}
            ids = d.get("otherIds") or {}
            yield (
                number,
                {
                    "forenames": " ".join(
                        [name.get("forename") or "", *(name.get("middleNames") or [])]
                    ),
                    "surname": name.get("surname"),
                    "date_of_birth": d.get("dateOfBirth"),
                    "sex": (d.get("gender") or "")[:1],
                    "postcode": (d.get("address") or {}).get("postcode"),
                    "pnc_id": ids.get("pncNumber"),
                    "cro_number": ids.get("croNumber"),
                    "prison_number": ids.get("nomsNumber"),
                    "probation_crn": d.get("crn"),
                    "ni_number": ids.get("niNumber"),
                },
            )
