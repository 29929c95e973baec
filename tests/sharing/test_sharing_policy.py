"""Loading data-sharing agreements: the real folder, and broken files named by file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onestory.sharing.policy import PolicyError, PolicySet, load_policies
from onestory.sharing.vocabulary import (
    ROLE_ORGANISATION_KIND,
    Action,
    LawfulBasis,
    Purpose,
    RecordKind,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"

VALID = """\
id: police-wcu
title: Police give Witness Care Units contact details
version: "1.0"
parties: [police, witness_care]
grants:
  - roles: [police_officer]
    record_kinds: [victim_contact]
    actions: [share]
    purposes: [witness_care]
  - roles: [witness_care_officer]
    record_kinds: [victim_contact]
    actions: [read]
    purposes:
      - witness_care
      - investigation
lawful_basis: law_enforcement
legal_reference: Data Protection Act 2018 s35(2)(b)
consent_required: false
retention:
  period: P2Y
  reason: Two years after the case ends.
explanation: We give the Witness Care Unit your contact details.
"""


def write(folder: Path, text: str, name: str = "police-wcu.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(folder: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policies(folder)
    return str(caught.value)


def test_the_real_policies_load(policies: PolicySet) -> None:
    assert len(policies.agreements) >= 20
    roles = {r for a in policies.agreements for g in a.grants for r in g.roles}
    assert len(roles) >= 10
    for agreement in policies.agreements:
        assert (POLICIES / f"{agreement.id}.yaml").is_file(), "file named after its id"
        assert agreement.consent_required == (agreement.lawful_basis is LawfulBasis.CONSENT)
        assert agreement.explanation.strip()


def test_the_real_policies_keep_analysts_to_statistics(policies: PolicySet) -> None:
    analyst = {
        (p.record_kind, p.purpose) for p in policies.matrix() if p.allowed and p.role == "analyst"
    }
    # Statistics, and their own account (as every user may see theirs).
    assert analyst == {
        (RecordKind.STATISTICS, Purpose.STATISTICS),
        (RecordKind.USER, Purpose.OWN_ACCESS),
    }
    # Administrators run the service: accounts only, never anyone's case records.
    admin = {p.record_kind for p in policies.matrix() if p.allowed and p.role == Role.ADMINISTRATOR}
    assert admin == {RecordKind.USER}


def test_the_matrix_covers_every_combination(policies: PolicySet) -> None:
    cells = list(policies.matrix())
    assert len(cells) == len(Role) * len(Action) * len(RecordKind) * len(Purpose)
    assert sum(c.allowed for c in cells) == len(policies._index)


def test_a_valid_file_loads(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    loaded = load_policies(tmp_path)
    assert [
        a.id
        for a in loaded.lookup("witness_care_officer", "read", "victim_contact", "investigation")
    ] == ["police-wcu"]
    assert loaded.lookup("witness_care_officer", "update", "victim_contact", "investigation") == ()


def test_a_misspelt_purpose_names_file_line_and_choices(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("      - investigation", "      - invstigation"))
    message = error_for(tmp_path)
    assert message.startswith(
        f"{path}:15: grants[1].purposes[1]: 'invstigation' is not a purpose (expected one of "
    )
    assert "'investigation'" in message and "'own_access'" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "[police_officer]",
            "[police_oficer]",
            ":6: grants[0].roles[0]: 'police_oficer' is not a role",
        ),
        (
            "[victim_contact]\n    actions: [share]",
            "[victim_contakt]\n    actions: [share]",
            ":7: grants[0].record_kinds[0]: 'victim_contakt' is not a record kind",
        ),
        (
            "actions: [read]",
            "actions: [look]",
            ":12: grants[1].actions[0]: 'look' is not an action",
        ),
        (
            "parties: [police, witness_care]",
            "parties: [police, witness-care]",
            ":4: parties[1]: 'witness-care' is not an organisation kind",
        ),
        (
            "lawful_basis: law_enforcement",
            "lawful_basis: because",
            ":16: lawful_basis: 'because' is not a lawful basis",
        ),
        (
            "consent_required: false",
            "consent_required: true",
            ":18: consent_required: must be false when lawful_basis is 'law_enforcement'",
        ),
        (
            "period: P2Y",
            "period: two years",
            ":20: retention.period: 'two years' is not an ISO 8601 duration",
        ),
        (
            "title: Police give",
            "titel: Police give",
            ":2: titel: is not a field of an agreement (check the spelling)",
        ),
        ('version: "1.0"\n', "", ":1: version: is missing"),
        (
            "roles: [witness_care_officer]",
            "roles: [prison_officer]",
            ":10: grants[1].roles[0]: role 'prison_officer' works for a 'prison' organisation, "
            "which is not among the parties",
        ),
        (
            "id: police-wcu",
            "id: Police WCU",
            ":1: id: 'Police WCU' is not an id of lowercase words",
        ),
        (
            "    purposes: [witness_care]",
            "    purposes: []",
            ":9: grants[0].purposes: Tuple should have at least 1 item",
        ),
    ],
)
def test_a_broken_value_names_file_and_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    message = error_for(tmp_path)
    assert any(line.startswith(f"{path}{expected}") for line in message.splitlines()), message


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("title:", "titel:").replace("[share]", "[shair]"))
    assert error_for(tmp_path).splitlines() == [
        f"{path}:1: title: is missing",
        f"{path}:2: titel: is not a field of an agreement (check the spelling)",
        f"{path}:8: grants[0].actions[0]: 'shair' is not an action (expected one of 'read', "
        "'create', 'update', 'share' or 'export')",
    ]


def test_consent_basis_requires_consent_required(tmp_path: Path) -> None:
    text = VALID.replace("lawful_basis: law_enforcement", "lawful_basis: consent")
    path = write(tmp_path, text)
    assert error_for(tmp_path).startswith(
        f"{path}:18: consent_required: must be true when lawful_basis is 'consent'"
    )


def test_own_access_needs_own_records_only(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("      - investigation", "      - own_access"))
    assert error_for(tmp_path).startswith(
        f"{path}:1: own_records_only: must be true for an agreement granting own_access"
    )


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    second = write(tmp_path, VALID, "b.yaml")
    assert error_for(tmp_path) == f"{second}:1: id: 'police-wcu' is already used by {first}"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, VALID.replace("parties: [police, witness_care]", "parties: [police, witness_care")
    )
    assert re.match(rf"{re.escape(str(path))}:\d+: not valid YAML: ", error_for(tmp_path))


def test_a_field_given_twice_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, VALID.replace("    actions: [read]", "    actions: [read]\n    actions: [update]")
    )
    assert error_for(tmp_path) == f"{path}:13: actions: given twice"


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    assert error_for(tmp_path) == f"{path}:1: an agreement must be a mapping of fields"


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    assert "no *.yaml agreements found" in error_for(tmp_path)


def test_every_role_is_bound_to_an_organisation_kind_or_none() -> None:
    assert set(ROLE_ORGANISATION_KIND) == set(Role)
