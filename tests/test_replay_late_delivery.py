"""Replay models late delivery (SPEC section 7): each event is processed at the later of its `occurred_at`
and its envelope's `time`, so a file can say "this reply was stamped 07:10 and arrived 07:40".

The story: customer C-9 (business, 24/7) opens T-9 at 06:30Z with high severity, so the first response is
due at 07:30Z. The agent replies at 07:10Z; on time in one file, delivered at 07:40Z in the other.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import pytest

from local.replay import read_deliveries, replay
from sla.events import SOURCE

DAY = "2026-04-06"


def envelope(detail_type: str, detail: dict[str, Any], time: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": f"bus-{detail['event_id']}",
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }
    if time is not None:
        event["time"] = time
    return event


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00Z"


def epoch(instant: str) -> int:
    return int(datetime.fromisoformat(instant).timestamp())


def story(reply_sent_at: str | None) -> list[str]:
    """The file: the reply's envelope `time` is `reply_sent_at` (None: no `time` at all)."""
    plan = {
        "event_id": "late-1",
        "occurred_at": at("00:00"),
        "customer_id": "C-9",
        "support_level": "business",
    }
    opened = {
        "event_id": "late-2",
        "occurred_at": at("06:30"),
        "ticket_id": "T-9",
        "customer_id": "C-9",
        "severity": "high",
        "subject": "Server unreachable",
    }
    reply = {
        "event_id": "late-3",
        "occurred_at": at("07:10"),
        "ticket_id": "T-9",
        "customer_id": "C-9",
        "author": "agent",
        "visibility": "public",
        "message_id": "msg-1",
    }
    return [
        json.dumps(envelope("Support Plan Changed", plan, at("00:00"))),
        json.dumps(envelope("Ticket Opened", opened, at("06:30"))),
        json.dumps(envelope("Ticket Message Posted", reply, reply_sent_at)),
    ]


@pytest.fixture(scope="module")
def late() -> dict[str, Any]:
    return replay(story(at("07:40")))


def first_response(document: dict[str, Any]) -> dict[str, Any]:
    (ticket,) = document["tickets"]
    (clock,) = [c for c in ticket["clocks"] if c["metric"] == "first_response"]
    return dict(clock)


def test_a_reply_stamped_before_its_due_time_but_delivered_after_it_ends_met(late: dict[str, Any]) -> None:
    clock = first_response(late)
    assert (clock["state"], clock["due_at"], clock["stopped_at"]) == ("met", at("07:30"), at("07:10"))
    assert late["rejected"] == []


def test_the_breach_was_paged_when_it_happened_in_the_simulation(late: dict[str, Any]) -> None:
    alerts = [(a["at"], a["metric"], a["kind"], a["route"]) for a in late["alerts"]]
    # Nothing the engine did before the reply arrived could know of it: the warnings and the breach page
    # are those of a ticket left unanswered, each at the sweep that found it due (within the minute).
    before_arrival = [(kind, route) for instant, _, kind, route in alerts if instant < at("07:40")]
    assert before_arrival == [("warning", "oncall-l2"), ("warning", "oncall-l2"), ("trigger", "oncall-l2")]
    (paged_at,) = [
        instant for instant, metric, kind, _ in alerts if kind == "trigger" and metric == "first_response"
    ]
    assert at("07:30") <= paged_at <= at("07:31")


def test_the_same_reply_delivered_on_time_pages_nobody() -> None:
    document = replay(story(None))

    clock = first_response(document)
    assert (clock["state"], clock["stopped_at"]) == ("met", at("07:10"))
    assert [(a["metric"], a["kind"]) for a in document["alerts"]] == [("first_response", "warning")]


@pytest.mark.parametrize(
    "sent",
    [None, at("07:10"), at("07:05"), "not a time", "2026-04-06T07:40:00", 1775459400, "", ["07:40"]],
    ids=["missing", "at occurred_at", "before", "unreadable", "naive", "a number", "empty", "a list"],
)
def test_a_time_missing_unreadable_or_not_after_occurred_at_means_delivered_at_occurred_at(sent: Any) -> None:
    (reply,) = [d for d in read_deliveries(story(sent)) if "late-3" in d.body]
    assert reply.at == epoch(at("07:10"))


def test_a_time_after_occurred_at_is_when_the_event_is_delivered() -> None:
    (reply,) = [d for d in read_deliveries(story(at("07:40"))) if "late-3" in d.body]
    assert reply.at == epoch(at("07:40"))


def test_deliveries_run_in_the_order_of_their_delivery_time_ties_in_the_engines_order() -> None:
    def line(event_id: str, occurred: str, sent: str | None, sequence: int | None = None) -> str:
        detail: dict[str, Any] = {"event_id": event_id, "occurred_at": at(occurred)}
        if sequence is not None:
            detail["sequence"] = sequence
        return json.dumps(envelope("Ticket Status Changed", detail, at(sent) if sent else None))

    lines = [
        line("a", "07:00", "07:45"),  # stamped first, delivered last
        line("b", "07:40", None),
        line("c", "07:10", "07:40"),  # delivered with b, stamped before it
        line("d", "07:40", "07:40", sequence=2),
        line("e", "07:40", "07:40", sequence=1),
        "not json",
    ]
    for seed in range(5):
        shuffled = lines[:]
        random.Random(seed).shuffle(shuffled)

        order = [
            (json.loads(d.body)["detail"]["event_id"] if d.at else d.body, d.at)
            for d in read_deliveries(shuffled)
        ]

        assert [event_id for event_id, _ in order] == ["not json", "c", "b", "e", "d", "a"]
        assert order[0][1] is None  # unreadable: first, to be rejected with its reason


def test_a_delivery_more_than_thirty_days_after_occurred_at_is_rejected_by_the_edge_bounds() -> None:
    document = replay(story("2026-05-07T07:40:00Z"))

    (rejected,) = document["rejected"]
    assert rejected["event_id"] == "late-3"
    assert rejected["reason"].startswith("occurred_at: ")
    assert "31 days" in rejected["reason"]
    assert first_response(document)["state"] == "breached"


def test_the_late_file_shuffled_replays_to_the_same_document(late: dict[str, Any]) -> None:
    lines = story(at("07:40"))
    lines.reverse()
    assert json.dumps(replay(lines), sort_keys=True) == json.dumps(late, sort_keys=True)
