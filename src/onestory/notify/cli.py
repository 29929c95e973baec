"""``onestory notify ...``: send what is due, and see what has been sent (without addresses)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from onestory.clitools import CommandError, console, open_database
from onestory.config import ConfigurationError, get_settings

app = typer.Typer(
    help="Messages to people: send what is due, list what was sent.", no_args_is_help=True
)


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One delivery run, then stop")] = False,
) -> None:
    """Send due messages, every ONESTORY_NOTIFY_INTERVAL seconds (or once)."""
    from onestory.notify.channels import channel_from_settings
    from onestory.notify.worker import deliver_due
    from onestory.store import session_factory

    settings = get_settings()
    try:
        channel = channel_from_settings(settings)
    except ConfigurationError as exc:
        raise CommandError(str(exc)) from exc
    sessions = session_factory(open_database(settings))
    if once:
        console.print(f"Delivery run: {deliver_due(sessions, channel)}.")
        return
    interval = settings.notify_interval
    if interval <= 0:
        raise CommandError("ONESTORY_NOTIFY_INTERVAL is 0 (never); set it, or use --once")
    with console.status(f"Sending through the {settings.notify_channel} channel") as status:
        while True:
            report = deliver_due(sessions, channel)
            status.update(
                f"{time.strftime('%H:%M:%S')} {settings.notify_channel}: {report}; "
                f"next run in {interval:g} s (Ctrl-C to stop)"
            )
            time.sleep(interval)


@app.command("list")
def list_messages(
    limit: Annotated[int, typer.Option(help="How many of the newest messages", min=1)] = 20,
    addresses: Annotated[
        bool, typer.Option("--addresses", help="Show addresses too (personal data)")
    ] = False,
) -> None:
    """The newest messages: id, status, template, channel and when queued."""
    from onestory.notify.tables import NotifyMessage
    from onestory.store import session_factory

    with session_factory(open_database(get_settings()))() as session:
        messages = session.scalars(
            select(NotifyMessage).order_by(NotifyMessage.created_at.desc()).limit(limit)
        ).all()
    table = Table()
    # The id is what people copy: never cut it, whatever the terminal's width.
    table.add_column("id", no_wrap=True, min_width=36)
    for heading in ("status", "template", "channel", "lang", "tries", "created"):
        table.add_column(heading)
    if addresses:
        table.add_column("address")
    for m in messages:
        cells = [
            m.id,
            m.status,
            m.template,
            m.channel,
            m.language,
            str(m.attempts),
            f"{m.created_at:%Y-%m-%d %H:%M}",
        ]
        if addresses:
            cells.append(m.address)
        table.add_row(*cells)
    console.print(table if messages else "No messages yet.")
