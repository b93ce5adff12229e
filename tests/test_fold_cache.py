"""A fold resumed from the ticket's previous one (sla.fold_cache) is the fold from scratch, step by step.

The engine folds a ticket at every delivery and every sweep, with what it was told of pages delivered and
withdrawn so far. Here a random ticket (tests/test_fold_properties.py) is delivered in a random order, with
repeats, at random instants (mostly forward, sometimes back), told random pages taken from what the fold
before it alerted; at each step the cache's answer must equal `sla.fold.fold`'s.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sla.fold_cache
from sla.effects import Alert
from sla.events import AnyTicketEvent
from sla.fold import Simulation, fold
from sla.fold_cache import FoldCache
from sla.folded import Folded
from tests.fold_helpers import HOUR, MINUTE, TICKET, default_catalog, message, opened, plan, status
from tests.test_fold_properties import PROPERTIES, Ticket, tickets


def _pages(data: st.DataObject, folded: Folded) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Pages a store might hold after `folded`: some of its triggers' routes, now and then one it no longer
    makes, and withdrawal counts on some of its clocks."""
    alerts = [e for e in folded.effects if isinstance(e, Alert)]
    delivered: dict[str, list[str]] = {}
    for alert in alerts:
        if alert.kind == "trigger" and data.draw(st.booleans()):
            delivered.setdefault(alert.clock_key, []).append(alert.paged_route)
    keys = sorted({a.clock_key for a in alerts})
    if keys and data.draw(st.integers(0, 4)) == 0:
        delivered.setdefault(data.draw(st.sampled_from(keys)), []).append("oncall-l3")
    withdrawn = {key: data.draw(st.integers(1, 2)) for key in keys if data.draw(st.integers(0, 5)) == 0}
    return delivered, withdrawn


@PROPERTIES
@given(tickets(), st.data())
def test_a_resumed_fold_is_the_fold_from_scratch(ticket: Ticket, data: st.DataObject) -> None:
    again = data.draw(st.lists(st.sampled_from(ticket.events), max_size=3))
    arrivals = data.draw(st.permutations([*ticket.events, *(e.model_copy() for e in again)]))
    cache = FoldCache()
    now = min(e.occurred_at for e in ticket.events).timestamp()
    told: list[AnyTicketEvent] = []
    delivered: dict[str, list[str]] = {}
    withdrawn: dict[str, int] = {}
    for event in arrivals:
        if data.draw(st.booleans()):  # a sweep before this delivery
            now += data.draw(st.integers(-HOUR, 6 * HOUR))
            expected = fold(TICKET, told, ticket.plans, ticket.catalog, int(now), delivered, withdrawn)
            resumed = cache.fold(TICKET, told, ticket.plans, ticket.catalog, int(now), delivered, withdrawn)
            assert resumed == expected
            delivered, withdrawn = _pages(data, expected)
        told.append(event)
        now = max(now, event.occurred_at.timestamp()) + data.draw(st.integers(0, 30)) * MINUTE
        expected = fold(TICKET, told, ticket.plans, ticket.catalog, int(now), delivered, withdrawn)
        assert (
            cache.fold(TICKET, told, ticket.plans, ticket.catalog, int(now), delivered, withdrawn) == expected
        )
        delivered, withdrawn = _pages(data, expected)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tickets whose simulation the cache starts from scratch, in order."""
    started: list[str] = []
    real = sla.fold_cache.simulation

    def counted(ticket_id: str, *args: Any) -> Simulation:
        started.append(ticket_id)
        return real(ticket_id, *args)

    monkeypatch.setattr(sla.fold_cache, "simulation", counted)
    return started


def test_a_conversation_told_in_order_is_simulated_once(built: list[str]) -> None:
    start = 1_773_050_400  # 2026-03-09T10:00:00Z
    plans = [plan(start - HOUR, "premium")]
    story = [opened(start, "high")]
    story += [message(start + n * 10 * MINUTE, "agent" if n % 2 else "customer") for n in range(1, 9)]
    story.append(status(start + 2 * HOUR, "resolved"))
    cache = FoldCache()
    told: list[AnyTicketEvent] = []
    for event in story:
        told.append(event)
        now = int(event.occurred_at.timestamp())
        assert cache.fold(TICKET, told, plans, default_catalog(), now) == fold(
            TICKET, told, plans, default_catalog(), now
        )
    assert built == [TICKET]


def test_an_event_inserted_before_the_last_one_applied_folds_from_scratch(built: list[str]) -> None:
    start = 1_773_050_400
    plans = [plan(start - HOUR, "premium")]
    first, late, reply = (
        opened(start, "high"),
        message(start + 5 * MINUTE, "agent"),
        message(start + HOUR, "customer"),
    )
    cache = FoldCache()
    cache.fold(TICKET, [first, reply], plans, default_catalog(), start + HOUR)
    folded = cache.fold(TICKET, [first, reply, late], plans, default_catalog(), start + HOUR)
    assert folded == fold(TICKET, [first, reply, late], plans, default_catalog(), start + HOUR)
    assert built == [TICKET, TICKET]


def test_the_least_recently_folded_ticket_is_dropped_past_the_capacity() -> None:
    cache = FoldCache(capacity=2)
    start = 1_773_050_400
    for number in range(3):
        ticket = f"T-{number}"
        cache.fold(ticket, [opened(start, ticket=ticket)], [], default_catalog(), start)
    assert list(cache._kept) == ["T-1", "T-2"]


def test_a_closed_ticket_with_nothing_left_to_fire_is_not_kept() -> None:
    start = 1_773_050_400
    plans = [plan(start - HOUR, "premium")]
    story = [opened(start, "high"), message(start + MINUTE, "agent"), status(start + 2 * MINUTE, "closed")]
    cache = FoldCache()
    folded = cache.fold(TICKET, story[:2], plans, default_catalog(), start + MINUTE)
    assert list(cache._kept) == [TICKET]
    folded = cache.fold(TICKET, story, plans, default_catalog(), start + 2 * MINUTE)
    assert folded.state is not None and folded.state.status == "closed" and folded.next_due is None
    assert list(cache._kept) == []
