"""The ``onestory`` command: every long job shows its progress; every failure is one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from onestory.clitools import (
    CommandError,
    bytes_bar,
    console,
    err_console,
    open_database,
    progress_bar,
)
from onestory.config import ConfigurationError, Settings, get_settings
from onestory.ledger.cli import ledger_app
from onestory.ledger.log import LedgerError
from onestory.notify.cli import app as notify_app
from onestory.sharing.policy import PolicyError

if TYPE_CHECKING:
    from onestory.exchange.ingest import FileSummary

app = typer.Typer(
    help="OneStory: one record of a criminal case across the justice agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: migrations and status.", no_args_is_help=True)
schema_app = typer.Typer(help="The common model's published schemas.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(schema_app, name="schema")
app.add_typer(ledger_app, name="ledger")
app.add_typer(notify_app, name="notify")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from onestory.store.migrate import current_revision

    engine = open_database(get_settings())
    console.print(f"Database is at revision [bold]{current_revision(engine)}[/bold].")


@schema_app.command("export")
def schema_export(
    directory: Annotated[Path, typer.Argument(help="Where to write the JSON Schema files")],
) -> None:
    """Write one JSON Schema file per event type and version, and one for records."""
    from onestory.domain.schema import all_schemas

    if directory.exists() and not directory.is_dir():
        raise CommandError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    schemas = all_schemas()
    for name, schema in schemas.items():
        (directory / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    console.print(f"Wrote {len(schemas)} schemas (events and records) to {directory}.")


def _register_synth() -> None:
    from onestory.synth.cli import synth

    app.command("synth", help="Generate a synthetic multi-agency world and its extracts.")(synth)


_register_synth()


def _register_sar() -> None:
    from onestory.sharing.sar import sar

    app.command("sar", help="Export everything held about one subject (DPA 2018 s45).")(sar)


_register_sar()


def _register_issue6() -> None:
    from onestory.exchange import ingest_cli, webhooks_cli
    from onestory.linkage import cli as linkage_cli

    for module in (ingest_cli, webhooks_cli, linkage_cli):
        module.register(app)


_register_issue6()


def _register_evidence() -> None:
    from onestory.evidence import cli as evidence_cli

    evidence_cli.register(app)


_register_evidence()


def _register_passport() -> None:
    from onestory.passport import cli as passport_cli

    passport_cli.register(app)


_register_passport()


def _register_insights() -> None:
    from onestory.insights import cli as insights_cli

    insights_cli.register(app)


_register_insights()


def _ingest_table(summaries: list[FileSummary]) -> Table:
    table = Table(title="Taken in through the exchange")
    for column in ("File", "Rows", "Accepted", "Quarantined", "Already held"):
        table.add_column(column, justify="left" if column == "File" else "right")
    for s in summaries:
        name = s.name + (" (taken before)" if s.already_received else "")
        table.add_row(name, *(f"{n:,}" for n in (s.rows, s.accepted, s.rejected, s.duplicate)))
    return table


@app.command()
def demo(
    people: Annotated[int, typer.Option(help="People in the synthetic world", min=1)] = 3000,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic world")] = 1,
    serve: Annotated[bool, typer.Option(help="Serve the site when ready")] = True,
) -> None:
    """Generate and load a synthetic world, print demo sign-ins, and serve the site."""
    from onestory.demo import ensure_demo_accounts, ingest_world
    from onestory.evidence.blobs import store_for
    from onestory.evidence.demo import (
        add_demo_evidence,
        ensure_defence_firm,
        write_demo_bundle,
    )
    from onestory.exchange.loader import load_organisations
    from onestory.ledger.checkpoints import VERIFIER_KEY_FILE, cut_checkpoint, load_or_create_signer
    from onestory.linkage.cli import index_copy_dir, link_everyone, run_table
    from onestory.passport.credentials import pending_count
    from onestory.passport.demo import issue_demo_passports
    from onestory.passport.issuer import load_issuer
    from onestory.sharing.policy import load_policies
    from onestory.store import session_factory
    from onestory.subscribers import connect_event_subscribers
    from onestory.synth import write_world

    settings = get_settings()
    data_dir = settings.ensure_data_dir()
    settings.resolve_secret_key()
    engine = open_database(settings)
    connect_event_subscribers(load_policies(settings.policies_dir))
    world = data_dir / "world"
    if (world / "manifest.json").exists():
        console.print(f"Using the synthetic world already in {world}.")
    else:
        with progress_bar() as progress:
            task = progress.add_task("Generating a synthetic world", total=people)
            write_world(
                world, people=people, seed=seed, progress=lambda n: progress.advance(task, n)
            )
    sessions = session_factory(engine)
    with sessions() as session:
        load_organisations(session, world / "organisations.json")
        session.commit()
    summaries = ingest_world(sessions, world, actor="system:demo", bar=bytes_bar)
    console.print(_ingest_table(summaries))
    # One person across agencies: the first run trains the model; later runs keep people's ids.
    copy = index_copy_dir(data_dir)
    console.print(run_table(link_everyone(sessions, actor="system:demo", cache_dir=copy)))
    with sessions() as session:
        ensure_defence_firm(session)
        sign_ins = ensure_demo_accounts(session, data_dir)
        evidence_case = add_demo_evidence(
            session, policies=load_policies(settings.policies_dir), store=store_for(data_dir)
        )
        with progress_bar() as progress:
            task = progress.add_task("Issuing skills passports", total=pending_count(session))
            passports = issue_demo_passports(
                session,
                load_issuer(data_dir, settings.public_base_url),
                base_url=settings.public_base_url,
                data_dir=data_dir,
                progress=lambda n: progress.advance(task, n),
            )
        signer = load_or_create_signer(data_dir, settings.ledger_origin)
        checkpoint = cut_checkpoint(session, signer)
        session.commit()
        console.print(
            f"Ledger: checkpoint of {checkpoint.size} entries signed by {signer.name} "
            f"(verifier key in {data_dir / VERIFIER_KEY_FILE})."
        )
    table = Table(title=f"Demo sign-ins (also in {data_dir / 'demo-sign-ins.json'})")
    # Never wrap what people copy and paste; the role wraps instead.
    table.add_column("Email", no_wrap=True)
    table.add_column("Password", no_wrap=True)
    table.add_column("Role (organisation)")
    for s in sign_ins:
        where = f" ({s.organisation})" if s.organisation else ""
        table.add_row(s.email, s.password, s.label + where)
    console.print(table)
    console.print(
        "Try Tell us once: sign in as victim@demo.onestory.test and go to /tell-us to tell a "
        "story; then sign in as police@, witness-care@ or victim-support@demo.onestory.test and "
        "open /worklist. Messages to victims are written to "
        f"{data_dir / 'outbox'} (set ONESTORY_NOTIFY_CHANNEL to send them for real). "
        "As police@demo.onestory.test: /linkage/review for pairs of records the model was "
        "unsure of (each opens a person's records from every agency at /people/<id>), "
        "/quarantine for rows an extract could not give, /ingest to send a file."
    )
    if evidence_case is not None:
        bundle = write_demo_bundle(
            sessions,
            data_dir=data_dir,
            policies=load_policies(settings.policies_dir),
            signer=signer,
            case_urn=evidence_case,
        )
        console.print(
            f"Digital evidence: as police@ or cps@demo.onestory.test open /evidence/cases/"
            f"{evidence_case} (items, custody with inclusion proofs, sharing, bundles). The "
            "case's disclosure bundle is checked offline, with only the public key, by:"
        )
        console.print(
            f"  onestory evidence verify {bundle} --key {data_dir / VERIFIER_KEY_FILE}",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        f"Skills passport: {passports.credentials} credentials held by {passports.holders} "
        f"learners ({passports.summary.issued} issued now). Sign in as learner@demo.onestory.test "
        "and open /passport (download, share, print the card); anyone can check a credential at "
        "/passport/verify. Offline, with this instance's key and status list:"
    )
    release = _demo_release(settings, sessions)
    console.print(
        f"Statistics: release {release.id} at /insights — Victims' Code compliance by duty and "
        "organisation, timeliness, caseload, hearings, attrition, learning and outcomes, data "
        f"quality, small cells suppressed; files (CSV, Parquet, CSVW) in {release.path}. "
        "As analyst@demo.onestory.test, /insights/internal/<measure> shows the unsuppressed "
        "figures."
    )
    if passports.credential_file is not None:
        console.print(
            f"  onestory passport verify {passports.credential_file}",
            soft_wrap=True,
            highlight=False,
        )
    if serve:
        _serve(settings, engine)


def _demo_release(settings: Settings, sessions: Any) -> Any:
    """The newest insights release, or a new one when the data it counts has changed since.

    The ledger grows on every demo run (a bundle is exported, linkage runs), so what decides is
    the number of rows in each table a snapshot copies.
    """
    from onestory.insights.publish import (
        INTERNAL,
        SOURCE_FILE,
        latest_release,
        publish_release,
        steps,
    )
    from onestory.insights.snapshot import source_counts

    data_dir = settings.ensure_data_dir()
    with sessions() as session:
        now = source_counts(session)
        latest = latest_release(data_dir)
        if latest is not None:
            source = latest.path / INTERNAL / SOURCE_FILE
            counted = json.loads(source.read_text()).get("tables", {}) if source.exists() else {}
            if all(counted.get(name) == n for name, n in now.items()):
                console.print(f"Using the statistics release {latest.id} (nothing new since).")
                return latest
        with progress_bar() as progress:
            task = progress.add_task("Publishing statistics", total=steps())
            return publish_release(
                session,
                data_dir,
                threshold=settings.insights_threshold,
                rounding=settings.insights_rounding,
                progress=lambda what: progress.update(task, advance=1, description=what),
            )


@app.command()
def serve() -> None:
    """Serve the site (the database must have been created with `onestory db upgrade`)."""
    settings = get_settings()
    _serve(settings, open_database(settings))


def _serve(settings: Settings, engine: Engine) -> None:
    import uvicorn

    from onestory.web.app import create_app

    url = f"http://{settings.host}:{settings.port}/"
    console.print(f"OneStory is running at [link={url}]{url}[/link] — press Ctrl+C to stop.")
    uvicorn.run(
        create_app(settings, engine=engine),
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors become one line on stderr and exit status 2."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode, a typer.Exit comes back as the return value.
        result = command.main(args=argv, prog_name="onestory", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("Aborted.")
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, bad value...
        err_console.print(f"Error: {exc.format_message()}", highlight=False, soft_wrap=True)
        return 2
    except (
        CommandError,
        ConfigurationError,
        LedgerError,
        PolicyError,
        ValueError,
        OSError,
    ) as exc:
        err_console.print(f"Error: {exc}", highlight=False, soft_wrap=True)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
