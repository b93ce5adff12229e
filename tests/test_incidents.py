"""Incidents and storm control (SPEC sections 3, 5 and 6; issue 13 item 6).

On the pure path (sla.incidents.fold_ticket), on the memory backend (the 500-ticket storm, many delivery
orders) and on moto (a small storm, a sample of orders): one page per (incident, route), the others recorded
as `grouped`; the shared page closed at the incident's resolution and never by one ticket; `incident_linked`
and `incident_resolved` once per ticket; the same output whatever the order and duplicates of deliveries.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from bench.storm_pages import INCIDENT, OPENED, RESOLVED, pages, storm
from local.engine import Backend, open_engine
from local.replay import document, replay
from sla.effects import Alert, Notification
from sla.events import IncidentDeclared, IncidentResolved, TicketLinkedToIncident
from sla.incidents import IncidentNotice, fold_ticket, notice_for
from tests.fold_helpers import CUSTOMER, TICKET, default_catalog, epoch, message, opened, plan

DAY = 86_400


# -- the pure path -----------------------------------------------------------------------------------------


def _link(at: str, event_id: str = "link-1", incident: str = "INC-1") -> TicketLinkedToIncident:
    return TicketLinkedToIncident(
        event_id=event_id, occurred_at=at, ticket_id=TICKET, customer_id=CUSTOMER, incident_id=incident
    )


def _declared(at: str, event_id: str = "inc-d") -> IncidentNotice:
    return notice_for(
        IncidentDeclared(event_id=event_id, occurred_at=at, incident_id="INC-1", summary="PAR-2 down"), TICKET
    )


def _resolved(at: str, event_id: str = "inc-r") -> IncidentNotice:
    return notice_for(IncidentResolved(event_id=event_id, occurred_at=at, incident_id="INC-1"), TICKET)


def _enterprise() -> Any:
    return plan("2026-04-06T00:00:00Z", level="enterprise")


def _fold(events: list[Any], now: str) -> Any:
    return fold_ticket(TICKET, events, [_enterprise()], default_catalog(), epoch(now))


def _alerts(folded: Any, kind: str | None = None) -> list[Alert]:
    return [e for e in folded.effects if isinstance(e, Alert) and (kind is None or e.kind == kind)]


def _notices(folded: Any) -> list[tuple[str, int]]:
    return [
        (e.kind, e.at)
        for e in folded.effects
        if isinstance(e, Notification) and e.kind.startswith("incident")
    ]


def test_a_breach_while_linked_to_an_open_incident_pages_under_the_incidents_key() -> None:
    events = [
        opened("2026-04-07T08:00:00Z", "critical"),
        _link("2026-04-07T08:01:00Z"),
        _declared("2026-04-07T08:03:00Z"),
    ]
    folded = _fold(events, "2026-04-07T09:00:00Z")
    triggers = _alerts(folded, "trigger")
    assert [(t.route, t.dedup_key) for t in triggers] == [
        ("oncall-l2", "incident/INC-1"),
        ("duty-manager", "incident/INC-1"),
        ("account-manager", "incident/INC-1"),
    ]
    assert {a.dedup_key for a in _alerts(folded, "warning")} == {
        triggers[0].clock_key
    }  # warnings stay the ticket's
    assert [kind for kind, _ in _notices(folded)] == ["incident_linked"]
    assert any(isinstance(e, Notification) and e.kind == "breach_apology" for e in folded.effects)


def test_a_link_waits_for_the_declaration_and_pages_stay_the_tickets_before_it() -> None:
    events = [
        opened("2026-04-07T08:00:00Z", "critical"),
        _link("2026-04-07T08:01:00Z"),
        _declared("2026-04-07T08:20:00Z"),
    ]
    before = _fold(events[:2], "2026-04-07T08:19:00Z")
    assert _notices(before) == []  # no declaration known: nothing to tell the customer yet
    folded = _fold(events, "2026-04-07T09:00:00Z")
    keys = [(t.route, t.dedup_key) for t in _alerts(folded, "trigger")]
    clock = _alerts(folded, "trigger")[0].clock_key
    # The breach at 08:15 came before the declaration (08:20): its first page is the ticket's own; the ladder's
    # later steps (08:25, 08:35) page while the incident is open.
    assert keys == [
        ("oncall-l2", clock),
        ("duty-manager", "incident/INC-1"),
        ("account-manager", "incident/INC-1"),
    ]
    assert _notices(folded) == [("incident_linked", epoch("2026-04-07T08:20:00Z"))]


def test_the_shared_page_is_closed_at_the_resolution_not_when_the_ticket_is_answered() -> None:
    events = [
        opened("2026-04-07T08:00:00Z", "critical"),
        _link("2026-04-07T08:01:00Z"),
        _declared("2026-04-07T08:03:00Z"),
        message("2026-04-07T09:00:00Z", author="agent"),  # answered long before the incident ends
        _resolved("2026-04-07T20:00:00Z"),
    ]
    answered = _fold(events[:4], "2026-04-07T19:00:00Z")
    assert _alerts(answered, "resolve") == []  # the shared page stays open for the other tickets
    folded = _fold(events, "2026-04-07T21:00:00Z")
    resolves = _alerts(folded, "resolve")
    assert [(r.route, r.dedup_key, r.at) for r in resolves] == [
        (route, "incident/INC-1", epoch(RESOLVED))
        for route in ("oncall-l2", "duty-manager", "account-manager")
    ]
    clock = _alerts(folded, "trigger")[0].clock_key
    assert {r.clock_key for r in resolves} == {clock}
    # Met at 09:00, the clock stays unsettled while its page is shared, so the store keeps what it paged.
    assert clock not in answered.settled
    assert clock in folded.settled
    assert _notices(folded) == [
        ("incident_linked", epoch("2026-04-07T08:03:00Z")),
        ("incident_resolved", epoch(RESOLVED)),
    ]


def test_after_the_resolution_pages_are_the_tickets_again_and_a_late_link_hears_only_the_resolution() -> None:
    events = [
        opened("2026-04-07T08:00:00Z", "critical"),
        _declared("2026-04-07T07:00:00Z"),
        _resolved("2026-04-07T08:05:00Z"),
        _link("2026-04-07T08:10:00Z"),
    ]
    folded = _fold(events, "2026-04-07T09:00:00Z")
    assert {t.dedup_key for t in _alerts(folded, "trigger")} == {_alerts(folded, "trigger")[0].clock_key}
    assert _notices(folded) == [("incident_resolved", epoch("2026-04-07T08:10:00Z"))]


def test_a_link_the_fold_refuses_groups_nothing_and_tells_nothing() -> None:
    events = [
        _link("2026-04-07T07:59:00Z"),
        opened("2026-04-07T08:00:00Z", "critical"),
        _declared("2026-04-07T08:03:00Z"),
    ]
    folded = _fold(events, "2026-04-07T09:00:00Z")
    assert [r.event_id for r in folded.rejected] == ["link-1"]  # before the ticket was opened
    assert _notices(folded) == []
    assert all(not t.dedup_key.startswith("incident/") for t in _alerts(folded, "trigger"))


def test_any_order_and_any_duplicates_of_the_events_fold_to_the_same_effects() -> None:
    events: list[Any] = [
        opened("2026-04-07T08:00:00Z", "critical"),
        _link("2026-04-07T08:01:00Z"),
        _declared("2026-04-07T08:03:00Z"),
        _declared("2026-04-07T08:04:00Z", event_id="inc-d-again"),  # a second declaration: the first counts
        message("2026-04-07T09:00:00Z", author="agent"),
        _resolved("2026-04-07T20:00:00Z"),
    ]
    expected = _fold(events, "2026-04-08T00:00:00Z")
    rng = random.Random(13)
    for _ in range(200):
        shuffled = events + rng.sample(events, rng.randint(0, len(events)))
        rng.shuffle(shuffled)
        assert _fold(shuffled, "2026-04-08T00:00:00Z") == expected


# -- the memory backend: the storm ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storm_document() -> dict[str, Any]:
    return replay(storm(500), backend="memory")


def test_a_storm_of_500_linked_tickets_breaching_in_one_minute_pages_once_per_route(
    storm_document: dict[str, Any],
) -> None:
    alerts = storm_document["alerts"]
    assert pages(storm_document) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}
    triggers = [
        a for a in alerts if a["kind"] in ("trigger", "grouped") and a["at"] <= "2026-04-07T09:00:00Z"
    ]
    assert len(triggers) == 500 * 3
    assert {a["dedup_key"] for a in triggers} == {f"incident/{INCIDENT}"}
    breached_at = {a["at"] for a in triggers if a["route"] == "oncall-l2"}
    assert breached_at == {"2026-04-07T08:16:00Z"}  # every first page in the same minute
    assert Counter(a["kind"] for a in triggers) == {"trigger": 3, "grouped": 1497}


def test_the_storms_shared_page_is_closed_at_the_resolution_at_every_route_it_paged(
    storm_document: dict[str, Any],
) -> None:
    resolves = [a for a in storm_document["alerts"] if a["kind"] == "resolve"]
    assert sorted((a["route"], a["dedup_key"], a["at"]) for a in resolves) == sorted(
        (route, f"incident/{INCIDENT}", "2026-04-07T20:00:00Z")
        for route in ("oncall-l2", "duty-manager", "account-manager")
    )
    senders = {a["route"]: a["ticket_id"] for a in storm_document["alerts"] if a["kind"] == "trigger"}
    assert {a["route"]: a["ticket_id"] for a in resolves} == senders  # closed by the ticket that paged


def test_every_storm_customer_hears_of_the_incident_once_and_still_gets_the_apology(
    storm_document: dict[str, Any],
) -> None:
    counts = Counter((n["ticket_id"], n["kind"]) for n in storm_document["notifications"])
    tickets = {ticket for ticket, _ in counts}
    assert len(tickets) == 500
    for kind in ("incident_linked", "incident_resolved", "breach_apology", "acknowledged"):
        assert {ticket: counts[(ticket, kind)] for ticket in tickets} == dict.fromkeys(tickets, 1), kind
    assert {n["locale"] for n in storm_document["notifications"]} == {"en", "fr", "ru"}
    assert storm_document["rejected"] == []


def test_the_same_storm_without_links_pages_every_ticket_at_every_route() -> None:
    assert pages(replay(storm(50, linked=False), backend="memory")) == {
        "oncall-l2": 50,
        "duty-manager": 50,
        "account-manager": 50,
    }


def test_a_link_before_and_after_the_declaration_groups_the_same_pages() -> None:
    before = replay(storm(40, declared_at="2026-04-07T08:03:00Z"), backend="memory")  # links at 08:01
    after = replay(storm(40, declared_at="2026-04-07T08:00:30Z"), backend="memory")
    for found in (before, after):
        assert pages(found) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}
        kinds = Counter(a["kind"] for a in found["alerts"])
        assert (kinds["grouped"], kinds["resolve"]) == (39 * 3, 3)
        assert Counter(n["kind"] for n in found["notifications"])["incident_linked"] == 40


# -- delivery orders, on the engine itself ----------------------------------------------------------------


def _by_type(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The storm's lines split into what comes first (plans, openings), the links and declaration, the
    resolution."""
    first, middle, last = [], [], []
    for line in lines:
        kind = json.loads(line)["detail-type"]
        (
            first
            if kind in ("Support Plan Changed", "Ticket Opened")
            else last
            if kind == "Incident Resolved"
            else middle
        ).append(line)
    return first, middle, last


def _sent_at(line: str, at: str) -> str:
    envelope = json.loads(line)
    envelope["time"] = at
    return json.dumps(envelope)


def _run(backend: Backend, tickets: int, order: list[int], late: bool) -> dict[str, Any]:
    """Plans and openings first; then the links, the declaration and (when `late`, delivered with them after
    the breach) the resolution in `order`, with repeats; the resolution at its time otherwise."""
    first, middle, last = _by_type(storm(tickets))
    incident = middle + (last if late else [])
    start, horizon = epoch("2026-04-06T00:00:00Z"), epoch(OPENED) + DAY
    with open_engine(backend, start=start, keep_sent=False) as engine:
        for line in first:
            at = json.loads(line)["detail"]["occurred_at"]
            engine.advance_to(epoch(at))
            engine.deliver([line])
        engine.advance_to(epoch("2026-04-07T20:05:00Z" if late else "2026-04-07T08:10:00Z"))
        for index in order:
            engine.deliver([incident[index % len(incident)]])
        if not late:
            engine.advance_to(epoch(RESOLVED))
            engine.deliver(last)
        engine.advance_to(horizon)
        return document(engine, horizon)


def _orders(size: int, count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    orders = [list(range(size)), list(reversed(range(size)))]
    while len(orders) < count:
        order = list(range(size)) + rng.sample(range(size), rng.randint(1, size))  # some delivered twice
        rng.shuffle(order)
        orders.append(order)
    return orders


@pytest.mark.parametrize("late", [False, True], ids=["before-the-breach", "after-the-resolution"])
def test_any_delivery_order_of_links_and_incident_events_gives_the_same_output_in_memory(late: bool) -> None:
    tickets = 12
    size = tickets + 1 + (1 if late else 0)
    documents = [_run("memory", tickets, order, late) for order in _orders(size, 12, seed=6)]
    assert all(found == documents[0] for found in documents[1:])
    if not late:
        assert pages(documents[0]) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}


def test_a_sample_of_delivery_orders_gives_the_same_output_on_moto_as_in_memory() -> None:
    tickets = 3
    orders = _orders(tickets + 1, 3, seed=7)
    expected = _run("memory", tickets, orders[0], late=False)
    assert pages(expected) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}
    for order in orders:
        assert _run("moto", tickets, order, late=False) == expected


def test_a_small_storm_replays_to_the_same_document_on_moto() -> None:
    lines = storm(4)
    found = replay(lines, backend="moto")
    assert pages(found) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}
    assert found == replay(lines, backend="memory")


# -- the fan-out's time budget -------------------------------------------------------------------------------


def test_a_fan_out_out_of_time_asks_for_redelivery_and_the_redelivery_tells_every_ticket_once() -> None:
    from infra.errors import TransientStoreError
    from infra.ticket_service import TicketService
    from local.memory.store import MemoryStore

    ticks = iter(range(1_000_000))  # each reading of the clock is a second later: out of time after a page
    service = TicketService(MemoryStore(), default_catalog(), monotonic=lambda: float(next(ticks) * 11))
    now = epoch("2026-04-07T08:05:00Z")
    lines = storm(150, resolved_at=None)  # two pages of links
    for line in lines:
        if json.loads(line)["detail-type"] != "Incident Declared":
            assert service.accept_raw(line, now, "m").status == "accepted"
    declared = next(line for line in lines if json.loads(line)["detail-type"] == "Incident Declared")
    with pytest.raises(TransientStoreError, match="linked tickets still to tell"):
        service.accept_raw(declared, now, "m")
    assert (
        service.accept_raw(declared, now, "m").status == "duplicate"
    )  # SQS redelivers it: the fan-out resumes
    tickets = [f"T-storm-{n:04d}" for n in range(150)]
    notices = [
        [e for e in service.store.load_ticket(t).events if isinstance(e, IncidentNotice)] for t in tickets
    ]
    assert [len(found) for found in notices] == [1] * 150
    linked = [service.view(t, now + 60) for t in tickets]
    assert all(
        [e.kind for e in f.effects if isinstance(e, Notification) and e.kind.startswith("incident")]
        == ["incident_linked"]
        for f in linked
    )


def test_a_link_delivered_before_its_tickets_opening_still_joins_the_incident() -> None:
    """The fold refuses the link until the Ticket Opened arrives, but the link is in the ticket's log: the
    incident partition learns of it at once, and the declaration's notice reaches the ticket."""
    late_openings = [
        _sent_at(line, "2026-04-07T08:06:00Z") if json.loads(line)["detail-type"] == "Ticket Opened" else line
        for line in storm(10)
    ]
    found = replay(late_openings, backend="memory")
    assert pages(found) == {"oncall-l2": 1, "duty-manager": 1, "account-manager": 1}
    assert Counter(a["kind"] for a in found["alerts"])["grouped"] == 9 * 3
    linked = Counter(n["ticket_id"] for n in found["notifications"] if n["kind"] == "incident_linked")
    assert linked == {f"T-storm-{n:04d}": 1 for n in range(10)}
    assert found["rejected"] == []  # the links refused for a while are taken once the tickets are opened


# -- a late event that undoes a breach under a shared page ----------------------------------------------------


def _late_reply(ticket: str, at: str, sent: str) -> str:
    customer = f"C-storm-{int(ticket.rsplit('-', 1)[1]) % 10}"
    detail = {
        "event_id": f"late-reply-{ticket}",
        "occurred_at": at,
        "ticket_id": ticket,
        "customer_id": customer,
        "author": "agent",
        "visibility": "public",
        "message_id": f"m-late-{ticket}",
    }
    return json.dumps(
        {
            "source": "controlpanel.support",
            "detail-type": "Ticket Message Posted",
            "detail": detail,
            "time": sent,
        }
    )


def _undo_the_senders_breach(
    backend: Backend, tickets: int, *, then_all: bool = False
) -> tuple[str, dict[str, Any]]:
    """A storm of `tickets` linked tickets breaching at 08:15; at 08:20, a reply the agent posted at 08:10
    (delivered late) undoes the breach of the ticket whose trigger sent the incident's first page; when
    `then_all`, such replies reach every other ticket at 08:22."""
    first, middle, last = _by_type(storm(tickets))
    start, horizon = epoch("2026-04-06T00:00:00Z"), epoch(OPENED) + DAY
    with open_engine(backend, start=start, keep_sent=False) as engine:
        for line in [*first, *middle]:
            engine.advance_to(epoch(json.loads(line)["detail"]["occurred_at"]))
            engine.deliver([line])
        engine.advance_to(epoch("2026-04-07T08:20:00Z"))
        sent = [a for a in document(engine, engine.now)["alerts"] if a["kind"] == "trigger"]
        assert [a["route"] for a in sent] == ["oncall-l2"]
        sender = sent[0]["ticket_id"]
        engine.deliver([_late_reply(sender, "2026-04-07T08:10:00Z", "2026-04-07T08:20:00Z")])
        if then_all:
            engine.advance_to(epoch("2026-04-07T08:22:00Z"))
            others = [f"T-storm-{n:04d}" for n in range(tickets) if f"T-storm-{n:04d}" != sender]
            engine.deliver([_late_reply(t, "2026-04-07T08:10:00Z", "2026-04-07T08:22:00Z") for t in others])
        engine.advance_to(epoch(RESOLVED))
        engine.deliver(last)
        engine.advance_to(horizon)
        return sender, document(engine, horizon)


def _incident_pages(found: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, route, at) of what reached a channel under the incident's key, in order."""
    return [
        (a["kind"], a["route"], a["at"])
        for a in found["alerts"]
        if a["dedup_key"] == f"incident/{INCIDENT}" and a["kind"] in ("trigger", "resolve")
    ]


@pytest.mark.parametrize("backend", ["memory", "moto"])
def test_a_late_reply_that_undoes_the_only_breach_closes_the_incident_page_under_its_key(
    backend: Backend,
) -> None:
    _, found = _undo_the_senders_breach(backend, 1)
    assert _incident_pages(found) == [
        ("trigger", "oncall-l2", "2026-04-07T08:16:00Z"),
        ("resolve", "oncall-l2", "2026-04-07T08:20:00Z"),
    ]
    # Nothing is resolved under the ticket's own key: its page never went out under it.
    assert [
        a for a in found["alerts"] if a["kind"] == "resolve" and a["dedup_key"] != f"incident/{INCIDENT}"
    ] == []


@pytest.mark.parametrize("backend", ["memory", "moto"])
def test_a_late_reply_that_undoes_the_senders_breach_hands_the_page_to_a_ticket_still_breached(
    backend: Backend,
) -> None:
    sender, found = _undo_the_senders_breach(backend, 3)
    # The page stays open for the two tickets still breached: no resolve before the incident's resolution,
    # each route paged once, and each page closed once, at the resolution, by a ticket whose breach it covered.
    assert _incident_pages(found) == [
        ("trigger", "oncall-l2", "2026-04-07T08:16:00Z"),
        ("trigger", "duty-manager", "2026-04-07T08:26:00Z"),
        ("trigger", "account-manager", "2026-04-07T08:36:00Z"),
        *(("resolve", route, RESOLVED) for route in ("oncall-l2", "duty-manager", "account-manager")),
    ]
    resolves = [a for a in found["alerts"] if a["kind"] == "resolve"]
    assert {a["dedup_key"] for a in resolves} == {f"incident/{INCIDENT}"}
    assert sender not in {a["ticket_id"] for a in resolves}
    assert found["rejected"] == []


def test_a_claim_whose_commit_a_late_reply_overtook_passes_the_unsent_page_to_a_covered_ticket() -> None:
    """The trigger of T-0000 claims the page at 08:16, T-0001's is grouped under it, then a reply posted at
    08:10 reaches T-0000 before its own commit: its retry holds no breach, the page never went out, and the
    still-breached T-0001 is the one that sends it (marked due, folded by the sweep)."""
    from infra.errors import VersionConflict
    from infra.ticket_service import TicketService
    from local.memory.store import MemoryStore

    store = MemoryStore()
    service = TicketService(store, default_catalog(), sleep=lambda _: None)
    for line in storm(2, resolved_at=None):
        at = json.loads(line)["detail"]["occurred_at"]
        assert service.accept_raw(line, epoch(at), "m").status == "accepted"
    now = epoch("2026-04-07T08:16:00Z")
    commit = store.commit
    overtaken: list[str] = []

    def overtaking_commit(record: Any, new_event: Any, folded: Any, at: int, plans: Any = None) -> Any:
        claimed = any(isinstance(e, Alert) and e.kind == "trigger" for e in folded.effects)
        if record.ticket_id == "T-storm-0000" and claimed and not overtaken:
            overtaken.append(record.ticket_id)
            grouped = [a.kind for a in service.refold("T-storm-0001", at) if isinstance(a, Alert)]
            assert grouped[-1:] == ["grouped"] and "trigger" not in grouped
            reply = _late_reply("T-storm-0000", "2026-04-07T08:10:00Z", "2026-04-07T08:16:00Z")
            assert service.accept_raw(reply, at, "m").status == "accepted"
            raise VersionConflict("T-storm-0000: the late reply came first")
        return commit(record, new_event, folded, at, plans)

    store.commit = overtaking_commit  # type: ignore[method-assign]
    sent = service.refold("T-storm-0000", now)
    assert overtaken and [a for a in sent if isinstance(a, Alert) and a.kind != "warning"] == []
    assert store.timers.next_timer() == now  # the new owner is due now
    pages_sent = [a for a in service.refold("T-storm-0001", now) if isinstance(a, Alert)]
    assert [(a.kind, a.route, a.dedup_key) for a in pages_sent] == [
        ("trigger", "oncall-l2", f"incident/{INCIDENT}")
    ]
    assert service.refold("T-storm-0001", now + 60) == ()  # sent once


@pytest.mark.parametrize("backend", ["memory", "moto"])
def test_when_the_new_owners_breach_is_undone_too_the_page_is_resolved_by_it_then(backend: Backend) -> None:
    sender, found = _undo_the_senders_breach(backend, 2, then_all=True)
    assert _incident_pages(found) == [
        ("trigger", "oncall-l2", "2026-04-07T08:16:00Z"),
        ("resolve", "oncall-l2", "2026-04-07T08:22:00Z"),
    ]
    [resolve] = [a for a in found["alerts"] if a["kind"] == "resolve"]
    assert resolve["ticket_id"] != sender  # closed by the owner it was handed to
