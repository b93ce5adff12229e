"""Support lines on the pure fold (SPEC section 10): escalation, line_pickup clocks, routes on duty, and
limited-support periods; with the order and duplicate invariance of SPEC section 5 over the new events.

Instants are written in Moscow time where the second line's hours (04:00-22:00 MSK) decide, in UTC elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, cast

import pytest

from sla.catalog import Catalog, parse_catalog
from sla.clocks import counting_calendar
from sla.events import AnyTicketEvent, TicketEscalated, TicketMessagePosted, parse_detail
from sla.folded import Folded
from sla.kpi_records import records_of
from sla.messages import alert_summary, render_notification
from tests.fold_helpers import (
    CUSTOMER,
    LIMITED,
    TICKET,
    alerts,
    clock,
    clocks,
    default_catalog_toml,
    epoch,
    iso,
    message,
    next_event_id,
    notifications,
    opened,
    plan,
    run,
    severity,
    status,
)

MIN = 60


def escalated(at: str, line: str, *, event_id: str | None = None) -> TicketEscalated:
    detail = {"event_id": event_id or next_event_id(), "occurred_at": at, "ticket_id": TICKET,
              "customer_id": CUSTOMER, "to_line": line, "reason": "needs the platform team"}  # fmt: skip
    return cast(TicketEscalated, parse_detail("Ticket Escalated", detail))


def line_message(
    at: str, line: str | None, visibility: str = "internal", *, event_id: str | None = None
) -> Any:
    base = message(at, "agent", visibility, event_id=event_id)
    detail = {**base.model_dump(mode="json", exclude_none=True), "line": line, "agent_id": "A-7"}
    return cast(TicketMessagePosted, parse_detail("Ticket Message Posted", detail))


def pickups(folded: Folded) -> list[tuple[str | None, str, str | None]]:
    return [(c.line, c.state, _iso(c.due_at)) for c in clocks(folded, "line_pickup")]


def _iso(epoch_seconds: int | None) -> str | None:
    return None if epoch_seconds is None else iso(epoch_seconds)


OPEN = "2026-01-12T09:00:00+03:00"  # a Monday


def test_a_ticket_starts_at_the_entry_line_and_moves_with_each_escalation() -> None:
    assert run([opened(OPEN)]).state.line == "l1"  # type: ignore[union-attr]
    folded = run([opened(OPEN), escalated("2026-01-12T10:00:00+03:00", "l2")])
    assert folded.state is not None and folded.state.line == "l2"
    back = run(
        [
            opened(OPEN),
            escalated("2026-01-12T10:00:00+03:00", "l2"),
            escalated("2026-01-12T11:00:00+03:00", "l1"),
        ]
    )
    assert back.state is not None and back.state.line == "l1"  # down the lines too


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("l9", "to_line: unknown line 'l9'; known: l1, l2, l3"),
        ("l1", "to_line: the ticket is already at line 'l1'"),
    ],
)
def test_an_escalation_the_catalog_cannot_take_is_rejected_with_its_reason(line: str, reason: str) -> None:
    bad = escalated("2026-01-12T10:00:00+03:00", line, event_id="esc-bad")
    folded = run([opened(OPEN), bad])
    assert [(r.event_id, r.reason) for r in folded.rejected] == [("esc-bad", reason)]
    assert folded.state is not None and folded.state.line == "l1"
    assert clocks(folded, "line_pickup") == []


def test_a_pickup_starts_on_the_lines_hours_and_is_met_by_an_internal_note_of_that_line() -> None:
    events = [
        opened(OPEN),
        escalated("2026-01-12T21:50:00+03:00", "l2"),  # 10 min left today, 20 more from 04:00 MSK
        line_message("2026-01-13T04:05:00+03:00", "l1"),  # another line's note: not a pickup
        line_message("2026-01-13T04:10:00+03:00", None),  # no line named: not a pickup
        line_message("2026-01-13T04:15:00+03:00", "l2"),
    ]
    folded = run(events, now="2026-01-14T00:00:00Z")
    (pickup,) = clocks(folded, "line_pickup")
    assert (pickup.line, pickup.state, pickup.target_seconds) == ("l2", "met", 30 * MIN)
    assert pickup.due_at == epoch("2026-01-13T04:20:00+03:00")
    assert pickup.stopped_at == epoch("2026-01-13T04:15:00+03:00")
    assert pickup.elapsed_seconds == 25 * MIN  # working time of the line, not wall time
    assert alerts(folded, metric="line_pickup") == []
    # An internal note meets the pickup only: the customer still waits for a public answer.
    assert clock(folded, "first_response").state in ("running", "breached")


def test_moving_on_or_closing_cancels_the_pickup_and_the_next_line_starts_its_own() -> None:
    events = [
        opened(OPEN),
        escalated("2026-01-12T10:00:00+03:00", "l2", event_id="to-l2"),
        escalated("2026-01-12T10:10:00+03:00", "l3", event_id="to-l3"),
        status("2026-01-12T10:20:00+03:00", "closed"),
    ]
    folded = run(events, now="2026-01-20T00:00:00Z")
    assert [(c.line, c.state, c.cause) for c in clocks(folded, "line_pickup")] == [
        ("l2", "cancelled", "to-l2"),
        ("l3", "cancelled", "to-l3"),
    ]
    assert alerts(folded, metric="line_pickup") == []


def test_a_line_without_pickup_starts_no_clock() -> None:
    folded = run(
        [
            opened(OPEN),
            escalated("2026-01-12T10:00:00+03:00", "l2"),
            escalated("2026-01-12T10:05:00+03:00", "l1"),
        ]
    )
    assert [c.line for c in clocks(folded, "line_pickup")] == ["l2"]


def test_a_pickup_breach_pages_the_lines_route_once_and_off_duty_its_fallback() -> None:
    """Used up at 22:00 MSK exactly, when the second line closes: its route is off duty, so L1 is paged."""
    events = [opened(OPEN, "low"), escalated("2026-01-12T21:30:00+03:00", "l2", event_id="esc-1")]
    folded = run(events, now="2026-01-13T12:00:00+03:00")
    triggers = alerts(folded, "trigger", "line_pickup")
    assert [(a.route, a.paged_route, a.step, a.dedup_key) for a in triggers] == [
        ("oncall-l2", "oncall-l1", 0, "T-1/line_pickup/esc-1")
    ]
    assert triggers[0].at == epoch("2026-01-12T22:00:00+03:00")
    assert alerts(folded, "warning", "line_pickup") == []  # no warnings: an internal agreement
    assert [n.kind for n in notifications(folded)] == ["acknowledged"]  # and nothing for the customer

    met = run([*events, line_message("2026-01-13T04:01:00+03:00", "l2")], now="2026-01-13T12:00:00+03:00")
    resolves = alerts(met, "resolve", "line_pickup")
    assert [(a.route, a.paged_route) for a in resolves] == [("oncall-l1", "oncall-l1")]  # where it was paged
    assert clock(met, "line_pickup").state == "breached"  # breached is final


def test_a_ladder_off_duty_pages_the_fallback_and_resolves_there() -> None:
    """A business ticket at night (02:00 MSK): oncall-l2 sleeps, its page and its warnings go to oncall-l1."""
    plans = [plan("2026-01-01T00:00:00Z", "business")]
    events = [opened("2026-01-13T02:00:00+03:00", "critical")]
    reply = message("2026-01-13T02:50:00+03:00")  # after the second step (15 min after the 02:30 breach)
    folded = run([*events, reply], plans, now="2026-01-13T03:00:00+03:00")
    rows = [(a.kind, a.route, a.paged_route) for a in alerts(folded, metric="first_response")]
    assert rows == [
        ("warning", "oncall-l2", "oncall-l1"),
        ("warning", "oncall-l2", "oncall-l1"),
        ("trigger", "oncall-l2", "oncall-l1"),
        ("trigger", "duty-manager", "duty-manager"),
        ("resolve", "oncall-l1", "oncall-l1"),
        ("resolve", "duty-manager", "duty-manager"),
    ]
    assert {a.dedup_key for a in alerts(folded)} == {f"T-1/first_response/{events[0].event_id}"}  # stable


# -- limited support ----------------------------------------------------------------------------------------
FROM = epoch("2026-09-13T00:00:00+03:00")  # a Sunday


def limited_catalog() -> Catalog:
    return parse_catalog(default_catalog_toml() + LIMITED)


@pytest.mark.parametrize(
    ("start", "level", "target", "due"),
    [
        (
            FROM - 1,
            "standard",
            8 * 3600,
            "2026-09-14T16:00:00+02:00",
        ),  # one second before: its level's, Mon 08:00 Paris + 8 h
        (FROM, "standard", 72 * 3600, "2026-09-15T21:00:00Z"),  # exactly at `from`: 72 h, 24/7
        (epoch("2026-09-23T00:00:00+03:00") - 1, "premium", 72 * 3600, "2026-09-25T20:59:59Z"),  # last second
        (
            epoch("2026-09-23T00:00:00+03:00"),
            "premium",
            2 * 3600,
            "2026-09-23T10:00:00+02:00",
        ),  # `to` excluded
        (FROM + 3600, "business", 3600, "2026-09-12T23:00:00Z"),  # a level the period does not list
    ],
    ids=["a second before from", "at from", "last second", "at to", "another level"],
)
def test_a_response_clock_takes_the_period_in_force_when_it_starts(
    start: int, level: str, target: int, due: str
) -> None:
    plans = [plan("2026-01-01T00:00:00Z", level)]
    folded = run([opened(start, "high")], plans, now=start + 60, catalog=limited_catalog())
    first = clock(folded, "first_response")
    assert (first.target_seconds, first.due_at) == (target, epoch(due))
    # The read side counts its working time on the same calendar (24/7 inside the period).
    calendar = counting_calendar(
        limited_catalog(), level, "first_response", first.started_at, first.timezone, first.country
    )
    assert calendar.after(first.started_at, first.target_seconds) == first.due_at


def test_a_clock_started_before_the_period_keeps_its_target_and_a_next_response_inside_takes_the_periods() -> (
    None
):
    plans = [plan("2026-01-01T00:00:00Z", "premium")]
    events = [
        opened("2026-09-11T10:00:00+02:00", "critical"),  # Friday before the period: 1 h of business hours
        message("2026-09-11T10:30:00+02:00"),
        message("2026-09-14T10:00:00+02:00", "customer"),  # inside: the next response takes 10 min, 24/7
        severity("2026-09-14T10:01:00+02:00", "high"),  # re-targeted with the period's figure
    ]
    folded = run(events, plans, now=epoch("2026-09-14T10:02:00+02:00"), catalog=limited_catalog())
    assert clock(folded, "first_response").target_seconds == 3600
    assert clock(folded, "next_response").target_seconds == 72 * 3600


def test_the_acknowledged_notice_says_support_is_limited_until_the_end_in_the_customers_zone() -> None:
    plans = [plan("2026-01-01T00:00:00Z", "standard", timezone="Asia/Tokyo", country="JP", locale="fr")]
    folded = run([opened(FROM + 60, "high")], plans, now=FROM + 120, catalog=limited_catalog())
    (notice,) = notifications(folded, "acknowledged")
    assert notice.data["limited_until"] == epoch("2026-09-23T00:00:00+03:00")
    body = render_notification(notice).body
    assert "Le support est limité jusqu'au mercredi 23 septembre 2026 à 06:00 (Asia/Tokyo)" in body

    outside = run([opened(FROM - 60, "high")], plans, now=FROM, catalog=limited_catalog())
    assert "limited_until" not in notifications(outside, "acknowledged")[0].data


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "Support is limited until Wednesday, 23 September 2026 at 00:00 (Europe/Moscow)"),
        ("fr", "Le support est limité jusqu'au mercredi 23 septembre 2026 à 00:00 (Europe/Moscow)"),
        ("ru", "Окончание периода: среда, 23 сентября 2026 г., 00:00 (Europe/Moscow)."),
    ],
)
def test_the_limited_sentence_in_each_locale(locale: str, text: str) -> None:
    plans = [plan("2026-01-01T00:00:00Z", "premium", timezone="Europe/Moscow", country="RU", locale=locale)]
    folded = run([opened(FROM + 60, "low")], plans, now=FROM + 120, catalog=limited_catalog())
    assert text in render_notification(notifications(folded, "acknowledged")[0]).body


# -- order and duplicates -----------------------------------------------------------------------------------


def story() -> list[AnyTicketEvent]:
    """Opened at 21:00 MSK, escalated to L2 (pickup breaches at 22:00, paged to L1), picked up by L2 at
    04:10, escalated to L3 on Tuesday morning, picked up at once by an L3 public answer."""
    return [
        opened("2026-01-12T21:00:00+03:00", "high", event_id="o"),
        escalated("2026-01-12T21:30:00+03:00", "l2", event_id="e2"),
        line_message("2026-01-13T04:10:00+03:00", "l2", event_id="n2"),
        escalated("2026-01-13T10:00:00+03:00", "l3", event_id="e3"),
        line_message("2026-01-13T12:00:00+03:00", "l3", "public", event_id="n3"),
        escalated("2026-01-13T12:00:00+03:00", "l9", event_id="bad"),
    ]


def summary(folded: Folded) -> tuple[Any, ...]:
    return (
        folded.state,
        folded.effects,
        folded.next_due,
        sorted(folded.rejected, key=lambda r: r.event_id),
        folded.settled,
    )


@pytest.mark.parametrize(
    "now", ["2026-01-12T21:59:00+03:00", "2026-01-12T22:00:01+03:00", "2026-01-14T00:00:00Z"]
)
def test_every_order_of_the_escalation_story_folds_alike(now: str) -> None:
    events = story()
    expected = summary(run(events, now=now))
    for order in itertools.permutations(events):
        assert summary(run(order, now=now)) == expected


def test_the_story_with_every_event_twice_folds_alike() -> None:
    events = story()
    doubled: Sequence[AnyTicketEvent] = [*reversed(events), *events]
    assert summary(run(doubled)) == summary(run(events))


def test_the_story_as_the_kpis_read_it() -> None:
    folded = run(story(), now="2026-01-14T00:00:00Z")
    assert [c.line for c in clocks(folded, "line_pickup")] == ["l2", "l3"]
    assert [(c.state) for c in clocks(folded, "line_pickup")] == ["breached", "met"]
    records = records_of(folded)
    assert records is not None
    ticket, cycles = records
    assert [(m.line, m.at) for m in ticket.escalations] == [
        ("l2", epoch("2026-01-12T21:30:00+03:00")),
        ("l3", epoch("2026-01-13T10:00:00+03:00")),
    ]
    assert [(c.key.line, c.outcome) for c in cycles if c.metric == "line_pickup"] == [
        ("l2", "breached"),
        ("l3", "met"),
    ]
    assert [r.reason for r in folded.rejected] == ["to_line: unknown line 'l9'; known: l1, l2, l3"]


def test_the_page_says_which_route_it_stands_in_for() -> None:
    events = [opened("2026-01-12T21:00:00+03:00", "low"), escalated("2026-01-12T21:30:00+03:00", "l2")]
    (trigger,) = alerts(run(events, now="2026-01-13T00:00:00Z"), "trigger", "line_pickup")
    assert alert_summary(trigger).endswith("breached, due 19:00 UTC — page 1 oncall-l1 for oncall-l2")
