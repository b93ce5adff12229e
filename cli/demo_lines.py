"""The demo week's support lines and limited-support day (SPEC section 10): kept apart from
cli/demo_scenario.py, which calls `add_lines` once, so that the week's other stories keep their numbering.

- Wednesday evening, Moscow: a business customer's high ticket is escalated to the second line at 21:30
  Moscow time, half an hour before the second line goes home (its hours are 04:00-22:00 MSK). The 30-minute
  pickup runs out at 22:00 sharp, when `oncall-l2` is off duty: the pickup's page goes to its fallback,
  `oncall-l1`, and so does the first-response breach of the same instant (the ladder's first route is
  `oncall-l2`). L1's on-call acknowledges; the second line picks the ticket up when it opens at 04:00 (an
  internal note from line l2) and answers it.
- Thursday is a limited-support day for standard and premium customers (a provider's "answers may take up to
  72 hours"): the demo's catalog is the packaged one plus that period (`demo_catalog`). A Paris premium ticket
  opened that morning gets the period's 72 h, counted 24/7, and its acknowledgement says support is limited
  until the day's end, in French and in Paris time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.demo_scenario import _Script

NIGHT_TICKET = "T-303"  # business, high: escalated to l2 at 21:30 MSK, its pickup paged to oncall-l1 at 22:00
LIMITED_TICKET = "T-202"  # premium, high, opened on the limited-support day: 72 h, 24/7
LIMITED_DAY = """
# The demo's limited-support day (cli/demo_lines.py): Thursday 9 April, Paris time.
[[limited_support]]
from = "2026-04-09T00:00:00+02:00"
to = "2026-04-10T00:00:00+02:00"
levels = ["standard", "premium"]
first_response = { critical = "10m", high = "72h", medium = "72h", low = "72h" }
next_response = { critical = "10m", high = "72h", medium = "72h", low = "72h" }
"""


def demo_catalog_text() -> str:
    """The packaged catalog with the demo's limited-support day."""
    return resources.files("sla").joinpath("catalog.toml").read_text(encoding="utf-8") + LIMITED_DAY


@contextmanager
def demo_catalog(path: Path | None) -> Iterator[Path]:
    """The catalog the demo runs on: the operator's `--catalog` as given, else `demo_catalog_text` in a
    file of its own for as long as the engine runs (the engine reads a catalog from a path)."""
    if path is not None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="sla-demo-") as directory:
        written = Path(directory) / "catalog.toml"
        written.write_text(demo_catalog_text(), encoding="utf-8")
        yield written


def add_lines(s: _Script) -> None:
    """The two stories' events, with their own ids."""
    from cli.demo_scenario import MOSCOW, PARIS  # here: cli.demo_scenario imports this module at its end

    s.ticket(
        "Ticket Opened",
        MOSCOW,
        "2026-04-08T21:00:00",
        NIGHT_TICKET,
        event_id="demo-lines-open",
        severity="high",
        subject="BGP-сессия с провайдером падает каждые 10 минут",
        category="incident",
    )
    s.ticket(
        "Ticket Escalated",
        MOSCOW,
        "2026-04-08T21:30:00",
        NIGHT_TICKET,
        event_id="demo-lines-to-l2",
        to_line="l2",
        reason="network routing: second line",
    )
    s.add(
        "Alert Acknowledged",
        MOSCOW,
        "2026-04-08T22:05:00",
        event_id="demo-lines-ack",
        ticket_id=NIGHT_TICKET,
        metric="first_response",
        acknowledged_by="oncall-l1-olga",
    )
    for event_id, local, visibility in (
        ("demo-lines-pickup", "2026-04-09T04:05:00", "internal"),
        ("demo-lines-answer", "2026-04-09T04:20:00", "public"),
    ):
        s.ticket(
            "Ticket Message Posted",
            MOSCOW,
            local,
            NIGHT_TICKET,
            event_id=event_id,
            author="agent",
            visibility=visibility,
            message_id=f"msg-{event_id}",
            agent_id="agent-l2-pavel",
            line="l2",
        )
    s.ticket(
        "Ticket Opened",
        PARIS,
        "2026-04-09T09:00:00",
        LIMITED_TICKET,
        event_id="demo-limited-open",
        severity="high",
        subject="Sauvegardes nocturnes en échec",
        category="question",
    )
