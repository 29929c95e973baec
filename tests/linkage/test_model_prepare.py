"""The linkage model's normalisation: names, dates, postcodes and identifiers as compared."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from onestory.linkage.model import LINK_COLUMNS, prepare
from onestory.linkage.normalise import PREPARED_COLUMNS, nicknames


def _one(**columns: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(LINK_COLUMNS)
    row.update(record_id="r1", forenames="John", surname="Smith")
    row.update(columns)
    prepared = prepare(pd.DataFrame([row], columns=list(LINK_COLUMNS)))
    assert list(prepared.columns) == list(PREPARED_COLUMNS)
    out = prepared.iloc[0].to_dict()
    return {k: (None if v is pd.NA else v) for k, v in out.items()}


def test_names_lose_case_accents_and_punctuation_and_keep_their_parts() -> None:
    row = _one(forenames="  siân  mary-ann ", surname="O'Brien-Smith")
    assert row["forename1"] == "SIAN"
    assert row["forename2"] == "MARY"
    assert row["forenames_joined"] == "SIANMARYANN"
    assert row["surname"] == "OBRIENSMITH"
    assert (row["surname_first"], row["surname_last"]) == ("OBRIEN", "SMITH")


def test_a_nickname_has_the_formal_name_as_its_root() -> None:
    assert _one(forenames="Bill")["forename1_root"] == "WILLIAM"
    assert _one(forenames="William")["forename1_root"] == "WILLIAM"
    assert _one(forenames="Zebedee")["forename1_root"] == "ZEBEDEE"
    table = nicknames()
    assert table["BOB"] == "ROBERT"
    assert table["ANT"] == "ANTHONY"


def test_date_of_birth_parts_and_its_day_month_swap() -> None:
    row = _one(date_of_birth=date(1989, 3, 7))
    assert row["dob"] == "1989-03-07"
    assert row["dob_swapped"] == "1989-07-03"
    assert row["dob_year"] == 1989
    assert row["dob_md"] == "03-07"
    # No swap where the day cannot be a month, or day and month are the same.
    assert _one(date_of_birth="1989-10-23")["dob_swapped"] is None
    assert _one(date_of_birth="1989-05-05")["dob_swapped"] is None
    assert _one(date_of_birth="not a date")["dob"] is None


def test_postcode_district_and_sector() -> None:
    row = _one(postcode="b38 7ps")
    assert (row["postcode"], row["postcode_sector"], row["postcode_district"]) == (
        "B387PS",
        "B387",
        "B38",
    )
    assert _one(postcode="X")["postcode"] is None


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("16/287414Z", "2016/0287414Z"),
        ("2016/0287414Z", "2016/0287414Z"),
        ("20160287414Z", "2016/0287414Z"),
        ("81/34u", "1981/0000034U"),
        ("2016/028741", "2016028741"),  # unparseable: kept as written, without punctuation
    ],
)
def test_pnc_ids_in_any_spelling_become_one(written: str, canonical: str) -> None:
    assert _one(pnc_id=written)["pnc_id"] == canonical


def test_cro_numbers_are_padded_and_other_ids_compacted() -> None:
    row = _one(cro_number="9371/16P", ni_number="ab 12 34 56 c", prison_number=" a1234bc")
    assert row["cro_number"] == "009371/16P"
    assert row["ni_number"] == "AB123456C"
    assert row["prison_number"] == "A1234BC"


def test_a_frame_without_names_is_refused_naming_the_columns() -> None:
    with pytest.raises(ValueError, match="forenames, surname"):
        prepare(pd.DataFrame({"record_id": ["a"]}))


def test_missing_optional_columns_are_blank() -> None:
    prepared = prepare(pd.DataFrame({"record_id": [1], "forenames": ["A"], "surname": ["B"]}))
    assert prepared.loc[0, "record_id"] == "1"
    assert prepared["pnc_id"].isna().all()
    assert prepared["case_urn"].isna().all()
