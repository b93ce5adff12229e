"""The `sla-engine` typer app and what its commands share: one-line errors, catalog loading, instants and
durations in words.

Command modules add their commands to `app`; `cli/main.py` imports them all, and nothing imports `cli/main.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from infra.catalog_source import CatalogError, load_catalog
from sla.catalog import WEEKDAYS, CalendarSpec, Catalog
from sla.durations import format_duration

T = TypeVar("T", bound=str)

app = typer.Typer(
    name="sla-engine",
    help="""Support-tier and SLA engine for a hosting provider: SLA clocks, warnings and escalation.

Examples:

```
sla-engine plans
sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00
sla-engine demo
```""",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="SLA_CATALOG_PATH",
        show_envvar=True,
        help="Operator's catalog TOML file, instead of the packaged default.",
    ),
]


def fail(option: str, problem: str) -> NoReturn:
    """Stop on a bad argument the way typer's own usage errors do (status 2), but on one line naming it.

    One line because these errors are read by scripts and in CI logs as often as by people.
    """
    typer.echo(f"Error: {option}: {' '.join(problem.split())}", err=True)
    raise typer.Exit(2)


def open_catalog(path: Path | None) -> Catalog:
    try:
        return load_catalog(path)
    except CatalogError as exc:
        fail("--catalog", str(exc))


def stdout_console() -> Console:
    # Created per command so that it writes to the sys.stdout of the moment (test runners swap it); wide
    # enough when piped that tables are not folded to 80 columns.
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    return console


def describe_calendar(spec: CalendarSpec) -> str:
    """A calendar in words, e.g. 'Mon–Fri 08:00–18:00, public holidays off', as the SPEC tables say it."""
    if spec.always:
        return "24/7"
    groups: list[tuple[str, str, tuple[tuple[int, int], ...]]] = []
    for day, spans in zip(WEEKDAYS, spec.weekly_seconds(), strict=True):
        if (
            groups
            and spans
            and groups[-1][2] == spans
            and WEEKDAYS.index(groups[-1][1]) + 1 == WEEKDAYS.index(day)
        ):
            groups[-1] = (groups[-1][0], day, spans)
        elif spans:
            groups.append((day, day, spans))
    parts = []
    for first, last, spans in groups:
        days = first.title() if first == last else f"{first.title()}–{last.title()}"
        parts.append(f"{days} {', '.join(f'{_clock(s)}–{_clock(e)}' for s, e in spans)}")
    text = "; ".join(parts)
    if spec.public_holidays:
        text += ", public holidays off"
    if spec.closed_dates:
        text += f", {len(spec.closed_dates)} closed date(s)"
    return text


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def human(seconds: int) -> str:
    """Hours and minutes, never days: 24h of business-hours working time is not a day (SPEC's notation)."""
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}h" if hours else "") + (format_duration(rest) if rest or not hours else "")


def parse_instant(option: str, text: str) -> datetime:
    """An aware instant from the command line; a naive one is refused, since its zone would be a guess."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        fail(option, f"{text!r} is not an ISO 8601 instant like 2026-04-03T17:30:00+02:00")
    if instant.tzinfo is None or instant.utcoffset() is None:
        fail(option, f"{text!r} has no UTC offset; add one, like {text}+02:00 or {text}Z")
    return instant


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).isoformat()


def choose(option: str, value: str, known: tuple[T, ...], what: str) -> T:
    """`value` as one of `known`, or a one-line error listing them (typer's choices print a panel)."""
    for candidate in known:
        if candidate == value:
            return candidate
    fail(option, f"unknown {what} {value!r}; known: {', '.join(known)}")
