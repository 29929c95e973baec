"""The comparisons, blocking rules and training plan of OneStory's model, and of plain Splink's.

Written once, backend-neutral: every level is an equality or one of Splink's own string
distance levels, so DuckDB and Spark compute the same comparison vectors. Columns are the ones
``normalise.prepare`` makes; ``_l`` and ``_r`` are Splink's suffixes for the two records.
"""

from __future__ import annotations

from dataclasses import dataclass

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.comparison_level_creator import ComparisonLevelCreator

_OTHER_IDS = ("prison_number", "probation_crn", "uln", "ni_number")

IDENTIFIER_U = 1e-6
"""u for the same PNC ID or CRO number: how often a slip makes two people's agree."""


@dataclass(frozen=True)
class TrainingPlan:
    """How a model is trained without labels.

    ``deterministic_rules`` with their assumed ``recall`` (the share of true pairs they find)
    give the prior; u comes from ``u_max_pairs`` random pairs; m from expectation maximisation
    on the pairs each of ``em_rules`` blocks together (a comparison used in a rule is not
    estimated from that rule's pairs, so every comparison must be free in at least one rule).
    """

    name: str
    deterministic_rules: tuple[str, ...]
    recall: float
    em_rules: tuple[object, ...]
    u_max_pairs: float = 5e6


def _null_either(column: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(f"{column}_l IS NULL OR {column}_r IS NULL").configure(
        is_null_level=True, label_for_charts=f"{column} missing"
    )


def _forenames() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="forenames",
        comparison_description="First forename: exact, nickname, typo, swapped, middle name",
        comparison_levels=[
            _null_either("forename1"),
            cll.ExactMatchLevel("forename1").configure(
                tf_adjustment_column="forename1", label_for_charts="Exact match"
            ),
            cll.CustomLevel(
                "forenames_joined_l = forenames_joined_r",
                label_for_charts="Same forenames, spaced differently",
            ),
            cll.CustomLevel(
                "forename1_root_l = forename1_root_r", label_for_charts="Same name (nickname)"
            ),
            cll.JaroWinklerLevel("forename1", 0.92).configure(
                label_for_charts="Nearly the same (Jaro-Winkler >= 0.92)"
            ),
            cll.CustomLevel(
                "forename1_l = surname_r OR surname_l = forename1_r",
                label_for_charts="Forename and surname swapped",
            ),
            cll.CustomLevel(
                "forename1_l = forename2_r OR forename2_l = forename1_r",
                label_for_charts="Middle name used as first name",
            ),
            cll.JaroWinklerLevel("forename1", 0.8).configure(
                label_for_charts="Similar (Jaro-Winkler >= 0.8)"
            ),
            cll.ElseLevel(),
        ],
    )


def _surname() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="surname",
        comparison_description="Surname: exact, swapped, typo, one part of a double surname",
        comparison_levels=[
            _null_either("surname"),
            cll.ExactMatchLevel("surname").configure(
                tf_adjustment_column="surname", label_for_charts="Exact match"
            ),
            cll.CustomLevel(
                "surname_l = forename1_r OR forename1_l = surname_r",
                label_for_charts="Forename and surname swapped",
            ),
            cll.JaroWinklerLevel("surname", 0.92).configure(
                label_for_charts="Nearly the same (Jaro-Winkler >= 0.92)"
            ),
            cll.CustomLevel(
                "surname_first_l = surname_first_r OR surname_last_l = surname_last_r"
                " OR surname_l = surname_first_r OR surname_l = surname_last_r"
                " OR surname_first_l = surname_r OR surname_last_l = surname_r",
                label_for_charts="One part of a double surname",
            ),
            cll.JaroWinklerLevel("surname", 0.8).configure(
                label_for_charts="Similar (Jaro-Winkler >= 0.8)"
            ),
            cll.ElseLevel(),
        ],
    )


def _date_of_birth() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="Date of birth: exact, day/month swapped, a digit out, a year out",
        comparison_levels=[
            _null_either("dob"),
            cll.ExactMatchLevel("dob").configure(label_for_charts="Exact match"),
            cll.CustomLevel("dob_l = dob_swapped_r", label_for_charts="Day and month transposed"),
            cll.LevenshteinLevel("dob", 1).configure(label_for_charts="One digit different"),
            cll.CustomLevel(
                "dob_md_l = dob_md_r AND abs(dob_year_l - dob_year_r) <= 1",
                label_for_charts="Same day and month, a year out",
            ),
            cll.CustomLevel("dob_md_l = dob_md_r", label_for_charts="Same day and month"),
            cll.CustomLevel(
                "substr(dob_l, 1, 7) = substr(dob_r, 1, 7)",
                label_for_charts="Same year and month",
            ),
            cll.ElseLevel(),
        ],
    )


def _postcode() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="Postcode: exact, same sector, same district",
        comparison_levels=[
            _null_either("postcode"),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="Exact match"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="Same sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="Same district"),
            cll.ElseLevel(),
        ],
    )


def _identifier(column: str, label: str) -> cl.CustomComparison:
    # An identifier is issued to one person, so two different people share one only by a
    # clerical slip. Random sampling cannot see that: the random pairs that share an
    # identifier are nearly all the same person, which would make u far too large on any
    # but the biggest data. So u for agreement is fixed at a small figure instead.
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=f"{label}, canonical spelling",
        comparison_levels=[
            _null_either(column),
            cll.ExactMatchLevel(column).configure(
                label_for_charts="Exact match",
                u_probability=IDENTIFIER_U,
                fix_u_probability=True,
            ),
            cll.LevenshteinLevel(column, 2).configure(
                label_for_charts="Nearly the same (a slip or a lost check character)"
            ),
            cll.ElseLevel().configure(label_for_charts="Different"),
        ],
    )


def _middle_name() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_description="Second forename: exact, same initial",
        comparison_levels=[
            _null_either("forename2"),
            cll.ExactMatchLevel("forename2").configure(label_for_charts="Exact match"),
            cll.CustomLevel(
                "substr(forename2_l, 1, 1) = substr(forename2_r, 1, 1)",
                label_for_charts="Same initial",
            ),
            cll.ElseLevel().configure(label_for_charts="Different"),
        ],
    )


def _other_ids() -> cl.CustomComparison:
    both = " OR ".join(f"({c}_l IS NOT NULL AND {c}_r IS NOT NULL)" for c in _OTHER_IDS)
    same = " OR ".join(f"{c}_l = {c}_r" for c in _OTHER_IDS)
    return cl.CustomComparison(
        output_column_name="agency_ids",
        comparison_description="Prison number, probation CRN, ULN, NI number",
        comparison_levels=[
            cll.CustomLevel(f"NOT ({both})").configure(
                is_null_level=True, label_for_charts="No agency identifier on both"
            ),
            cll.CustomLevel(same, label_for_charts="An agency identifier the same"),
            cll.CustomLevel(
                " OR ".join(f"levenshtein({c}_l, {c}_r) <= 2" for c in _OTHER_IDS),
                label_for_charts="An agency identifier nearly the same (a slip, digits swapped)",
            ),
            cll.ElseLevel().configure(label_for_charts="Agency identifiers differ"),
        ],
    )


def _case() -> cl.CustomComparison:
    # Police, CPS and court records of one defendant in one case carry the same URN; a case
    # with co-defendants shares it between people, so the names still have to agree.
    return cl.CustomComparison(
        output_column_name="case_urn",
        comparison_description="Prosecution case (URN)",
        comparison_levels=[
            _null_either("case_urn"),
            cll.ExactMatchLevel("case_urn").configure(label_for_charts="Same case"),
            cll.ElseLevel().configure(label_for_charts="Different cases"),
        ],
    )


def _sex() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="sex",
        comparison_description="Sex",
        comparison_levels=[
            _null_either("sex"),
            cll.ExactMatchLevel("sex").configure(label_for_charts="Same"),
            cll.ElseLevel().configure(label_for_charts="Different"),
        ],
    )


def onestory_blocking_rules() -> list[object]:
    """Candidate pairs: any shared identifier, or name and date of birth agreeing in part.

    Each rule covers a kind of noise the others miss: a married surname (forename root and
    date of birth), a nickname (surname and date of birth), a wrong date (names and postcode
    district), swapped names, an alias given with no identifier (date of birth and postcode).
    """
    rules: list[object] = [block_on("pnc_id"), block_on("cro_number")]
    rules += [block_on(c) for c in _OTHER_IDS]
    rules += [block_on("case_urn")]
    rules += [
        block_on("forename1_root", "dob"),
        block_on("surname", "dob"),
        block_on("forename1_root", "surname"),
        CustomRule("l.forename1 = r.surname AND l.surname = r.forename1"),
        block_on("dob", "postcode_sector"),
        block_on("forename1_root", "postcode"),
        block_on("surname", "postcode"),
        block_on("surname_first", "dob_md"),
    ]
    return rules


def onestory_settings() -> SettingsCreator:
    """OneStory's model for justice data (dedupe over all agencies' records)."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            _forenames(),
            _middle_name(),
            _surname(),
            _date_of_birth(),
            _postcode(),
            _sex(),
            _identifier("pnc_id", "PNC ID"),
            _identifier("cro_number", "CRO number"),
            _other_ids(),
            _case(),
        ],
        blocking_rules_to_generate_predictions=onestory_blocking_rules(),  # type: ignore[arg-type]
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        em_convergence=0.001,
    )


def onestory_plan() -> TrainingPlan:
    """Unsupervised training for ``onestory_settings``."""
    return TrainingPlan(
        name="onestory",
        deterministic_rules=(
            "l.pnc_id = r.pnc_id",
            "l.forename1 = r.forename1 AND l.surname = r.surname AND l.dob = r.dob",
        ),
        recall=0.8,
        # A comparison is estimated only from rules that use none of its columns (the
        # forename comparison reads surname too, for swaps), so each comparison needs a rule
        # without its columns: names from date of birth and postcode; date of birth from
        # names and district; postcode and the identifiers from names and date of birth.
        em_rules=(
            block_on("dob", "postcode"),
            block_on("forename1_root", "surname", "postcode_district"),
            block_on("forename1_root", "surname", "dob"),
            block_on("pnc_id"),
        ),
    )


def baseline_settings(*, blocking: str = "readme") -> SettingsCreator:
    """Plain Splink, as the example in its README: default comparisons and blocking.

    The README's columns map to ours: first_name -> forename1, surname, dob, city -> postcode
    (the nearest thing an agency record has); it has email, agency records do not.
    ``blocking="scaled"`` swaps the README's ``block_on("surname")``, which makes about 1.6
    billion pairs at a million records, for ``block_on("surname", "dob")``.
    """
    if blocking not in ("readme", "scaled"):
        raise ValueError(f"blocking must be 'readme' or 'scaled', not {blocking!r}")
    second = block_on("surname") if blocking == "readme" else block_on("surname", "dob")
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("forename1", [0.9, 0.7]),
            cl.JaroAtThresholds("surname", [0.9, 0.7]),
            cl.DateOfBirthComparison(
                "dob",
                input_is_string=True,
                datetime_metrics=["year", "month"],
                datetime_thresholds=[1, 1],
            ),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on("forename1", "dob"), second],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def baseline_plan() -> TrainingPlan:
    """The README's training steps (its email step becomes date of birth: no email here)."""
    return TrainingPlan(
        name="splink-baseline",
        deterministic_rules=("l.forename1 = r.forename1 AND l.surname = r.surname",),
        recall=0.7,
        em_rules=(block_on("forename1", "surname"), block_on("dob")),
        u_max_pairs=1e6,
    )
