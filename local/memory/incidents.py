"""The incident partition in memory: the contract of infra.store.incidents.IncidentStore, for the local harness.

The same decisions as the DynamoDB adapter's conditional writes (the first incident event of a phase in SPEC
order is kept, the first trigger claims a route's page, a page changes owner or closes only as it was read),
on dicts; the events are kept as their stored text and read back through the codec, as the table's are, and
the pages as the table's items (infra.store.incidents.page_from_item). An incident event's id is claimed in
the memory store's own table-wide claims (`event_ids`, shared with local.memory.store.MemoryStore).
"""

from __future__ import annotations

from bisect import bisect_right, insort
from typing import Any

from infra.store.codec import decode_event, encode_event
from infra.store.incidents import (
    LINKS_PAGE,
    IncidentEvent,
    Page,
    PageTrigger,
    incident_pk,
    order_text,
    owner_attributes,
    page_from_item,
    phase_sk,
)
from sla.events import IncidentDeclared, IncidentResolved


class MemoryIncidents:
    def __init__(self, event_ids: dict[str, tuple[str, str | None]] | None = None) -> None:
        self._event_ids = {} if event_ids is None else event_ids  # event id -> (holder, digest): EVENTID#
        self._phases: dict[
            tuple[str, str], tuple[str, str, str]
        ] = {}  # (incident, phase) -> order, type, text
        self._links: dict[str, list[str]] = {}  # incident -> linked tickets, sorted
        self._pages: dict[tuple[str, str], dict[str, Any]] = {}  # (incident, route) -> the PAGE# item
        self._covers: dict[tuple[str, str], list[str]] = {}  # (incident, route) -> covered tickets, sorted
        self._progress: dict[str, tuple[bool, str | None]] = {}  # incident event id -> (done, last told)

    def record_phase(self, event: IncidentEvent, now: int) -> tuple[IncidentEvent, bool]:
        key = (event.incident_id, phase_sk(event))
        order = order_text(event)
        held = self._phases.get(key)
        if held is None or held[0] > order:  # the table's condition: none held, or a later one
            self._phases[key] = (order, event.detail_type, encode_event(event))
            return event, True
        return _decoded(held[1], held[2]), False

    def phases(self, incident_id: str) -> list[IncidentEvent]:
        return [
            _decoded(held[1], held[2])
            for sort in ("DECLARED", "RESOLVED")
            if (held := self._phases.get((incident_id, sort))) is not None
        ]

    def progress(self, event: IncidentEvent) -> tuple[bool, str | None]:
        return self._progress.get(event.event_id, (False, None))

    def save_progress(self, event: IncidentEvent, cursor: str | None) -> None:
        held = self._phases.get((event.incident_id, phase_sk(event)))
        if held is not None and held[0] == order_text(event):  # the table's condition: still the held event
            self._progress[event.event_id] = (cursor is None, cursor)

    def link(self, incident_id: str, ticket_id: str, now: int) -> None:
        tickets = self._links.setdefault(incident_id, [])
        index = bisect_right(tickets, ticket_id)
        if not (index and tickets[index - 1] == ticket_id):
            insort(tickets, ticket_id)

    def linked(self, incident_id: str, start_after: str | None) -> tuple[list[str], str | None]:
        tickets = self._links.get(incident_id, [])
        start = bisect_right(tickets, start_after) if start_after is not None else 0
        page = tickets[start : start + LINKS_PAGE]
        return page, (page[-1] if start + LINKS_PAGE < len(tickets) else None)

    def claim_event(self, event: IncidentEvent, digest: str, now: int) -> tuple[str, str | None] | None:
        held = self._event_ids.get(event.event_id)
        if held is None:  # the table's condition: no claim of the id, whatever ticket or incident
            self._event_ids[event.event_id] = (incident_pk(event.incident_id), digest)
        return held

    def claim_page(self, incident_id: str, trigger: PageTrigger, now: int) -> Page:
        key = (incident_id, trigger.route)
        held = self._pages.get(key)
        # The table's condition: none, a closed page, or this same trigger's claim.
        if held is None or not held["open"] or held["sent_effect"] == trigger.effect_id:
            held = self._pages[key] = {
                "sk": f"PAGE#{trigger.route}",
                "open": True,
                "generation": held["generation"] if held is not None else 0,
                "handovers": 0,
                "sent_by": trigger.ticket_id,
                "sent_effect": trigger.effect_id,
                "sent_clock": trigger.clock_key,
                "sent_route": trigger.paged_route,
                **owner_attributes(trigger),
            }
        return page_from_item(held)

    def pages(self, incident_id: str) -> list[Page]:
        return [
            page_from_item(item)
            for (incident, _), item in sorted(self._pages.items())
            if incident == incident_id
        ]

    def hand_over(self, incident_id: str, page: Page, to: PageTrigger, send: str | None) -> bool:
        held = self._as_read(incident_id, page)
        if held is None:
            return False
        held.update(owner_attributes(to), handovers=page.handovers + 1)
        if send is not None:
            held.update(
                sent_by=to.ticket_id, sent_effect=send, sent_clock=to.clock_key, sent_route=to.paged_route
            )
        return True

    def close_page(self, incident_id: str, page: Page, closed_by: str) -> bool:
        held = self._as_read(incident_id, page)
        if held is None:
            found = self._pages.get((incident_id, page.route))
            return found is not None and not found["open"] and found.get("closed_by") == closed_by
        held.update(open=False, closed_by=closed_by, generation=held["generation"] + 1)
        return True

    def cover(self, incident_id: str, trigger: PageTrigger, now: int) -> None:
        tickets = self._covers.setdefault((incident_id, trigger.route), [])
        index = bisect_right(tickets, trigger.ticket_id)
        if not (index and tickets[index - 1] == trigger.ticket_id):
            insort(tickets, trigger.ticket_id)

    def covered(self, incident_id: str, route: str, start_after: str | None) -> tuple[list[str], str | None]:
        tickets = self._covers.get((incident_id, route), [])
        start = bisect_right(tickets, start_after) if start_after is not None else 0
        page = tickets[start : start + LINKS_PAGE]
        return page, (page[-1] if start + LINKS_PAGE < len(tickets) else None)

    def _as_read(self, incident_id: str, page: Page) -> dict[str, Any] | None:
        """The page item if it is still open as read (the table's condition of a handover or a close)."""
        held = self._pages.get((incident_id, page.route))
        if (
            held is None
            or not held["open"]
            or held["owner_effect_id"] != page.owner.effect_id
            or held["handovers"] != page.handovers
        ):
            return None
        return held


def _decoded(detail_type: str, text: str) -> IncidentEvent:
    event = decode_event(detail_type, text)
    assert isinstance(event, IncidentDeclared | IncidentResolved)
    return event
