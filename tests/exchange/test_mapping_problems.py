"""Each kind of fault a row can have, on small files written by hand: which field, what is wrong
(quoting the value) and how to put it right; and the variants that are not faults."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from onestory.exchange.mapping import (
    Mapped,
    MappingError,
    Problem,
    Rejected,
    SourceRow,
    detect_layout,
    iter_mapped,
    load_layouts,
    map_row,
    read_layout,
    read_rows,
    record_id,
)

LAYOUTS = load_layouts()
SUSPECTS = LAYOUTS["police-suspects"]
VICTIMS = LAYOUTS["police-victims"]
CPS = LAYOUTS["cps-cases"]
PROBATION = LAYOUTS["probation-orders"]

SUSPECT = {
    "PNC_ID": "2016/0287414Z",
    "CRO_NO": "009371/16P",
    "ASN": "1804BB0000000088719K",
    "URN": "04BB0297518",
    "FORCE": "04",
    "NAME": "TAYLOR, Raymond",
    "DOB": "23/10/1989",
    "SEX": "M",
    "ADDRESS": "Flat 40, Sullivan Court, 169 Carey Drive, Birmingham",
    "POSTCODE": "B38 7PS",
    "OFFENCE_CODE": "CD71039",
    "OFFENCE_DESC": "Criminal damage to property - value under £5000",
    "OFFENCE_GROUP": "criminal damage and arson",
    "OFFENCE_DATE": "06/05/2018",
    "REPORTED_DATE": "15/05/2018",
    "ARREST_DATE": "17/05/2018",
    "OUTCOME_CODE": "1",
    "OUTCOME": "CHARGED/SUMMONSED",
}
VICTIM = {
    "victim_id": "V040000001",
    "urn": "04BB0297518",
    "force": "04",
    "title": "Miss",
    "forenames": "Ridhi",
    "surname": "Aurora",
    "date_of_birth": "26/02/1995",
    "address": "127 Holt Terrace, Burnley",
    "postcode": "BB10 5UA",
    "phone": "07700 900363",
    "email": "ridhi.aurora21@example.org",
    "language": "pt",
    "interpreter": "Y",
    "accessibility": "",
    "disability": "learning disability",
    "contact_channels": "in_person;letter",
    "safe_times": "weekdays after 6pm",
    "do_not_leave_messages": "Y",
    "enhanced_reasons": "domestic_abuse",
}
CPS_CASE: dict[str, Any] = {
    "urn": "04BB0297518",
    "cpsArea": "CPS-NW",
    "policeForce": "04",
    "reviewDate": "2018-08-22",
    "status": "active",
    "defendants": [
        {
            "forename": "Nadeem",
            "middleNames": None,
            "surname": "Hussain",
            "dateOfBirth": "1989-10-23",
            "asn": "1804BB0000000088719K",
            "chargedOn": "2018-08-02",
            "charges": [
                {"offenceCode": "CD71039", "description": "Criminal damage", "status": "proceeding"}
            ],
        }
    ],
    "alterations": [],
}
PROBATION_LINE: dict[str, Any] = {
    "crn": "N239167",
    "name": {"forename": "John", "middleNames": [], "surname": "Jones"},
    "dateOfBirth": "1973-11-11",
    "gender": "Male",
    "otherIds": {
        "pncNumber": "2003/0066779F",
        "croNumber": None,
        "nomsNumber": "A6205AP",
        "niNumber": "RN203347C",
    },
    "order": {
        "type": "Licence",
        "startDate": "2024-08-27",
        "expectedEndDate": "2025-08-27",
        "terminationDate": None,
        "terminationReason": None,
    },
    "region": "PS-NE",
}


def _csv_line(values: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode("utf-8")


def write_csv(path: Path, columns: tuple[str, ...], *rows: dict[str, str] | bytes) -> Path:
    """A CSV file: a dict is written as a proper row, bytes as they are (a broken line)."""
    data = _csv_line(list(columns))
    for row in rows:
        data += row if isinstance(row, bytes) else _csv_line([row[c] for c in columns])
    path.write_bytes(data)
    return path


def suspects(tmp_path: Path, *rows: dict[str, str] | bytes) -> list[Mapped | Rejected]:
    path = write_csv(tmp_path / "police.csv", SUSPECTS.columns, *rows)
    return list(iter_mapped(SUSPECTS, path))


def rejected_one(results: list[Mapped | Rejected]) -> list[Problem]:
    (result,) = results
    assert isinstance(result, Rejected), result
    return result.problems


def mapped_one(results: list[Mapped | Rejected]) -> Mapped:
    (result,) = results
    assert isinstance(result, Mapped), result
    return result


# --- Faults -------------------------------------------------------------------------------


def test_a_bad_check_character_names_the_identifier_and_the_part(tmp_path: Path) -> None:
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"PNC_ID": "2016/0287414Y"}))
    assert problem.field == "PNC_ID"
    assert problem.problem == "PNC ID '2016/0287414Y': check character is 'Y' but should be 'Z'"
    assert "check character" in problem.fix and "source system" in problem.fix


def test_a_malformed_identifier_says_what_form_was_expected(tmp_path: Path) -> None:
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"ASN": "1804BB00000000887"}))
    assert problem.field == "ASN"
    assert "'1804BB00000000887'" in problem.problem
    assert "YYFFUUSSNNNNNNNNNNND" in problem.fix


@pytest.mark.parametrize(
    ("written", "detail"),
    [
        ("31/02/2020", "February 2020 has 29 days"),
        ("29/02/2019", "February 2019 has 28 days"),
        ("31/04/1990", "April 1990 has 30 days"),
        ("12/13/1990", "there is no month 13"),
    ],
)
def test_an_impossible_date_is_named(tmp_path: Path, written: str, detail: str) -> None:
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"DOB": written}))
    assert problem.field == "DOB"
    assert problem.problem == f"'{written}' is not a real date: {detail}"
    assert problem.fix == "give the date as DD/MM/YYYY"


def test_text_that_is_no_date_is_refused(tmp_path: Path) -> None:
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"REPORTED_DATE": "last Tuesday"}))
    assert (problem.field, problem.problem) == ("REPORTED_DATE", "'last Tuesday' is not a date")


@pytest.mark.parametrize("code", ["XX12", "TH6800", "TH68001Z", "68001TH"])
def test_an_offence_code_that_is_no_cjs_code_is_refused(tmp_path: Path, code: str) -> None:
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"OFFENCE_CODE": code}))
    assert problem.field == "OFFENCE_CODE"
    assert f"offence code '{code}'" in problem.problem
    assert problem.fix


def test_a_row_not_in_utf8_is_set_aside_and_the_rest_still_read(tmp_path: Path) -> None:
    bad = _csv_line(list((SUSPECT | {"NAME": "JOSÉ, Maria"}).values())).decode("utf-8")
    path = write_csv(
        tmp_path / "police.csv",
        SUSPECTS.columns,
        SUSPECT,
        bad.encode("cp1252"),
        SUSPECT | {"NAME": "SMITH, Ann"},
    )
    rows = list(read_rows(SUSPECTS, path))
    assert [(r.line, r.record_key) for r in rows] == [(2, "1"), (3, "2"), (4, "3")]
    column = bad.index("É") + 1
    assert rows[1].fields is None
    assert rows[1].decode_problem == (
        f"line 3 is not UTF-8 (byte 0xC9 at column {column}); re-export the file as UTF-8"
    )
    assert "JOS\\xc9, Maria" in rows[1].raw, "the row is kept whole, its bad byte visible"
    assert rows[2].fields is not None and rows[2].fields["NAME"] == "SMITH, Ann"

    results = [map_row(SUSPECTS, row) for row in rows]
    assert [type(r) for r in results] == [Mapped, Rejected, Mapped]
    assert isinstance(results[1], Rejected)
    assert results[1].problems == [
        Problem(
            None,
            f"line 3 is not UTF-8 (byte 0xC9 at column {column})",
            "re-export the file as UTF-8",
        )
    ]


def test_missing_required_values_are_each_named(tmp_path: Path) -> None:
    problems = rejected_one(suspects(tmp_path, SUSPECT | {"NAME": "", "URN": "   "}))
    assert {p.field: p.problem for p in problems} == {
        "NAME": "NAME is blank, but the name is required",
        "URN": "URN is blank, but the case urn is required",
    }
    assert all(p.fix.startswith("fill in ") for p in problems)


def test_blank_optional_values_are_left_out(tmp_path: Path) -> None:
    result = mapped_one(suspects(tmp_path, SUSPECT | {"DOB": "", "POSTCODE": "", "CRO_NO": ""}))
    assert result.body["person"]["datesOfBirth"] == []
    assert result.person.date_of_birth is None and result.person.cro_number is None
    assert result.person.postcode is None


def test_a_row_split_by_an_unquoted_comma_is_set_aside(tmp_path: Path) -> None:
    line = ",".join(SUSPECT.values()).encode("utf-8")  # NAME and ADDRESS hold commas
    rows = list(read_rows(SUSPECTS, write_csv(tmp_path / "p.csv", SUSPECTS.columns, line + b"\n")))
    (row,) = rows
    assert row.fields is None
    assert row.decode_problem is not None
    assert row.decode_problem.startswith("line 2 has 22 values but the header has 18 columns")
    assert "quote every value that holds a comma" in row.decode_problem


def test_a_broken_json_line_is_set_aside_and_the_next_lines_read(tmp_path: Path) -> None:
    good = json.dumps(PROBATION_LINE)
    path = tmp_path / "probation.jsonl"
    path.write_text(
        "\n".join([good, good[:40], "", "[1, 2]", good.replace("N239167", "N239168")]) + "\n",
        encoding="utf-8",
    )
    rows = list(read_rows(PROBATION, path))
    assert [(r.line, r.record_key, r.fields is None) for r in rows] == [
        (1, "1", False),
        (2, "2", True),
        (4, "4", True),
        (5, "5", False),
    ]
    assert rows[1].decode_problem is not None
    assert rows[1].decode_problem.startswith("line 2 is not valid JSON (")
    assert rows[1].raw == good[:40]
    assert rows[2].decode_problem == (
        "line 4 is a JSON list, not an object; write each record as one JSON object on its own line"
    )
    results = [map_row(PROBATION, r) for r in rows]
    assert isinstance(results[1], Rejected)
    (problem,) = results[1].problems
    assert problem.field is None and problem.problem.startswith("line 2 is not valid JSON")
    assert problem.fix == "write each record as one JSON object on its own line"
    assert isinstance(results[3], Mapped) and results[3].person.probation_crn == "N239168"


def test_json_paths_name_the_field_in_a_json_line(tmp_path: Path) -> None:
    line = PROBATION_LINE | {
        "crn": None,
        "otherIds": PROBATION_LINE["otherIds"] | {"niNumber": "RN203347E"},
    }
    path = tmp_path / "probation.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    problems = rejected_one(list(iter_mapped(PROBATION, path)))
    assert {p.field: p.problem for p in problems} == {
        "/crn": "/crn is blank, but the probation crn is required",
        "/otherIds/niNumber": (
            "National Insurance number 'RN203347E': suffix 'E' should be A, B, C or D"
        ),
    }


def test_a_json_array_that_breaks_off_keeps_the_cases_before(tmp_path: Path) -> None:
    second = CPS_CASE | {"urn": "04BB0297519"}
    path = tmp_path / "cps.json"
    path.write_text(
        "[\n" + json.dumps(CPS_CASE) + ",\n" + json.dumps(second) + ",\n" + '{"urn": "04BB02\n',
        encoding="utf-8",
    )
    rows = list(read_rows(CPS, path))
    assert [(r.line, r.record_key, r.fields is None) for r in rows] == [
        (2, "/0/defendants/0", False),
        (3, "/1/defendants/0", False),
        (4, "/2", True),
    ]
    assert rows[2].decode_problem is not None
    assert rows[2].decode_problem.startswith("the JSON breaks off at line 4")


def test_a_json_array_with_bytes_not_in_utf8_says_where(tmp_path: Path) -> None:
    bad = json.dumps(CPS_CASE | {"cpsArea": "CPS-NÉ"}, ensure_ascii=False)
    path = tmp_path / "cps.json"
    path.write_bytes(
        b"[\n" + json.dumps(CPS_CASE).encode() + b",\n" + bad.encode("cp1252") + b"\n]"
    )
    rows = list(read_rows(CPS, path))
    assert rows[0].fields is not None
    assert rows[1].fields is None
    column = bad.index("É") + 1
    assert rows[1].decode_problem == (
        f"line 3 is not UTF-8 (byte 0xC9 at column {column}); re-export the file as UTF-8"
    )


def test_json_paths_name_the_field_in_a_nested_row(tmp_path: Path) -> None:
    defendant = CPS_CASE["defendants"][0] | {"dateOfBirth": "1989-02-30"}
    case = CPS_CASE | {"urn": "04BB029751", "defendants": [CPS_CASE["defendants"][0], defendant]}
    path = tmp_path / "cps.json"
    path.write_text(json.dumps([case]), encoding="utf-8")
    first, second = iter_mapped(CPS, path)
    assert isinstance(first, Rejected) and isinstance(second, Rejected)
    assert [p.field for p in first.problems] == ["/0/urn"]
    assert "'04BB029751'" in first.problems[0].problem
    assert {p.field for p in second.problems} == {"/0/defendants/1/dateOfBirth", "/0/urn"}


def test_a_value_the_common_model_refuses_becomes_a_problem(tmp_path: Path) -> None:
    layout = LAYOUTS["prison-custody"]
    assert layout.source is not None
    # A layout whose lookup gives a value the domain does not know: CustodyEpisode refuses it.
    bad = tmp_path / "prison.yaml"
    bad.write_text(
        layout.source.read_text(encoding="utf-8").replace("REMAND: remand", "REMAND: remanded"),
        encoding="utf-8",
    )
    row = {
        "NOMS_NUMBER": "A6205AP",
        "SURNAME": "JONES",
        "FORENAME": "JOHN",
        "DOB": "1973-11-11",
        "PNC": "03/66779F",
        "CRO": "",
        "ESTABLISHMENT": "DMI",
        "RECEPTION_DATE": "2024-05-29",
        "REASON": "REMAND",
        "RELEASE_DATE": "",
        "RELEASE_TYPE": "",
    }
    path = write_csv(tmp_path / "prisons.csv", layout.columns, row)
    (problem,) = rejected_one(list(iter_mapped(read_layout(bad), path)))
    assert problem.field == "REASON"
    assert problem.problem.startswith("CustodyEpisode reason: Input should be 'remand'")
    assert problem.problem.endswith("(got 'remanded')")
    assert problem.fix == "correct REASON so that it fits the common model"


def test_an_unknown_contact_channel_is_named_with_the_others_in_the_row(tmp_path: Path) -> None:
    row = VICTIM | {"contact_channels": "letter;pigeon", "date_of_birth": "30/02/1995"}
    path = write_csv(tmp_path / "v.csv", VICTIMS.columns, row)
    problems = rejected_one(list(iter_mapped(VICTIMS, path)))
    assert {p.field: p.problem for p in problems} == {
        "contact_channels": "'pigeon' is not a known value",
        "date_of_birth": "'30/02/1995' is not a real date: February 1995 has 28 days",
    }


def test_a_value_outside_a_lookup_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v.csv", VICTIMS.columns, VICTIM | {"enhanced_reasons": "vip"})
    (problem,) = rejected_one(list(iter_mapped(VICTIMS, path)))
    assert (problem.field, problem.problem) == ("enhanced_reasons", "'vip' is not a known value")
    assert "domestic_abuse" in problem.fix and "bereaved" in problem.fix


# --- Variants that are not faults -------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "written", "attribute", "canonical"),
    [
        ("PNC_ID", "16/287414Z", "pnc_id", "2016/0287414Z"),
        ("PNC_ID", "16287414z", "pnc_id", "2016/0287414Z"),
        ("PNC_ID", " 2016/0287414Z ", "pnc_id", "2016/0287414Z"),
        ("CRO_NO", "9371/16P", "cro_number", "009371/16P"),
        ("POSTCODE", "b387ps", "postcode", "B38 7PS"),
        ("POSTCODE", " B38  7PS ", "postcode", "B38 7PS"),
        ("SEX", "m", "sex", "M"),
        ("SEX", "", "sex", "U"),
        ("NAME", "TAYLOR,Raymond", "forenames", "Raymond"),
        ("NAME", "taylor,  raymond  john ", "forenames", "raymond john"),
        ("NAME", "TAYLOR-SMITH , Raymond", "surname", "TAYLOR-SMITH"),
        ("URN", "04 BB 0297518", "case_urn", "04BB0297518"),
    ],
)
def test_spellings_real_extracts_have_are_accepted_in_canonical_form(
    tmp_path: Path, column: str, written: str, attribute: str, canonical: str
) -> None:
    result = mapped_one(suspects(tmp_path, SUSPECT | {column: written}))
    assert getattr(result.person, attribute) == canonical


def test_other_date_spellings_are_read(tmp_path: Path) -> None:
    result = mapped_one(suspects(tmp_path, SUSPECT | {"DOB": "3/5/1989", "ARREST_DATE": ""}))
    assert result.body["person"]["datesOfBirth"] == ["1989-05-03"]
    result = mapped_one(suspects(tmp_path, SUSPECT | {"DOB": "1989-05-03"}))
    assert result.body["person"]["datesOfBirth"] == ["1989-05-03"]


def test_an_asn_in_display_form_is_accepted(tmp_path: Path) -> None:
    result = mapped_one(suspects(tmp_path, SUSPECT | {"ASN": "18/04BB/00/88719K"}))
    assert result.body["record"]["asn"] == "1804BB0000000088719K"


def test_a_police_row_becomes_the_common_model(tmp_path: Path) -> None:
    result = mapped_one(suspects(tmp_path, SUSPECT))
    assert result.agency == "POL04" and result.kind == "police.suspect"
    assert result.row.line == 2 and result.row.record_key == "1"
    person = result.body["person"]
    assert person["names"] == [{"forenames": ["Raymond"], "surname": "TAYLOR", "kind": "current"}]
    assert person["addresses"][0]["lines"] == ["Flat 40", "Sullivan Court", "169 Carey Drive"]
    assert person["addresses"][0]["town"] == "Birmingham"
    assert {i["type"]: i["heldBy"] for i in person["identifiers"]} == {
        "PNC": "POL04",
        "CRO": "POL04",
    }
    case = result.body["record"]["policeCase"]
    assert case["urn"] == "04BB0297518" and case["reportedAt"] == "2018-05-15T00:00:00+01:00"
    assert case["offences"][0]["code"] == "CD71039"
    assert result.person.case_urn == "04BB0297518"


def test_a_victims_reasons_become_the_victims_code_grounds(tmp_path: Path) -> None:
    row = VICTIM | {"enhanced_reasons": "domestic_abuse;bereaved;sexual_offence"}
    path = write_csv(tmp_path / "v.csv", VICTIMS.columns, row)
    result = mapped_one(list(iter_mapped(VICTIMS, path)))
    record = result.body["record"]
    assert record["enhancedRights"] == ["serious_crime", "bereaved_relative"]
    assert record["needs"]["interpreter"] is True
    assert record["contact"]["channels"] == ["in_person", "letter"]


def test_a_learner_name_typed_without_its_space_is_split(tmp_path: Path) -> None:
    layout = LAYOUTS["education-learning"]
    row = {
        "PRISON_NUMBER": "A6205AP",
        "ULN": "1202802566",
        "LEARNER_NAME": "AdamWalker",
        "DOB": "11/11/1973",
        "COURSE": "Maths",
        "QUALIFICATION": "",
        "LEVEL": "1",
        "AWARDING_BODY": "",
        "PROVIDER": "Novus",
        "START_DATE": "10/06/2024",
        "END_DATE": "",
        "OUTCOME": "In progress",
    }
    path = write_csv(tmp_path / "e.csv", layout.columns, row, row | {"LEARNER_NAME": "ADAM"})
    first, second = iter_mapped(layout, path)
    assert isinstance(first, Mapped)
    assert (first.person.forenames, first.person.surname) == ("Adam", "Walker")
    assert first.agency == "EDU-NOVUS"
    assert isinstance(second, Rejected)
    assert second.problems[0].problem == (
        "'ADAM' is one word, but forenames and a surname are needed"
    )


# --- Ids, lines and layouts -----------------------------------------------------------------


def test_record_id_is_sha256_of_the_layout_name_and_canonical_json() -> None:
    fields = {"b": "é", "a": ["1", None]}
    expected = hashlib.sha256(
        ("police-suspects" + '{"a":["1",null],"b":"é"}').encode("utf-8")
    ).hexdigest()
    assert record_id(SUSPECTS, fields) == expected
    assert record_id(SUSPECTS, dict(reversed(fields.items()))) == expected
    assert record_id(VICTIMS, fields) != expected


def test_a_resubmitted_row_is_mapped_like_any_other() -> None:
    fields = SUSPECT | {"PNC_ID": "2016/0287414Z"}
    row = SourceRow(line=9, record_key="8", raw="as it was", fields=fields)
    result = map_row(SUSPECTS, row)
    assert isinstance(result, Mapped) and result.id == record_id(SUSPECTS, fields)


def test_rows_of_a_pretty_printed_json_array_start_where_their_case_opens(tmp_path: Path) -> None:
    text = json.dumps({"prosecutionCases": [{"id": "a"}, {"id": "b"}]}, indent=2)
    path = tmp_path / "courts.json"
    path.write_text(text, encoding="utf-8")
    layout = LAYOUTS["court-cases"]
    rows = list(read_rows(layout, path))
    opening = [i + 1 for i, line in enumerate(text.splitlines()) if line == "    {"]
    assert [r.line for r in rows] == opening
    assert [r.record_key for r in rows] == ["/prosecutionCases/0", "/prosecutionCases/1"]
    assert all(r.decode_problem and "no list of defendants" in r.decode_problem for r in rows)


def test_a_layout_file_with_a_mistake_is_refused_naming_the_file(tmp_path: Path) -> None:
    assert SUSPECTS.source is not None
    text = SUSPECTS.source.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("convert: date_dmy", "convert: date_mdy", 1), encoding="utf-8")
    with pytest.raises(
        MappingError, match=r"bad\.yaml: field date_of_birth: conversion 'date_mdy'"
    ):
        read_layout(bad)
    bad.write_text(text.replace("source: DOB", "source: BIRTH_DATE"), encoding="utf-8")
    with pytest.raises(MappingError, match=r"columns not in the header: \['BIRTH_DATE'\]"):
        read_layout(bad)


def test_every_layout_ships_and_says_who_it_belongs_to() -> None:
    assert sorted(LAYOUTS) == [
        "court-cases",
        "cps-cases",
        "education-learning",
        "police-suspects",
        "police-victims",
        "prison-custody",
        "probation-orders",
    ]
    assert {layout.kind for layout in LAYOUTS.values()} == {
        "police.suspect",
        "police.victim",
        "cps.defendant",
        "court.defendant",
        "prison.custody",
        "probation.order",
        "education.learning",
    }


def test_a_byte_order_mark_and_windows_line_endings_are_read(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    path = tmp_path / "police.csv"
    lines = [_csv_line(list(SUSPECTS.columns)), _csv_line(list(SUSPECT.values()))]
    path.write_bytes(bom + b"".join(line.replace(b"\n", b"\r\n") for line in lines))
    assert detect_layout("police", path) == SUSPECTS
    (row,) = read_rows(SUSPECTS, path)
    assert row.fields is not None and row.fields["OUTCOME"] == "CHARGED/SUMMONSED"
    assert not row.raw.endswith("\r")

    path = tmp_path / "cps.json"
    path.write_bytes(bom + b"[\r\n" + json.dumps(CPS_CASE).encode() + b"\r\n]\r\n")
    assert detect_layout("cps", path) == CPS
    assert [r.line for r in read_rows(CPS, path)] == [2]

    path = tmp_path / "probation.jsonl"
    path.write_bytes(bom + json.dumps(PROBATION_LINE).encode() + b"\r\n")
    assert detect_layout("probation", path) == PROBATION
    (result,) = iter_mapped(PROBATION, path)
    assert isinstance(result, Mapped) and result.row.raw == json.dumps(PROBATION_LINE)


def test_a_name_longer_than_the_record_store_keeps_is_refused(tmp_path: Path) -> None:
    long_surname = "A" * 101
    (problem,) = rejected_one(suspects(tmp_path, SUSPECT | {"NAME": f"{long_surname}, Ray"}))
    assert problem.field == "NAME"
    assert problem.problem == (
        f"the surname '{long_surname}' is 101 characters long, more than a surname can be"
    )
    path = write_csv(tmp_path / "v.csv", VICTIMS.columns, VICTIM | {"forenames": "Ann " * 60})
    (problem,) = rejected_one(list(iter_mapped(VICTIMS, path)))
    assert (
        problem.field == "forenames" and "more than a list of forenames can be" in problem.problem
    )


def test_a_layout_lacking_a_field_its_record_reads_is_refused(tmp_path: Path) -> None:
    assert CPS.source is not None
    text = CPS.source.read_text(encoding="utf-8")
    bad = tmp_path / "cps.yaml"
    bad.write_text(text.replace("  cps_area:", "  area:"), encoding="utf-8")
    with pytest.raises(MappingError, match=r"record cps_defendant reads fields .*\['cps_area'\]"):
        read_layout(bad)
    bad.write_text(text.replace("      status:\n", "      state:\n", 1), encoding="utf-8")
    with pytest.raises(MappingError, match=r"\['charges\.status'\]"):
        read_layout(bad)
