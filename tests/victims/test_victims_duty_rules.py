"""Victims' Code duties as data: the packaged Code, conditions, broken files by file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from onestory.domain.base import AgencyKind
from onestory.victims.duties import (
    ACTS,
    TRIGGERS,
    CodeRules,
    DutyRule,
    DutyRuleError,
    days_for,
    load_all_code_rules,
    load_code_rules,
    rules_directory,
    rules_in_force,
)

# From the reference's table "Duties with a clock": id -> (right, owner, standard, enhanced).
REFERENCE: dict[str, tuple[int, str, int | None, int | None]] = {
    "R4.1": (4, "police", 2, 2),
    "R6.1": (6, "police", 5, 1),
    "R6.2": (6, "police", 5, 1),
    "R6.3": (6, "police", 5, 1),
    "R6.4": (6, "cps", 5, 1),
    "R6.5": (6, "police", None, None),
    "R8.1": (8, "court", 5, 5),
    "R8.2": (8, "witness_care", 1, 1),
    "R8.3": (8, "witness_care", 5, 1),
    "R8.4": (8, "witness_care", 1, 1),
    "R9.1": (9, "witness_care", 1, 1),
    "R9.2": (9, "witness_care", 1, 1),
    "R9.3": (9, "witness_care", 1, 1),
    "R10.1": (10, "cps", 10, 10),
    "R11.1": (11, "witness_care", 10, 10),
    "R11.2": (11, "probation", 20, 20),
    "R12.1": (12, "any", 10, 10),
}

VALID = """\
code: Code of Practice for Victims of Crime in England and Wales
version: "2099"
in_force_from: 2099-01-01
source: A future Code.
duties:
  - id: R8.2
    right: 8
    title: Tell the victim the date, time and place of a hearing
    owner: witness_care
    starts_on: [hearing.listed]
    closed_by: [victim.told]
    standard_days: 1
    enhanced_days: 1
    source: Right 8.
  - id: R12.1
    right: 12
    title: Answer a complaint
    owner: any
    starts_on:
      - complaint.received
    closed_by: [complaint.answered]
    standard_days: 10
    enhanced_days: 10
    source: Right 12.
"""


def write(folder: Path, text: str, name: str = "victims-code-2099.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(path: Path) -> str:
    with pytest.raises(DutyRuleError) as caught:
        load_code_rules(path)
    return str(caught.value)


@pytest.fixture(scope="module")
def code_2021() -> CodeRules:
    return load_code_rules(rules_directory() / "victims-code-2021.yaml")


def test_the_packaged_code_has_every_duty_of_the_reference(code_2021: CodeRules) -> None:
    assert code_2021.version == "2021"
    assert code_2021.in_force_from == date(2021, 4, 1)
    assert [rule.id for rule in code_2021.rules] == list(REFERENCE)
    found = {r.id: (r.right, r.owner, r.standard_days, r.enhanced_days) for r in code_2021.rules}
    assert found == REFERENCE


def test_every_packaged_duty_cites_its_source_and_uses_the_vocabulary(
    code_2021: CodeRules,
) -> None:
    owners = {kind.value for kind in AgencyKind} | {"any"}
    for rule in code_2021.rules:
        assert f"Right {rule.right}" in rule.source, rule.id
        assert "summaries" in rule.source, rule.id
        assert rule.owner in owners
        assert set(rule.starts_on) <= TRIGGERS
        assert set(rule.closed_by) <= ACTS


def test_the_packaged_folder_loads_and_names_files_after_versions() -> None:
    versions = load_all_code_rules()
    assert [v.version for v in versions] == sorted(v.version for v in versions)
    for v in versions:
        assert v.path.name == f"victims-code-{v.version}.yaml"


def test_the_code_in_force_is_the_latest_begun(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    (tmp_path / "victims-code-2021.yaml").write_bytes(
        (rules_directory() / "victims-code-2021.yaml").read_bytes()
    )
    versions = load_all_code_rules(tmp_path)
    assert [v.version for v in versions] == ["2021", "2099"]
    assert rules_in_force(date(2021, 4, 1), versions).version == "2021"
    assert rules_in_force(date(2098, 12, 31), versions).version == "2021"
    assert rules_in_force(date(2099, 1, 1), versions).version == "2099"
    with pytest.raises(LookupError, match="2021-03-31"):
        rules_in_force(date(2021, 3, 31), versions)


def test_two_files_for_one_version_or_one_day_are_refused(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID.replace("2099-01-01", "2099-06-01"), "b.yaml")
    with pytest.raises(DutyRuleError, match=r"b\.yaml: version '2099' is also .*a\.yaml"):
        load_all_code_rules(tmp_path)
    write(tmp_path, VALID.replace('"2099"', '"2099b"').replace("06-01", "01-01"), "b.yaml")
    with pytest.raises(DutyRuleError, match=r"in force from 2099-01-01, as is .*a\.yaml"):
        load_all_code_rules(tmp_path)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DutyRuleError, match=r"no \*\.yaml Code rules found"):
        load_all_code_rules(tmp_path)


def test_a_trigger_starts_its_duties_in_file_order(code_2021: CodeRules) -> None:
    assert [r.id for r in code_2021.started_by("suspect.bailed")] == ["R6.1"]
    assert [r.id for r in code_2021.started_by("hearing.listed")] == ["R8.2"]
    assert code_2021.started_by("crime.reported")[0].closed_by == ("support.referred",)
    assert code_2021.started_by("investigation.ongoing")[0].standard_days is None
    with pytest.raises(ValueError, match=r"'hearing\.listd' is not a trigger"):
        code_2021.started_by("hearing.listd")


@pytest.mark.parametrize(
    ("facts", "referred"),
    [
        ({"custody_months": 12, "offence_group": "violence"}, True),
        ({"custody_months": 48, "offence_group": "sexual"}, True),
        ({"custody_months": 11, "offence_group": "violence"}, False),
        ({"custody_months": 24, "offence_group": "burglary"}, False),
        ({"custody_months": 24}, False),
        ({"offence_group": "sexual"}, False),
        ({"custody_months": "24", "offence_group": "sexual"}, False),
        ({"hospital_order": True}, True),
        ({"hospital_order": False, "custody_months": 6, "offence_group": "sexual"}, False),
        ({"hospital_order": 1}, False),
        ({}, False),
        (None, False),
    ],
)
def test_vcs_referral_only_for_long_custody_for_violence_or_sex_or_a_hospital_order(
    code_2021: CodeRules, facts: dict[str, object] | None, referred: bool
) -> None:
    started = [r.id for r in code_2021.started_by("sentence.passed", facts)]
    assert started == (["R9.2", "R11.1"] if referred else ["R9.2"])


def test_enhanced_rights_have_their_own_limit(code_2021: CodeRules) -> None:
    told_of_arrest = code_2021.by_id["R6.1"]
    assert days_for(told_of_arrest, enhanced=False) == 5
    assert days_for(told_of_arrest, enhanced=True) == 1
    assert days_for(code_2021.by_id["R11.2"], enhanced=True) == 20
    assert days_for(code_2021.by_id["R6.5"], enhanced=False) is None
    assert days_for(code_2021.by_id["R6.5"], enhanced=True) is None


def test_a_valid_file_loads(tmp_path: Path) -> None:
    code = load_code_rules(write(tmp_path, VALID))
    assert code.version == "2099"
    assert code.by_id["R12.1"].starts_on == ("complaint.received",)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "starts_on: [hearing.listed]",
            "starts_on: [hearing.listd]",
            ":10: duties[0].starts_on[0]: 'hearing.listd' is not a trigger "
            "(did you mean 'hearing.listed'?",
        ),
        (
            "      - complaint.received",
            "      - complaint.made",
            ":20: duties[1].starts_on[0]: 'complaint.made' is not a trigger",
        ),
        (
            "closed_by: [victim.told]",
            "closed_by: [victim.phoned]",
            ":11: duties[0].closed_by[0]: 'victim.phoned' is not an act",
        ),
        (
            "    owner: any\n",
            "    owner: any\n    deadline: 3\n",
            ":19: duties[1].deadline: is not a field of a duty (check the spelling)",
        ),
        (
            "source: A future Code.\n",
            "source: A future Code.\nauthor: MoJ\n",
            ":5: author: is not a field of a Code rules file",
        ),
        ("    source: Right 12.\n", "", ":15: duties[1].source: is missing"),
        ("    source: Right 8.\n", "    source: ''\n", ":14: duties[0].source: String should"),
        (
            "standard_days: 10",
            "standard_days: -1",
            ":22: duties[1].standard_days: Input should be greater than or equal to 1",
        ),
        (
            "standard_days: 10",
            "standard_days: ten",
            ":22: duties[1].standard_days: Input should be a valid integer (got 'ten')",
        ),
        (
            "standard_days: 1\n",
            "standard_days: 1.5\n",
            ":12: duties[0].standard_days: Input should be a valid integer",
        ),
        (
            "enhanced_days: 1\n",
            "enhanced_days: 2\n",
            ":13: duties[0].enhanced_days: 2 is longer than standard_days 1",
        ),
        (
            "enhanced_days: 1\n",
            "enhanced_days: null\n",
            ":13: duties[0].enhanced_days: must be null exactly when standard_days is",
        ),
        ("  - id: R8.2", "  - id: R9.2", ":6: duties[0].id: 'R9.2' is not an id of the form R8."),
        ("right: 12", "right: 13", ":16: duties[1].right: Input should be less than or equal"),
        (
            "owner: witness_care",
            "owner: wcu",
            ":9: duties[0].owner: 'wcu' is not an owner (expected one of police, cps",
        ),
        (
            "  - id: R12.1\n    right: 12",
            "  - id: R8.2\n    right: 8",
            ":15: duties[1].id: 'R8.2' twice",
        ),
        ('version: "2099"', "version: 2099", ":2: version: Input should be a valid string"),
        ("in_force_from: 2099-01-01", "in_force_from: soon", ":3: in_force_from: Input should"),
        (
            "    closed_by: [complaint",
            "    title: Again\n    closed_by: [complaint",
            ":21: title: given twice",
        ),
        ("duties:\n", "duties: [\n", ":6: not valid YAML"),
    ],
)
def test_a_broken_file_names_the_file_and_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    assert f"{path}{expected}" in error_for(path)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            "      any:\n        - custody_months: {max: 12}\n",
            ":26: duties[1].applies_when.any[0].custody_months.max: 'max' is not a test",
        ),
        (
            "      any: []\n",
            ":25: duties[1].applies_when.any: 'any' takes a non-empty list of conditions",
        ),
        (
            "      offence_group: {in: violence}\n",
            ":25: duties[1].applies_when.offence_group.in: 'in' takes a non-empty list",
        ),
        (
            "      custody_months: {min: twelve}\n",
            ":25: duties[1].applies_when.custody_months.min: 'min' takes a number",
        ),
        ("      Custody: 12\n", ":25: duties[1].applies_when.Custody: 'Custody' is not a fact"),
        (
            "      any:\n        - {}\n",
            ":26: duties[1].applies_when.any[0]: an empty condition always holds",
        ),
    ],
)
def test_a_broken_condition_names_its_line(tmp_path: Path, condition: str, expected: str) -> None:
    text = VALID.replace(
        "    source: Right 12.\n", f"    applies_when:\n{condition}    source: x\n"
    )
    path = write(tmp_path, text)
    assert f"{path}{expected}" in error_for(path)


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    text = VALID.replace("owner: witness_care", "owner: wcu").replace("right: 12", "right: 0")
    lines = error_for(write(tmp_path, text)).splitlines()
    assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in lines] == ["9", "16"]


def test_conditions_combine_all_keys_and_any_options() -> None:
    rule = DutyRule(
        id="R11.9",
        right=11,
        title="Example",
        owner="probation",
        starts_on=("sentence.passed",),
        closed_by=("victim.told",),
        standard_days=None,
        enhanced_days=None,
        applies_when={"adult": True, "any": [{"area": "north"}, {"count": {"min": 2.5}}]},
        source="Example.",
    )
    assert rule.applies({"adult": True, "area": "north"})
    assert rule.applies({"adult": True, "count": 3})
    assert not rule.applies({"adult": True, "count": 2})
    assert not rule.applies({"adult": False, "area": "north"})
    assert not rule.applies({"area": "north"})
