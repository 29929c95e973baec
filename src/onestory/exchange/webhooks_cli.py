"""``onestory webhooks ...``: send due webhook deliveries, and see the subscriptions."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from onestory.clitools import CommandError, console, open_database
from onestory.config import get_settings

webhooks_app = typer.Typer(
    help="Outbound webhooks: send what is due, list the subscriptions.", no_args_is_help=True
)


@webhooks_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One delivery run, then stop")] = False,
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between runs (default: ONESTORY_NOTIFY_INTERVAL)", min=0),
    ] = None,
) -> None:
    """Send due webhook deliveries, every few seconds (or once)."""
    from onestory.exchange.webhooks import deliver_due
    from onestory.store import session_factory

    settings = get_settings()
    sessions = session_factory(open_database(settings))
    if once:
        console.print(f"Delivery run: {deliver_due(sessions)}.")
        return
    every = interval if interval is not None else settings.webhook_interval
    if every <= 0:
        raise CommandError("the interval is 0 (never); give --interval, or use --once")
    with console.status("Sending webhooks") as status:
        while True:
            report = deliver_due(sessions)
            status.update(
                f"{time.strftime('%H:%M:%S')} webhooks: {report}; next run in {every:g} s "
                "(Ctrl-C to stop)"
            )
            time.sleep(every)


@webhooks_app.command("list")
def list_subscriptions(
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted ones")] = False,
) -> None:
    """Every subscription: id, organisation, event types, target, and its deliveries."""
    from onestory.exchange.webhook_tables import WebhookDelivery, WebhookSubscription
    from onestory.store import session_factory

    with session_factory(open_database(get_settings()))() as session:
        query = select(WebhookSubscription).order_by(WebhookSubscription.created_at.desc())
        if not deleted:
            query = query.where(WebhookSubscription.active.is_(True))
        subscriptions = session.scalars(query).all()
        counts: dict[tuple[str, str], int] = {
            (sid, status): int(n)
            for sid, status, n in session.execute(
                select(
                    WebhookDelivery.subscription_id, WebhookDelivery.status, func.count()
                ).group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
            )
        }
        table = Table()
        # The id is what people copy: never cut it, whatever the terminal's width.
        table.add_column("id", no_wrap=True, min_width=36)
        for heading in ("org", "events", "target", "format", "purpose", "state", "deliveries"):
            table.add_column(heading)
        for s in subscriptions:
            tally = ", ".join(
                f"{n} {status}" for (sid, status), n in sorted(counts.items()) if sid == s.id
            )
            table.add_row(
                s.id,
                s.organisation.code,
                "\n".join(s.event_types),
                s.target_url,
                s.format,
                s.purpose,
                "active" if s.active else f"deleted {s.deleted_at:%Y-%m-%d}",
                tally or "none",
            )
    console.print(table if subscriptions else "No subscriptions.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``onestory`` command."""
    app.add_typer(webhooks_app, name="webhooks")
