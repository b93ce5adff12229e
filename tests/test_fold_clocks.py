"""The life of each SLA clock (SPEC section 4): what starts, pauses, meets, cancels and re-targets it.

Most tickets here are on the 24/7 `business` level, so a due time is plain arithmetic on the opening
instant and the test reads as the rule it checks; the calendar itself is covered by test_fold_due.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sla.catalog import Catalog, parse_catalog
from sla.fold import APOLOGY_GRACE
from tests.fold_helpers import (
    HOUR,
    MINUTE,
    alerts,
    clock,
    clocks,
    epoch,
    hw_completed,
    hw_requested,
    message,
    notifications,
    opened,
    plan,
    resolution_catalog_toml,
    run,
    severity,
    status,
)

T0 = epoch("2026-03-10T09:00:00Z")  # a Tuesday
BUSINESS = plan("2026-01-05T09:00:00Z", "business")


def t(minutes: float) -> int:
    """An instant `minutes` after T0."""
    return T0 + round(minutes * MINUTE)


@pytest.fixture
def resolution_catalog(tmp_path: Path) -> Catalog:
    """A catalog file in which every level also promises a resolution time (critical 4h ... low 72h)."""
    path = tmp_path / "catalog.toml"
    path.write_text(resolution_catalog_toml(), encoding="utf-8")
    return parse_catalog(path.read_text(encoding="utf-8"))


# -- first and next response ----------------------------------------------------------------------------


def test_first_public_agent_message_meets_first_response() -> None:
    folded = run([opened(t(0), "high"), message(t(20))], [BUSINESS], now=t(120))
    first = clock(folded, "first_response")
    assert (first.state, first.started_at, first.due_at, first.stopped_at) == ("met", t(0), t(60), t(20))
    assert first.elapsed_seconds == 20 * MINUTE
    assert alerts(folded) == []
    assert folded.next_due is None


def test_internal_messages_never_meet_or_start_a_clock() -> None:
    events = [
        opened(t(0), "high"),
        message(t(5), "agent", "internal"),
        message(t(6), "customer", "internal"),
    ]
    folded = run(events, [BUSINESS], now=t(10))
    assert clock(folded, "first_response").state == "running"

    answered = [
        *events,
        message(t(10)),
        message(t(15), "customer", "internal"),
        message(t(16), "agent", "internal"),
    ]
    folded = run(answered, [BUSINESS], now=t(20))
    assert clock(folded, "first_response").stopped_at == t(10)
    assert clocks(folded, "next_response") == []


def test_customer_message_before_the_first_response_starts_nothing() -> None:
    folded = run([opened(t(0), "high"), message(t(5), "customer")], [BUSINESS], now=t(10))
    assert clocks(folded, "next_response") == []
    assert clock(folded, "first_response").state == "running"


def test_each_customer_message_after_an_answer_starts_the_next_cycle() -> None:
    events = [
        opened(t(0), "high"),
        message(t(10)),
        message(t(20), "customer"),
        message(t(30)),
        message(t(40), "customer"),
        message(t(50)),
        message(t(60), "customer"),
    ]
    folded = run(events, [BUSINESS], now=t(61))
    cycles = [
        (c.cycle, c.state, c.started_at, c.stopped_at, c.due_at) for c in clocks(folded, "next_response")
    ]
    assert cycles == [
        (1, "met", t(20), t(30), t(80)),
        (2, "met", t(40), t(50), t(100)),
        (3, "running", t(60), None, t(120)),
    ]


def test_a_second_customer_message_while_a_reply_is_owed_starts_no_cycle() -> None:
    events = [
        opened(t(0), "high"),
        message(t(10)),
        message(t(20), "customer"),
        message(t(25), "customer"),
        message(t(30)),
    ]
    folded = run(events, [BUSINESS], now=t(40))
    (only,) = clocks(folded, "next_response")
    assert (only.cycle, only.started_at, only.stopped_at, only.state) == (1, t(20), t(30), "met")


def test_next_response_is_targeted_with_the_severity_of_its_start() -> None:
    events = [opened(t(0), "low"), message(t(10)), severity(t(15), "critical"), message(t(20), "customer")]
    folded = run(events, [BUSINESS], now=t(21))
    assert clock(folded, "first_response").target_seconds == 24 * HOUR
    assert clock(folded, "next_response").due_at == t(50)


# -- resolution -----------------------------------------------------------------------------------------


def test_no_resolution_clock_where_the_level_defines_none() -> None:
    folded = run([opened(t(0), "high"), status(t(10), "resolved")], [BUSINESS], now=t(20))
    assert clocks(folded, "resolution") == []


def test_resolution_pauses_while_pending_customer_and_is_met_at_resolved(resolution_catalog: Catalog) -> None:
    events = [opened(t(0), "high"), status(t(60), "pending_customer")]
    paused = clock(run(events, [BUSINESS], now=t(90), catalog=resolution_catalog), "resolution")
    assert (paused.state, paused.due_at, paused.elapsed_seconds) == ("paused", None, 60 * MINUTE)

    events += [status(t(180), "open")]
    running = clock(run(events, [BUSINESS], now=t(200), catalog=resolution_catalog), "resolution")
    assert running.state == "running"
    assert running.due_at == t(8 * 60 + 120)  # 8 h of target, plus the 2 h spent waiting on the customer
    assert running.elapsed_seconds == 80 * MINUTE

    events += [status(t(300), "resolved")]
    met = clock(run(events, [BUSINESS], now=t(400), catalog=resolution_catalog), "resolution")
    assert (met.state, met.stopped_at, met.elapsed_seconds) == ("met", t(300), 180 * MINUTE)


def test_resolution_resumes_with_its_elapsed_time_on_reopen(resolution_catalog: Catalog) -> None:
    events = [opened(t(0), "high"), status(t(120), "resolved"), status(t(240), "open")]
    reopened = clock(run(events, [BUSINESS], now=t(300), catalog=resolution_catalog), "resolution")
    assert (reopened.state, reopened.stopped_at) == ("running", None)
    assert reopened.elapsed_seconds == 180 * MINUTE  # 2 h before resolution, 1 h since the reopening
    assert reopened.due_at == t(8 * 60 + 120)


def test_reopening_to_pending_customer_reopens_resolution_paused(resolution_catalog: Catalog) -> None:
    events = [opened(t(0), "high"), status(t(120), "resolved"), status(t(240), "pending_customer")]
    waiting = clock(run(events, [BUSINESS], now=t(250), catalog=resolution_catalog), "resolution")
    assert (waiting.state, waiting.elapsed_seconds) == ("paused", 120 * MINUTE)

    events += [status(t(300), "open")]
    running = clock(run(events, [BUSINESS], now=t(310), catalog=resolution_catalog), "resolution")
    assert running.due_at == t(8 * 60 + 180)


def test_resolution_in_business_hours_counts_working_time_only(resolution_catalog: Catalog) -> None:
    """Standard critical: 4 working hours from Friday 17:00 Paris is Monday 11:00, with no wait at all."""
    events = [opened("2026-03-13T17:00:00+01:00", "critical")]
    plans = [plan("2026-01-05T09:00:00Z", "standard")]
    folded = run(events, plans, now="2026-03-13T17:00:00+01:00", catalog=resolution_catalog)
    assert clock(folded, "resolution").due_at == epoch("2026-03-16T11:00:00+01:00")


def test_a_clock_paused_at_its_due_instant_breaches_when_it_resumes(resolution_catalog: Catalog) -> None:
    """The wait begins as the target runs out (events before timers): the breach comes at the resumption.

    It must not be back-dated to the due instant: a fold made during the wait has already been sent
    without it, and an alert dated in the past would never be sent in time order.
    """
    events = [opened(t(0), "high"), status(t(480), "pending_customer")]
    waiting = run(events, [BUSINESS], now=t(490), catalog=resolution_catalog)
    assert clock(waiting, "resolution").state == "paused"
    assert alerts(waiting, "trigger", "resolution") == []

    resumed = run([*events, status(t(500), "open")], [BUSINESS], now=t(600), catalog=resolution_catalog)
    resolution = clock(resumed, "resolution")
    assert (resolution.state, resolution.due_at, resolution.breached_at) == ("breached", t(480), t(500))
    assert [(a.route, a.at) for a in alerts(resumed, "trigger", "resolution")] == [
        ("oncall-l2", t(500)),
        ("duty-manager", t(515)),
    ]
    assert [e for e in resumed.effects if e.at <= t(490)] == list(waiting.effects)


# -- hardware replacement -------------------------------------------------------------------------------


def test_hardware_replacement_pauses_while_pending_customer() -> None:
    events = [
        opened(t(0), "high"),
        hw_requested(t(10), "disk"),
        status(t(70), "pending_customer"),
        status(t(130), "open"),
    ]
    folded = run(events, [BUSINESS], now=t(140))
    replacement = clock(folded, "hardware_replacement")
    assert replacement.state == "running"
    assert replacement.due_at == t(10 + 4 * 60 + 60)
    assert replacement.elapsed_seconds == 70 * MINUTE


def test_hardware_requested_while_pending_customer_starts_paused() -> None:
    events = [opened(t(0), "high"), status(t(5), "pending_customer"), hw_requested(t(10), "ram")]
    folded = run(events, [BUSINESS], now=t(100))
    replacement = clock(folded, "hardware_replacement")
    assert (replacement.state, replacement.due_at, replacement.elapsed_seconds) == ("paused", None, 0)

    folded = run([*events, status(t(100), "open")], [BUSINESS], now=t(100))
    assert clock(folded, "hardware_replacement").due_at == t(100 + 8 * 60)


def test_hardware_replacement_is_met_only_by_the_same_server_and_component() -> None:
    wrong_server = hw_completed(t(20), "disk", "srv-2")
    wrong_part = hw_completed(t(30), "ssd", "srv-1")
    events = [opened(t(0), "high"), hw_requested(t(10), "disk", "srv-1"), wrong_server, wrong_part]
    folded = run(events, [BUSINESS], now=t(35))
    assert clock(folded, "hardware_replacement").state == "running"
    assert {r.event_id for r in folded.rejected} == {wrong_server.event_id, wrong_part.event_id}
    assert notifications(folded, "hardware_completed") == []

    folded = run([*events, hw_completed(t(40), "disk", "srv-1")], [BUSINESS], now=t(45))
    replacement = clock(folded, "hardware_replacement")
    assert (replacement.state, replacement.stopped_at) == ("met", t(40))


def test_replacements_of_different_parts_run_side_by_side() -> None:
    events = [
        opened(t(0), "high"),
        hw_requested(t(10), "disk", "srv-1"),
        hw_requested(t(11), "disk", "srv-2"),
        hw_completed(t(30), "disk", "srv-2"),
    ]
    folded = run(events, [BUSINESS], now=t(40))
    states = [(c.cycle, c.server_id, c.state) for c in clocks(folded, "hardware_replacement")]
    assert states == [(1, "srv-1", "running"), (2, "srv-2", "met")]


# -- closing --------------------------------------------------------------------------------------------


def test_closed_cancels_every_running_clock(resolution_catalog: Catalog) -> None:
    events = [
        opened(t(0), "high"),
        message(t(10)),
        message(t(20), "customer"),
        hw_requested(t(25), "psu"),
        status(t(30), "pending_customer"),
        status(t(40), "closed"),
    ]
    folded = run(events, [BUSINESS], now=t(24 * 60), catalog=resolution_catalog)
    assert folded.state is not None
    states = {(c.metric, c.state, c.stopped_at) for c in folded.state.clocks}
    assert states == {
        ("first_response", "met", t(10)),
        ("next_response", "cancelled", t(40)),
        ("resolution", "cancelled", t(40)),
        ("hardware_replacement", "cancelled", t(40)),
    }
    assert alerts(folded) == []
    assert folded.next_due is None


# -- severity changes -----------------------------------------------------------------------------------


def test_severity_change_retargets_from_the_original_start() -> None:
    folded = run([opened(t(0), "low"), severity(t(10), "critical")], [BUSINESS], now=t(10))
    first = clock(folded, "first_response")
    assert (first.state, first.target_seconds, first.due_at) == ("running", 30 * MINUTE, t(30))
    assert folded.state is not None and folded.state.severity == "critical"


def test_severity_change_keeps_the_pauses(resolution_catalog: Catalog) -> None:
    events = [
        opened(t(0), "low"),
        status(t(60), "pending_customer"),
        status(t(120), "open"),
        severity(t(150), "critical"),
    ]
    folded = run(events, [BUSINESS], now=t(150), catalog=resolution_catalog)
    assert clock(folded, "resolution").due_at == t(4 * 60 + 60)


def test_severity_change_breaches_at_once_when_the_new_due_time_has_passed() -> None:
    events = [opened(t(0), "low"), severity(t(45), "critical")]
    folded = run(events, [BUSINESS], now=t(45))
    first = clock(folded, "first_response")
    assert (first.state, first.due_at, first.breached_at) == ("breached", t(30), t(45))
    # The page waits until every event stamped at the breach instant is known: the next second.
    assert alerts(folded, "trigger") == []
    assert folded.next_due == t(45) + 1
    paged = run(events, [BUSINESS], now=t(45) + 1)
    assert [(a.kind, a.route, a.at) for a in alerts(paged, "trigger")] == [("trigger", "oncall-l2", t(45))]
    assert notifications(paged, "breach_apology") == []
    assert paged.next_due == t(45) + APOLOGY_GRACE + 1  # the apology, a grace period after the breach
    apologised = run(events, [BUSINESS], now=t(45) + APOLOGY_GRACE + 1)
    assert [n.at for n in notifications(apologised, "breach_apology")] == [t(45) + APOLOGY_GRACE]


def test_severity_change_breaches_a_paused_clock_whose_new_target_is_used_up(
    resolution_catalog: Catalog,
) -> None:
    events = [opened(t(0), "low"), status(t(300), "pending_customer"), severity(t(310), "critical")]
    folded = run(events, [BUSINESS], now=t(310), catalog=resolution_catalog)
    resolution = clock(folded, "resolution")
    assert (resolution.state, resolution.breached_at) == ("breached", t(310))


def test_severity_change_leaves_stopped_clocks_alone() -> None:
    events = [opened(t(0), "low"), message(t(10)), severity(t(20), "critical")]
    first = clock(run(events, [BUSINESS], now=t(20)), "first_response")
    assert (first.state, first.target_seconds, first.due_at) == ("met", 24 * HOUR, t(24 * 60))


# -- plan changes ---------------------------------------------------------------------------------------


def test_plan_change_applies_only_to_clocks_started_after_it() -> None:
    plans = [plan("2026-01-05T09:00:00Z", "business"), plan(t(5), "enterprise")]
    events = [
        opened(t(0), "critical"),
        message(t(10)),
        message(t(20), "customer"),
        hw_requested(t(30), "disk"),
    ]
    folded = run(events, plans, now=t(31))
    first = clock(folded, "first_response")
    assert (first.support_level, first.target_seconds, first.due_at) == ("business", 30 * MINUTE, t(30))
    nxt = clock(folded, "next_response")
    assert (nxt.support_level, nxt.due_at) == ("enterprise", t(35))
    replacement = clock(folded, "hardware_replacement")
    assert (replacement.support_level, replacement.due_at) == ("enterprise", t(30 + 120))
    assert folded.state is not None and folded.state.support_level == "business"


def test_running_clock_keeps_its_level_through_a_later_severity_change() -> None:
    plans = [plan("2026-01-05T09:00:00Z", "business"), plan(t(5), "enterprise")]
    folded = run([opened(t(0), "low"), severity(t(10), "critical")], plans, now=t(10))
    assert clock(folded, "first_response").due_at == t(30)  # business critical, not enterprise's 15 min


def test_plan_changes_of_other_customers_are_ignored() -> None:
    plans = [BUSINESS, plan(t(-5), "enterprise", customer="C-other")]
    folded = run([opened(t(0), "high")], plans, now=t(0))
    assert clock(folded, "first_response").support_level == "business"


# -- breached is final ----------------------------------------------------------------------------------


def test_breached_is_final_and_a_late_answer_resolves_every_page() -> None:
    events = [opened(t(0), "critical"), message(t(50)), severity(t(55), "low")]
    folded = run(events, [BUSINESS], now=t(24 * 60))
    first = clock(folded, "first_response")
    assert (first.state, first.breached_at, first.stopped_at) == ("breached", t(30), t(50))
    assert first.target_seconds == 30 * MINUTE  # a later severity change does not reopen the question
    pages = [(a.kind, a.route, a.at) for a in alerts(folded) if a.kind in ("trigger", "resolve")]
    assert pages == [
        ("trigger", "oncall-l2", t(30)),
        ("trigger", "duty-manager", t(45)),
        ("resolve", "oncall-l2", t(50)),
        ("resolve", "duty-manager", t(50)),
    ]
    assert folded.next_due is None
