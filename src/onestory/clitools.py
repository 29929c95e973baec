"""What every command shares: consoles, progress bars, one-line errors, opening the database."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from onestory.config import Settings

console = Console()
err_console = Console(stderr=True)


class CommandError(Exception):
    """A failure to report to the user in one line."""


def progress_bar() -> Progress:
    """A Rich progress bar with a count and the time taken."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def bytes_bar() -> Progress:
    """A Rich progress bar for reading a file: bytes done, speed and the time taken."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def open_database(settings: Settings) -> Engine:
    """The configured database, migrated to the newest schema."""
    from onestory.store import create_engine_for
    from onestory.store.migrate import upgrade

    if not settings.database_url:
        settings.ensure_data_dir()
    engine = create_engine_for(settings.effective_database_url)
    try:
        upgrade(engine)
    except (OperationalError, DatabaseError) as exc:
        raise CommandError(
            f"cannot open the database at {settings.effective_database_url} "
            f"({exc.orig if getattr(exc, 'orig', None) else exc}); "
            "if the data directory is damaged, move it aside and run again"
        ) from exc
    return engine
