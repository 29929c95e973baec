"""The person index as a service: runs that link every record, and new records linked one by one.

A full ``run`` trains the Splink model if there is none (or when asked), predicts and clusters
every agency record, and then does the part that is ours: keeping person ids STABLE. A cluster
whose records all belonged to one person keeps that person's id; a cluster joining several
persons is a merge (the oldest id survives, the others point at it); a person whose records now
fall in several clusters is a split (the largest part keeps the id). People's overrides beat
the model: "never" pairs are kept apart even when other links would chain them together,
"always" pairs are joined. Pairs in the uncertain band go to the review queue once.

``link_new`` is the incremental path: only the new records are compared with the index
(``model.match_new``); each joins its best match above the threshold or becomes a new person,
and no existing person's id changes.

Every change to the index is a ledger entry in the transaction that makes it, written in
batches (a first run over a million records makes a million "attached" entries).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import String, cast, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from onestory.exchange.tables import AgencyRecord
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_at_commit, append_many, lock_for_append
from onestory.linkage import index_cache
from onestory.linkage import model as splink_model
from onestory.linkage.tables import (
    ACCEPTED,
    ACTIVE,
    ALWAYS,
    BY_MATCH,
    BY_MODEL,
    BY_NEW,
    BY_OVERRIDE,
    CHANGE_MERGED,
    CHANGE_SPLIT,
    FULL,
    INCREMENTAL,
    MERGED,
    NEVER,
    OPEN,
    REJECTED,
    LinkageModel,
    LinkageRun,
    LinkOverride,
    Person,
    PersonChange,
    PersonMember,
    ReviewItem,
    new_person_id,
    pair_key,
)
from onestory.store.base import utcnow

# Match probability at or above which two records are the same person without asking anyone:
# odds of 99 to 1 (match weight about 6.6). A wrong link shows one person's history to people
# working on another, and clustering chains links, so the bar is high. Measured on a
# 5,000-person synthetic world ingested through the exchange (10,204 records), linking at 0.95
# instead gave pairwise precision 0.9897 against 0.9998 here, for recall 0.9983 against 0.9981:
# the pairs between 0.95 and 0.99 were mostly different people. They go to review instead.
# The linkage benchmark (bench/results/linkage.json) measures at the same threshold.
LINK_THRESHOLD = 0.99
# From here up to LINK_THRESHOLD a pair is more likely a match than not, but too often wrong to
# link unseen; a person decides. Below 0.5 the model itself thinks "different people", and
# queuing those would bury the reviewers in pairs that share only a common surname.
REVIEW_FROM = 0.5
# Pairs below REVIEW_FROM are neither linked nor reviewed, so they are never fetched: at a
# million records they are tens of millions of rows (as match weight: log2 of the odds).
PREDICT_FLOOR = math.log2(REVIEW_FROM / (1 - REVIEW_FROM))
# The most pairs one run adds to the queue (highest weight first); the rest are found again by
# the next run, so nothing is lost, and each queued pair carries its explanation.
REVIEW_LIMIT = 2_000
# Explaining a pair costs about a second (model.explain scores it afresh), so a run explains
# only the strongest few it queues; the others are explained when a reviewer first opens them
# (``explain_item``), and the explanation is kept from then on.
EXPLAIN_AT_QUEUE = 10
LEDGER_BATCH = 20_000
MEMBER_BATCH = 10_000

PERSON = "person"
AGENCY_RECORD = "agency_record"

_T = TypeVar("_T")


class LinkageError(Exception):
    """A linkage that cannot be done as asked; the message says what is missing."""


# --- pure parts: overrides on clusters, and stable ids ---------------------------------------


class _Components:
    """Union-find over record ids that refuses unions joining a "never" pair."""

    def __init__(self, never: Mapping[str, set[str]]) -> None:
        self.parent: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.never = never
        self.refused = 0

    def add(self, record: str) -> None:
        if record not in self.parent:
            self.parent[record] = record
            self.members[record] = [record]

    def find(self, record: str) -> str:
        root = record
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[record] != root:
            self.parent[record], record = root, self.parent[record]
        return root

    def union(self, a: str, b: str) -> bool:
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        small, large = sorted((ra, rb), key=lambda r: len(self.members[r]))
        inside = set(self.members[large])
        if any(self.never.get(m, set()) & inside for m in self.members[small]):
            self.refused += 1
            return False
        self.parent[small] = large
        self.members[large].extend(self.members.pop(small))
        return True


@dataclass
class Clusters:
    """Records grouped into would-be persons, after people's overrides."""

    groups: list[list[str]]
    never_kept_apart: int = 0  # components the overrides split
    conflicts: int = 0  # "always" pairs not joined because a "never" forbade it


def apply_overrides(
    clusters: Mapping[str, Any],
    links: Iterable[tuple[str, str, float]],
    overrides: Iterable[tuple[str, str, str]],
) -> Clusters:
    """The model's clusters (record id -> cluster id), corrected by people's decisions.

    "always" pairs join their clusters. A cluster that would hold a "never" pair is rebuilt
    from its own links, strongest first, refusing any link that would bring the pair together
    (so the weak link in a chain is the one dropped, not an arbitrary one). When "always" and
    "never" decisions contradict each other, "never" wins: a wrong split is put right by the next
    review, a wrong merge shows one person's record to people working on another.
    """
    never: dict[str, set[str]] = defaultdict(set)
    always: list[tuple[str, str]] = []
    for a, b, rule in overrides:
        if a not in clusters or b not in clusters:
            continue
        if rule == NEVER:
            never[a].add(b)
            never[b].add(a)
        else:
            always.append((a, b))
    groups: dict[Any, list[str]] = defaultdict(list)
    for record, cluster in clusters.items():
        groups[cluster].append(record)
    # Clusters joined by "always" first, as whole clusters.
    joined = _Components({})
    for cluster in groups:
        joined.add(str(cluster))
    for a, b in always:
        joined.union(str(clusters[a]), str(clusters[b]))
    components: dict[str, list[str]] = defaultdict(list)
    for cluster, records in groups.items():
        components[joined.find(str(cluster))].extend(records)
    result = Clusters(groups=[])
    troubled = [records for records in components.values() if any(never.get(r) for r in records)]
    clean = [records for records in components.values() if not any(never.get(r) for r in records)]
    result.groups.extend(clean)
    if not troubled:
        return result
    in_troubled = {r: i for i, records in enumerate(troubled) for r in records}
    edges: list[tuple[float, str, str]] = []
    for a, b, probability in links:
        i = in_troubled.get(a)
        if i is not None and in_troubled.get(b) == i:
            edges.append((probability, a, b))
    always_inside = [(a, b) for a, b in always if a in in_troubled]
    for records in troubled:
        rebuilt = _Components(never)
        for record in records:
            rebuilt.add(record)
        for a, b in always_inside:
            if a in rebuilt.parent and b in rebuilt.parent and not rebuilt.union(a, b):
                result.conflicts += 1
        for _, a, b in sorted(
            (e for e in edges if e[1] in rebuilt.parent), key=lambda e: (-e[0], e[1], e[2])
        ):
            rebuilt.union(a, b)
        parts = list(rebuilt.members.values())
        if len(parts) > 1:
            result.never_kept_apart += 1
        result.groups.extend(parts)
    return result


@dataclass
class Assignment:
    """Person ids for every group, and the merges and splits that giving them implied."""

    person_of: dict[str, str] = field(default_factory=dict)  # record id -> person id
    created: list[str] = field(default_factory=list)
    merges: list[tuple[list[str], str]] = field(default_factory=list)  # (absorbed, survivor)
    splits: list[tuple[str, list[str]]] = field(default_factory=list)  # (person, parts' ids)


def assign_ids(
    groups: Sequence[Sequence[str]],
    current: Mapping[str, str],
    seniority: Mapping[str, tuple[datetime, str]],
    new_id: Callable[[], str] = new_person_id,
) -> Assignment:
    """Stable person ids for ``groups``, given who each record was (``current``).

    Each existing person claims the group holding most of their records (ties: the group whose
    first record id sorts first, so the answer never depends on the order of the input). A
    group claimed by one person keeps that id; by several, the most senior survives and the
    others are merged into it; by none, it is a new person. A person with records in groups
    other than their claim was split.
    """
    parts: dict[str, Counter[int]] = defaultdict(Counter)
    for index, records in enumerate(groups):
        for record in records:
            person = current.get(record)
            if person is not None:
                parts[person][index] += 1
    first = [min(records) if records else "" for records in groups]
    claimants: dict[int, list[str]] = defaultdict(list)
    for person, counts in parts.items():
        claim = min(counts, key=lambda i: (-counts[i], first[i]))
        claimants[claim].append(person)
    result = Assignment()
    group_person: list[str] = []
    for index, records in enumerate(groups):
        persons = sorted(claimants.get(index, []), key=lambda p: seniority.get(p, (utcnow(), p)))
        if persons:
            survivor = persons[0]
            if len(persons) > 1:
                result.merges.append((persons[1:], survivor))
        else:
            survivor = new_id()
            result.created.append(survivor)
        group_person.append(survivor)
        for record in records:
            result.person_of[record] = survivor
    for person, counts in sorted(parts.items()):
        if len(counts) > 1:
            ordered = sorted(counts, key=lambda i: (-counts[i], first[i]))
            result.splits.append((person, [group_person[i] for i in ordered]))
    return result


# --- reading the database ----------------------------------------------------------------------


# The model's input columns that are not named as in agency_record.
_RENAMED = {"source": "layout"}


def link_columns() -> list[Any]:
    """The columns of ``agency_record`` the model reads (besides ``record_id``), labelled."""
    return [
        getattr(AgencyRecord, _RENAMED.get(name, name)).label(name)
        for name in splink_model.LINK_COLUMNS
        if name != "record_id"
    ]


def load_frame(
    session: Session, *, record_ids: Sequence[str] | None = None, indexed: bool | None = None
) -> pd.DataFrame:
    """Agency records' person columns as one frame, in one query (``record_id`` first).

    ``record_ids`` keeps only those records; ``indexed`` True keeps records already in the
    index, False those not yet in it.
    """
    statement = select(AgencyRecord.id.label("record_id"), *link_columns()).order_by(
        AgencyRecord.id
    )
    if indexed is not None:
        member = select(PersonMember.record_id).where(PersonMember.record_id == AgencyRecord.id)
        statement = statement.where(member.exists() if indexed else ~member.exists())
    if record_ids is not None:
        frames = [
            _read(session, statement.where(AgencyRecord.id.in_(chunk)))
            for chunk in _chunks(sorted(set(record_ids)), 5_000)
        ]
        if frames:
            return pd.concat(frames, ignore_index=True)
        return _read(session, statement.where(AgencyRecord.id.in_([])))
    return _read(session, statement)


def _read(session: Session, statement: Any) -> pd.DataFrame:
    result = session.execute(statement)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return frame.astype({"record_id": str}) if len(frame) else frame


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def latest_model(session: Session) -> LinkageModel | None:
    """The model the index was last built with (the highest version), if any."""
    return session.scalars(
        select(LinkageModel).order_by(LinkageModel.version.desc()).limit(1)
    ).first()


def trained_model(stored: LinkageModel) -> splink_model.TrainedModel:
    """The stored model, ready to predict and explain."""
    return splink_model.TrainedModel.from_json(stored.settings)


def current_person(session: Session, person_id: str) -> Person | None:
    """The person ``person_id`` is now: itself, or whom it was merged into (followed to the end)."""
    person = session.get(Person, person_id)
    seen = set()
    while person is not None and person.status == MERGED and person.merged_into:
        if person.id in seen:  # a loop would be a bug; stop rather than spin
            break
        seen.add(person.id)
        person = session.get(Person, person.merged_into)
    return person


def overrides(session: Session) -> list[tuple[str, str, str]]:
    """Every override as (record_a, record_b, rule)."""
    rows = session.execute(select(LinkOverride.record_a, LinkOverride.record_b, LinkOverride.rule))
    return [(a, b, rule) for a, b, rule in rows]


def _memberships(session: Session) -> dict[str, str]:
    rows = session.execute(select(PersonMember.record_id, PersonMember.person_id))
    return {record: person for record, person in rows}


def _seniority(session: Session) -> dict[str, tuple[datetime, str]]:
    rows = session.execute(select(Person.id, Person.created_at).where(Person.status == ACTIVE))
    return {pid: (created, pid) for pid, created in rows}


# --- the full run ------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run did, for the command's table and the run's row."""

    run_id: int = 0
    kind: str = FULL
    model_version: int = 0
    trained: bool = False
    records: int = 0
    pairs: int = 0
    persons: int = 0
    persons_created: int = 0
    merged: int = 0
    split: int = 0
    attached: int = 0
    review_added: int = 0
    review_deferred: int = 0
    kept_apart: int = 0
    override_conflicts: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """The counts as stored on the run and ledgered."""
        skip = {"run_id", "kind", "model_version"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}


RUN_STAGES = ("Loading records", "Training", "Predicting pairs", "Clustering", "Writing")


def run(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    retrain: bool = False,
    progress: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> RunSummary:
    """Link every agency record and bring the person index up to date (see the module doc).

    With ``cache_dir``, the prepared index is kept there for ``link_new`` (``index_cache``).
    """
    started = time.perf_counter()
    summary = RunSummary()
    step = _stepper(summary, progress)
    with sessions() as session:
        frame = load_frame(session)
        stored = latest_model(session)
    step("Loading records")
    if frame.empty:
        raise LinkageError("there are no agency records to link: load agencies' files first")
    summary.records = len(frame)
    if stored is None or retrain:
        stored = _train_and_store(sessions, frame, actor=actor)
        summary.trained = True
    step("Training")
    model = trained_model(stored)
    summary.model_version = stored.version
    # Prepared once, for scoring, clustering, explaining and the copy kept for link_new.
    frame = splink_model.prepare(frame)
    pairs = splink_model.predict(model, frame, threshold_match_weight=PREDICT_FLOOR)
    summary.pairs = len(pairs)
    step("Predicting pairs")
    clustered = splink_model.cluster(
        model, frame, pairs, threshold_match_probability=LINK_THRESHOLD
    )
    step("Clustering")
    with sessions() as session:
        # Take the ledger's lock first: what the index holds is read and changed in one
        # transaction, so two runs (or a run and link_new) cannot interleave.
        lock_for_append(session)
        run_row = LinkageRun(kind=FULL, actor=actor, model_version=stored.version)
        session.add(run_row)
        session.flush()
        summary.run_id = run_row.id
        decided = overrides(session)
        strong = pairs.loc[pairs["match_probability"] >= LINK_THRESHOLD]
        links = zip(
            strong["record_id_l"].tolist(),
            strong["record_id_r"].tolist(),
            strong["match_probability"].tolist(),
            strict=True,
        )
        cluster_of = dict(
            zip(clustered["record_id"].tolist(), clustered["cluster_id"].tolist(), strict=True)
        )
        for record in frame["record_id"].tolist():
            cluster_of.setdefault(record, record)
        grouped = apply_overrides(cluster_of, links, decided)
        summary.kept_apart = grouped.never_kept_apart
        summary.override_conflicts = grouped.conflicts
        current = _memberships(session)
        assignment = assign_ids(grouped.groups, current, _seniority(session))
        always = {r for a, b, rule in decided if rule == ALWAYS for r in (a, b)}
        sizes = {len(g) for g in grouped.groups}
        singles = {g[0] for g in grouped.groups if len(g) == 1} if 1 in sizes else set()

        def how(record: str) -> str:
            if record in singles:
                return BY_NEW
            return BY_OVERRIDE if record in always else BY_MODEL

        _write_index(session, run_row, assignment, current, how, actor=actor, summary=summary)
        summary.persons = len(grouped.groups)
        _queue_uncertain(session, pairs, assignment.person_of, decided, run_row, summary)
        _finish(session, run_row, summary, started, actor=actor)
        session.commit()
    if cache_dir is not None:
        index_cache.write(cache_dir, frame, model_version=stored.version)
    if summary.review_added:
        _explain_queued(sessions, model, frame, summary.run_id)
    step("Writing")
    return summary


def _stepper(summary: RunSummary, progress: Callable[[str], None] | None) -> Callable[[str], None]:
    last = time.perf_counter()

    def step(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        summary.stages[stage] = round(now - last, 3)
        last = now
        if progress is not None:
            progress(stage)

    return step


def _train_and_store(
    sessions: sessionmaker[Session], frame: pd.DataFrame, *, actor: str
) -> LinkageModel:
    model = splink_model.train(frame)
    with sessions() as session:
        lock_for_append(session)
        version = (session.scalar(select(func.max(LinkageModel.version))) or 0) + 1
        stored = LinkageModel(
            version=version,
            settings=_json_safe(dict(_model_document(model))),
            rows=model.rows,
            trained_by=actor,
        )
        session.add(stored)
        append_many(
            session,
            [
                NewEntry(
                    entry_type="linkage.model.trained",
                    actor=actor,
                    subjects=(Subject("linkage_model", str(version)),),
                    payload={"version": version, "rows": model.rows, "seconds": model.seconds},
                )
            ],
        )
        session.commit()
        session.refresh(stored)
        session.expunge(stored)
        return stored


def _model_document(model: splink_model.TrainedModel) -> Mapping[str, Any]:
    import json

    document: dict[str, Any] = json.loads(model.to_json())
    return document


def _write_index(
    session: Session,
    run_row: LinkageRun,
    assignment: Assignment,
    current: Mapping[str, str],
    how: Callable[[str], str],
    *,
    actor: str,
    summary: RunSummary,
) -> None:
    """Persons, memberships, merges and splits, and a ledger entry for each, in batches."""
    now = utcnow()
    run_id = run_row.id
    entries: list[NewEntry] = []

    def ledger(entry_type: str, subjects: Sequence[Subject], payload: dict[str, Any]) -> None:
        entries.append(NewEntry(entry_type, actor, None, None, tuple(subjects), payload))
        if len(entries) >= LEDGER_BATCH:
            append_many(session, entries)
            entries.clear()

    if assignment.created:
        session.execute(
            insert(Person),
            [
                {"id": p, "status": ACTIVE, "created_at": now, "created_run_id": run_id}
                for p in assignment.created
            ],
        )
        for person in assignment.created:
            ledger("linkage.person.created", [Subject(PERSON, person)], {"run": run_id})
    summary.persons_created += len(assignment.created)
    for absorbed, survivor in assignment.merges:
        session.execute(
            update(Person)
            .where(Person.id.in_(absorbed))
            .values(status=MERGED, merged_into=survivor)
        )
        # Persons merged earlier into one now absorbed follow it to the survivor.
        session.execute(
            update(Person).where(Person.merged_into.in_(absorbed)).values(merged_into=survivor)
        )
        session.add(
            PersonChange(
                kind=CHANGE_MERGED, from_ids=[survivor, *absorbed], to_ids=[survivor],
                at=now, run_id=run_id, actor=actor,
            )
        )  # fmt: skip
        subjects = [Subject(PERSON, p) for p in (survivor, *absorbed)]
        ledger("linkage.person.merged", subjects, {"into": survivor, "from": absorbed})
    summary.merged += len(assignment.merges)
    for person, parts in assignment.splits:
        session.add(
            PersonChange(
                kind=CHANGE_SPLIT, from_ids=[person], to_ids=parts,
                at=now, run_id=run_id, actor=actor,
            )
        )  # fmt: skip
        subjects = [Subject(PERSON, p) for p in dict.fromkeys((person, *parts))]
        ledger("linkage.person.split", subjects, {"from": person, "to": parts})
    summary.split += len(assignment.splits)
    new_rows: list[dict[str, Any]] = []
    moved_rows: list[dict[str, Any]] = []

    def write_members() -> None:
        # In slices, so a first run over a million records never holds them all as rows.
        if new_rows:
            session.execute(insert(PersonMember), new_rows)
        if moved_rows:
            session.execute(update(PersonMember), moved_rows)
        summary.attached += len(new_rows) + len(moved_rows)
        new_rows.clear()
        moved_rows.clear()

    for record, person in assignment.person_of.items():
        before = current.get(record)
        if before == person:
            continue
        row = {"record_id": record, "person_id": person, "since": now, "how": how(record)}
        row["run_id"] = run_id
        (new_rows if before is None else moved_rows).append(row)
        ledger(
            "linkage.record.attached",
            [Subject(AGENCY_RECORD, record), Subject(PERSON, person)],
            {"person": person, "previous": before, "how": row["how"], "run": run_id},
        )
        if len(new_rows) + len(moved_rows) >= MEMBER_BATCH:
            write_members()
    write_members()
    append_many(session, entries)


def _queue_uncertain(
    session: Session,
    pairs: pd.DataFrame,
    person_of: Mapping[str, str],
    decided: Sequence[tuple[str, str, str]],
    run_row: LinkageRun,
    summary: RunSummary,
) -> None:
    """Queue the uncertain pairs that would change something, once each, strongest first."""
    band = pairs.loc[
        (pairs["match_probability"] >= REVIEW_FROM) & (pairs["match_probability"] < LINK_THRESHOLD)
    ]
    if band.empty:
        return
    known = {(a, b) for a, b, _ in decided}
    known.update(
        (a, b) for a, b in session.execute(select(ReviewItem.record_a, ReviewItem.record_b))
    )
    wanted: list[tuple[float, float, str, str]] = []
    for a, b, weight, probability in zip(
        band["record_id_l"].tolist(),
        band["record_id_r"].tolist(),
        band["match_weight"].tolist(),
        band["match_probability"].tolist(),
        strict=True,
    ):
        key = pair_key(a, b)
        pa, pb = person_of.get(a), person_of.get(b)
        if key in known or (pa is not None and pa == pb):
            continue
        wanted.append((float(weight), float(probability), *key))
    wanted.sort(key=lambda w: (-w[0], w[2], w[3]))
    chosen = wanted[:REVIEW_LIMIT]
    summary.review_deferred += len(wanted) - len(chosen)
    if not chosen:
        return
    rows = []
    for weight, probability, a, b in chosen:
        rows.append(
            {
                "record_a": a,
                "record_b": b,
                "match_weight": weight,
                "match_probability": probability,
                "explanation": None,  # see _explain_queued
                "status": OPEN,
                "created_at": utcnow(),
                "run_id": run_row.id,
            }
        )
    session.execute(insert(ReviewItem), rows)
    summary.review_added += len(rows)


def _explain_queued(
    sessions: sessionmaker[Session],
    model: splink_model.TrainedModel,
    frame: pd.DataFrame,
    run_id: int,
) -> None:
    """Explain the strongest pairs a run queued, after its commit: explaining is slow, and the
    run's transaction holds the ledger's lock, which every page view needs."""
    with sessions() as session:
        items = session.execute(
            select(ReviewItem.id, ReviewItem.record_a, ReviewItem.record_b)
            .where(ReviewItem.run_id == run_id)
            .order_by(ReviewItem.match_weight.desc(), ReviewItem.id)
            .limit(EXPLAIN_AT_QUEUE)
        ).all()
    if not items:
        return
    records = _records_by_id(frame, {r for _, a, b in items for r in (a, b)})
    explained = [
        {"id": item_id, "explanation": explanation_document(model, records[a], records[b])}
        for item_id, a, b in items
        if a in records and b in records
    ]
    with sessions() as session:
        session.execute(update(ReviewItem), explained)
        session.commit()


def _records_by_id(frame: pd.DataFrame, ids: set[str]) -> dict[str, dict[str, Any]]:
    chosen = frame.loc[frame["record_id"].isin(ids)]
    return {str(row["record_id"]): row for row in chosen.to_dict("records")}


def explanation_document(
    model: splink_model.TrainedModel, record_a: Mapping[str, Any], record_b: Mapping[str, Any]
) -> dict[str, Any]:
    """The model's explanation of a pair, as JSON (what the review page and the API show)."""
    from dataclasses import asdict

    clean_a = {k: _json_value(v) for k, v in record_a.items()}
    clean_b = {k: _json_value(v) for k, v in record_b.items()}
    explanation = splink_model.explain(model, clean_a, clean_b)
    document: dict[str, Any] = _json_safe(asdict(explanation))
    return document


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN: pandas' blank
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    value = _json_value(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value not in (float("inf"), float("-inf")) else str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return str(value)


def _finish(
    session: Session, run_row: LinkageRun, summary: RunSummary, started: float, *, actor: str
) -> None:
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.run_id = run_row.id
    summary.kind = run_row.kind
    run_row.finished_at = utcnow()
    run_row.counts = _json_safe(summary.counts())
    append_many(
        session,
        [
            NewEntry(
                entry_type="linkage.run.finished",
                actor=actor,
                subjects=(Subject("linkage_run", str(run_row.id)),),
                payload={"kind": run_row.kind, **run_row.counts},
            )
        ],
    )


# --- new records, one batch at a time ------------------------------------------------------------


def link_new(
    sessions: sessionmaker[Session],
    record_ids: Sequence[str],
    *,
    actor: str,
    cache_dir: Path | None = None,
) -> RunSummary:
    """Put new agency records into the index without changing any existing person's id.

    Each new record joins the person of its strongest match at or above the threshold (an
    "always" override beats the model, a "never" one rules a person out); new records that
    match one another and nothing in the index become one new person together; the rest are new
    persons. Uncertain pairs go to the review queue; a merge the new records suggest waits for
    a full run or a reviewer.
    """
    started = time.perf_counter()
    summary = RunSummary(kind=INCREMENTAL)
    with sessions() as session:
        stored = latest_model(session)
        if stored is None:
            raise LinkageError("there is no trained model yet: run `onestory linkage run` first")
        wanted = sorted(set(record_ids))
        held: set[str] = set()
        for chunk in _chunks(wanted, 5_000):
            held.update(session.scalars(select(AgencyRecord.id).where(AgencyRecord.id.in_(chunk))))
        if len(held) != len(wanted):
            missing = sorted(set(wanted) - held)
            raise LinkageError(
                f"no agency record has the id {missing[0]!r} ({len(missing)} of the "
                f"{len(wanted)} ids asked for are not there); nothing was linked"
            )
        new_frame = load_frame(session, record_ids=wanted, indexed=False)
        index_frame = None
        if not new_frame.empty:
            indexed = session.scalar(select(func.count()).select_from(PersonMember)) or 0
            if cache_dir is not None:
                index_frame = index_cache.read(
                    cache_dir, model_version=stored.version, rows=indexed
                )
            if index_frame is None:
                index_frame = splink_model.prepare(load_frame(session, indexed=True))
                if cache_dir is not None:
                    index_cache.write(cache_dir, index_frame, model_version=stored.version)
    summary.records = len(new_frame)
    summary.model_version = stored.version
    if new_frame.empty or index_frame is None:
        return summary  # every record asked about is in the index already
    new_frame = splink_model.prepare(new_frame)
    model = trained_model(stored)
    frames = []
    if not index_frame.empty:
        frames.append(
            splink_model.match_new(
                model, index_frame, new_frame, threshold_match_weight=PREDICT_FLOOR
            )
        )
    if len(new_frame) > 1:
        frames.append(splink_model.predict(model, new_frame, threshold_match_weight=PREDICT_FLOOR))
    pairs = pd.concat(frames, ignore_index=True) if frames else _no_pairs()
    summary.pairs = len(pairs)
    new_ids = set(new_frame["record_id"].tolist())
    with sessions() as session:
        lock_for_append(session)
        current = _memberships(session)
        # Records another batch linked meanwhile are left as they are.
        new_ids -= set(current)
        run_row = LinkageRun(kind=INCREMENTAL, actor=actor, model_version=stored.version)
        session.add(run_row)
        session.flush()
        decided = [o for o in overrides(session) if o[0] in new_ids or o[1] in new_ids]
        assignment, how = place_new(pairs, new_ids, current, decided)
        _write_index(session, run_row, assignment, current, how, actor=actor, summary=summary)
        summary.persons = len(set(assignment.person_of.values()))
        person_of = {**current, **assignment.person_of}
        both = pd.concat([index_frame, new_frame], ignore_index=True)
        _queue_uncertain(session, pairs, person_of, decided, run_row, summary)
        _finish(session, run_row, summary, started, actor=actor)
        session.commit()
    if cache_dir is not None:
        placed = new_frame.loc[new_frame["record_id"].isin(new_ids)]
        index_cache.append(cache_dir, placed, model_version=stored.version)
    if summary.review_added:
        _explain_queued(sessions, model, both, summary.run_id)
    return summary


def unlinked_records(session: Session) -> list[str]:
    """The agency records no person holds yet: those that arrived since the last run."""
    linked = select(PersonMember.record_id).where(PersonMember.record_id == AgencyRecord.id)
    return list(session.scalars(select(AgencyRecord.id).where(~linked.exists())))


def link_arrivals(
    sessions: sessionmaker[Session], *, actor: str, cache_dir: Path | None = None
) -> RunSummary:
    """``link_new`` for every record that arrived since the last run (nothing to do is fine)."""
    with sessions() as session:
        arrived = unlinked_records(session)
    if not arrived:
        return RunSummary(kind=INCREMENTAL)
    return link_new(sessions, arrived, actor=actor, cache_dir=cache_dir)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {"record_id_l": [], "record_id_r": [], "match_weight": [], "match_probability": []}
    )


def place_new(
    pairs: pd.DataFrame,
    new_ids: set[str],
    current: Mapping[str, str],
    decided: Sequence[tuple[str, str, str]],
) -> tuple[Assignment, Callable[[str], str]]:
    """Persons for ``new_ids`` from scored ``pairs``, leaving every indexed record where it is.

    Returns the assignment (new records only) and how each record got its person.
    """
    never: dict[str, set[str]] = defaultdict(set)
    for a, b, rule in decided:
        if rule == NEVER:
            never[a].add(b)
            never[b].add(a)
    # The persons each new record may not join: those holding a record it must never be with.
    barred = {r: {current[o] for o in others if o in current} for r, others in never.items()}
    # Candidate persons per new record, strongest first; an "always" override counts as certain.
    candidates: dict[str, list[tuple[float, str]]] = defaultdict(list)
    inner: list[tuple[float, str, str]] = []
    strong = pairs.loc[pairs["match_probability"] >= LINK_THRESHOLD]
    for a, b, probability in zip(
        strong["record_id_l"].tolist(),
        strong["record_id_r"].tolist(),
        strong["match_probability"].tolist(),
        strict=True,
    ):
        if a in new_ids and b in new_ids:
            inner.append((float(probability), a, b))
        elif b in new_ids and a in current:
            candidates[b].append((float(probability), current[a]))
        elif a in new_ids and b in current:
            candidates[a].append((float(probability), current[b]))
    always_new: list[tuple[str, str]] = []
    for a, b, rule in decided:
        if rule != ALWAYS:
            continue
        if a in new_ids and b in new_ids:
            always_new.append((a, b))
        elif a in new_ids and b in current:
            candidates[a].append((2.0, current[b]))
        elif b in new_ids and a in current:
            candidates[b].append((2.0, current[a]))
    components = _Components(never)
    for record in sorted(new_ids):
        components.add(record)
    for a, b in always_new:
        components.union(a, b)
    for _, a, b in sorted(inner, key=lambda e: (-e[0], e[1], e[2])):
        components.union(a, b)
    assignment = Assignment()
    hows: dict[str, str] = {}
    for members in components.members.values():
        options = sorted(
            (
                (-probability, person)
                for record in members
                for probability, person in candidates.get(record, [])
                if not any(person in barred.get(m, set()) for m in members)
            ),
        )
        if options:
            person = options[0][1]
            certain = options[0][0] <= -2.0
            for record in members:
                hows[record] = BY_OVERRIDE if certain else BY_MATCH
        else:
            person = new_person_id()
            assignment.created.append(person)
            for record in members:
                hows[record] = BY_NEW if len(members) == 1 else BY_MATCH
        for record in members:
            assignment.person_of[record] = person
    return assignment, lambda record: hows.get(record, BY_MATCH)


# --- people's decisions ------------------------------------------------------------------------


class ReviewError(LinkageError):
    """A review decision that cannot be made (already decided, no reason given...)."""


def set_override(
    session: Session,
    *,
    record_a: str,
    record_b: str,
    rule: str,
    decided_by: str,
    actor_org: str | None = None,
    reason: str,
) -> LinkOverride:
    """Record that two records are ALWAYS or NEVER the same person (replacing any earlier say).

    Ledgered in the caller's transaction. Later runs obey it; an "always" also joins the two
    persons at once (see ``join_persons``).
    """
    if rule not in (ALWAYS, NEVER):
        raise ReviewError(f"an override is 'always' or 'never', not {rule!r}")
    if record_a == record_b:
        raise ReviewError("an override needs two different records")
    if not reason.strip():
        raise ReviewError("give the reason for the decision")
    # The ledger's lock before reading: two decisions on one pair (a reviewer and the command
    # line, or two reviewers) are made one after the other, never from the same stale reading.
    lock_for_append(session)
    a, b = pair_key(record_a, record_b)
    found = session.scalars(select(AgencyRecord.id).where(AgencyRecord.id.in_([a, b]))).all()
    if len(found) != 2:
        missing = a if a not in found else b
        raise ReviewError(f"no agency record has the id {missing!r}")
    override = session.scalars(
        select(LinkOverride).where(LinkOverride.record_a == a, LinkOverride.record_b == b)
    ).first()
    if override is None:
        override = LinkOverride(record_a=a, record_b=b)
        session.add(override)
    override.rule = rule
    override.decided_by = decided_by
    override.reason = reason.strip()
    override.at = utcnow()
    append_at_commit(
        session,
        entry_type="linkage.override.set",
        actor=decided_by,
        actor_org=actor_org,
        subjects=[Subject(AGENCY_RECORD, a), Subject(AGENCY_RECORD, b)],
        payload={"recordA": a, "recordB": b, "rule": rule, "reason": override.reason},
    )
    # A pair decided outside the queue is no longer waiting there.
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.record_a == a, ReviewItem.record_b == b, ReviewItem.status == OPEN)
        .values(
            status=ACCEPTED if rule == ALWAYS else REJECTED,
            decided_by=decided_by,
            decided_at=override.at,
            reason=override.reason,
        )
    )
    if rule == ALWAYS:
        join_persons(session, a, b, actor=decided_by)
    session.flush()
    return override


def join_persons(session: Session, record_a: str, record_b: str, *, actor: str) -> str | None:
    """Merge the persons of two records now (the older survives); the survivor's id, if any.

    A record not yet in the index joins the other's person; two unindexed records wait for
    the next run.
    """
    members = {
        m.record_id: m
        for m in session.scalars(
            select(PersonMember).where(PersonMember.record_id.in_([record_a, record_b]))
        )
    }
    now = utcnow()
    if not members:
        return None
    if len(members) == 1:
        (member,) = members.values()
        other = record_b if member.record_id == record_a else record_a
        session.add(PersonMember(record_id=other, person_id=member.person_id, since=now,
                                 how=BY_OVERRIDE))  # fmt: skip
        _attached(session, other, member.person_id, None, actor)
        return member.person_id
    pa, pb = members[record_a].person_id, members[record_b].person_id
    if pa == pb:
        return pa
    persons = sorted(
        session.scalars(select(Person).where(Person.id.in_([pa, pb]))),
        key=lambda p: (p.created_at, p.id),
    )
    survivor, absorbed = persons[0], persons[1]
    moved = session.scalars(select(PersonMember).where(PersonMember.person_id == absorbed.id)).all()
    for member in moved:
        member.person_id, member.since, member.how = survivor.id, now, BY_OVERRIDE
        _attached(session, member.record_id, survivor.id, absorbed.id, actor)
    absorbed.status, absorbed.merged_into = MERGED, survivor.id
    session.execute(
        update(Person).where(Person.merged_into == absorbed.id).values(merged_into=survivor.id)
    )
    session.add(
        PersonChange(kind=CHANGE_MERGED, from_ids=[survivor.id, absorbed.id],
                     to_ids=[survivor.id], at=now, actor=actor)
    )  # fmt: skip
    append_at_commit(
        session,
        entry_type="linkage.person.merged",
        actor=actor,
        subjects=[Subject(PERSON, survivor.id), Subject(PERSON, absorbed.id)],
        payload={"into": survivor.id, "from": [absorbed.id], "by": "override"},
    )
    return survivor.id


def _attached(session: Session, record: str, person: str, before: str | None, actor: str) -> None:
    append_at_commit(
        session,
        entry_type="linkage.record.attached",
        actor=actor,
        subjects=[Subject(AGENCY_RECORD, record), Subject(PERSON, person)],
        payload={"person": person, "previous": before, "how": BY_OVERRIDE},
    )


def review_item_to_decide(session: Session, item_id: int) -> ReviewItem | None:
    """A queued pair as it stands now, read under the ledger's lock, ready to be decided.

    The lock comes first (on SQLite the write lock, on PostgreSQL the ledger head's row lock),
    so whoever decides the pair next waits for this transaction to end and then reads what it
    decided; the item is read afresh, never from what the session held before the lock.
    """
    lock_for_append(session)
    return session.get(ReviewItem, item_id, populate_existing=True, with_for_update=True)


def decide_review(
    session: Session,
    *,
    item: ReviewItem,
    same_person: bool,
    reason: str,
    decided_by: str,
    actor_org: str | None = None,
) -> LinkOverride:
    """A reviewer's answer to a queued pair: the override it becomes, the item closed, ledgered.

    The item is read again under the ledger's lock first (``review_item_to_decide``), so of two
    reviewers deciding one pair at once the second is told it was decided: ``ReviewError``,
    raised before anything is changed. The session's copy of ``item`` is the one decided.
    """
    current = review_item_to_decide(session, item.id)
    if current is None:
        raise ReviewError(f"review {item.id} is no longer queued")
    item = current
    if item.status != OPEN:
        when = f" at {item.decided_at.isoformat()}" if item.decided_at else ""
        raise ReviewError(
            f"review {item.id} was already decided ({item.status}) by {item.decided_by}{when}"
        )
    if not reason.strip():
        raise ReviewError("give the reason for the decision")
    override = set_override(
        session,
        record_a=item.record_a,
        record_b=item.record_b,
        rule=ALWAYS if same_person else NEVER,
        decided_by=decided_by,
        actor_org=actor_org,
        reason=reason,
    )
    item.status = ACCEPTED if same_person else REJECTED
    item.decided_by = decided_by
    item.decided_at = utcnow()
    item.reason = reason.strip()
    append_at_commit(
        session,
        entry_type="linkage.review.decided",
        actor=decided_by,
        actor_org=actor_org,
        subjects=[Subject("link_review_item", str(item.id))],
        payload={"item": item.id, "status": item.status, "reason": item.reason},
    )
    return override


# --- reading the index -------------------------------------------------------------------------


def review_counts(session: Session) -> dict[str, int]:
    """How many queued pairs there are in each state."""
    rows = session.execute(select(ReviewItem.status, func.count()).group_by(ReviewItem.status))
    counts = {status: 0 for status in (OPEN, ACCEPTED, REJECTED)}
    counts.update({status: int(n) for status, n in rows})
    return counts


def open_reviews(session: Session, *, limit: int = 100, offset: int = 0) -> list[ReviewItem]:
    """Open pairs, strongest evidence first."""
    return list(
        session.scalars(
            select(ReviewItem)
            .where(ReviewItem.status == OPEN)
            .order_by(ReviewItem.match_weight.desc(), ReviewItem.id)
            .limit(limit)
            .offset(offset)
        )
    )


def person_of_record(session: Session, record_id: str) -> str | None:
    """The person id a record belongs to, if it is in the index."""
    return session.scalar(select(PersonMember.person_id).where(PersonMember.record_id == record_id))


def person_records(session: Session, person_id: str) -> list[AgencyRecord]:
    """Every agency record of a person, by agency and then when received."""
    return list(
        session.scalars(
            select(AgencyRecord)
            .join(PersonMember, PersonMember.record_id == AgencyRecord.id)
            .where(PersonMember.person_id == person_id)
            .order_by(AgencyRecord.agency, AgencyRecord.received_at, AgencyRecord.id)
        )
    )


def person_changes(session: Session, person_id: str) -> list[PersonChange]:
    """The merges and splits a person was part of, oldest first."""
    # Person ids are random and never a substring of one another, so a text match on the JSON
    # lists finds exactly the changes naming this id, on SQLite and PostgreSQL alike.
    pattern = f'%"{person_id}"%'
    return list(
        session.scalars(
            select(PersonChange)
            .where(
                cast(PersonChange.from_ids, String).like(pattern)
                | cast(PersonChange.to_ids, String).like(pattern)
            )
            .order_by(PersonChange.at, PersonChange.id)
        )
    )


def explain_item(session: Session, item: ReviewItem) -> dict[str, Any] | None:
    """The item's explanation, worked out now (and kept) if the run left it for later."""
    if item.explanation is None:
        try:
            item.explanation, _ = link_explanation(session, item.record_a, item.record_b)
        except LinkageError:
            return None
    return item.explanation


def link_explanation(
    session: Session, record_a: str, record_b: str
) -> tuple[dict[str, Any], LinkageModel]:
    """The stored model's explanation of any two records (the API's and the pages' answer)."""
    stored = latest_model(session)
    if stored is None:
        raise LinkageError("there is no trained model yet: run `onestory linkage run` first")
    frame = load_frame(session, record_ids=[record_a, record_b])
    records = _records_by_id(frame, {record_a, record_b})
    for wanted in (record_a, record_b):
        if wanted not in records:
            raise LinkageError(f"no agency record has the id {wanted!r}")
    return explanation_document(trained_model(stored), records[record_a], records[record_b]), stored
