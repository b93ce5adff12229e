"""Ticket events in, in any order, through the deployed handlers on moto (SPEC section 5): a sample of orders.

All 720 orders of the six-event ticket of `tests/order_ticket.py` are folded on the pure fold, at instants
before and after its timers fire, in `tests/test_fold_orders.py`; that is where "any order gives one
result" is proved. Here a deterministic sample of those orders goes through the deployed path, to show the
store, the ingest handler and the sweeper keep that promise: 12 orders drawn with a fixed seed plus the
reverse of the order the events happened in, each with one event delivered a second time at a drawn
moment after its first delivery. Each goes through `functions.ingest.handler` on the template's table in
moto, one SQS batch per delivery, at NOW; then `functions.sweeper.handler` runs at NOW (a plan change that
came after the ticket marks it due, and the sweeper re-folds it) and at LATE, after the warning, the
breach and the ladder step.

Each order must end, at NOW and at LATE, as the in-order run does: the same STATE item (but for its
version and the instant of its last write, which count commits, not events), the same TIMER, the same
effects in the outbox (ids, kinds and instants), each once, no rejection left behind; and the in-order run
ends in the fold of the whole set. An effect is the same effect (its id) in every order, not the same
words: an acknowledgement sent before a late plan change arrived keeps the language the engine knew then.

A delivery or a sweep costs a few tens of milliseconds of moto's time (Queries, a transaction), so the
sample costs seconds where delivering all 720 orders on moto cost about a minute. Each order starts from
the empty table (a snapshot restored, as moto itself rolls a transaction back). The notifier is left out:
what the engine decided to send is the outbox.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from infra.settings import SweeperSettings
from infra.store.outbox import OUTBOX_KIND, item_effects
from local.engine import FakeLambdaContext
from sla.effects import Alert
from sla.events import SupportPlanChanged
from sla.fold import fold
from sla.folded import Folded
from tests.conftest import CATALOG, Pipeline, TableSnapshots, epoch
from tests.order_ticket import CUSTOMER, EVENT_IDS, LATE, NOW, TICKET, six_details, six_events

SEED = 20260414
SIZE = len(EVENT_IDS)
IN_ORDER = tuple(range(SIZE))
REVERSED = tuple(reversed(IN_ORDER))


def sample_deliveries() -> list[tuple[int, ...]]:
    """Twelve orders drawn with SEED, then the reversed order; each with one event delivered twice."""
    rng = random.Random(SEED)
    others = [o for o in itertools.permutations(IN_ORDER) if o not in (IN_ORDER, REVERSED)]
    deliveries = []
    for order in [*rng.sample(others, 12), REVERSED]:
        first = rng.randrange(SIZE)  # the delivery that is repeated...
        again = rng.randrange(first + 1, SIZE + 1)  # ...after this many deliveries
        deliveries.append((*order[:again], order[first], *order[again:]))
    return deliveries


SAMPLE = sample_deliveries()


def _label(deliveries: tuple[int, ...]) -> str:
    return "-".join(str(i) for i in deliveries)


@dataclass(frozen=True)
class Ending:
    """What a run left: the ticket's STATE and TIMER items, its outbox, the rejections on record."""

    state: dict[str, Any]
    timer_due: int | None
    outbox: tuple[tuple[str, str, str], ...]  # (effect id, kind, instant), in the order they were written
    rejected: tuple[str, ...]

    @property
    def effect_ids(self) -> list[str]:
        return [effect_id for effect_id, _, _ in self.outbox]


VOLATILE = frozenset({"version", "folded_at"})
"""STATE attributes that count commits or say when the last one was: they differ with the order of delivery
(an event before its Ticket Opened, a plan change after the ticket, each make a commit of their own)."""


def outbox(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ticket's effects as the outbox holds them, commit after commit, each in decided order."""
    carriers = [i for i in items if i.get("kind") == OUTBOX_KIND and i.get("ticket_id") == TICKET]
    carriers.sort(key=lambda i: (int(i["emitted_at"]), i["pk"], i["sk"]))
    return [view for item in carriers for view in item_effects(item)]


def ending(pipeline: Pipeline) -> Ending:
    items = list(pipeline.scan().values())
    mine = [i for i in items if str(i["pk"]).endswith(f"#{TICKET}")]
    states = [i for i in mine if i.get("kind") == "state"]
    assert len(states) == 1, states
    state = {k: v for k, v in states[0].items() if k not in VOLATILE}
    if state.get("state"):
        state["state"] = json.loads(state["state"])
    timers = [i for i in mine if i.get("kind") == "timer"]
    assert len(timers) <= 1, timers
    due = timers[0].get("due_at") if timers else None
    written = tuple((e["effect_id"], e["kind"], e["at"]) for e in outbox(items))
    rejected = tuple(sorted(str(i["event_id"]) for i in items if i.get("kind") == "rejected"))
    return Ending(state, int(due) if due is not None else None, written, rejected)


@pytest.fixture
def engine(pipeline: Pipeline) -> Iterator[Pipeline]:
    """The ingest handler of `pipeline`, with the sweeper handler wired to the same service and clock."""
    from functions import sweeper

    settings = SweeperSettings(table_name=pipeline.table_name)
    sweeper.configure(sweeper.Dependencies(pipeline.service, pipeline.clock, settings))
    yield pipeline
    sweeper.configure(None)
    sweeper.metrics.clear_metrics()


def sweep(pipeline: Pipeline) -> None:
    """Run the SweeperFunction handler once at the pipeline's now, as its schedule would."""
    from functions import sweeper

    report = sweeper.handler({"id": f"sweep-{pipeline.now}"}, FakeLambdaContext("SweeperFunction"))
    assert not report["failed"], report


def run(pipeline: Pipeline, empty: Any, deliveries: tuple[int, ...], at_instant: str = NOW) -> Ending:
    """Deliver the events in this order at `at_instant`, one batch each, from the empty table, then sweep."""
    TableSnapshots(pipeline.table_name).restore(empty)
    events = six_events()
    for index in deliveries:
        response = pipeline.deliver(events[index], at=at_instant)
        assert response == {"batchItemFailures": []}, (deliveries, index)
    sweep(pipeline)
    return ending(pipeline)


def run_to_late(pipeline: Pipeline) -> Ending:
    """Sweep at LATE: the sweeper's first run since NOW fires the warning, the breach and the ladder step at
    once, each effect at its own instant, as after a sweeper outage (`tests/test_sweeper.py` checks that
    they go out on time when it runs every minute)."""
    pipeline.now = epoch(LATE)
    sweep(pipeline)
    return ending(pipeline)


_REFERENCE: dict[str, tuple[Ending, Ending]] = {}


@pytest.fixture
def empty(engine: Pipeline) -> Any:
    """The empty table each run starts from; the in-order run's endings are computed on first use."""
    snapshot = TableSnapshots(engine.table_name).take()
    if "in-order" not in _REFERENCE:
        at_now = run(engine, snapshot, IN_ORDER)
        _REFERENCE["in-order"] = (at_now, run_to_late(engine))
    return snapshot


@cache
def whole_set(now: str) -> Folded:
    details = six_details()
    plans = [d for d in details if isinstance(d, SupportPlanChanged)]
    events = [d for d in details if not isinstance(d, SupportPlanChanged)]
    return fold(TICKET, events, plans, CATALOG, epoch(now))


def test_the_sample_is_a_dozen_distinct_orders_and_the_reversed_one_each_with_a_redelivery() -> None:
    orders = [tuple(dict.fromkeys(d)) for d in SAMPLE]
    assert len(SAMPLE) == 13 and len(set(orders)) == 13
    assert orders[-1] == REVERSED and IN_ORDER not in orders
    for deliveries, order in zip(SAMPLE, orders, strict=True):
        assert sorted(order) == list(IN_ORDER) and len(deliveries) == SIZE + 1
        repeated = next(i for i in order if deliveries.count(i) == 2)
        assert deliveries.index(repeated) < len(deliveries) - 1 - deliveries[::-1].index(repeated)


def test_the_in_order_run_ends_in_the_fold_of_the_whole_set(engine: Pipeline, empty: Any) -> None:
    for instant, end in zip((NOW, LATE), _REFERENCE["in-order"], strict=True):
        folded = whole_set(instant)
        assert folded.state is not None
        assert end.state["owner"] == CUSTOMER
        assert end.state["status"] == folded.state.status == "open"
        assert end.timer_due == folded.next_due, instant
        expected = [(e.effect_id, e.kind, e.at) for e in folded.effects]
        assert sorted((i, k, epoch(a)) for i, k, a in end.outbox) == sorted(expected), instant
        assert len(set(end.effect_ids)) == len(end.effect_ids), "each effect written once"
        assert end.rejected == ()
    # By LATE: the next response's warning, then its breach paged on-call and, 30 min on, the duty manager.
    pages = [(a.kind, a.route) for a in whole_set(LATE).effects if isinstance(a, Alert)]
    assert pages == [("warning", "oncall-l2"), ("trigger", "oncall-l2"), ("trigger", "duty-manager")]


@pytest.mark.parametrize("deliveries", SAMPLE, ids=[_label(d) for d in SAMPLE])
def test_a_sampled_order_with_a_redelivery_ends_as_the_in_order_run(
    engine: Pipeline, empty: Any, deliveries: tuple[int, ...]
) -> None:
    reference_now, reference_late = _REFERENCE["in-order"]
    assert run(engine, empty, deliveries) == reference_now
    assert run_to_late(engine) == reference_late
    assert engine.service.view(TICKET, epoch(LATE)) == whole_set(LATE), "the log holds the six, once each"


# ----- delivered after the timers of partial views fired -------------------------------------------------


def pages_left_open(alerts: Iterable[tuple[str, str, str]]) -> dict[str, set[str]]:
    """Per dedup key, the routes paged (`trigger`) and not resolved since, from (kind, dedup key, route)."""
    open_routes: dict[str, set[str]] = {}
    for kind, dedup_key, route in alerts:
        if kind == "trigger":
            open_routes.setdefault(dedup_key, set()).add(route)
        elif kind == "resolve":
            open_routes.setdefault(dedup_key, set()).discard(route)
    return {key: routes for key, routes in open_routes.items() if routes}


LATE_ORDERS = {"in-order": IN_ORDER, "reversed": REVERSED, "reply-last": (0, 1, 2, 4, 5, 3)}


@pytest.mark.parametrize("order", LATE_ORDERS.values(), ids=LATE_ORDERS.keys())
def test_delivered_after_timers_fired_every_page_sent_is_closed_or_still_owed(
    engine: Pipeline, empty: Any, order: tuple[int, ...]
) -> None:
    """All six arrive at LATE, two hours after the reply was stamped: until the reply is known, the first
    response looks breached and is paged (issue 7: an agent reply whose ingestion lags its due time). The
    page must be resolved once the reply arrives; only the next response's pages, whose breach the whole
    set keeps, stay open."""
    end = run(engine, empty, order, at_instant=LATE)
    folded = whole_set(LATE)
    assert engine.service.view(TICKET, epoch(LATE)) == folded
    assert end.rejected == ()
    still_owed = pages_left_open(
        (a.kind, a.dedup_key, a.route) for a in folded.effects if isinstance(a, Alert)
    )
    assert set(still_owed) == {
        a.dedup_key for a in folded.effects if isinstance(a, Alert) and a.metric == "next_response"
    }
    sent = [
        (e["kind"], e["dedup_key"], e["route"])
        for e in outbox(engine.scan().values())
        if e["type"] == "alert"
    ]
    assert pages_left_open(sent) == still_owed
