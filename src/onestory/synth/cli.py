"""``onestory synth``: generate a synthetic world with a progress bar and a summary table."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from onestory.synth.output import prepare
from onestory.synth.rates import NoiseRates
from onestory.synth.world import write_world

DEFAULT_UNTIL = "2026-10-31"


def _fail(message: str) -> SystemExit:
    Console(stderr=True).print(f"Error: {message}", highlight=False, soft_wrap=True, markup=False)
    # SystemExit rather than typer.Exit: the onestory entry point runs commands with
    # standalone_mode=False, where typer.Exit only becomes a return value that is dropped, and a
    # click-style exception would be shown as a multi-line panel when the command runs alone.
    return SystemExit(2)


def synth(
    people: Annotated[int, typer.Option("--people", help="People in the world")] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: the same seed gives the same files")
    ] = 1,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the world to")] = Path(
        "synth-out"
    ),
    noise: Annotated[
        str | None,
        typer.Option("--noise", help="Noise rates, e.g. typo=0.05,nickname=0.1 (all=0 for none)"),
    ] = None,
    until: Annotated[
        str, typer.Option("--until", help="Last day of the world (YYYY-MM-DD)")
    ] = DEFAULT_UNTIL,
) -> None:
    """Generate a synthetic multi-agency world: each agency's extract, events and ground truth."""
    if people < 1:
        raise _fail(f"--people must be at least 1 (got {people})")
    try:
        rates = NoiseRates.parse(noise) if noise is not None else NoiseRates()
    except ValueError as exc:
        raise _fail(f"--noise: {exc}") from None
    try:
        last_day: date = datetime.strptime(until, "%Y-%m-%d").date()
    except ValueError:
        raise _fail(f"--until must be a date as YYYY-MM-DD (got {until!r})") from None
    try:
        prepare(out)  # refuse a directory that is not ours before drawing a progress bar
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("Generating people", total=people)
            summary = write_world(
                out,
                people=people,
                seed=seed,
                noise=rates,
                until=last_day,
                progress=lambda n: progress.advance(task, n),
            )
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title=f"Synthetic world in {out} ({summary.seconds:.1f} s)")
    table.add_column("File")
    table.add_column("Rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{summary.total_rows:,}[/bold]")
    console.print(table)
    console.print(f"{summary.people:,} people, seed {seed}, until {last_day.isoformat()}.")
