"""The person index over full runs and new records, on SQLite and PostgreSQL, with the real model.

Ids must be stable: a second run, or new records linked one batch at a time, never renames an
existing person; a merge and a split are recorded when runs change their minds; people's
"never" and "always" decisions hold in every later run; a review decision is an override and a
ledger entry.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_index_world import World, build_index, insert_world, make_world, row

from onestory.ledger.tables import LedgerEntry
from onestory.linkage import index
from onestory.linkage.tables import (
    ALWAYS,
    MERGED,
    NEVER,
    LinkOverride,
    Person,
    PersonChange,
    PersonMember,
    ReviewItem,
)
from onestory.store import session_factory
from onestory.store.base import utcnow

ACTOR = "test:linkage"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


first_run = build_index


def persons(session: Session) -> dict[str, str]:
    """record id -> person id."""
    return {m.record_id: m.person_id for m in session.scalars(select(PersonMember))}


def entries(session: Session, entry_type: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.entry_type == entry_type)
        )
        or 0
    )


def test_a_first_run_makes_one_person_per_real_person(sessions: sessionmaker[Session]) -> None:
    world = make_world(60, seed=2)
    summary = first_run(sessions, world)
    with sessions() as session:
        found = persons(session)
        assert set(found) == set(world.truth), "every record is in the index"
        people = session.scalars(select(Person)).all()
        assert all(p.id.startswith("P-") and len(p.id) == 14 for p in people)
        # Records of one real person share an id; real people are rarely given the same id.
        same = sum(len({found[r] for r in world.records_of(n)}) == 1 for n in range(60))
        assert same >= 55, f"only {same} of 60 people were linked whole"
        assert len(people) == summary.persons_created
        assert summary.attached == len(world.truth)
        assert entries(session, "linkage.record.attached") == len(world.truth)
        assert entries(session, "linkage.person.created") == len(people)
        assert entries(session, "linkage.run.finished") == 1


def test_new_records_keep_every_existing_id(sessions: sessionmaker[Session]) -> None:
    world = make_world(40, seed=4)
    first_run(sessions, world)
    with sessions() as session:
        before = persons(session)
    # The same people seen again by another agency, and some people never seen before.
    more, source = [], {}
    for n in range(30):
        seen = next(r for r in world.rows if world.truth[r["id"]] == n)
        person = {k: seen[k] for k in ("forenames", "surname", "date_of_birth", "sex", "postcode")}
        more.append(row("witness-care", "WCU01", "witness_care.witness", person, {"n": n}))
        source[more[-1]["id"]] = seen["id"]
    newcomers = make_world(10, seed=5, first=1_000)
    with sessions() as session:
        insert_world(session, World(rows=more + newcomers.rows))
    added = [r["id"] for r in more] + list(newcomers.truth)
    summary = index.link_new(sessions, added, actor=ACTOR)
    assert summary.records == len(added)
    with sessions() as session:
        after = persons(session)
        assert {r: after[r] for r in before} == before, "no existing record changed person"
        # Known people's new records joined their existing person.
        joined = sum(after[r["id"]] == before[source[r["id"]]] for r in more)
        assert joined >= len(more) - 2, f"only {joined} of {len(more)} joined their person"
        for n in range(1_000, 1_010):
            ids = {after[r] for r in newcomers.records_of(n)}
            assert not ids & set(before.values()), "a newcomer was given an existing person"
    # A full run afterwards changes nothing it does not have to.
    index.run(sessions, actor=ACTOR)
    with sessions() as session:
        again = persons(session)
        moved = [r for r in after if again[r] != after[r]]
        assert len(moved) <= 2, moved


def test_a_never_override_splits_a_person_and_holds(sessions: sessionmaker[Session]) -> None:
    world = make_world(30, seed=6)
    first_run(sessions, world)
    with sessions() as session:
        found = persons(session)
        person = next(
            p for p, n in Counter(found.values()).items() if n >= 3
        )  # a person with three records or more
        records = sorted(r for r, p in found.items() if p == person)
        index.set_override(
            session, record_a=records[0], record_b=records[1], rule=NEVER,
            decided_by=ACTOR, reason="Different people: one is the other's son",
        )  # fmt: skip
        session.commit()
    summary = index.run(sessions, actor=ACTOR)
    assert summary.split == 1 and summary.kept_apart == 1
    with sessions() as session:
        found = persons(session)
        assert found[records[0]] != found[records[1]]
        assert person in (found[records[0]], found[records[1]]), "the larger part kept the id"
        change = session.scalars(select(PersonChange)).one()
        assert change.kind == "split" and change.from_ids == [person]
        assert set(change.to_ids) == {found[records[0]], found[records[1]]}
        assert entries(session, "linkage.person.split") == 1
        assert entries(session, "linkage.override.set") == 1
    # The next run keeps them apart with the same ids, and records no new change.
    summary = index.run(sessions, actor=ACTOR)
    assert summary.split == 0 and summary.merged == 0 and summary.attached == 0
    with sessions() as session:
        assert persons(session) == found


def test_two_persons_found_to_be_one_are_merged_and_the_oldest_id_survives(
    sessions: sessionmaker[Session],
) -> None:
    world = make_world(30, seed=7)
    first_run(sessions, world)
    with sessions() as session:
        found = persons(session)
        person = next(p for p, n in Counter(found.values()).items() if n >= 2)
        record = sorted(r for r, p in found.items() if p == person)[-1]
        # As an earlier run might have left it: one of the person's records on its own.
        session.add(Person(id="P-LATERTHANALL", created_at=utcnow()))
        session.flush()
        member = session.get(PersonMember, record)
        assert member is not None
        member.person_id = "P-LATERTHANALL"
        session.commit()
    summary = index.run(sessions, actor=ACTOR)
    assert summary.merged == 1
    with sessions() as session:
        assert persons(session)[record] == person
        gone = session.get(Person, "P-LATERTHANALL")
        assert gone is not None and gone.status == MERGED and gone.merged_into == person
        current = index.current_person(session, "P-LATERTHANALL")
        assert current is not None and current.id == person
        change = session.scalars(select(PersonChange)).one()
        assert change.kind == "merged" and change.to_ids == [person]
        assert set(change.from_ids) == {person, "P-LATERTHANALL"}
        assert entries(session, "linkage.person.merged") == 1


def test_an_always_override_joins_two_people_at_once_and_in_later_runs(
    sessions: sessionmaker[Session],
) -> None:
    world = make_world(20, seed=8)
    first_run(sessions, world)
    with sessions() as session:
        found = persons(session)
        a, b = world.records_of(0)[0], world.records_of(1)[0]
        assert found[a] != found[b]
        index.set_override(
            session, record_a=a, record_b=b, rule=ALWAYS, decided_by=ACTOR,
            reason="The same man: the custody record confirms the alias",
        )  # fmt: skip
        session.commit()
        joined = persons(session)
        assert joined[a] == joined[b]
    index.run(sessions, actor=ACTOR)
    with sessions() as session:
        assert persons(session) == joined


def test_a_review_decision_is_an_override_and_a_ledger_entry(
    sessions: sessionmaker[Session],
) -> None:
    world = make_world(10, seed=9)
    first_run(sessions, world)
    a, b = world.records_of(2)[0], world.records_of(3)[0]
    with sessions() as session:
        a, b = sorted((a, b))
        item = ReviewItem(record_a=a, record_b=b, match_weight=1.5, match_probability=0.7)
        session.add(item)
        session.commit()
        index.decide_review(
            session, item=item, same_person=False, reason="Different dates of birth",
            decided_by="user:7",
        )  # fmt: skip
        session.commit()
        override = session.scalars(select(LinkOverride)).one()
        assert (override.record_a, override.record_b, override.rule) == (a, b, NEVER)
        assert override.decided_by == "user:7"
        assert item.status == "rejected" and item.decided_by == "user:7"
        assert entries(session, "linkage.review.decided") == 1
        with pytest.raises(index.ReviewError, match="already decided"):
            index.decide_review(
                session, item=item, same_person=True, reason="x", decided_by="user:7"
            )
        counts = index.review_counts(session)
        assert (counts["accepted"], counts["rejected"]) == (0, 1)


def test_a_run_with_nothing_to_link_says_so(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(index.LinkageError, match="no agency records"):
        index.run(sessions, actor=ACTOR)
    with pytest.raises(index.LinkageError, match="no trained model"):
        index.link_new(sessions, ["abc"], actor=ACTOR)


def test_uncertain_pairs_are_queued_once_with_their_explanation(
    sessions: sessionmaker[Session],
) -> None:
    world = make_world(30, seed=14)
    # Women who may have married: the same forename and date of birth, another surname, and
    # addresses agreeing less and less. The model's certainty falls with the address, so some
    # of these pairs land in the uncertain band whatever the trained weights.
    graded = [
        ("Aisha", date(1992, 12, 1), "B9 4AB", "B9 4AB"),
        ("Fatima", date(1991, 4, 14), "B9 4AB", "B9 4ZZ"),
        ("Nadia", date(1988, 7, 3), "B9 4AB", "B9 7QQ"),
        ("Rukhsana", date(1979, 2, 25), "B9 4AB", "LS6 2XY"),
        ("Shazia", date(1985, 10, 11), None, None),
    ]
    for n, (forename, born, postcode_a, postcode_b) in enumerate(graded):
        person = {"forenames": forename, "sex": "F", "date_of_birth": born}
        world.rows.append(
            row(
                "cps-cases",
                "CPS",
                "cps.defendant",
                {**person, "surname": "Begum", "postcode": postcode_a},
                {"n": n},
            )
        )
        world.rows.append(
            row(
                "courts-results",
                "COURT",
                "court.defendant",
                {**person, "surname": "Khan", "postcode": postcode_b},
                {"n": n},
            )
        )
    summary = first_run(sessions, world)
    with sessions() as session:
        items = session.scalars(select(ReviewItem).order_by(ReviewItem.match_weight.desc())).all()
        found = persons(session)
    assert summary.review_added == len(items) >= 1
    for item in items:
        assert index.REVIEW_FROM <= item.match_probability < index.LINK_THRESHOLD
        assert found[item.record_a] != found[item.record_b]
    explanation = items[0].explanation
    assert explanation is not None and explanation["comparisons"]
    # The total is the prior plus each comparison's weight. (It can differ from the weight
    # the pair was queued with: predict weighs common names by this data's term frequencies,
    # explain by the training data's, which the model stores.)
    parts = explanation["prior_match_weight"] + sum(
        c["match_weight"] for c in explanation["comparisons"]
    )
    assert abs(explanation["total_match_weight"] - parts) < 0.01
    # Queued once: the next run finds the same pairs and adds nothing.
    again = index.run(sessions, actor=ACTOR)
    assert again.review_added == 0


def test_a_pair_left_unexplained_is_explained_when_first_opened_and_kept(
    sessions: sessionmaker[Session],
) -> None:
    world = make_world(8, seed=15)
    first_run(sessions, world)
    a, b = sorted((world.records_of(4)[0], world.records_of(5)[0]))
    with sessions() as session:
        item = ReviewItem(record_a=a, record_b=b, match_weight=1.0, match_probability=0.6)
        session.add(item)
        session.commit()
        explanation = index.explain_item(session, item)
        assert explanation is not None
        assert {c["name"] for c in explanation["comparisons"]} >= {"surname", "date_of_birth"}
        session.commit()
        item_id = item.id
    with sessions() as session:
        kept = session.get(ReviewItem, item_id)
        assert kept is not None and kept.explanation == explanation
