"""Due times the fold commits to, per level × severity and level × component, against hand-computed instants.

The expectations are written out by hand from the SPEC's tables (section 2) and clock rules (section 4)
rather than recomputed with the calendar, so a calendar or catalog mistake cannot agree with itself. The
openings are picked to cross what a working-time calendar gets wrong: closing time, a weekend, French
public holidays (8 May and Ascension Thursday 14 May 2026) and the spring change to summer time (29 March
2026 in Paris). Every expectation is written in Paris local time, the customer's default zone.
"""

from __future__ import annotations

import pytest

from tests.fold_helpers import clock, epoch, hw_requested, iso, notifications, opened, plan, run

PLAN_AT = "2026-01-05T09:00:00+01:00"

# Business hours Mon–Fri 08:00–18:00 Paris, FR holidays off; targets: standard 4/8/24/48 h,
# premium 1/2/8/24 h of working time.
IN_HOURS = "2026-03-10T10:00:00+01:00"  # Tuesday: 8 working hours left that day
FRIDAY_EVENING = "2026-03-13T17:00:00+01:00"  # one working hour before the weekend
WEEKEND = "2026-03-14T11:00:00+01:00"  # Saturday: counting starts Monday 08:00
BEFORE_HOLIDAY = "2026-05-07T16:00:00+02:00"  # Thursday; Friday 8 May is Victory Day, 14 May Ascension
ON_HOLIDAY = "2026-05-14T09:00:00+02:00"  # Ascension Thursday: counting starts Friday 08:00
ACROSS_DST = "2026-03-27T17:00:00+01:00"  # Friday; Monday is in summer time (+02:00)

BUSINESS_HOURS_CASES = [
    # standard
    ("standard", "critical", IN_HOURS, "2026-03-10T14:00:00+01:00"),
    ("standard", "high", IN_HOURS, "2026-03-10T18:00:00+01:00"),  # used up at closing: due at closing
    ("standard", "medium", IN_HOURS, "2026-03-12T14:00:00+01:00"),
    ("standard", "low", IN_HOURS, "2026-03-16T18:00:00+01:00"),
    ("standard", "critical", FRIDAY_EVENING, "2026-03-16T11:00:00+01:00"),
    ("standard", "high", FRIDAY_EVENING, "2026-03-16T15:00:00+01:00"),
    ("standard", "medium", FRIDAY_EVENING, "2026-03-18T11:00:00+01:00"),
    ("standard", "low", FRIDAY_EVENING, "2026-03-20T15:00:00+01:00"),
    ("standard", "critical", WEEKEND, "2026-03-16T12:00:00+01:00"),
    ("standard", "high", WEEKEND, "2026-03-16T16:00:00+01:00"),
    ("standard", "medium", WEEKEND, "2026-03-18T12:00:00+01:00"),
    ("standard", "low", WEEKEND, "2026-03-20T16:00:00+01:00"),
    ("standard", "critical", BEFORE_HOLIDAY, "2026-05-11T10:00:00+02:00"),
    ("standard", "high", BEFORE_HOLIDAY, "2026-05-11T14:00:00+02:00"),
    ("standard", "medium", BEFORE_HOLIDAY, "2026-05-13T10:00:00+02:00"),
    ("standard", "low", BEFORE_HOLIDAY, "2026-05-18T14:00:00+02:00"),  # skips 8 May and 14 May
    ("standard", "critical", ON_HOLIDAY, "2026-05-15T12:00:00+02:00"),
    ("standard", "high", ON_HOLIDAY, "2026-05-15T16:00:00+02:00"),
    ("standard", "medium", ON_HOLIDAY, "2026-05-19T12:00:00+02:00"),
    ("standard", "low", ON_HOLIDAY, "2026-05-21T16:00:00+02:00"),
    ("standard", "critical", ACROSS_DST, "2026-03-30T11:00:00+02:00"),
    ("standard", "high", ACROSS_DST, "2026-03-30T15:00:00+02:00"),
    ("standard", "medium", ACROSS_DST, "2026-04-01T11:00:00+02:00"),
    ("standard", "low", ACROSS_DST, "2026-04-03T15:00:00+02:00"),
    # premium
    ("premium", "critical", IN_HOURS, "2026-03-10T11:00:00+01:00"),
    ("premium", "high", IN_HOURS, "2026-03-10T12:00:00+01:00"),
    ("premium", "medium", IN_HOURS, "2026-03-10T18:00:00+01:00"),
    ("premium", "low", IN_HOURS, "2026-03-12T14:00:00+01:00"),
    ("premium", "critical", FRIDAY_EVENING, "2026-03-13T18:00:00+01:00"),  # at Friday's closing, not Monday
    ("premium", "high", FRIDAY_EVENING, "2026-03-16T09:00:00+01:00"),
    ("premium", "medium", FRIDAY_EVENING, "2026-03-16T15:00:00+01:00"),
    ("premium", "low", FRIDAY_EVENING, "2026-03-18T11:00:00+01:00"),
    ("premium", "critical", WEEKEND, "2026-03-16T09:00:00+01:00"),
    ("premium", "high", WEEKEND, "2026-03-16T10:00:00+01:00"),
    ("premium", "medium", WEEKEND, "2026-03-16T16:00:00+01:00"),
    ("premium", "low", WEEKEND, "2026-03-18T12:00:00+01:00"),
    ("premium", "critical", BEFORE_HOLIDAY, "2026-05-07T17:00:00+02:00"),
    ("premium", "high", BEFORE_HOLIDAY, "2026-05-07T18:00:00+02:00"),
    ("premium", "medium", BEFORE_HOLIDAY, "2026-05-11T14:00:00+02:00"),
    ("premium", "low", BEFORE_HOLIDAY, "2026-05-13T10:00:00+02:00"),
    ("premium", "critical", ON_HOLIDAY, "2026-05-15T09:00:00+02:00"),
    ("premium", "high", ON_HOLIDAY, "2026-05-15T10:00:00+02:00"),
    ("premium", "medium", ON_HOLIDAY, "2026-05-15T16:00:00+02:00"),
    ("premium", "low", ON_HOLIDAY, "2026-05-19T12:00:00+02:00"),
    ("premium", "critical", ACROSS_DST, "2026-03-27T18:00:00+01:00"),
    ("premium", "high", ACROSS_DST, "2026-03-30T09:00:00+02:00"),
    ("premium", "medium", ACROSS_DST, "2026-03-30T15:00:00+02:00"),
    ("premium", "low", ACROSS_DST, "2026-04-01T11:00:00+02:00"),
]

# 24/7: business 30m/1h/4h/24h, enterprise 15m/30m/2h/24h of wall time, holidays and weekends included.
LATE_FRIDAY = "2026-03-13T23:50:00+01:00"
DST_SATURDAY = "2026-03-28T12:00:00+01:00"  # 24 h later is Sunday 13:00 summer time: 24 real hours

ALWAYS_CASES = [
    ("business", "critical", LATE_FRIDAY, "2026-03-14T00:20:00+01:00"),
    ("business", "high", LATE_FRIDAY, "2026-03-14T00:50:00+01:00"),
    ("business", "medium", LATE_FRIDAY, "2026-03-14T03:50:00+01:00"),
    ("business", "low", LATE_FRIDAY, "2026-03-14T23:50:00+01:00"),
    ("business", "critical", ON_HOLIDAY, "2026-05-14T09:30:00+02:00"),
    ("business", "high", ON_HOLIDAY, "2026-05-14T10:00:00+02:00"),
    ("business", "medium", ON_HOLIDAY, "2026-05-14T13:00:00+02:00"),
    ("business", "low", DST_SATURDAY, "2026-03-29T13:00:00+02:00"),
    ("enterprise", "critical", LATE_FRIDAY, "2026-03-14T00:05:00+01:00"),
    ("enterprise", "high", LATE_FRIDAY, "2026-03-14T00:20:00+01:00"),
    ("enterprise", "medium", LATE_FRIDAY, "2026-03-14T01:50:00+01:00"),
    ("enterprise", "low", LATE_FRIDAY, "2026-03-14T23:50:00+01:00"),
    ("enterprise", "critical", WEEKEND, "2026-03-14T11:15:00+01:00"),
    ("enterprise", "high", ON_HOLIDAY, "2026-05-14T09:30:00+02:00"),
    ("enterprise", "medium", "2026-03-29T01:30:00+01:00", "2026-03-29T04:30:00+02:00"),  # over the lost hour
    ("enterprise", "low", DST_SATURDAY, "2026-03-29T13:00:00+02:00"),
]


def assert_due(level: str, severity: str, opened_iso: str, expected_iso: str) -> None:
    """The customer is put on `level` before the ticket, as the control panel would, then the ticket opens."""
    folded = run([opened(opened_iso, severity)], [plan(PLAN_AT, level)], now=opened_iso)
    first = clock(folded, "first_response")
    assert first.support_level == level
    assert first.state == "running"
    assert first.started_at == epoch(opened_iso)
    assert first.due_at is not None
    assert iso(first.due_at) == iso(epoch(expected_iso)), f"{level}/{severity} opened {opened_iso}"
    (acknowledged,) = notifications(folded, "acknowledged")
    assert acknowledged.data["due_at"] == first.due_at


@pytest.mark.parametrize(("level", "severity", "opened_iso", "expected_iso"), BUSINESS_HOURS_CASES)
def test_first_response_in_business_hours(
    level: str, severity: str, opened_iso: str, expected_iso: str
) -> None:
    assert_due(level, severity, opened_iso, expected_iso)


@pytest.mark.parametrize(("level", "severity", "opened_iso", "expected_iso"), ALWAYS_CASES)
def test_first_response_around_the_clock(
    level: str, severity: str, opened_iso: str, expected_iso: str
) -> None:
    assert_due(level, severity, opened_iso, expected_iso)


def test_the_tables_cover_every_level_and_severity() -> None:
    covered = {(level, sev) for level, sev, _, _ in BUSINESS_HOURS_CASES + ALWAYS_CASES}
    levels = ("standard", "premium", "business", "enterprise")
    assert covered == {(level, sev) for level in levels for sev in ("critical", "high", "medium", "low")}


def test_customer_without_a_plan_is_served_at_standard() -> None:
    folded = run([opened(IN_HOURS, "critical")], now=IN_HOURS)
    first = clock(folded, "first_response")
    assert first.support_level == "standard"
    assert first.due_at == epoch("2026-03-10T14:00:00+01:00")


def test_business_hours_follow_the_customers_time_zone() -> None:
    """Tuesday 10:00 in Paris is 05:00 in Toronto: a standard critical ticket waits for 08:00 there."""
    changed = plan(PLAN_AT, "standard", timezone="America/Toronto", country="CA")
    folded = run([opened(IN_HOURS, "critical")], [changed], now=IN_HOURS)
    assert clock(folded, "first_response").due_at == epoch("2026-03-10T12:00:00-04:00")


# Hardware replacement windows, 24/7 for every level: (level, hot_swap, cold_swap, board) in hours.
HARDWARE_HOURS = {
    "standard": {"hot_swap": 24, "cold_swap": 48, "board": 72},
    "premium": {"hot_swap": 12, "cold_swap": 24, "board": 48},
    "business": {"hot_swap": 4, "cold_swap": 8, "board": 12},
    "enterprise": {"hot_swap": 2, "cold_swap": 4, "board": 6},
}
COMPONENTS_BY_CLASS = {
    "hot_swap": ("disk", "ssd", "nvme", "psu", "fan"),
    "cold_swap": ("ram", "nic", "raid_controller", "gpu"),
    "board": ("motherboard", "cpu", "chassis"),
}
# A Saturday evening before the change to summer time: a business-hours level still counts every hour.
REQUESTED = "2026-03-28T22:00:00+01:00"
HARDWARE_DUE = {
    2: "2026-03-29T00:00:00+01:00",
    4: "2026-03-29T03:00:00+02:00",
    6: "2026-03-29T05:00:00+02:00",
    8: "2026-03-29T07:00:00+02:00",
    12: "2026-03-29T11:00:00+02:00",
    24: "2026-03-29T23:00:00+02:00",
    48: "2026-03-30T23:00:00+02:00",
    72: "2026-03-31T23:00:00+02:00",
}
HARDWARE_CASES = [
    (level, component, HARDWARE_DUE[hours[cls]])
    for level, hours in HARDWARE_HOURS.items()
    for cls, components in COMPONENTS_BY_CLASS.items()
    for component in components
]


@pytest.mark.parametrize(("level", "component", "expected_iso"), HARDWARE_CASES)
def test_hardware_replacement_window(level: str, component: str, expected_iso: str) -> None:
    events = [opened("2026-03-28T21:00:00+01:00", "high"), hw_requested(REQUESTED, component, "srv-9")]
    folded = run(events, [plan(PLAN_AT, level)], now=REQUESTED)
    replacement = clock(folded, "hardware_replacement")
    assert (replacement.state, replacement.component, replacement.server_id) == (
        "running",
        component,
        "srv-9",
    )
    assert replacement.due_at == epoch(expected_iso)
    (scheduled,) = notifications(folded, "hardware_scheduled")
    assert scheduled.data["due_at"] == replacement.due_at
