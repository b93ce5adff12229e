"""`sla-engine demo`: the catalog and a few due times worked through, for a first look that needs no AWS.

A stand-in until the full demo (a day of tickets replayed on the embedded backend) replaces this module; the
examples are picked to show what the tables alone do not: holidays, weekends, 24/7 and hardware windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

from cli.main import CatalogOption, app, human, iso_utc, open_catalog, plans_tables, stdout_console
from sla.plans import explain_due
from sla.vocabulary import Component, Metric, Severity

TITLE = "SLA engine — catalog and worked examples"


@dataclass(frozen=True)
class Example:
    level: str
    severity: Severity
    opened: str
    why: str
    metric: Metric = "first_response"
    component: Component | None = None
    timezone: str = "Europe/Paris"
    country: str = "FR"


EXAMPLES = (
    Example(
        "premium",
        "high",
        "2026-04-03T17:30:00+02:00",
        "Friday 17:30: 30 min left on Friday, Easter Monday is a holiday, 1h30 more on Tuesday from 08:00",
    ),
    Example(
        "business",
        "critical",
        "2026-04-04T23:45:00+02:00",
        "24/7 coverage counts straight through Saturday night",
    ),
    Example(
        "standard",
        "critical",
        "2026-04-04T23:45:00+02:00",
        "the same instant on business hours starts counting on Tuesday 08:00 (weekend, then Easter Monday)",
    ),
    Example(
        "enterprise",
        "high",
        "2026-04-05T03:00:00+02:00",
        "a failed disk is hot_swap: replaced within 2h, counted 24/7 whatever the level's coverage",
        metric="hardware_replacement",
        component="disk",
    ),
)


@app.command()
def demo(catalog: CatalogOption = None) -> None:
    """Show the support catalog and worked examples of due times, without any AWS account.

    Examples:

    ```
    sla-engine demo
    make demo
    ```
    """
    loaded = open_catalog(catalog)
    console = stdout_console()
    console.rule(f"[bold]{TITLE}")
    for table in plans_tables(loaded):
        console.print(table)

    console.print(Text("Worked examples: when is it due?", style="bold"), justify="center")
    for number, example in enumerate(EXAMPLES, start=1):
        result = explain_due(
            loaded,
            example.level,
            example.metric,
            example.severity,
            datetime.fromisoformat(example.opened),
            example.timezone,
            example.country,
            example.component,
        )
        clock = (
            f"{example.component} replacement"
            if example.component
            else f"{example.severity} {example.metric.replace('_', ' ')}"
        )
        console.print(
            f"[bold]{number}. {example.level}[/bold] · {clock} · {human(result.target_seconds)} "
            f"({example.timezone}, {example.country})\n"
            f"   opened  {_local(result.opened, example.timezone)}\n"
            f"   due     {_local(result.at, example.timezone)}  = {iso_utc(result.at)}\n"
            f"   [dim]{example.why}[/dim]\n",
            highlight=False,
        )
    console.print(
        f"Try: sla-engine due --level premium --severity high --opened {EXAMPLES[0].opened}", style="dim"
    )


def _local(instant: datetime, timezone: str) -> str:
    # The weekday is the point of most examples, so it is spelled out next to the local time.
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.isoformat(timespec='minutes')}"
