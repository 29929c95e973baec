"""Which layout a delivered file is in, from its CSV header or JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onestory.exchange.mapping import MappingError, detect_layout, layouts_for, load_layouts
from onestory.synth import NoiseRates, write_world

SYNTH_FILES = {
    "police.csv": ("police", "police-suspects"),
    "police_victims.csv": ("police", "police-victims"),
    "cps.json": ("cps", "cps-cases"),
    "courts.json": ("court", "court-cases"),
    "prisons.csv": ("prison", "prison-custody"),
    "probation.jsonl": ("probation", "probation-orders"),
    "education.csv": ("education", "education-learning"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, people=80, seed=11, noise=NoiseRates.none())
    return out


@pytest.mark.parametrize("file_name", sorted(SYNTH_FILES))
def test_each_synth_file_is_recognised(world: Path, file_name: str) -> None:
    agency, expected = SYNTH_FILES[file_name]
    assert detect_layout(agency, world / file_name).name == expected
    assert load_layouts()[expected].file_name == file_name


def test_a_header_in_another_order_or_case_is_the_same_layout(tmp_path: Path) -> None:
    layout = load_layouts()["prison-custody"]
    columns = [c.lower() for c in reversed(layout.columns)]
    path = tmp_path / "nomis.csv"
    path.write_text("\ufeff" + ",".join(columns) + "\n", encoding="utf-8")
    assert detect_layout("prison", path) is layout or detect_layout("prison", path) == layout


def test_an_unknown_csv_is_refused_naming_the_headers_expected(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ID,FULL_NAME,BIRTH\n1,Ann Smith,1990-01-01\n", encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        detect_layout("police", path)
    message = str(caught.value)
    assert message.startswith("export.csv is in none of the expected layouts")
    assert "its header is ID,FULL_NAME,BIRTH" in message
    for name in ("police-suspects", "police-victims"):
        layout = load_layouts()[name]
        assert f"a CSV file with the header {','.join(layout.columns)} ({name})" in message


def test_a_column_too_few_is_not_the_layout(tmp_path: Path) -> None:
    layout = load_layouts()["education-learning"]
    path = tmp_path / "education.csv"
    path.write_text(",".join(layout.columns[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(MappingError, match="OUTCOME"):
        detect_layout("education", path)


def test_another_agencys_file_is_refused(world: Path) -> None:
    with pytest.raises(MappingError, match=r"cps\.json is in none .*\(probation-orders\)"):
        detect_layout("probation", world / "cps.json")
    with pytest.raises(MappingError, match=r"a JSON array at the top level of objects with urn"):
        detect_layout("cps", world / "courts.json")
    with pytest.raises(MappingError, match="its header is PNC_ID,CRO_NO"):
        detect_layout("education", world / "police.csv")


def test_a_json_file_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "courts.json"
    path.write_text(json.dumps({"cases": [{"id": "x"}]}), encoding="utf-8")
    with pytest.raises(MappingError, match='a JSON array under "prosecutionCases"'):
        detect_layout("court", path)
    path.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(MappingError):
        detect_layout("cps", path)


def test_an_empty_array_in_its_place_is_the_layout(tmp_path: Path) -> None:
    path = tmp_path / "courts.json"
    path.write_text('{"prosecutionCases": []}', encoding="utf-8")
    assert detect_layout("court", path).name == "court-cases"


def test_an_agency_kind_without_layouts_is_refused(world: Path) -> None:
    assert layouts_for("victim_support") == []
    with pytest.raises(MappingError, match="no layouts for agency kind 'victim_support'"):
        detect_layout("victim_support", world / "police.csv")
