"""Ticket events in, in any order (SPEC section 5): every permutation of a six-event ticket ends in one state.

The six events: the customer's plan change, Ticket Opened, an internal note, the agent's public reply, the
customer's follow-up and a severity change, at distinct instants of a Tuesday morning in Paris, all delivered
at NOW, a minute after the last one. Every order must end in the fold of the whole set: the same STATE (view,
owner, effect ids), the same TIMER, each effect written to the outbox once, no rejection left behind.
NOW is before any warning could fire in any partial view of the ticket: once a timer has fired on what the
engine knew, its alert is out and a late event cannot recall it, so "the same alerts in any order" holds for
events that arrive before their consequences fall due. Likewise an effect is the same effect (its id) in
every order, not the same words: an acknowledgement sent before a late plan change arrived keeps the
language and due time the engine knew when it sent it.

Cost, measured on moto 5.2 (CPU time per call on this machine): Query about 8 ms, TransactWriteItems 9 ms,
GetItem 4 ms, so a delivery costs about 20 ms whatever the entry point (the Powertools handler adds about 1
ms, the fold less). 720 independent orders of 6 deliveries cost about 100 s, and fresh tables every 40 (or
every one) orders do not help: the cost is per call, and moto deep-copies the whole table, stream records
included, once per item of every transaction. So all 720 orders run on the cheaper path that still goes
through TicketService + Store on moto, on a table with the template's keys and index, explored as a tree:
the table after a prefix of deliveries is snapshotted and restored for each continuation (a deep copy of
moto's Table, as moto itself rolls a transaction back), so each of the 1,956 prefixes is delivered once
instead of 4,320 deliveries, and every order still ends in its own table state, read back through the API.
The six subtrees (by first event) are separate cases, so `pytest -n 2` spreads them over two cores. A dozen
orders also go end to end through `functions.ingest.handler` on the template's own table.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.local_stack import LocalResources
from infra.store import Store
from infra.ticket_service import TicketService
from infra.views import ticket_view
from sla.events import (
    SupportPlanChanged,
    TicketMessagePosted,
    TicketOpened,
    TicketSeverityChanged,
    parse_detail,
)
from sla.fold import Folded, fold
from tests.conftest import CATALOG, Pipeline, TableSnapshots, epoch, eventbridge, unmarshal

TICKET, CUSTOMER = "T-ORDER", "C-ORDER"
NOW = "2026-04-14T09:41:00+02:00"  # a Tuesday: business hours in Paris, no holiday


def _at(clock: str) -> str:
    return f"2026-04-14T{clock}:00+02:00"


PLAN_CHANGE = {"support_level": "premium", "timezone": "Europe/Paris", "country": "FR", "locale": "fr",
               "contact_email": "ops@order.example"}  # fmt: skip
SIX: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Support Plan Changed", {"event_id": "order-plan", "occurred_at": _at("09:00"), **PLAN_CHANGE}),
    ("Ticket Opened", {"event_id": "order-opened", "occurred_at": _at("09:05"), "severity": "high",
                       "subject": "API latency", "category": "incident"}),
    ("Ticket Message Posted", {"event_id": "order-internal", "occurred_at": _at("09:10"), "author": "agent",
                               "visibility": "internal", "message_id": "m-1"}),
    ("Ticket Message Posted", {"event_id": "order-reply", "occurred_at": _at("09:20"), "author": "agent",
                               "visibility": "public", "message_id": "m-2"}),
    ("Ticket Message Posted", {"event_id": "order-follow-up", "occurred_at": _at("09:30"), "author": "customer",
                               "visibility": "public", "message_id": "m-3"}),
    ("Ticket Severity Changed", {"event_id": "order-severity", "occurred_at": _at("09:40"), "severity": "critical"}),
)  # fmt: skip


def six_events() -> list[dict[str, Any]]:
    """The six as EventBridge events of ticket T-ORDER of customer C-ORDER."""
    events = []
    for detail_type, detail in SIX:
        ids = {"customer_id": CUSTOMER}
        if detail_type != "Support Plan Changed":
            ids["ticket_id"] = TICKET
        events.append(eventbridge(detail_type, {**detail, **ids}))
    return events


def expected_fold() -> Folded:
    """The ticket folded from the whole set of its events at NOW: what every order must end in."""
    details = [parse_detail(e["detail-type"], e["detail"]) for e in six_events()]
    plans = [d for d in details if isinstance(d, SupportPlanChanged)]
    tickets = [
        d for d in details if isinstance(d, TicketOpened | TicketMessagePosted | TicketSeverityChanged)
    ]
    return fold(TICKET, tickets, plans, CATALOG, epoch(NOW))


def test_the_six_events_make_a_ticket_worth_permuting() -> None:
    folded = expected_fold()
    assert folded.state is not None
    assert (folded.state.support_level, folded.state.severity) == ("premium", "critical")
    clocks = {(c.metric, c.cycle): (c.state, c.target_seconds) for c in folded.state.clocks}
    # First response met by the reply; the follow-up started a next response, re-targeted to critical.
    assert clocks == {("first_response", 1): ("met", 7200), ("next_response", 1): ("running", 3600)}
    assert [e.effect_id for e in folded.effects] == [f"{TICKET}:notify:acknowledged:1"]
    assert folded.next_due is not None and folded.next_due > epoch(NOW)
    assert folded.rejected == ()


# ----- all 720 orders, through TicketService + Store on moto -------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """What one order of deliveries left in the table, and the effects its commits put into the outbox."""

    state: Any
    owner: str | None
    emitted: frozenset[str]
    timer_due: int | None
    outbox: frozenset[str]
    rejected: frozenset[str]
    effects_written: tuple[str, ...]


def without_stream(client: Any, template_table: str, name: str) -> None:
    """A table with the keys and indexes of the template's table but no stream, for the exploration.

    The stream feeds the NotifierFunction, not ingest; moto keeps every stream record in the table and
    deep-copies them with it on each item of each transaction and each snapshot: a third more time.
    """
    described = client.describe_table(TableName=template_table)["Table"]
    client.create_table(
        TableName=name,
        KeySchema=described["KeySchema"],
        AttributeDefinitions=described["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in described["GlobalSecondaryIndexes"]
        ],
    )


def ending(client: Any, table_name: str, effects_written: tuple[str, ...]) -> Ending:
    """The ticket's items, its plan's outbox items and rejections, read back through the DynamoDB API."""
    items = {}
    pages = client.get_paginator("scan").paginate(
        TableName=table_name,
        ConsistentRead=True,
        ProjectionExpression="pk, sk, #state, #owner, emitted, due_at",
        ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
    )
    for page in pages:
        for raw in page["Items"]:
            item = unmarshal(raw)
            items[(item["pk"], item["sk"])] = item
    state = items[(f"TICKET#{TICKET}", "STATE")]
    timer = items.get((f"TICKET#{TICKET}", "TIMER"), {})
    return Ending(
        state=json.loads(state["state"]) if state.get("state") else None,
        owner=state.get("owner"),
        emitted=frozenset(state.get("emitted") or ()),
        timer_due=int(timer["due_at"]) if "due_at" in timer else None,
        outbox=frozenset(pk.removeprefix("EFFECT#") for pk, sk in items if sk == "EFFECT"),
        rejected=frozenset(pk.removeprefix("REJECTED#") for pk, sk in items if sk == "REJECTED"),
        effects_written=tuple(sorted(effects_written)),
    )


def deliver(service: TicketService, event: dict[str, Any]) -> tuple[str, ...]:
    """Accept one event at NOW; the ids of the effects its commit put into the outbox.

    An event that comes before its ticket's Ticket Opened is kept but reported rejected until the ticket
    is opened; no event of the six is ever a duplicate here.
    """
    outcome = service.accept(event, epoch(NOW), fallback_id=f"message-{event['detail']['event_id']}")
    assert outcome.status in ("accepted", "rejected"), outcome
    return tuple(e.effect_id for e in outcome.effects)


def explore(
    service: TicketService,
    snapshots: TableSnapshots,
    events: list[dict[str, Any]],
    remaining: tuple[int, ...],
    delivered: tuple[int, ...],
    written: tuple[str, ...],
) -> Iterator[tuple[tuple[int, ...], Ending]]:
    """Deliver every order of `remaining` after `delivered`, each from the same table state, depth first."""
    if not remaining:
        yield delivered, ending(service.store.client, service.store.table_name, written)
        return
    before = snapshots.take() if len(remaining) > 1 else None
    for position, index in enumerate(remaining):
        if position and before is not None:
            snapshots.restore(before)
        rest = remaining[:position] + remaining[position + 1 :]
        written_now = written + deliver(service, events[index])
        yield from explore(service, snapshots, events, rest, (*delivered, index), written_now)


@pytest.mark.parametrize("first", range(len(SIX)), ids=[e["event_id"] for _, e in SIX])
def test_every_order_of_delivery_ends_in_the_state_of_the_whole_set(
    module_stack: tuple[boto3.Session, LocalResources], first: int
) -> None:
    session, resources = module_stack
    client = session.client("dynamodb")
    table_name = f"orders-from-{SIX[first][1]['event_id']}"
    without_stream(client, resources.table_name, table_name)
    service = TicketService(Store(client, table_name), CATALOG)
    events = six_events()
    folded = expected_fold()
    assert folded.state is not None
    effect_ids = frozenset(e.effect_id for e in folded.effects)
    expected = Ending(
        state=json.loads(json.dumps(ticket_view(folded.state))),
        owner=CUSTOMER,
        emitted=effect_ids,
        timer_due=folded.next_due,
        outbox=effect_ids,
        rejected=frozenset(),
        effects_written=tuple(sorted(effect_ids)),
    )
    others = tuple(i for i in range(len(SIX)) if i != first)
    written = deliver(service, events[first])
    try:
        endings = dict(explore(service, TableSnapshots(table_name), events, others, (first,), written))
    finally:
        client.delete_table(TableName=table_name)

    assert len(endings) == 120
    assert set(endings) == {(first, *rest) for rest in itertools.permutations(others)}
    wrong = {order: ending for order, ending in endings.items() if ending != expected}
    assert not wrong, f"{len(wrong)} of 120 orders differ, e.g. {next(iter(wrong.items()))}"


# ----- a dozen orders end to end through the handler -----------------------------------------------------------

HANDLER_ORDERS = [
    order
    for shift in range(len(SIX))
    for order in (
        tuple((i + shift) % len(SIX) for i in range(len(SIX))),
        tuple((shift - i) % len(SIX) for i in range(len(SIX))),
    )
]


def test_a_dozen_orders_end_to_end_through_the_handler_end_alike(pipeline: Pipeline) -> None:
    """Each order from the same empty table (a table that grows makes every moto transaction slower)."""
    assert len(set(HANDLER_ORDERS)) == 12
    snapshots = TableSnapshots(pipeline.table_name)
    empty = snapshots.take()
    folded = expected_fold()
    assert folded.state is not None
    events = six_events()
    for order in HANDLER_ORDERS:
        snapshots.restore(empty)
        for index in order:
            assert pipeline.deliver(events[index], at=NOW) == {"batchItemFailures": []}
        state = pipeline.state(TICKET)
        timer = pipeline.item(f"TICKET#{TICKET}", "TIMER") or {}
        assert state["state"] == json.loads(json.dumps(ticket_view(folded.state))), order
        assert state["owner"] == CUSTOMER
        assert set(state["emitted"]) == {e.effect_id for e in folded.effects}, order
        assert timer.get("due_at") == folded.next_due, order
        assert set(pipeline.effects(TICKET)) == {e.effect_id for e in folded.effects}, order
        assert not [key for key in pipeline.scan() if key[1] == "REJECTED"], order
