"""Each kind of noise appears at about its configured rate, and only where the truth says so."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from synth_world import World

from onestory.domain.identifiers import IdentifierError, parse_identifier
from onestory.synth import NoiseRates, write_world

EXTRACTS = ("police.csv", "police_victims.csv", "cps.json", "courts.json", "prisons.csv",
            "probation.jsonl", "education.csv")  # fmt: skip
# Kinds that can hit any record of the files they apply to: their rate is measurable exactly.
EVERYWHERE = {
    "typo": EXTRACTS,
    "name_swap": EXTRACTS,
    "case_whitespace": EXTRACTS,
    "dob_error": EXTRACTS,
    "missing_id": ("police.csv", "prisons.csv", "probation.jsonl", "education.csv"),
    "alias": ("police.csv", "prisons.csv"),
    "split_identity": ("courts.json",),
    "broken_quoting": ("police.csv", "police_victims.csv"),
}
# Kinds that need something of the person (a nickname, an accent, a second surname...).
SOMETIMES = ("nickname", "surname_change", "hyphenation", "diacritics", "dob_transposed",
             "missing_value", "bad_id", "stale_address", "encoding")  # fmt: skip


def _kinds(world: World, files: tuple[str, ...]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    records = 0
    for row in world.truth:
        if row["file"] in files:
            records += 1
            counts.update(k for k in row["noise"].split(";") if k)
    return counts, records


@pytest.mark.parametrize("kind", sorted(EVERYWHERE))
def test_kinds_that_can_hit_any_record_appear_at_their_rate(noisy_world: World, kind: str) -> None:
    counts, records = _kinds(noisy_world, EVERYWHERE[kind])
    rate = getattr(noisy_world.rates, kind)
    assert records > 100
    assert 0.7 * rate < counts[kind] / records < 1.3 * rate, (kind, counts[kind], records)


@pytest.mark.parametrize("kind", SOMETIMES)
def test_kinds_that_need_a_chance_appear_but_never_above_their_rate(
    noisy_world: World, kind: str
) -> None:
    counts, records = _kinds(noisy_world, EXTRACTS)
    rate = getattr(noisy_world.rates, kind)
    assert 0 < counts[kind] / records < 1.1 * rate, (kind, counts[kind], records)


def test_every_kind_is_covered_by_a_test() -> None:
    assert set(EVERYWHERE) | set(SOMETIMES) == set(NoiseRates.kinds())


def test_a_rate_of_zero_means_no_noise_at_all(clean_world: World) -> None:
    assert clean_world.truth
    assert all(row["noise"] == "" for row in clean_world.truth)
    for name in ("police.csv", "police_victims.csv", "prisons.csv", "education.csv"):
        width = len(clean_world.header(name))
        for raw in clean_world.lines(name):
            raw.decode("utf-8")
        assert all(len(row) == width for row in clean_world.csv_records(name))


def test_one_kind_alone_gives_that_kind_alone(tmp_path: Path) -> None:
    rates = NoiseRates.parse("all=0,typo=0.5")
    world = World(tmp_path, write_world(tmp_path, people=200, seed=3, noise=rates), rates)
    kinds = Counter(k for row in world.truth for k in row["noise"].split(";") if k)
    assert set(kinds) == {"typo"}
    assert kinds["typo"] > 100


def test_csv_rows_parse_except_the_ones_the_truth_marks_broken(noisy_world: World) -> None:
    for name in ("police.csv", "police_victims.csv", "prisons.csv", "education.csv"):
        width = len(noisy_world.header(name))
        truth = noisy_world.truth_for(name)
        raw_lines = noisy_world.lines(name)
        rows = noisy_world.csv_records(name)
        assert len(rows) == len(truth) == len(raw_lines)
        for raw, row, record in zip(raw_lines, rows, truth, strict=True):
            kinds = record["noise"].split(";")
            try:
                raw.decode("utf-8")
                decodes = True
            except UnicodeDecodeError:
                decodes = False
            if "encoding" in kinds:
                # cp1252 bytes are not UTF-8, unless every odd character was one cp1252 lacks
                # and became "?" (Llŷr as Ll?r): mangled either way.
                assert not decodes or "?" in raw.decode("utf-8"), (name, record)
            else:
                assert decodes, (name, record)
            if "broken_quoting" in kinds:
                assert len(row) > width, (name, record)
            else:
                assert len(row) == width, (name, record)


def test_identifiers_fail_validation_exactly_where_the_truth_says(noisy_world: World) -> None:
    columns = {
        "police.csv": {"PNC_ID": "PNC", "CRO_NO": "CRO", "ASN": "ASN"},
        "prisons.csv": {"NOMS_NUMBER": "NOMS", "PNC": "PNC", "CRO": "CRO"},
        "education.csv": {"PRISON_NUMBER": "NOMS", "ULN": "ULN"},
    }
    seen = Counter()
    for name, fields in columns.items():
        header = noisy_world.header(name)
        for row, record in zip(
            noisy_world.csv_records(name), noisy_world.truth_for(name), strict=True
        ):
            if "broken_quoting" in record["noise"]:
                continue
            values = dict(zip(header, row, strict=True))
            invalid = 0
            for column, type_code in fields.items():
                if values[column]:
                    try:
                        parse_identifier(type_code, values[column])
                    except IdentifierError:
                        invalid += 1
            marked = "bad_id" in record["noise"].split(";")
            assert (invalid == 1) == marked, (name, values, record)
            seen[marked] += 1
    assert seen[True] > 50 and seen[False] > 50
