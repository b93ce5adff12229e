"""What the fold asks to be sent (SPEC section 6): warnings, the escalation ladder, and customer notices.

Effects are checked as whole sequences of (instant, kind, route, metric) rows, so a missing, duplicated or
mistimed alert fails with a readable diff.
"""

from __future__ import annotations

from sla.effects import Alert, Notification
from sla.fold import APOLOGY_GRACE
from tests.fold_helpers import (
    HOUR,
    MINUTE,
    ack,
    alerts,
    clock,
    epoch,
    hw_completed,
    hw_requested,
    iso,
    message,
    notifications,
    opened,
    plan,
    run,
    severity,
    status,
    summary,
)

T0 = epoch("2026-03-10T09:00:00Z")
PLAN_AT = "2026-01-05T09:00:00Z"
BUSINESS = plan(PLAN_AT, "business")
ENTERPRISE = plan(PLAN_AT, "enterprise")


def t(minutes: float) -> int:
    return T0 + round(minutes * MINUTE)


def row(minutes: float, kind: str, route: str, metric: str = "first_response") -> tuple[str, str, str, str]:
    return (iso(t(minutes)), kind, route, metric)


# -- warnings -------------------------------------------------------------------------------------------


def test_business_warns_at_half_and_three_quarters_of_the_target() -> None:
    folded = run([opened(t(0), "high"), message(t(50))], [BUSINESS], now=t(600))
    assert summary(alerts(folded)) == [row(30, "warning", "oncall-l2"), row(45, "warning", "oncall-l2")]
    assert [a.fraction for a in alerts(folded)] == [0.5, 0.75]


def test_enterprise_warns_at_each_of_its_three_fractions() -> None:
    folded = run([opened(t(0), "medium"), message(t(115))], [ENTERPRISE], now=t(600))
    assert summary(alerts(folded)) == [
        row(60, "warning", "oncall-l2"),
        row(90, "warning", "oncall-l2"),
        row(108, "warning", "oncall-l2"),
    ]


def test_standard_warns_at_three_quarters_of_working_time() -> None:
    """4 working hours from Friday 17:00: three of them are used up on Monday at 10:00, not on Friday night."""
    events = [opened("2026-03-13T17:00:00+01:00", "critical")]
    folded = run(events, [plan(PLAN_AT, "standard")], now="2026-03-16T10:59:59+01:00")
    (warning,) = alerts(folded)
    assert (warning.kind, warning.route, warning.fraction) == ("warning", "oncall-l2", 0.75)
    assert warning.at == epoch("2026-03-16T10:00:00+01:00")
    # The breach at 11:00 fires in the first fold after it, one second later.
    assert folded.next_due == epoch("2026-03-16T11:00:00+01:00") + 1


def test_each_warning_is_sent_once_per_cycle_and_fraction() -> None:
    events = [
        opened(t(0), "high"),
        message(t(10)),
        message(t(20), "customer"),
        message(t(70)),
        message(t(80), "customer"),
    ]
    folded = run(events, [BUSINESS], now=t(125) + 1)  # the warning at 11:05 fires once 11:05 is past
    rows = [(a.metric, a.cycle, a.fraction, iso(a.at)) for a in alerts(folded, "warning")]
    assert rows == [
        ("next_response", 1, 0.5, iso(t(50))),
        ("next_response", 1, 0.75, iso(t(65))),
        ("next_response", 2, 0.5, iso(t(110))),
        ("next_response", 2, 0.75, iso(t(125))),
    ]
    # Folding again at a later time sends nothing new for what was already sent.
    later = run(events, [BUSINESS], now=t(126))
    assert [e for e in later.effects if e.at <= t(125)] == list(folded.effects)


def test_no_warning_while_paused() -> None:
    """Disk on business: 4 h, warnings at 2 h and 3 h of running time; an hour's wait moves both."""
    events = [
        opened(t(0), "high"),
        message(t(5)),
        hw_requested(t(0), "disk"),
        status(t(100), "pending_customer"),
        status(t(160), "open"),
    ]
    folded = run(events, [BUSINESS], now=t(299))
    warnings = alerts(folded, "warning", "hardware_replacement")
    assert [(iso(a.at), a.fraction) for a in warnings] == [(iso(t(180)), 0.5), (iso(t(240)), 0.75)]


def test_no_warning_for_met_or_cancelled_clocks() -> None:
    met = run([opened(t(0), "high"), message(t(29))], [BUSINESS], now=t(24 * 60))
    cancelled = run([opened(t(0), "high"), status(t(29), "closed")], [BUSINESS], now=t(24 * 60))
    assert alerts(met) == []
    assert alerts(cancelled) == []


def test_a_pending_ticket_does_not_pause_response_clocks() -> None:
    folded = run([opened(t(0), "high"), status(t(10), "pending_customer")], [BUSINESS], now=t(30) + 1)
    assert summary(alerts(folded)) == [row(30, "warning", "oncall-l2")]


# -- breach and ladder ----------------------------------------------------------------------------------


def test_breach_pages_the_ladder_one_route_per_ack_timeout_and_stops_at_its_end() -> None:
    folded = run([opened(t(0), "critical")], [ENTERPRISE], now=t(24 * 60))
    assert summary(alerts(folded)) == [
        row(7.5, "warning", "oncall-l2"),
        row(11.25, "warning", "oncall-l2"),
        row(13.5, "warning", "oncall-l2"),
        row(15, "trigger", "oncall-l2"),
        row(25, "trigger", "duty-manager"),
        row(35, "trigger", "account-manager"),
    ]
    assert [a.step for a in alerts(folded, "trigger")] == [0, 1, 2]
    assert folded.next_due is None


def test_standard_ladder_has_a_single_route() -> None:
    folded = run([opened("2026-03-10T10:00:00+01:00", "critical")], [plan(PLAN_AT, "standard")])
    triggers = alerts(folded, "trigger")
    assert [(a.route, a.at) for a in triggers] == [("oncall-l2", epoch("2026-03-10T14:00:00+01:00"))]


def test_acknowledgement_stops_the_ladder() -> None:
    folded = run([opened(t(0), "critical"), ack(t(20), "first_response")], [ENTERPRISE], now=t(24 * 60))
    pages = [r for r in summary(alerts(folded)) if r[1] != "warning"]
    assert pages == [row(15, "trigger", "oncall-l2"), row(20, "acknowledge", "oncall-l2")]
    assert clock(folded, "first_response").acknowledged_at == t(20)
    assert folded.rejected == ()


def test_acknowledgement_at_the_instant_of_a_ladder_step_stops_that_step() -> None:
    folded = run([opened(t(0), "critical"), ack(t(25), "first_response")], [ENTERPRISE], now=t(24 * 60))
    assert [a.route for a in alerts(folded, "trigger")] == ["oncall-l2"]


def test_answer_at_the_due_instant_meets_the_clock() -> None:
    folded = run([opened(t(0), "critical"), message(t(15))], [ENTERPRISE], now=t(24 * 60))
    assert clock(folded, "first_response").state == "met"
    assert alerts(folded, "trigger") == []


def test_breached_clock_met_or_cancelled_resolves_every_paged_route() -> None:
    answered = run([opened(t(0), "critical"), message(t(30))], [ENTERPRISE], now=t(24 * 60))
    closed = run([opened(t(0), "critical"), status(t(30), "closed")], [ENTERPRISE], now=t(24 * 60))
    for folded in (answered, closed):
        pages = [r for r in summary(alerts(folded)) if r[1] != "warning"]
        assert pages == [
            row(15, "trigger", "oncall-l2"),
            row(25, "trigger", "duty-manager"),
            row(30, "resolve", "oncall-l2"),
            row(30, "resolve", "duty-manager"),
        ]


def test_acknowledged_breach_is_still_resolved_when_met() -> None:
    events = [opened(t(0), "critical"), ack(t(20), "first_response"), message(t(40))]
    folded = run(events, [ENTERPRISE], now=t(24 * 60))
    assert [(a.kind, a.route) for a in alerts(folded) if a.kind == "resolve"] == [("resolve", "oncall-l2")]


def test_dedup_key_is_stable_per_ticket_metric_and_cycle() -> None:
    """The key names the cycle by the event that started it: the opening, then the customer's message."""
    events = [
        opened(t(0), "critical", event_id="open-1"),
        message(t(40)),
        message(t(50), "customer", event_id="ask-2"),
        message(t(100)),
    ]
    folded = run(events, [BUSINESS], now=t(24 * 60))
    keys: dict[tuple[str, int], set[str]] = {}
    for a in alerts(folded):
        keys.setdefault((a.metric, a.cycle), set()).add(a.dedup_key)
        assert a.clock_key == a.dedup_key
    assert keys == {
        ("first_response", 1): {"T-1/first_response/open-1"},
        ("next_response", 1): {"T-1/next_response/ask-2"},
    }
    assert folded.state is not None
    assert {(c.metric, c.cause) for c in folded.state.clocks} == {
        ("first_response", "open-1"),
        ("next_response", "ask-2"),
    }
    # The same key whatever the moment of the fold: the pager can correlate trigger and resolve.
    earlier = run(events, [BUSINESS], now=t(31))
    assert {a.dedup_key for a in alerts(earlier)} == {"T-1/first_response/open-1"}


def test_hardware_breach_pages_and_apologises() -> None:
    events = [opened(t(0), "low"), message(t(1)), hw_requested(t(0), "disk")]
    folded = run(events, [BUSINESS], now=t(24 * 60))
    assert [(a.kind, a.at) for a in alerts(folded, metric="hardware_replacement") if a.kind == "trigger"] == [
        ("trigger", t(240)),
        ("trigger", t(255)),
    ]
    (apology,) = notifications(folded, "breach_apology")
    assert (apology.at, apology.data["metric"], apology.data["component"]) == (
        t(240) + APOLOGY_GRACE,  # a grace period after the breach at t(240)
        "hardware_replacement",
        "disk",
    )


# -- notifications --------------------------------------------------------------------------------------


def test_acknowledged_notification_carries_the_first_response_due_time() -> None:
    folded = run([opened(t(0), "medium")], [BUSINESS], now=t(0))
    (sent,) = notifications(folded, "acknowledged")
    assert (sent.at, sent.data["due_at"], sent.data["severity"]) == (t(0), t(240), "medium")


def test_hardware_notifications_carry_the_due_time_and_the_part() -> None:
    events = [
        opened(t(0), "high"),
        hw_requested(t(10), "nvme", "srv-7"),
        hw_completed(t(100), "nvme", "srv-7"),
    ]
    folded = run(events, [BUSINESS], now=t(200))
    (scheduled,) = notifications(folded, "hardware_scheduled")
    assert (scheduled.at, scheduled.data["due_at"], scheduled.data["server_id"]) == (t(10), t(250), "srv-7")
    (completed,) = notifications(folded, "hardware_completed")
    assert (completed.at, completed.data["component"]) == (t(100), "nvme")


def test_apology_for_a_first_response_breach_but_not_for_next_response() -> None:
    events = [opened(t(0), "critical"), message(t(40)), message(t(50), "customer")]
    folded = run(events, [BUSINESS], now=t(24 * 60))
    assert clock(folded, "next_response").state == "breached"
    apologies = notifications(folded, "breach_apology")
    assert [(n.at, n.data["metric"]) for n in apologies] == [(t(30) + APOLOGY_GRACE, "first_response")]


def test_survey_is_sent_once_when_resolved() -> None:
    events = [
        opened(t(0), "high"),
        message(t(10)),
        status(t(20), "resolved"),
        status(t(30), "open"),
        status(t(40), "resolved"),
        status(t(50), "closed"),
    ]
    folded = run(events, [BUSINESS], now=t(60))
    assert [n.at for n in notifications(folded, "survey")] == [t(20)]


def test_notifications_follow_the_plan_in_force_when_sent() -> None:
    plans = [
        plan(PLAN_AT, "business", locale="fr", timezone="Europe/Paris", contact_email="ops@client.fr"),
        plan(t(60), "business", locale="ru", timezone="Europe/Moscow"),
        plan(t(90), "business", contact_email="noc@client.ru"),
    ]
    events = [opened(t(0), "high"), message(t(10)), status(t(70), "resolved"), status(t(80), "open")]
    events += [status(t(100), "closed")]
    folded = run([*events, hw_requested(t(75), "fan"), hw_completed(t(95), "fan")], plans, now=t(120))
    sent = [(n.kind, n.locale, n.timezone, n.contact_email) for n in notifications(folded)]
    assert sent == [
        ("acknowledged", "fr", "Europe/Paris", "ops@client.fr"),
        ("survey", "ru", "Europe/Moscow", "ops@client.fr"),
        ("hardware_scheduled", "ru", "Europe/Moscow", "ops@client.fr"),
        ("hardware_completed", "ru", "Europe/Moscow", "noc@client.ru"),
    ]
    assert {n.customer_id for n in notifications(folded)} == {"C-1"}


def test_notification_is_produced_without_a_contact_address() -> None:
    folded = run([opened(t(0), "high")], [BUSINESS], now=t(0))
    (sent,) = notifications(folded)
    assert (sent.kind, sent.contact_email, sent.locale, sent.timezone) == (
        "acknowledged",
        None,
        "en",
        "Europe/Paris",
    )


def test_effects_come_in_time_order_with_unique_ids() -> None:
    events = [
        opened(t(0), "critical"),
        hw_requested(t(1), "cpu"),
        severity(t(2), "high"),
        message(t(70)),
        status(t(80), "resolved"),
    ]
    folded = run(events, [ENTERPRISE], now=t(24 * 60))
    instants = [e.at for e in folded.effects]
    assert instants == sorted(instants)
    ids = [e.effect_id for e in folded.effects]
    assert len(ids) == len(set(ids))


# -- next_due -------------------------------------------------------------------------------------------


def test_next_due_is_the_earliest_pending_timer_after_now() -> None:
    """The first `now` at which a fold fires something: one second after the earliest timer's instant."""
    events = [opened(t(0), "high")]
    expectations = [
        (t(0), t(30) + 1),  # first warning
        (t(30), t(30) + 1),  # at its own instant it has not fired yet
        (t(30) + 1, t(45) + 1),  # second warning
        (t(50), t(60) + 1),  # breach, first page
        (t(60) + 1, t(60) + APOLOGY_GRACE + 1),  # the apology, before the second page at t(75)
        (t(60) + APOLOGY_GRACE + 1, t(75) + 1),  # second page
        (t(75) + 1, None),  # the ladder is over
    ]
    for now, expected in expectations:
        assert run(events, [BUSINESS], now=now).next_due == expected, iso(now)


def test_next_due_ignores_paused_and_stopped_clocks() -> None:
    events = [
        opened(t(0), "high"),
        message(t(5)),
        hw_requested(t(10), "cpu"),
        status(t(20), "pending_customer"),
    ]
    assert run(events, [BUSINESS], now=t(30)).next_due is None
    resumed = run([*events, status(t(40), "open")], [BUSINESS], now=t(40))
    assert resumed.next_due == t(10 + 6 * 60 + 20) + 1  # half of 12 h of running time, after a 20 min pause


def test_next_due_with_several_clocks_is_the_earliest() -> None:
    events = [opened(t(0), "low"), hw_requested(t(0), "disk")]
    folded = run(events, [ENTERPRISE], now=t(0))
    # Disk on enterprise: 2 h, its first warning at 1 h; the low-severity response warns only at 12 h.
    assert folded.next_due == t(60) + 1
    assert clock(folded, "first_response").target_seconds == 24 * HOUR


def test_every_field_of_an_alert_and_a_notification() -> None:
    """Whole effects, field by field: what the pager and the mailer receive, and the outbox's keys."""
    plans = [plan(PLAN_AT, "business", locale="fr", contact_email="ops@client.fr")]
    folded = run([opened(t(0), "critical", event_id="open-1")], plans, now=t(15) + 1)
    assert folded.effects == (
        Notification(
            effect_id="T-1:notify:acknowledged:1",
            at=t(0),
            ticket_id="T-1",
            customer_id="C-1",
            kind="acknowledged",
            locale="fr",
            timezone="Europe/Paris",
            contact_email="ops@client.fr",
            data={"support_level": "business", "due_at": t(30), "severity": "critical"},
            clock_key=None,  # about the ticket, not one of its clocks
        ),
        Alert(
            effect_id="T-1:first_response:open-1:warning:0.5",
            at=t(15),
            ticket_id="T-1",
            metric="first_response",
            cycle=1,
            kind="warning",
            route="oncall-l2",
            dedup_key="T-1/first_response/open-1",
            step=0,
            fraction=0.5,
            due_at=t(30),
            support_level="business",
            clock_key="T-1/first_response/open-1",
            paged_route="oncall-l2",  # 09:15 UTC is 12:15 in Moscow: the second line is on duty
        ),
    )
