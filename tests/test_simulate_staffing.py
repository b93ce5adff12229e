"""The staffing inputs of the what-if (`sla.staffing`): hours of the week, arrivals per hour, handling time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sla.calendar import to_epoch
from sla.events import AnyTicketEvent, parse_detail
from sla.kpis import Period
from sla.staffing import Arrival, occurrences, slot_of, staffing
from sla.staffing import handling_work as work_of
from tests.kpi_month import Ticket

UTC_ZONE = ZoneInfo("UTC")


def epoch(text: str) -> int:
    return to_epoch(datetime.fromisoformat(text).replace(tzinfo=UTC))


def events(envelopes: list[dict[str, Any]]) -> list[AnyTicketEvent]:
    parsed = [parse_detail(e["detail-type"], e["detail"]) for e in envelopes]
    return [e for e in parsed if isinstance(e, AnyTicketEvent)]


def test_each_hour_of_the_week_is_counted_as_often_as_it_occurs() -> None:
    """[Mon 2026-03-09, Tue 2026-03-24): fifteen days, so Mondays three times, every other day twice."""
    seen = occurrences(Period(epoch("2026-03-09T00:00:00"), epoch("2026-03-24T00:00:00")), UTC_ZONE)
    assert seen[:24] == [3] * 24
    assert seen[24:] == [2] * (7 * 24 - 24)
    assert sum(seen) == 15 * 24


def test_hours_of_the_week_are_read_in_the_zone_asked_for() -> None:
    sunday_late = epoch("2026-03-15T22:00:00")  # Sunday 22:00 UTC is Monday 01:00 in Moscow
    assert slot_of(sunday_late, UTC_ZONE) == 6 * 24 + 22
    assert slot_of(sunday_late, ZoneInfo("Europe/Moscow")) == 1


def test_handling_time_counts_each_agent_message_once_and_at_most_a_sitting() -> None:
    """Opened 10:00; the customer writes 10:05; the agent answers 10:15 (10 min since the customer's
    message), delivered twice; a note at 11:30 (85 min later: 30 count); an answer after the period's end
    does not count. 40 minutes over 2 messages."""
    ticket = (
        Ticket("T1", "C-1", "high", "2026-03-09T10:00:00")
        .customer_writes("2026-03-09T10:05:00")
        .agent("2026-03-09T10:15:00", "A1")
    )
    ticket.events.append(ticket.events[-1])  # the same event delivered twice
    ticket.agent("2026-03-09T11:30:00", "A2").agent("2026-03-16T09:00:00", "A1")
    assert work_of(events(ticket.events), epoch("2026-03-16T00:00:00")) == (40 * 60, 2)


def test_arrivals_are_averaged_over_the_times_their_hour_occurs() -> None:
    """Three tickets on Mondays at 10:xx over three Mondays: one an hour; with 30 minutes each, A = 1/2."""
    period = Period(epoch("2026-03-09T00:00:00"), epoch("2026-03-24T00:00:00"))
    arrivals = [
        Arrival(epoch(f"2026-03-{day}T10:{minute}:00"), (3600, 1800))
        for day, minute in (("09", "05"), ("16", "40"), ("23", "59"))
    ]
    plan = staffing(arrivals, (3 * 1800, 3), period, "UTC", 0.8)
    monday_ten = plan.hours[10]
    assert (monday_ten.arrivals, monday_ten.rate, monday_ten.load) == (3, 1.0, 0.5)
    assert plan.handling_seconds == 1800 and plan.handling_measured
    assert all(hour.arrivals == 0 and hour.agents == (0, 0) for hour in plan.hours if hour.slot != 10)
    # One agent (C(1, A) = A): within 1 h, 1 - 0.5 e^(-0.5 * 3600/1800) = 81.6 %; within 30 min,
    # 1 - 0.5 e^(-0.5) = 69.7 %, short of 80 %: two agents.
    assert monday_ten.agents == (1, 2)
