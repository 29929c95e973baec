"""Benchmark: "Tell us once" under load, against the running server, beside an empty endpoint.

A load generator (asyncio and httpx, on this machine's loopback) plays ``--users`` concurrent
virtual users against the real application, started with uvicorn in a subprocess (one worker,
on a fresh database), and in the same run against a second uvicorn serving a minimal FastAPI app
with ``GET /empty`` (the baseline). Each scenario is measured under two load models, each a short
warm-up then ``--seconds`` measured:

- saturation: a closed loop with no think time (each user sends its next request as soon as the
  last one is answered). This is the most the one worker can serve, compared with the empty
  endpoint's rate measured the same way (the "30% of the empty endpoint" target);
- think time: the same ``--users`` users, each waiting a think time between requests as people
  do (exponentially distributed, mean ``--think-time`` seconds, default 1.0; seeded by ``--seed``,
  per user and scenario). The users set the pace, so this is the latency of 50 people using the
  service at once (the "p95 under 100 ms" target). ``--think-time 0`` skips this model.

The scenarios:

1. ``empty``: ``GET /empty`` on the baseline server (a plain ``def`` handler, like OneStory's);
   ``empty_async``, the same with an ``async def`` handler, for reference;
2. ``submit_story``: each victim, signed in, sends ``POST /tell-us/check-answers`` with the
   draft token and form token from ``GET /tell-us/check-answers``. Only the POST is timed.
   Before each one the victim's draft is filled again -- by default directly in the database
   (``--refill db``, untimed, so the server does only the two requests per story), or through
   the question pages (``--refill pages``: the whole journey loads the server);
3. ``read_timeline``: ``GET /my-story/<reference>`` for a story the victim owns, linked to a case
   that already has court events on its timeline;
4. ``post_case_event``: ``POST /api/events?purpose=prosecution`` with the court's API key: a new
   ``court.hearing.listed`` event for a case that stories are linked to.

Then the same scenarios with one user (``--single-seconds``): the service time of one request
with no queue, which says how much of the latency under load is waiting.

    .venv/bin/python bench/bench_victims.py [--users 50] [--seconds 20] [--database-url URL]
                                            [--think-time 1.0] [--seed 1]
                                            [--refill db|pages] [--quick]

A request that fails is counted as an error by kind (the HTTP status, or the exception the client
got) and, per scenario and load model, with the exceptions the server logged meanwhile (the last
line of each traceback). The in-process profile also times how long each request holds the
database's write lock and the ledger head's lock (from the first write, and from the
``UPDATE ledger_head``, to the commit).

``--quick`` (5 users, 3 s) is a smoke run. Writes ``bench/results/victims.json`` and
``bench/results/victims.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import os
import platform
import random
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from onestory.exchange.intake import validate_event
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.passwords import hash_password
from onestory.sharing.policy import load_policies
from onestory.sharing.tables import Organisation, UserAccount
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata
from onestory.store.migrate import schema_differences, upgrade
from onestory.victims.stories import load_draft, save_answer, submit_story
from onestory.victims.tables import CaseEvent, Story

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
console = Console(width=None if sys.stdout.isatty() else 150)

TARGET_P95_MS = 100.0
TARGET_SHARE_OF_EMPTY = 0.30
PASSWORD = "correct horse battery staple"
COURT = "STRAMC"
ORGANISATIONS = (
    ("POL01", "Metropolitan Police Service", "police", "01"),
    ("WCU01", "Metropolitan Police Witness Care Unit", "witness_care", "01"),
    ("VS", "Victim Support", "victim_support", None),
    ("CICA", "Criminal Injuries Compensation Authority", "compensation", None),
    (COURT, "Stratford Magistrates' Court", "court", None),
)
SCENARIOS = ("empty", "empty_async", "submit_story", "read_timeline", "post_case_event")
VICTIM_SCENARIOS = {"submit_story", "read_timeline"}
APP_SCENARIOS = ("submit_story", "read_timeline", "post_case_event")
STORIES_PER_CASE = 2
EVENTS_PER_CASE_BEFORE = 3
# Sign-ins are few and slow (argon2); more at once than this would trip the per-address limit
# of 10 attempts in flight (web.ratelimit), all users sharing 127.0.0.1.
SIGN_IN_CONCURRENCY = 4

EMPTY_APP = '''"""The baseline: an empty FastAPI endpoint, served by the same uvicorn settings."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/empty")
def empty() -> dict[str, str]:
    return {}


@app.get("/empty-async")
async def empty_async() -> dict[str, str]:
    return {}
'''


# --- the answers a victim gives ---------------------------------------------------------------


def draft_answers(n: int) -> dict[str, dict[str, Any]]:
    """A complete draft, as the question pages store it (see tests/victims/victims_helpers)."""
    return {
        "about-you": {
            "full_name": f"Bench Victim {n}",
            "date_of_birth": "1990-04-01",
            "email": f"victim-{n}@bench.onestory.localhost",
            "phone": "07700 900123",
        },
        "what-happened": {"what_happened": "Someone broke into my car and took my bag."},
        "when-and-where": {
            "happened_on": "2026-11-20",
            "happened_where": "Outside 10 High Street",
            "police_area": "01",
        },
        "crime-reference": {"has": "no"},
        "language": {"language": "en", "interpreter": False},
        "support-needs": {"accessibility": "Large print please"},
        "circumstances": {"circumstances": ["none"]},
        "contact": {"channels": ["email"]},
        "safe-times": {"safe_times": [], "no_messages": True},
        "who-can-see": {"choices": {"VS:victim_support": "yes", "CICA:compensation": "no"}},
    }


def page_forms(n: int) -> list[tuple[str, dict[str, Any]]]:
    """The same answers as the question pages' form fields, page by page."""
    return [
        (
            "about-you",
            {
                "full_name": f"Bench Victim {n}",
                "date_of_birth-day": "1",
                "date_of_birth-month": "4",
                "date_of_birth-year": "1990",
                "email": f"victim-{n}@bench.onestory.localhost",
                "phone": "07700 900123",
            },
        ),
        ("what-happened", {"what_happened": "Someone broke into my car and took my bag."}),
        (
            "when-and-where",
            {
                "happened_on-day": "20",
                "happened_on-month": "11",
                "happened_on-year": "2026",
                "happened_where": "Outside 10 High Street",
                "police_area": "01",
            },
        ),
        ("crime-reference", {"has": "no"}),
        ("language", {"language": "en"}),
        ("support-needs", {"accessibility": "Large print please"}),
        ("circumstances", {"circumstances": "none"}),
        ("contact", {"channels": "email"}),
        ("safe-times", {"no_messages": "yes"}),
        ("who-can-see", {"consent-VS-victim_support": "yes", "consent-CICA-compensation": "no"}),
    ]


def case_urn(n: int) -> str:
    return f"01BM{n:05d}26"


def hearing_listed(urn: str, serial: int) -> dict[str, Any]:
    """A new ``court.hearing.listed`` event in the common model (JSON is camelCase)."""
    starts = datetime(2027, 1, 4, 10, tzinfo=UTC) + timedelta(days=serial % 200)
    return {
        "id": str(uuid.uuid4()),
        "eventType": "court.hearing.listed",
        "version": 1,
        "occurredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "assertedBy": COURT,
        "caseReferences": [{"type": "URN", "value": urn}],
        "payload": {
            "hearing": {
                "hearingId": f"bench-{serial}",
                "caseUrn": urn,
                "court": COURT,
                "hearingType": "trial",
                "startsAt": starts.isoformat(),
            },
            "defendantId": str(uuid.uuid4()),
        },
    }


# --- the database --------------------------------------------------------------------------


@dataclass
class Seeded:
    """What setup made: the victims' emails, account ids, stories, and the court's key."""

    emails: list[str]
    account_ids: list[int]
    references: list[str]
    urns: list[str]
    court_key: str
    migrations_lacked: list[str] = field(default_factory=list)


@contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[tuple[str, str]]:
    """A URL of an empty database (SQLite file, or a new PostgreSQL schema) and its version."""
    if url is None:
        yield f"sqlite:///{workdir / 'onestory.sqlite3'}", f"SQLite {sqlite3.sqlite_version}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        version = str(conn.execute(text("SHOW server_version")).scalar())
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}", f"PostgreSQL {version}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrate(engine: Engine) -> list[str]:
    """Run the migrations; if the models have moved on since, build the schema from the models.

    Returns what the migrations lacked (empty when they match the models).
    """
    upgrade(engine)
    lacking = [_describe(d) for d in schema_differences(engine)]
    if lacking:
        # The schema is being changed in the working tree ahead of its migration.
        metadata = load_metadata()
        metadata.drop_all(engine)
        metadata.create_all(engine)
    return lacking


def _describe(difference: Any) -> str:
    if isinstance(difference, list):  # column modifications come as a list of tuples
        difference = difference[0]
    kind = difference[0]
    for part in difference[1:]:
        name = getattr(part, "name", None)
        if name:
            table = getattr(getattr(part, "table", None), "name", None)
            return f"{kind} {table}.{name}" if table and table != name else f"{kind} {name}"
    return str(kind)


def seed(engine: Engine, users: int, stories_per_case: int = STORIES_PER_CASE) -> Seeded:
    """Organisations, ``users`` victims each with a submitted story, the court's API key."""
    policies = load_policies(ROOT / "policies")
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow on purpose
    with session_factory(engine)() as session:
        for code, name, kind, area in ORGANISATIONS:
            session.add(Organisation(code=code, name=name, kind=kind, police_area=area))
        session.flush()
        admin = Actor("user:bench-admin", "administrator", None, None)
        _, court_key = issue_key(
            session,
            actor=admin,
            organisation_code=COURT,
            name="bench court system",
            role="court_officer",
            scopes=["create:hearing", "create:case", "purpose:prosecution"],
        )
        accounts = [
            UserAccount(
                email=f"victim-{n}@bench.onestory.localhost",
                display_name=f"Bench Victim {n}",
                role="victim",
                password_hash=password_hash,
            )
            for n in range(users)
        ]
        session.add_all(accounts)
        session.commit()
        cases = max(1, users // stories_per_case)
        validate_event(hearing_listed(case_urn(0), 0))  # a payload the model refuses stops here
        urns = [case_urn(n) for n in range(cases)]
        references = []
        for n, user in enumerate(accounts):
            for page, answer in draft_answers(n).items():
                save_answer(session, user.id, page, answer)
            token = load_draft(session, user.id).token
            story = submit_story(session, policies, user=user, draft_token=token).story
            story.case_urn = urns[n % cases]
            references.append(story.reference)
            refill_draft(session, user.id, n)
            session.commit()
        return Seeded(
            emails=[a.email for a in accounts],
            account_ids=[a.id for a in accounts],
            references=references,
            urns=urns,
            court_key=court_key,
        )


def refill_draft(session: Session, account_id: int, n: int) -> None:
    for page, answer in draft_answers(n).items():
        save_answer(session, account_id, page, answer)


# --- the servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


UVICORN_ARGS = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level",
                "warning"]  # fmt: skip


@dataclass
class Server:
    """A uvicorn subprocess and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def cpu_seconds(self) -> float:
        """User and system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(name: str, app: list[str], env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    process = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", *app, *UVICORN_ARGS, "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    return Server(name, process, f"http://127.0.0.1:{port}", log)


def wait_until_up(server: Server, path: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-4000:]}")
        try:
            if httpx.get(server.base_url + path, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {path} in {seconds:.0f} s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


# --- the virtual users ---------------------------------------------------------------------

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE | re.DOTALL)


def hidden_field(page: str, name: str) -> str:
    """The value of the form field ``name`` in an HTML page."""
    for tag in _INPUT.findall(page):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            found = re.search(r'\bvalue="([^"]*)"', tag)
            if found:
                return html.unescape(found.group(1))
    raise LookupError(f"no field {name!r} in the page")


class Unexpected(Exception):
    """A response other than the one the step expects."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(f"{what}: HTTP {response.status_code} {response.text[:300]!r}")
        self.status = response.status_code


@dataclass
class User:
    """One virtual user: its own connection and cookies."""

    n: int
    client: httpx.AsyncClient
    email: str = ""
    account_id: int = 0
    reference: str = ""
    urn: str = ""
    csrf: str = ""


async def sign_in(user: User) -> None:
    page = await user.client.get("/sign-in")
    form = {
        "email": user.email,
        "password": PASSWORD,
        "csrf_token": hidden_field(page.text, "csrf_token"),
    }
    response = await user.client.post("/sign-in", data=form)
    if response.status_code != 303:
        raise Unexpected(f"sign-in of {user.email}", response)


async def fill_by_pages(user: User) -> None:
    """Answer every question page as a browser would (untimed)."""
    for page, form in page_forms(user.n):
        got = await user.client.get(f"/tell-us/{page}")
        if got.status_code != 200:
            raise Unexpected(f"GET /tell-us/{page}", got)
        token = hidden_field(got.text, "csrf_token")
        response = await user.client.post(f"/tell-us/{page}", data={**form, "csrf_token": token})
        if response.status_code not in (302, 303):
            raise Unexpected(f"POST /tell-us/{page}", response)


@dataclass
class Sample:
    started: float
    seconds: float
    status: int  # 0: no response (connection error, timeout)


Step = Callable[[User], Awaitable[tuple[float, float, int]]]


class RequestFailed(Exception):
    """The timed request got no response (connection error, timeout): when, and why."""

    def __init__(self, error: httpx.HTTPError, started: float, elapsed: float) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        self.started = started
        self.elapsed = elapsed


async def timed(
    request: Awaitable[httpx.Response], ok: int
) -> tuple[float, float, int, httpx.Response | None]:
    started = time.perf_counter()
    try:
        response = await request
    except httpx.HTTPError as exc:
        raise RequestFailed(exc, started, time.perf_counter() - started) from exc
    elapsed = time.perf_counter() - started
    return started, elapsed, response.status_code, response


@dataclass
class Scenario:
    name: str
    what: str
    expected: int
    step: Step
    users: list[User]


def make_scenarios(
    baseline: list[User], victims: list[User], courts: list[User], refill: str, engine: Engine
) -> list[Scenario]:
    sessions = session_factory(engine)

    async def empty(user: User) -> tuple[float, float, int]:
        started, seconds, status, _ = await timed(user.client.get("/empty"), 200)
        return started, seconds, status

    async def empty_async(user: User) -> tuple[float, float, int]:
        started, seconds, status, _ = await timed(user.client.get("/empty-async"), 200)
        return started, seconds, status

    def refill_in_database(account_id: int, n: int) -> None:
        with sessions() as session:
            refill_draft(session, account_id, n)
            session.commit()

    async def submit(user: User) -> tuple[float, float, int]:
        # Untimed: the draft filled again, and the check-answers page for its tokens.
        check = await user.client.get("/tell-us/check-answers")
        if check.status_code != 200 or 'name="draft_token"' not in check.text:
            if refill == "pages":
                await fill_by_pages(user)
            else:
                await asyncio.to_thread(refill_in_database, user.account_id, user.n)
            check = await user.client.get("/tell-us/check-answers")
            if check.status_code != 200:
                raise Unexpected("GET /tell-us/check-answers", check)
        form = {
            "draft_token": hidden_field(check.text, "draft_token"),
            "csrf_token": hidden_field(check.text, "csrf_token"),
        }
        started, seconds, status, response = await timed(
            user.client.post("/tell-us/check-answers", data=form), 303
        )
        if response is not None and status == 303:
            if "/tell-us/confirmation/" not in response.headers.get("location", ""):
                status = -303  # a redirect, but not to a confirmation
            # The next story: a new draft, filled before the next timed request.
            elif refill == "pages":
                await fill_by_pages(user)
            else:
                await asyncio.to_thread(refill_in_database, user.account_id, user.n)
        return started, seconds, status

    async def read_timeline(user: User) -> tuple[float, float, int]:
        started, seconds, status, _ = await timed(
            user.client.get(f"/my-story/{user.reference}"), 200
        )
        return started, seconds, status

    serial = iter(range(10**9))

    async def post_event(user: User) -> tuple[float, float, int]:
        event = hearing_listed(user.urn, next(serial))
        started, seconds, status, _ = await timed(
            user.client.post("/api/events", params={"purpose": "prosecution"}, json=event), 201
        )
        return started, seconds, status

    return [
        Scenario("empty", "GET /empty (baseline, def handler)", 200, empty, baseline),
        Scenario(
            "empty_async", "GET /empty-async (baseline, async def)", 200, empty_async, baseline
        ),
        Scenario("submit_story", "POST /tell-us/check-answers", 303, submit, victims),
        Scenario("read_timeline", "GET /my-story/<reference>", 200, read_timeline, victims),
        Scenario(
            "post_case_event", "POST /api/events (court.hearing.listed)", 201, post_event, courts
        ),
    ]


@dataclass
class Run:
    """The samples of one scenario's measured window and what the processes spent."""

    samples: list[Sample]
    window: float
    server_cpu: float
    client_cpu: float
    failures: Counter[str]  # in the measured window: "Type: message"
    failure_types: Counter[str]  # in the measured window: the exception's type
    warmup_failures: Counter[str]
    think_time: float
    server_log: str  # what the server logged while this scenario ran


async def run_scenario(
    scenario: Scenario,
    users: int,
    warmup: float,
    seconds: float,
    server: Server,
    progress: Progress,
    think_time: float = 0.0,
    seed: int = 1,
) -> Run:
    """``users`` users in a closed loop; with ``think_time``, each waits that long on average
    (exponentially distributed, seeded per user) between one answer and its next request."""
    label = f"{scenario.name} ×{users}" + (f", think {think_time:g} s" if think_time else "")
    task = progress.add_task(label, total=warmup + seconds)
    samples: list[Sample] = []
    failures: Counter[str] = Counter()
    failure_types: Counter[str] = Counter()
    warmup_failures: Counter[str] = Counter()
    log_offset = server.log.stat().st_size
    loop_start = time.perf_counter()
    window_start = loop_start + warmup
    window_end = window_start + seconds

    def failed(exc: Exception, at: float) -> None:
        if isinstance(exc, RequestFailed):
            kind, text_ = type(exc.error).__name__, str(exc.error)
        else:
            kind, text_ = type(exc).__name__, str(exc)
        if window_start <= at <= window_end:
            failures[f"{kind}: {text_[:160]}"] += 1
            failure_types[kind] += 1
        else:
            warmup_failures[kind] += 1

    async def one_user(user: User) -> None:
        rng = random.Random(f"{seed}/{scenario.name}/{user.n}")
        while time.perf_counter() < window_end:
            ok = True
            try:
                started, elapsed, status = await scenario.step(user)
            except RequestFailed as exc:
                failed(exc, exc.started)
                ok = False
            except (Unexpected, LookupError, httpx.HTTPError) as exc:
                failed(exc, time.perf_counter())
                ok = False
            else:
                if window_start <= started and started + elapsed <= window_end:
                    samples.append(Sample(started, elapsed, status))
            if think_time:
                pause = rng.expovariate(1.0 / think_time)
                await asyncio.sleep(min(pause, max(0.0, window_end - time.perf_counter())))
            elif not ok:
                await asyncio.sleep(0.05)

    async def ticker() -> None:
        while (now := time.perf_counter()) < window_end:
            progress.update(task, completed=min(now - loop_start, warmup + seconds))
            await asyncio.sleep(0.25)

    cpu = [0.0, 0.0]

    async def mark_window() -> None:
        await asyncio.sleep(warmup)
        cpu[0], cpu[1] = server.cpu_seconds(), time.process_time()

    tasks = [asyncio.create_task(one_user(u)) for u in scenario.users[:users]]
    await asyncio.gather(ticker(), mark_window(), *tasks)
    server_cpu = server.cpu_seconds() - cpu[0]
    client_cpu = time.process_time() - cpu[1]
    progress.update(task, completed=warmup + seconds)
    with server.log.open("rb") as log:
        log.seek(log_offset)
        logged = log.read().decode(errors="replace")
    return Run(
        samples, seconds, server_cpu / seconds, client_cpu / seconds, failures, failure_types,
        warmup_failures, think_time, logged,
    )  # fmt: skip


def summarise(scenario: Scenario, run: Run) -> dict[str, Any]:
    ok = sorted(s.seconds for s in run.samples if s.status == scenario.expected)
    statuses = Counter(str(s.status) for s in run.samples)
    bad = {code: n for code, n in statuses.items() if code != str(scenario.expected)}
    errors = sum(bad.values())
    kinds = Counter({f"HTTP {code}": n for code, n in bad.items()}) + run.failure_types
    exceptions = exception_lines(run.server_log)

    def pct(q: float) -> float | None:
        if not ok:
            return None
        return round(ok[min(len(ok) - 1, int(q * len(ok)))] * 1000, 1)

    return {
        "scenario": scenario.name,
        "request": scenario.what,
        "think_time_s": run.think_time,
        "requests": len(ok),
        "requests_per_s": round(len(ok) / run.window, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ok) * 1000, 1) if ok else None,
        "max_ms": round(ok[-1] * 1000, 1) if ok else None,
        "errors": errors + sum(run.failures.values()),
        "error_kinds": dict(kinds.most_common()),
        "statuses": dict(statuses),
        "failures": dict(run.failures.most_common(5)),
        "warmup_failures": dict(run.warmup_failures),
        "server_exceptions": [f"{n}× {line}" for line, n in exceptions.most_common(5)],
        "server_last_exception": last_exception(run.server_log),
        "server_cpu": round(run.server_cpu, 2),
        "client_cpu": round(run.client_cpu, 2),
    }


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Exit|Interrupt)\w*(: |$)")


def exception_lines(log: str) -> Counter[str]:
    """The last line of each traceback in a server log (``module.Type: message``), counted."""
    return Counter(line[:200] for line in log.splitlines() if _EXCEPTION_LINE.match(line))


def last_exception(log: str) -> str | None:
    found = [line[:300] for line in log.splitlines() if _EXCEPTION_LINE.match(line)]
    return found[-1] if found else None


# --- where the time goes -------------------------------------------------------------------


def profile_requests(url: str, env: dict[str, str], seeded: Seeded, count: int) -> dict[str, Any]:
    """Profile ``count`` requests of each application scenario in this process, one at a time.

    The app runs under Starlette's TestClient; cProfile wraps every call FastAPI hands to its
    thread pool (the sync handlers and dependencies, where OneStory's work happens), so the
    figures are the handlers' own time, without uvicorn, middleware or the client.
    """
    import cProfile
    import functools
    import pstats

    import fastapi.dependencies.utils as fastapi_deps
    import fastapi.routing
    import starlette.concurrency
    from fastapi.testclient import TestClient

    from onestory.config import Settings
    from onestory.web.app import create_app

    current: list[cProfile.Profile | None] = [None]
    original = starlette.concurrency.run_in_threadpool

    async def profiled(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        profiler = current[0]
        if profiler is not None:
            func = functools.partial(profiler.runcall, func)
        return await original(func, *args, **kwargs)

    fastapi.routing.run_in_threadpool = profiled  # type: ignore[assignment]
    fastapi_deps.run_in_threadpool = profiled  # type: ignore[assignment]
    settings = Settings(
        env="test",
        data_dir=Path(env["ONESTORY_DATA_DIR"]),
        database_url=url,
        secret_key=env["ONESTORY_SECRET_KEY"],
        ledger_checkpoint_interval=0,
        notify_interval=0,
    )
    engine = create_engine_for(url)
    locks = LockClock(engine)
    sessions = session_factory(engine)
    n = len(seeded.emails) - 1  # the last victim: its own draft and stories
    out: dict[str, Any] = {}
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            page = client.get("/sign-in")
            signed = client.post(
                "/sign-in",
                data={"email": seeded.emails[n], "password": PASSWORD,
                      "csrf_token": hidden_field(page.text, "csrf_token")},
                follow_redirects=False,
            )  # fmt: skip
            if signed.status_code != 303:
                raise RuntimeError(f"profile: sign-in answered {signed.status_code}")
            court = {"Authorization": f"Bearer {seeded.court_key}"}

            def submit(i: int) -> int:
                with sessions() as session:
                    refill_draft(session, seeded.account_ids[n], n)
                    session.commit()
                check = client.get("/tell-us/check-answers")
                form = {"draft_token": hidden_field(check.text, "draft_token"),
                        "csrf_token": hidden_field(check.text, "csrf_token")}  # fmt: skip
                current[0] = profilers[-1]
                locks.reset()
                started = time.perf_counter()
                status = client.post("/tell-us/check-answers", data=form, follow_redirects=False)
                walls.append(time.perf_counter() - started)
                held.append(locks.take())
                current[0] = None
                return status.status_code

            def read(i: int) -> int:
                current[0] = profilers[-1]
                locks.reset()
                started = time.perf_counter()
                status = client.get(f"/my-story/{seeded.references[n]}").status_code
                walls.append(time.perf_counter() - started)
                held.append(locks.take())
                current[0] = None
                return status

            def post(i: int) -> int:
                event = hearing_listed(seeded.urns[i % len(seeded.urns)], 10**6 + i)
                current[0] = profilers[-1]
                locks.reset()
                started = time.perf_counter()
                status = client.post("/api/events", params={"purpose": "prosecution"},
                                     json=event, headers=court).status_code  # fmt: skip
                walls.append(time.perf_counter() - started)
                held.append(locks.take())
                current[0] = None
                return status

            for name, call in (("submit_story", submit), ("read_timeline", read),
                               ("post_case_event", post)):  # fmt: skip
                profilers = [cProfile.Profile()]
                walls: list[float] = []
                held: list[tuple[float, float, int]] = []
                statuses = Counter(call(i) for i in range(count))
                out[name] = summarise_profile(pstats.Stats(profilers[0]), count, walls, statuses)
                out[name]["write_lock_ms"] = round(statistics.median(h[0] for h in held) * 1000, 1)
                out[name]["ledger_lock_ms"] = round(statistics.median(h[1] for h in held) * 1000, 1)
                out[name]["ledgered_transactions_per_request"] = round(
                    statistics.fmean(h[2] for h in held), 2
                )
            with sessions() as session:
                story = session.scalar(select(Story).where(Story.reference == seeded.references[n]))
                out["read_timeline"]["timeline_entries"] = session.scalar(
                    select(func.count())
                    .select_from(CaseEvent)
                    .where(CaseEvent.case_urn == (story.case_urn if story else None))
                )
    finally:
        fastapi.routing.run_in_threadpool = original  # type: ignore[assignment]
        fastapi_deps.run_in_threadpool = original  # type: ignore[assignment]
        engine.dispose()
    return out


class LockClock:
    """How long the requests on ``engine`` hold the database's locks, request by request.

    The write lock: from a transaction's first ``INSERT``/``UPDATE``/``DELETE`` to its commit or
    rollback (SQLite has one writer at a time, whole database). The ledger head's lock: from the
    ``UPDATE ledger_head`` (``ledger.log._lock_head``) to the commit or rollback; it serialises
    every appender, on PostgreSQL as a row lock. Measured on the DBAPI connection, the commit
    included, with no other request running (so no waiting for the lock is counted).
    """

    def __init__(self, engine: Engine) -> None:
        self._write: dict[int, float] = {}
        self._ledger: dict[int, float] = {}
        self.reset()
        event.listen(engine, "before_cursor_execute", self._statement)
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self._end(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self._end(dbapi_connection)

        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    def reset(self) -> None:
        self.write_held = 0.0
        self.ledger_held = 0.0
        self.ledger_locks = 0

    def take(self) -> tuple[float, float, int]:
        """Seconds the write lock and the ledger lock were held since ``reset``, and how often
        the ledger lock was taken."""
        return self.write_held, self.ledger_held, self.ledger_locks

    def _statement(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        head = statement.lstrip()[:24].upper()
        key = id(cursor.connection)
        now = time.perf_counter()
        if head.startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            self._write.setdefault(key, now)
        if head.startswith("UPDATE LEDGER_HEAD"):
            self._ledger.setdefault(key, now)

    def _end(self, dbapi_connection: Any) -> None:
        now = time.perf_counter()
        # The dialect is handed the pool's proxy; statements see the DBAPI connection itself.
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        began = self._write.pop(key, None)
        if began is not None:
            self.write_held += now - began
        began = self._ledger.pop(key, None)
        if began is not None:
            self.ledger_held += now - began
            self.ledger_locks += 1


def summarise_profile(
    stats: Any, count: int, walls: list[float], statuses: Counter[int]
) -> dict[str, Any]:
    """Per request: wall time, time in the handlers, and OneStory's costliest functions."""
    own: list[tuple[float, str]] = []
    driver = 0.0
    total = 0.0
    for (filename, _line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():
        total += tottime
        if "sqlite3" in function or "psycopg" in filename or "psycopg" in function:
            driver += tottime
        if "/src/onestory/" in filename:
            module = filename.split("/src/")[1].removesuffix(".py").replace("/", ".")
            # A template's functions are generators: cProfile counts each resumption as a call.
            times = "" if ".html" in module else f" (×{calls / count:g})"
            own.append((cumtime, f"{module}.{function}{times}"))
    own.sort(reverse=True)
    ms = 1000 / count
    return {
        "requests": count,
        "statuses": {str(k): v for k, v in statuses.items()},
        "wall_ms": round(statistics.median(walls) * 1000, 1),
        "handler_cpu_ms": round(total * ms, 1),
        "database_driver_ms": round(driver * ms, 1),
        "top": [{"function": name, "ms": round(cum * ms, 1)} for cum, name in own[:8]],
    }


# --- the run ---------------------------------------------------------------------------------


def environment(workdir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTORY_")}
    env.update(
        {
            "ONESTORY_ENV": "test",
            "ONESTORY_DATA_DIR": str(workdir / "data"),
            "ONESTORY_DATABASE_URL": database_url,
            "ONESTORY_SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
            "ONESTORY_LEDGER_CHECKPOINT_INTERVAL": "0",
            "ONESTORY_NOTIFY_INTERVAL": "0",
        }
    )
    return env


async def load_test(
    args: argparse.Namespace, app: Server, baseline: Server, seeded: Seeded, engine: Engine
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    def client(base: str, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, timeout=60, limits=limits, **kw)

    users = args.users
    base_users = [User(n, client(baseline.base_url)) for n in range(users)]
    victims = [
        User(n, client(app.base_url), email=seeded.emails[n], account_id=seeded.account_ids[n],
             reference=seeded.references[n])
        for n in range(users)
    ]  # fmt: skip
    courts = [
        User(n, client(app.base_url, headers={"Authorization": f"Bearer {seeded.court_key}"}),
             urn=seeded.urns[n % len(seeded.urns)])
        for n in range(users)
    ]  # fmt: skip
    wanted = set(args.scenarios.split(","))
    try:
        gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

        async def gated(user: User) -> None:
            async with gate:
                await sign_in(user)

        probe = victims[0]
        if wanted & VICTIM_SCENARIOS:
            with console.status(f"Signing in {users} victims"):
                await asyncio.gather(*(gated(v) for v in victims))
            # One journey through the question pages, so a renamed field fails here, loudly.
            await fill_by_pages(probe)
            check = await probe.client.get("/tell-us/check-answers")
            hidden_field(check.text, "draft_token")
        # Events on the cases already, so each timeline has entries to show.
        for serial, urn in enumerate(seeded.urns * EVENTS_PER_CASE_BEFORE):
            response = await courts[0].client.post(
                "/api/events", params={"purpose": "prosecution"}, json=hearing_listed(urn, serial)
            )
            if response.status_code != 201:
                raise Unexpected("setup: POST /api/events", response)
        timeline_has_events = None
        if "read_timeline" in wanted:
            page = await probe.client.get(f"/my-story/{probe.reference}")
            if page.status_code != 200:
                raise Unexpected("setup: GET /my-story", page)
            timeline_has_events = "hearing" in page.text.lower()

        scenarios = [
            s
            for s in make_scenarios(base_users, victims, courts, args.refill, engine)
            if s.name in wanted
        ]
        # "loaded": saturation (closed loop, no think time); "think": the same users with think
        # time; "single": one user, no think time (the service time).
        models: list[tuple[str, int, float, float]] = [("loaded", users, args.seconds, 0.0)]
        if args.think_time > 0:
            models.append(("think", users, args.seconds, args.think_time))
        models.append(("single", 1, args.single_seconds, 0.0))
        results: dict[str, Any] = {label: {} for label, *_ in models}
        results["timeline_shows_events"] = timeline_has_events
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=console
        ) as progress:
            for label, n, seconds, think in models:
                for scenario in scenarios:
                    server = baseline if scenario.name.startswith("empty") else app
                    run = await run_scenario(
                        scenario, n, args.warmup, seconds, server, progress, think, args.seed
                    )
                    results[label][scenario.name] = summarise(scenario, run)
        return results
    finally:
        for user in base_users + victims + courts:
            await user.client.aclose()


def wanted_all(args: argparse.Namespace) -> bool:
    return set(SCENARIOS) <= set(args.scenarios.split(","))


def server_errors(log: Path) -> list[str]:
    """The exceptions the server logged (the last line of each traceback), most frequent first."""
    found = exception_lines(log.read_text(errors="replace"))
    return [f"{n}× {line}" for line, n in found.most_common(10)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--single-seconds", type=float, default=5.0, help="per scenario, 1 user")
    parser.add_argument("--database-url", help="PostgreSQL URL; a fresh schema is made in it")
    parser.add_argument("--refill", choices=("db", "pages"), default="db")
    parser.add_argument(
        "--stories-per-case", type=int, default=STORIES_PER_CASE,
        help="victims' stories linked to each case (each event reaches this many)",
    )  # fmt: skip
    parser.add_argument(
        "--think-time", type=float, default=1.0,
        help="mean think time in seconds of the second load model (exponential); 0: skip it",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="seeds the think times")
    parser.add_argument("--profile", type=int, default=30, help="requests profiled per scenario")
    parser.add_argument("--quick", action="store_true", help="5 users, 3 s: a smoke run")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated subset to run"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds, args.warmup, args.single_seconds = 5, 3.0, 1.0, 2.0

    with tempfile.TemporaryDirectory(prefix="bench-victims-") as tmp:
        workdir = Path(tmp)
        with fresh_database(args.database_url, workdir) as (url, db_version):
            engine = create_engine_for(url)
            with console.status("Migrating and seeding"):
                began = time.perf_counter()
                missing = migrate(engine)
                seeded = seed(engine, args.users, args.stories_per_case)
                seeded.migrations_lacked = missing
                setup_seconds = time.perf_counter() - began
            console.print(f"Seeded {args.users} victims and stories in {setup_seconds:.1f} s "
                          f"on {db_version}")  # fmt: skip
            if missing:
                console.print(
                    f"[yellow]The migrations lag the models ({len(missing)} differences, "
                    f"e.g. {', '.join(missing[:4])}): schema built from the models"
                )
            (workdir / "bench_empty_app.py").write_text(EMPTY_APP, encoding="utf-8")
            env = environment(workdir, url)
            app = start_server(
                "onestory", ["--factory", "onestory.web.app:create_app"], env, workdir
            )
            baseline = start_server(
                "empty", ["--app-dir", str(workdir), "bench_empty_app:app"], env, workdir
            )
            try:
                wait_until_up(app, "/healthz")
                wait_until_up(baseline, "/empty")
                results = asyncio.run(load_test(args, app, baseline, seeded, engine))
            finally:
                stop(app)
                stop(baseline)
                engine.dispose()
            if args.profile and wanted_all(args):
                with console.status("Profiling requests in process"):
                    try:
                        results["profile"] = profile_requests(url, env, seeded, args.profile)
                    except Exception as exc:  # the load figures are still worth writing
                        results["profile_error"] = f"{type(exc).__name__}: {exc}"
                        console.print(f"[red]Profiling failed: {results['profile_error']}")
            results["server_log_errors"] = server_errors(app.log)
            results["server_log_tail"] = app.log.read_text(errors="replace")[-3000:]
    report = assemble(args, db_version, results, seeded)
    write_results(report)
    show(report)
    return 0


def assemble(
    args: argparse.Namespace, db_version: str, results: dict[str, Any], seeded: Seeded
) -> dict[str, Any]:
    loaded = results["loaded"]
    empty_rate = loaded.get("empty", {}).get("requests_per_s")
    async_rate = loaded.get("empty_async", {}).get("requests_per_s")
    for name in APP_SCENARIOS:
        if name in results.get("think", {}):  # the users set this pace: no share to compare
            row = results["think"][name]
            row["meets_p95"] = row["p95_ms"] is not None and row["p95_ms"] < TARGET_P95_MS
        if name not in loaded:
            continue
        row = loaded[name]
        row["share_of_empty"] = round(row["requests_per_s"] / empty_rate, 3) if empty_rate else None
        row["share_of_empty_async"] = (
            round(row["requests_per_s"] / async_rate, 3) if async_rate else None
        )
        row["meets_p95"] = row["p95_ms"] is not None and row["p95_ms"] < TARGET_P95_MS
        row["meets_share"] = (row["share_of_empty"] or 0) >= TARGET_SHARE_OF_EMPTY
    import fastapi
    import uvicorn

    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return {
        "parameters": {
            "users": args.users,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "single_seconds": args.single_seconds,
            "refill": args.refill,
            "think_time_s": args.think_time,
            "think_time_distribution": "exponential",
            "seed": args.seed,
            "database": "postgresql" if args.database_url else "sqlite",
            "cases": len(seeded.urns),
            "stories_per_case": args.stories_per_case,
            "events_per_case_before": EVENTS_PER_CASE_BEFORE,
        },
        "targets": {
            "p95_ms_below": TARGET_P95_MS,
            "share_of_empty_at_least": TARGET_SHARE_OF_EMPTY,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "database": db_version,
            "uvicorn": f"{uvicorn.__version__} (1 worker, http={http}, loop={loop})",
            "fastapi": fastapi.__version__,
            "client": f"httpx2 {httpx.__version__}",
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "migrations_lacked": seeded.migrations_lacked,
        **results,
    }


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def write_results(r: dict[str, Any]) -> None:
    """Keep the latest run on each database: this one replaces the last on the same one."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "victims.json"
    runs: dict[str, Any] = {}
    if path.exists():
        try:
            runs = dict(json.loads(path.read_text(encoding="utf-8")).get("runs", {}))
        except (ValueError, AttributeError):
            runs = {}
    runs[r["parameters"]["database"]] = r
    path.write_text(json.dumps({"runs": runs}, indent=2) + "\n", encoding="utf-8")
    lines = ["# Tell us once under load", ""]
    for database in sorted(runs, key=lambda d: d != "sqlite"):
        lines += run_markdown(runs[database])
    (RESULTS / "victims.md").write_text("\n".join(lines), encoding="utf-8")


def run_markdown(r: dict[str, Any]) -> list[str]:
    p, m = r["parameters"], r["machine"]
    think = r.get("think", {})
    z = p.get("think_time_s", 0.0)
    lines = [
        f"## {m['database']}",
        "",
        f"`bench/bench_victims.py --users {p['users']} --seconds {p['seconds']:g} "
        f"--think-time {z:g} --seed {p.get('seed', 1)} --refill {p['refill']}` on "
        f"{p['database']}: {m['cpu_count']} CPUs, Python {m['python']}, {m['database']}, uvicorn "
        f"{m['uvicorn']}, FastAPI {m['fastapi']}, load from {m['client']} in one process on the "
        f"same machine, {m['date']}.",
        "",
        f"Each scenario runs under two load models of {p['users']} concurrent users, "
        f"{p['warmup']:g} s warm-up then {p['seconds']:g} s measured each: **saturation** (closed "
        "loop: each user sends its next request when the last is answered, no think time; the "
        "throughput the one worker can give, compared with the empty endpoint's, which is what "
        "the 30% target is about) and **think time** (each user waits an exponentially "
        f"distributed think time, mean {z:g} s, seeded, between an answer and its next request: "
        "the latency of 50 people using the service at once). The baseline is a second uvicorn, "
        "same settings, serving an empty FastAPI app, measured in both models.",
        "",
        *targets_markdown(r),
        "",
        "### Saturation: closed loop, no think time",
        "",
        f"| scenario | request | requests/s | p50 ms | p95 ms | p99 ms | errors | share of empty "
        f"| p95 < {TARGET_P95_MS:.0f} ms | ≥ {TARGET_SHARE_OF_EMPTY:.0%} of empty | server CPU | "
        "client CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for name, row in r["loaded"].items():
        share = row.get("share_of_empty")
        lines.append(
            f"| {name} | {row['request']} | {row['requests_per_s']:,.1f} | {_ms(row['p50_ms'])} | "
            f"{_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {row['errors']} | "
            f"{'–' if share is None else f'{share:.1%}'} | "
            f"{_verdict(row.get('meets_p95'))} | {_verdict(row.get('meets_share'))} | "
            f"{row['server_cpu']:.0%} | {row['client_cpu']:.0%} |"
        )
    if think:
        lines += [
            "",
            f"### {p['users']} users with think time (mean {z:g} s, exponential)",
            "",
            f"The users offer at most {p['users']} / {z:g} s = {p['users'] / z:,.0f} "
            "requests/s (if every answer were instant). N / (Z + mean) is the rate their own "
            "pace gives with the measured mean latency (the response-time law of a closed loop "
            "with think time); the achieved rate matches it unless something else sits in the "
            "users' cycle (`submit_story`: the untimed check-answers page and refill).",
            "",
            f"| scenario | request | requests/s | N / (Z + mean) | p50 ms | p95 ms | p99 ms "
            f"| errors | p95 < {TARGET_P95_MS:.0f} ms | server CPU | client CPU |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for name, row in think.items():
            pace = (
                p["users"] / (z + row["mean_ms"] / 1000) if row.get("mean_ms") is not None else None
            )
            lines.append(
                f"| {name} | {row['request']} | {row['requests_per_s']:,.1f} | "
                f"{'–' if pace is None else f'{pace:,.1f}'} | {_ms(row['p50_ms'])} | "
                f"{_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {row['errors']} | "
                f"{_verdict(row.get('meets_p95'))} | {row['server_cpu']:.0%} | "
                f"{row['client_cpu']:.0%} |"
            )
    lines += [
        "",
        "### One user at a time (the service time, no queue)",
        "",
        "| scenario | requests/s | p50 ms | p95 ms | p99 ms | mean ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in r["single"].items():
        lines.append(
            f"| {name} | {row['requests_per_s']:,.1f} | {_ms(row['p50_ms'])} | "
            f"{_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {_ms(row.get('mean_ms'))} | "
            f"{row['errors']} |"
        )
    if r.get("profile"):
        lines += [
            "",
            "### Where the time goes",
            "",
            "Each request profiled in process, one at a time (cProfile around the sync handlers "
            "and dependencies; milliseconds per request, cumulative). The lock columns are the "
            "median time per request from the transaction's first write, and from its "
            "`UPDATE ledger_head`, to its commit, with no other request running:",
            "",
            "| scenario | wall ms | handler CPU ms | in the DB driver | write lock held ms "
            "| ledger head lock held ms | ledgered transactions / request "
            "| costliest OneStory functions |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, prof in r["profile"].items():
            top = "; ".join(f"`{t['function']}` {t['ms']}" for t in prof["top"][:6])
            lines.append(
                f"| {name} | {prof['wall_ms']} | {prof['handler_cpu_ms']} | "
                f"{prof['database_driver_ms']} | {prof.get('write_lock_ms', '–')} | "
                f"{prof.get('ledger_lock_ms', '–')} | "
                f"{prof.get('ledgered_transactions_per_request', '–')} "
                f"| {top} |"
            )
        entries = r["profile"]["read_timeline"].get("timeline_entries")
        lines += [
            "",
            f"The profile runs after the load, so the profiled timeline holds {entries} entries "
            "(the events posted by `post_case_event` too), more than during `read_timeline`.",
        ]
    lines += ["", *bounds_markdown(r), "", *errors_markdown(r), "", *notes(r), ""]
    return lines


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**not met**")


def targets_markdown(r: dict[str, Any]) -> list[str]:
    """Each target, for each scenario, plainly."""
    p = r["parameters"]
    think = r.get("think", {})
    lines = [
        "### The targets",
        "",
        f"Target on 2 cores: p95 under {TARGET_P95_MS:.0f} ms at {p['users']} concurrent users, "
        f"and at least {TARGET_SHARE_OF_EMPTY:.0%} of the empty endpoint's throughput.",
        "",
        f"| scenario | p95, {p['users']} users with think time | p95, {p['users']} users "
        "saturating | requests/s saturating, share of empty |",
        "|---|---|---|---|",
    ]
    for name in APP_SCENARIOS:
        sat = r["loaded"].get(name)
        if sat is None:
            continue
        t = think.get(name)
        cell_t = "not run" if t is None else f"{_ms(t['p95_ms'])} ms: {_verdict(t['meets_p95'])}"
        lines.append(
            f"| {name} | {cell_t} | {_ms(sat['p95_ms'])} ms: {_verdict(sat['meets_p95'])} | "
            f"{sat['requests_per_s']:,.1f} = {sat['share_of_empty']:.1%}: "
            f"{_verdict(sat['meets_share'])} |"
        )
    return lines


def bounds_markdown(r: dict[str, Any]) -> list[str]:
    """The arithmetic that bounds each result: Little's law, service time, the ledger lock."""
    p = r["parameters"]
    n, z = p["users"], p.get("think_time_s", 0.0)
    sqlite_db = p["database"] == "sqlite"
    empty = r["loaded"].get("empty", {}).get("requests_per_s")
    if not empty:
        return []
    need = TARGET_SHARE_OF_EMPTY * empty
    budget = 1000 / need
    rates = [r["loaded"][s]["requests_per_s"] for s in APP_SCENARIOS if s in r["loaded"]]
    fastest = max(rates) if rates else None
    lock_name = (
        "SQLite's single write lock (one writer for the whole database, from the transaction's "
        "first write to its commit)"
        if sqlite_db
        else "the row lock on `ledger_head` (from the `UPDATE ledger_head` to the commit)"
    )
    out = [
        "### Why: the arithmetic",
        "",
        f"- **Closed loop (Little's law).** With N = {n} users always waiting on one worker, mean "
        f"latency = N / throughput. A p95 under {TARGET_P95_MS:.0f} ms needs a mean under it, so "
        f"more than {n} / {TARGET_P95_MS / 1000:g} s = {n / (TARGET_P95_MS / 1000):,.0f} "
        "requests/s"
        + (
            f"; the fastest OneStory scenario managed {fastest:,.1f}, so under saturation the "
            "p95 target cannot be met short of a several-fold faster request."
            if fastest is not None and fastest < n / (TARGET_P95_MS / 1000)
            else "."
        ),
        f"- **Share of the empty endpoint.** The empty endpoint served {empty:,.1f} requests/s "
        f"saturated, so {TARGET_SHARE_OF_EMPTY:.0%} is {need:,.1f} requests/s: a budget of "
        f"{budget:.2f} ms of the one worker per request. The single-user table gives each "
        "request's service time, which caps one worker at about 1000 / service time ms "
        "requests/s (the worker's Python runs on one core at a time, under the GIL).",
        "- **The ledger head lock.** Every personal-data read writes a ledger entry in the "
        "request's own transaction (and submitting a story or receiving an event appends "
        "entries too), so ledgered requests serialise on the ledger head lock — here "
        f"{lock_name} — for the length of their transaction. A request that holds it for L ms "
        "caps all such requests at 1000 / L per second, whatever the number of cores or threads; "
        "under load L grows, since the holder competes for the GIL with the other handler "
        "threads while it holds the lock.",
        "",
    ]
    think = r.get("think", {})
    profile = r.get("profile", {})
    for name in APP_SCENARIOS:
        sat, one = r["loaded"].get(name), r["single"].get(name)
        if not sat or not one or not sat["requests_per_s"]:
            continue
        x = sat["requests_per_s"]
        cpu_ms = sat["server_cpu"] / x * 1000
        service = one.get("mean_ms") or one["p50_ms"]
        parts = [
            f"- **{name}**: saturated at {x:,.1f} requests/s, so Little's law gives a mean "
            f"latency of {n} / {x:,.1f} = {n / x * 1000:,.0f} ms (measured "
            f"{_ms(sat['mean_ms'])} ms, p95 {_ms(sat['p95_ms'])} ms"
            + (
                "; less, because each user's cycle also holds the untimed check-answers page "
                "and the refill of the draft"
                if name == "submit_story"
                else ""
            )
            + "). That is "
            f"{x / empty:.1%} of the empty endpoint against the {need:,.1f} requests/s needed: "
            f"one request alone takes {service:.1f} ms (single-user mean), "
            f"{service / budget:,.0f}× the {budget:.2f} ms budget, and under load the server "
            f"spent {cpu_ms:.1f} ms of CPU per request, capping one worker near "
            f"{1000 / cpu_ms:,.0f} requests/s even with no waiting at all"
            + (
                " (per story: the server CPU includes the untimed check-answers page)."
                if name == "submit_story"
                else "."
            )
        ]
        prof = profile.get(name)
        if prof and prof.get("ledgered_transactions_per_request"):
            held = prof["write_lock_ms"] if sqlite_db else prof["ledger_lock_ms"]
            if held:
                parts.append(
                    f"Each request runs {prof['ledgered_transactions_per_request']:g} "
                    "transaction(s) that take the ledger head lock and, alone, holds "
                    + (
                        f"the database's write lock {held:.1f} ms (its `UPDATE ledger_head` "
                        f"{prof['ledger_lock_ms']:.1f} ms before the commit)"
                        if sqlite_db
                        else f"the `ledger_head` row lock {held:.1f} ms (its first write "
                        f"{prof['write_lock_ms']:.1f} ms before the commit)"
                    )
                    + f", so these requests cannot pass 1000 / {held:.1f} = "
                    f"{1000 / held:,.0f} per second however many workers or cores serve them."
                )
        t = think.get(name)
        if t and t["requests_per_s"]:
            xt = t["requests_per_s"]
            utilisation = xt * cpu_ms / 1000
            parts.append(
                f"With think time: {n} users thinking {z:g} s offer at most {n / z:,.0f} "
                f"requests/s; they sent {xt:,.1f}/s, which at {cpu_ms:.1f} ms CPU each keeps "
                f"the worker {utilisation:.0%} busy"
                + (
                    " (saturated: the users queue, and the latency is again bounded by "
                    f"Little's law, N / X − Z = {n / xt - z:,.2f} s)"
                    if utilisation >= 0.9 or xt >= 0.95 * x
                    else ""
                )
                + (
                    f". Even as an ideal single queue (M/M/1, exponential service of "
                    f"{cpu_ms:.1f} ms) the p95 would be ln 20 × S / (1 − ρ) = "
                    f"{math.log(20) * cpu_ms / (1 - utilisation):,.0f} ms"
                    if utilisation < 1
                    else ""
                )
                + f"; measured p95 {_ms(t['p95_ms'])} ms, so the p95 target is "
                + ("met." if t["meets_p95"] else "not met.")
            )
        out.append(" ".join(parts))
    return out


def errors_markdown(r: dict[str, Any]) -> list[str]:
    """Every failed request, by kind, with what the server logged while that scenario ran."""
    rows = []
    for label, title in (("loaded", "saturation"), ("think", "think time"), ("single", "1 user")):
        for name, row in r.get(label, {}).items():
            if row["errors"] or row.get("warmup_failures") or row.get("server_exceptions"):
                kinds = ", ".join(f"{k} ×{v}" for k, v in row.get("error_kinds", {}).items())
                warm = ", ".join(f"{k} ×{v}" for k, v in row.get("warmup_failures", {}).items())
                last = row.get("server_last_exception")
                rows.append(
                    f"| {name} | {title} | {row['errors']} | {kinds or '–'} | {warm or '–'} | "
                    f"{'`' + last[:200].replace('|', '/') + '`' if last else '–'} |"
                )
    if not rows:
        return [
            "### Errors",
            "",
            "No request failed in any model (every answer had the expected status), and the "
            "server logged no exception.",
        ]
    return [
        "### Errors",
        "",
        "| scenario | model | errors (measured window) | by kind | in the warm-up "
        "| last exception the server logged meanwhile |",
        "|---|---|---:|---|---|---|",
        *rows,
    ]


def notes(r: dict[str, Any]) -> list[str]:
    p = r["parameters"]
    lacked = r.get("migrations_lacked")
    out = [
        "### How it is measured",
        "",
        f"- Setup (untimed): a fresh {p['database']} database migrated with "
        "`onestory.store.migrate.upgrade`"
        + (
            ""
            if lacked
            else " (checked against the models afterwards with `schema_differences`: none)"
        )
        + "; organisations POL01, WCU01 (area 01), VS, CICA, STRAMC; "
        f"{p['users']} victim accounts (one argon2 hash shared) each with one submitted story; "
        f"the stories linked {p['stories_per_case']} to a case ({p['cases']} case URNs) with "
        f"{p['events_per_case_before']} hearings already listed on each case through the API; the "
        "court's API key (`create:hearing`, `create:case`, `purpose:prosecution`); each victim "
        "signed in through `/sign-in`; one journey through every question page as a check.",
        "- `submit_story` times only `POST /tell-us/check-answers` (answered 303 to the "
        "confirmation). Before each, the user's next draft is "
        + (
            "filled directly in the database (`victims.stories.save_answer`, from a thread of "
            "the load generator, untimed) and `GET /tell-us/check-answers` fetched for the draft "
            "and form tokens (untimed, but served by the same worker: the server handles two "
            "requests per story)."
            if p["refill"] == "db"
            else "filled through the ten question pages (GET and POST each, untimed) and "
            "`GET /tell-us/check-answers` fetched: the server handles 22 requests per story, so "
            "stories/s is the whole journey's rate."
        )
        + " With think time, the user thinks after the POST (and the refill), then fetches the "
        "check-answers page and posts at once.",
        "- `read_timeline` reads the victim's own story page; `post_case_event` sends a new "
        "`court.hearing.listed` event (new id each time) for a case with stories linked, so each "
        "event opens duties and queues a message for each linked story when the victims' "
        "subscriber is wired in.",
        "- Latency is from sending the request to reading the whole response, measured by the load "
        "generator; requests that started in the warm-up or ended after the window are not "
        "counted. Percentiles are over the successful requests; errors are counted apart, by "
        "kind (an unexpected HTTP status, or the exception the client got), with the exceptions "
        "the server logged while that scenario ran.",
        "- Server and client CPU are the share of one core each process used during the "
        "measured window (from /proc and `time.process_time`). A client near 100% means the load "
        "generator, not the server, set the pace (likely for the empty endpoints).",
    ]
    if lacked:
        out.append(
            f"- The migrations in the tree lagged the models ({len(lacked)} "
            "differences, e.g. "
            + ", ".join(f"`{t}`" for t in lacked[:6])
            + "), so the schema was built from the models (`create_all`) for this run."
        )
    if r.get("timeline_shows_events") is False:
        out.append("- The story page did not mention a hearing after the setup events: the "
                   "victims' subscriber may not be wired to the exchange yet.")  # fmt: skip
    if r.get("server_log_errors"):
        logged = "; ".join(f"`{e.strip()[:160]}`" for e in r["server_log_errors"][:5])
        out.append(f"- The application logged these exceptions over the whole run: {logged}")
    return out


def show(r: dict[str, Any]) -> None:
    z = r["parameters"].get("think_time_s", 0)
    for label, title in (("loaded", "saturation (closed loop)"), ("think", f"think time {z:g} s")):
        if label not in r:
            continue
        table = Table(
            title=f"Tell us once, {title}: {r['parameters']['users']} users, "
            f"{r['machine']['database']}"
        )
        for column in ("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "of empty",
                       "p95 target", "share target", "server CPU", "client CPU"):  # fmt: skip
            table.add_column(column, justify="left" if column == "scenario" else "right")
        for name, row in r[label].items():
            share = row.get("share_of_empty")
            table.add_row(
                name, f"{row['requests_per_s']:,.1f}", _ms(row["p50_ms"]), _ms(row["p95_ms"]),
                _ms(row["p99_ms"]), str(row["errors"]), "" if share is None else f"{share:.1%}",
                _verdict(row.get("meets_p95")), _verdict(row.get("meets_share")),
                f"{row['server_cpu']:.0%}", f"{row['client_cpu']:.0%}",
            )  # fmt: skip
        console.print(table)
    single = Table(title="One user at a time")
    for column in ("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
        single.add_column(column, justify="left" if column == "scenario" else "right")
    for name, row in r["single"].items():
        single.add_row(
            name, f"{row['requests_per_s']:,.1f}", _ms(row["p50_ms"]), _ms(row["p95_ms"]),
            _ms(row["p99_ms"]), str(row["errors"]),
        )  # fmt: skip
    console.print(single)
    for label in ("loaded", "think", "single"):
        for name, row in r.get(label, {}).items():
            if row["failures"] or row["errors"] or row.get("server_exceptions"):
                console.print(
                    f"[red]{name} ({label}): errors {row['error_kinds']}, failures "
                    f"{row['failures']}, server: {row.get('server_last_exception')}"
                )
    for line in r.get("server_log_errors", []):
        console.print(f"[red]server log: {line}")
    console.print(f"Written: {RESULTS / 'victims.json'} and {RESULTS / 'victims.md'}")


if __name__ == "__main__":
    sys.exit(main())
