"""The Victims' Code duties owed to victims, derived from a snapshot's events.

Compliance is measured from what the agencies' own feeds say happened, not from what someone
ticked: every event that starts a duty under the Code's rules files (``victims/rules``), for
every victim the case's ``police.crime.recorded`` event names, is one duty, met when a
``witness_care.victim.informed`` event says that victim was told about that very event for that
very duty. Tell-us-once duty clocks (``duty_clocks``) are added as they stand, so one measure
covers both the stories victims told and the events agencies sent.

The ``duties`` table (one row per victim, duty and triggering event):

- ``source``: ``event`` (derived here from events) or ``story`` (a Tell-us-once duty clock);
- ``victim_key``: a stable key for the victim within the case (a hash of the recording event's
  id and the victim's place in it, never a name or identifier); null for story clocks, whose
  victim the snapshot does not carry;
- ``case_urn``, ``trigger_event_id`` (null for story clocks);
- ``duty`` (the rule id, e.g. ``R6.1``), ``code_version`` (the Code in force when it started);
- ``owner_kind`` and ``owner_code``: who owes it: the organisation that sent the triggering event
  when it is of the kind the rule names, else that kind's organisation in the case's police area
  (as ``victims.timeline`` decides for the live clocks);
- ``police_area``: the force area of the case (the recording force's area, else the URN's first
  two digits); for story clocks, the owning organisation's area;
- ``enhanced``: the victim is entitled to enhanced rights (``enhancedRights`` not empty);
- ``started_at``, ``started_on`` (its date in England and Wales), ``due_at`` (end of the last
  working day), ``met_at`` (null while not met);
- ``outcome``: ``on_time``, ``late``, ``overdue`` (not met, due before the snapshot was taken)
  or ``pending`` (not met, not yet due), as ``victims.duties.status`` decides.

Choices a reader of the figures should know:

- Every duty runs from when the thing happened (``occurred_at``). The live clocks start a duty
  owed by someone other than the sender when OneStory received the event; over history loaded in
  bulk that would date every such duty to the load, so the snapshot uses the time the feed says
  the owner could first have been told.
- "Witness Care Unit told" (R8.1) is met when OneStory received the court's event, since OneStory
  tells the unit; "referred to the Victim Contact Scheme" (R11.1) by the first referral event on
  the case. Acts no feed records (support referral, victim contacted, expenses paid) never meet a
  duty here, so those duties show as overdue: the data cannot show them met.
- Events before the earliest Code version in the rules files start no duty: no time limits for
  those dates are loaded, and none are invented.

Everything is done in DuckDB over the Parquet files, reading only the JSON fields needed; Python
sees one batch of candidate rows at a time, so ten million events never sit in memory at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa

from onestory.insights.snapshot import TIMESTAMP, Snapshot, derive
from onestory.store.base import utcnow
from onestory.victims import duties as code

BATCH = 50_000
EVENT = "event"
STORY = "story"
TOLD = "victim.told"
WITNESS_CARE_TOLD = "witness_care.told"
VCS_REFERRED = "vcs.referred"

OUTCOMES: dict[code.DutyStatus, str] = {
    code.DutyStatus.MET_ON_TIME: "on_time",
    code.DutyStatus.MET_LATE: "late",
    code.DutyStatus.OVERDUE: "overdue",
    code.DutyStatus.PENDING: "pending",
}

SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("victim_key", pa.string()),
        ("case_urn", pa.string()),
        ("duty", pa.string()),
        ("code_version", pa.string()),
        ("owner_kind", pa.string()),
        ("owner_code", pa.string()),
        ("police_area", pa.string()),
        ("enhanced", pa.bool_()),
        ("trigger_event_id", pa.string()),
        ("started_at", TIMESTAMP),
        ("started_on", pa.date32()),
        ("due_at", TIMESTAMP),
        ("met_at", TIMESTAMP),
        ("outcome", pa.string()),
    ]
)

# Common-model event type -> the Code triggers it starts: the same reading of each event as
# ``victims.timeline.translate`` (a test holds the two together), written as SQL so only the
# fields it needs are read from each envelope.
TRIGGERS_SQL = """
SELECT id, case_urn, type, occurred_at, received_at, asserted_by,
  CASE type
    WHEN 'police.suspect.arrested' THEN
      CASE WHEN json_extract_string(envelope, '$.payload.releasedOn') = 'bail'
        THEN ['suspect.arrested', 'suspect.bailed'] ELSE ['suspect.arrested'] END
    WHEN 'police.charge.decided' THEN ['charge.decided']
    WHEN 'cps.charges.altered' THEN
      CASE WHEN json_extract_string(envelope, '$.payload.prosecution.status')
             IN ('discontinued', 'no_evidence_offered')
        THEN ['case.discontinued'] ELSE ['charge.altered'] END
    WHEN 'court.hearing.listed' THEN ['hearing.listed']
    WHEN 'court.hearing.resulted' THEN
      CASE WHEN len(list_filter(
             json_extract_string(envelope, '$.payload.outcome.offences[*].verdict'),
             lambda v: v IS NOT NULL AND v <> '')) > 0
        THEN ['hearing.outcome', 'case.outcome'] ELSE ['hearing.outcome'] END
    WHEN 'court.sentence.imposed' THEN ['sentence.passed']
    WHEN 'probation.victim_contact.referred' THEN ['vcs.referral']
  END AS triggers,
  CASE WHEN type = 'court.sentence.imposed'
    THEN json_extract_string(envelope, '$.payload.sentence.sentenceType') END AS sentence_type,
  CASE WHEN type = 'court.sentence.imposed'
    THEN TRY_CAST(json_extract_string(envelope, '$.payload.sentence.custodyMonths') AS INTEGER)
  END AS custody_months
FROM events
WHERE case_urn IS NOT NULL AND type IN (
  'police.suspect.arrested', 'police.charge.decided', 'cps.charges.altered',
  'court.hearing.listed', 'court.hearing.resulted', 'court.sentence.imposed',
  'probation.victim_contact.referred')
"""

# One row per (event that starts a duty, victim of its case), with what could meet the duties:
# (times as naive UTC, which Arrow hands to Python three times faster than zoned ones)
# the victim's "informed" events about that event, and the case's Victim Contact Scheme
# referrals. Victims are matched to "informed" events by any shared identifier. ``triggers`` is
# the view of TRIGGERS_SQL (``connect`` makes it).
CANDIDATES_SQL = """
WITH recorded AS (
  SELECT id, case_urn, asserted_by, json_extract(envelope, '$.payload.victims[*]') AS victims
  FROM events WHERE type = 'police.crime.recorded' AND case_urn IS NOT NULL
),
victims AS (
  SELECT id AS recorded_id, case_urn, asserted_by,
         unnest(victims) AS victim, unnest(range(len(victims))) AS place
  FROM recorded
),
victim AS (
  SELECT left(sha256(v.recorded_id || ':' || CAST(v.place AS VARCHAR)), 32) AS victim_key,
         v.case_urn,
         coalesce(json_array_length(v.victim, '$.enhancedRights'), 0) > 0 AS enhanced,
         coalesce(o.police_area, left(v.case_urn, 2)) AS police_area,
         json_extract_string(v.victim, '$.person.identifiers[*].type') AS id_types,
         json_extract_string(v.victim, '$.person.identifiers[*].value') AS id_values
  FROM victims v LEFT JOIN organisations o ON o.code = v.asserted_by
),
victim_ids AS (
  SELECT victim_key, case_urn, unnest(id_types) AS id_type, unnest(id_values) AS id_value
  FROM victim
),
informed AS (
  SELECT json_extract_string(envelope, '$.payload.aboutEventId') AS about,
         json_extract_string(envelope, '$.payload.duty') AS duty,
         json_extract_string(envelope, '$.payload.informedAt') AS informed_at,
         unnest(json_extract_string(envelope, '$.personReference.identifiers[*].type')) AS id_type,
         unnest(json_extract_string(envelope, '$.personReference.identifiers[*].value'))
           AS id_value
  FROM events WHERE type = 'witness_care.victim.informed'
),
told AS (
  SELECT i.about, vi.victim_key, list(DISTINCT i.duty || '|' || i.informed_at) AS told
  FROM informed i
  JOIN triggers t ON t.id = i.about
  JOIN victim_ids vi
    ON vi.case_urn = t.case_urn AND vi.id_type = i.id_type AND vi.id_value = i.id_value
  WHERE i.duty IS NOT NULL AND i.informed_at IS NOT NULL
  GROUP BY i.about, vi.victim_key
),
referrals AS (
  SELECT case_urn, list(timezone('UTC', occurred_at) ORDER BY occurred_at) AS referrals
  FROM events WHERE type = 'probation.victim_contact.referred' AND case_urn IS NOT NULL
  GROUP BY case_urn
)
SELECT t.id AS trigger_event_id, t.case_urn, t.triggers,
       timezone('UTC', t.occurred_at) AS occurred_at, timezone('UTC', t.received_at) AS received_at,
       t.asserted_by, a.kind AS asserted_kind, t.sentence_type, t.custody_months,
       v.victim_key, v.enhanced, v.police_area, told.told, r.referrals
FROM triggers t
JOIN victim v ON v.case_urn = t.case_urn
LEFT JOIN organisations a ON a.code = t.asserted_by
LEFT JOIN told ON told.about = t.id AND told.victim_key = v.victim_key
LEFT JOIN referrals r ON r.case_urn = t.case_urn AND t.type = 'court.sentence.imposed'
ORDER BY t.occurred_at, t.id, v.victim_key
"""

CLOCKS_SQL = """
SELECT c.rule_id, c.code_version, c.owner_kind, c.owner_code, o.police_area, c.enhanced,
       c.started_at, c.due_at, c.met_at
FROM duty_clocks c LEFT JOIN organisations o ON o.code = c.owner_code
ORDER BY c.started_at, c.rule_id
"""


class DutyDerivationError(Exception):
    """The duties cannot be derived from a snapshot; the message says which file and why."""


@cache
def _versions() -> tuple[code.CodeRules, ...]:
    return tuple(code.load_all_code_rules())


@cache
def _in_force(day: date) -> code.CodeRules | None:
    try:
        return code.rules_in_force(day, _versions())
    except LookupError:
        return None


@cache
def _due(day: date, days: int) -> datetime:
    # A deadline depends only on the London day a duty started and its limit: worth caching,
    # since millions of duties start on a few thousand days.
    return code.due_at(datetime(day.year, day.month, day.day, 12, tzinfo=code.LONDON), days)


def outcome(*, due: datetime, met_at: datetime | None, as_at: datetime) -> str:
    """``on_time``, ``late``, ``overdue`` or ``pending``, as ``victims.duties.status`` decides."""
    return OUTCOMES[code.status(due=due, met_at=met_at, now=as_at)]


def as_at(snapshot: Snapshot) -> datetime:
    """The moment outcomes are judged at: when the snapshot was taken (now while it is taken)."""
    taken = snapshot.manifest.get("taken_at")
    if not taken:
        return utcnow()
    return datetime.fromisoformat(str(taken).replace("Z", "+00:00")).astimezone(UTC)


def _earliest_told(told: Sequence[str] | None, duty: str) -> datetime | None:
    times = []
    for item in told or ():
        rule, _, at = item.partition("|")
        if rule == duty and at:
            try:
                moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                continue  # an unreadable time cannot show the duty met
            if moment.tzinfo is not None:  # nor can a time without its offset
                times.append(moment)
    return min(times) if times else None


def _met(rule: code.DutyRule, row: Mapping[str, Any], started: datetime) -> datetime | None:
    """When the act that closes ``rule`` happened, from what the feeds recorded; None if never."""
    found: list[datetime] = []
    if TOLD in rule.closed_by:
        told = _earliest_told(row["told"], rule.id)
        if told is not None:
            found.append(told)
    if WITNESS_CARE_TOLD in rule.closed_by and row["received_at"] is not None:
        found.append(_utc(row["received_at"]))
    if VCS_REFERRED in rule.closed_by:
        later = [_utc(r) for r in row["referrals"] or () if _utc(r) >= started]
        if later:
            found.append(later[0])
    return min(found) if found else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _facts(row: Mapping[str, Any]) -> dict[str, object]:
    """The facts ``victims.timeline.translate`` gives a sentence (none for other events)."""
    if row["sentence_type"] is None:
        return {}
    facts: dict[str, object] = {"hospital_order": row["sentence_type"] == "hospital_order"}
    if row["custody_months"] is not None:
        facts["custody_months"] = row["custody_months"]
    return facts


def duties_of(
    row: Mapping[str, Any], owners: Mapping[tuple[str, str], str], now: datetime
) -> Iterator[dict[str, Any]]:
    """The duties one event starts for one victim of its case, each with its outcome."""
    started = _utc(row["occurred_at"])
    day = started.astimezone(code.LONDON).date()
    rules = _in_force(day)
    if rules is None:
        return
    facts = _facts(row)
    seen: set[str] = set()
    for trigger in row["triggers"] or ():
        for rule in rules.started_by(trigger, facts):
            if rule.id in seen:
                continue  # an arrest with bail is two triggers of one duty
            seen.add(rule.id)
            days = code.days_for(rule, enhanced=bool(row["enhanced"]))
            if days is None:
                continue  # "as agreed with the victim": no clock to measure
            if rule.owner in (row["asserted_kind"], code.ANY_OWNER):
                owner_code = row["asserted_by"]
            else:
                owner_code = owners.get((rule.owner, row["police_area"]))
            due = _due(day, days)
            met = _met(rule, row, started)
            yield {
                "source": EVENT,
                "victim_key": row["victim_key"],
                "case_urn": row["case_urn"],
                "duty": rule.id,
                "code_version": rules.version,
                "owner_kind": rule.owner,
                "owner_code": owner_code,
                "police_area": row["police_area"],
                "enhanced": bool(row["enhanced"]),
                "trigger_event_id": row["trigger_event_id"],
                "started_at": started,
                "started_on": day,
                "due_at": due,
                "met_at": met,
                "outcome": outcome(due=due, met_at=met, as_at=now),
            }


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[dict[str, Any]]]:
    reader = con.sql(sql).to_arrow_reader(BATCH)
    for batch in reader:
        yield batch.to_pylist()


def _owners(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(kind, police area) -> the organisation of that kind there (the first by code, as the
    live clocks choose)."""
    rows = con.execute(
        "SELECT kind, police_area, min(code) FROM organisations "
        "WHERE police_area IS NOT NULL GROUP BY kind, police_area"
    ).fetchall()
    return {(kind, area): owner for kind, area, owner in rows}


def connect(snapshot: Snapshot) -> duckdb.DuckDBPyConnection:
    """DuckDB with views of the copied tables the duties are derived from, and ``triggers``:
    the events that start duties, with the Code triggers each starts."""
    # No progress bar: it would draw over the snapshot command's own.
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    for table in ("events", "organisations", "duty_clocks"):
        path = snapshot.file(table)
        if not path.exists():
            con.close()
            raise DutyDerivationError(
                f"{path} is missing: the duties are derived from the snapshot's {table}"
            )
        con.read_parquet(str(path)).create_view(table)
    con.sql(TRIGGERS_SQL).create_view("triggers")
    return con


def derive_duties(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    """Every duty owed: those the events start, then the Tell-us-once clocks."""
    now = as_at(snapshot)
    con = connect(snapshot)
    try:
        owners = _owners(con)
        for batch in _batches(con, CANDIDATES_SQL):
            for row in batch:
                yield from duties_of(row, owners, now)
        for batch in _batches(con, CLOCKS_SQL):
            for clock in batch:
                yield _clock(clock, now)
    finally:
        con.close()


def _clock(clock: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    started: datetime = clock["started_at"]
    return {
        "source": STORY,
        "victim_key": None,
        "case_urn": None,
        "duty": clock["rule_id"],
        "code_version": clock["code_version"],
        "owner_kind": clock["owner_kind"],
        "owner_code": clock["owner_code"],
        "police_area": clock["police_area"],
        "enhanced": bool(clock["enhanced"]),
        "trigger_event_id": None,
        "started_at": started,
        "started_on": started.astimezone(code.LONDON).date(),
        "due_at": clock["due_at"],
        "met_at": clock["met_at"],
        "outcome": outcome(due=clock["due_at"], met_at=clock["met_at"], as_at=now),
    }


@derive("duties")
def duties_table(snapshot: Snapshot) -> tuple[pa.Schema, Iterable[dict[str, Any]]]:
    """The ``duties`` table of a snapshot (``insights.snapshot.derive``)."""
    return SCHEMA, derive_duties(snapshot)


def victim_key(recorded_event_id: str, place: int) -> str:
    """The key of the ``place``-th victim (from 0) named by a crime-recorded event, as the SQL
    computes it: lets a reader of the truth files find the same victim."""
    return hashlib.sha256(f"{recorded_event_id}:{place}".encode()).hexdigest()[:32]
