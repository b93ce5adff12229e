"""An event stamped after `now` (the control panel's clock ahead of ours) waits for its time, and the
ticket's next due instant says when, so the sweeper comes back for it."""

from __future__ import annotations

from tests.fold_helpers import clock, epoch, message, opened, plan, run


def test_an_event_from_the_future_is_applied_when_its_time_comes() -> None:
    plans = [plan("2026-01-01T00:00:00Z", "business")]
    events = [
        opened("2026-04-06T10:00:00Z", "low"),
        message("2026-04-06T12:00:00Z", author="agent"),
    ]
    before = run(events, plans, now="2026-04-06T11:00:00Z")
    assert clock(before, "first_response").state == "running"
    # The reply at 12:00 is due to be applied before the 24 h target's first warning (22:00).
    assert before.next_due == epoch("2026-04-06T12:00:00Z")

    after = run(events, plans, now="2026-04-06T12:00:00Z")
    assert clock(after, "first_response").state == "met"
    assert after.next_due is None
