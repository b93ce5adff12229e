"""Incidents and storm control (SPEC sections 3 and 6), on the pure side: what a linked ticket's history means.

An incident is its own partition in the store, not a ticket (infra.incident_service). What a ticket needs to
know of it, its declaration and its resolution, is copied into the ticket's own log as an `IncidentNotice`
under an id derived from the incident event and the ticket, so that:
- the ticket's fold stays a function of its own stored events (whatever order the incident events, the link
  and their duplicates came in, the same notices end up in the log, each once);
- the report, the read API and replay fold a linked ticket without reading the incident partition.

`fold_ticket` is the fold the services use: `sla.fold.fold` over the ticket's events (the link is checked
there like any ticket event: opened, owner, not closed), then `_Incidents` rewrites what storm control changes:
- a breach `trigger` at an instant when the ticket is linked to an open incident (declared, not resolved)
  carries the dedup key `incident/<incident_id>`; whether it is the page or one `grouped` under it is a
  decision across tickets, taken by the shell at commit (infra.incident_service), not here;
- the shared page is closed when the incident is resolved, at every route it paged: each linked ticket
  proposes one `resolve` per route its grouped triggers went to, and the shell keeps the one of the ticket
  that owns the page (the others close nothing and are dropped; a page whose owner's breach a late event
  undid passes to another linked ticket, or is resolved then, by the shell). The ticket's own resolves and
  acknowledges of a grouped page are dropped: a ticket answered early must not close a page other tickets
  share;
- the customer hears `incident_linked` once per ticket and incident (when both the link and the declaration
  are known, at the later of the two) and `incident_resolved` at the resolution. A ticket linked after its
  incident was resolved hears only `incident_resolved`, at the link: the cause is already fixed.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from sla.catalog import Catalog

# The fold's own readings of event order and of plans in force, so that a notice reads them as it does.
from sla.clocks import Plan, plans_in_force
from sla.effects import Alert, Effect, Notification
from sla.event_order import in_order
from sla.events import (
    DETAIL_MODELS,
    AnyTicketEvent,
    EventDetail,
    Identifier,
    IncidentDeclared,
    IncidentResolved,
    SupportPlanChanged,
    TicketLinkedToIncident,
)
from sla.fold import fold
from sla.fold_cache import FoldCache
from sla.folded import Folded

INCIDENT_KEY_PREFIX = "incident/"
Phase = Literal["declared", "resolved"]


class IncidentNotice(EventDetail):
    """An incident's declaration or resolution as a linked ticket's log holds it: derived by the engine, never
    sent by the control panel (the edge does not know its type; only the store's codec reads it back)."""

    detail_type: ClassVar[str] = "Incident Notice"
    ticket_id: Identifier
    incident_id: Identifier
    phase: Phase
    source_event_id: Identifier  # the Incident Declared or Incident Resolved it copies
    summary: Annotated[str, Field(max_length=1000)] | None = None

    @property
    def customer_id(self) -> None:
        """A notice names no customer: the ticket's owner check lets it through, like an acknowledgement."""
        return None


STORED_MODELS: dict[str, type[EventDetail]] = {**DETAIL_MODELS, IncidentNotice.detail_type: IncidentNotice}
"""What a ticket's log may hold: the contract's events and the engine's own notices (infra.store.codec)."""


def incident_key(incident_id: str) -> str:
    """The dedup key of an incident's shared page: one PagerDuty incident per (incident, route)."""
    return f"{INCIDENT_KEY_PREFIX}{incident_id}"


def incident_of_key(dedup_key: str) -> str | None:
    return dedup_key.removeprefix(INCIDENT_KEY_PREFIX) if dedup_key.startswith(INCIDENT_KEY_PREFIX) else None


def notice_for(event: IncidentDeclared | IncidentResolved, ticket_id: str) -> IncidentNotice:
    """The notice of `event` in `ticket_id`'s log, under an id that is a function of both: a second fan-out,
    or the link and the declaration each copying it, append the same event, which the store takes once."""
    digest = hashlib.sha256(f"{event.event_id}\0{ticket_id}".encode()).hexdigest()[:32]
    declared = isinstance(event, IncidentDeclared)
    return IncidentNotice(
        event_id=f"incident-notice:{digest}",
        occurred_at=event.occurred_at,
        sequence=event.sequence,
        ticket_id=ticket_id,
        incident_id=event.incident_id,
        phase="declared" if declared else "resolved",
        source_event_id=event.event_id,
        summary=event.summary if isinstance(event, IncidentDeclared) else None,
    )


@dataclass
class _Incident:
    declared_at: int | None = None
    summary: str | None = None
    resolved_at: int | None = None

    def open_at(self, instant: int) -> bool:
        return (
            self.declared_at is not None
            and self.declared_at <= instant
            and (self.resolved_at is None or instant < self.resolved_at)
        )


def fold_ticket(
    ticket_id: str,
    events: Iterable[AnyTicketEvent | IncidentNotice],
    plan_changes: Iterable[SupportPlanChanged],
    catalog: Catalog,
    now: int,
    delivered: Mapping[str, Sequence[str]] | None = None,
    withdrawn: Mapping[str, int] | None = None,
    cache: FoldCache | None = None,
) -> Folded:
    """`sla.fold.fold`, with the ticket's incident notices applied to its effects (module docstring); through
    `cache` (sla.fold_cache), the same fold resumed from the ticket's previous one where it can be."""
    ticket_events: list[AnyTicketEvent] = []
    notices: list[IncidentNotice] = []
    for event in events:
        if isinstance(event, IncidentNotice):
            notices.append(event)
        else:
            ticket_events.append(event)
    changes = list(plan_changes)
    folder = cache.fold if cache is not None else fold
    folded = folder(ticket_id, ticket_events, changes, catalog, now, delivered, withdrawn)
    links = [e for e in ticket_events if isinstance(e, TicketLinkedToIncident) and e.ticket_id == ticket_id]
    if folded.state is None or not links:
        return folded
    return _Incidents(ticket_id, folded, links, notices, changes, catalog, now).apply()


class _Incidents:
    """One fold's effects rewritten for the incidents its ticket is linked to (module docstring); apart from
    sla.fold so that the clocks' simulation knows nothing of incidents, and the notices stay in one place."""

    def __init__(
        self,
        ticket_id: str,
        folded: Folded,
        links: list[TicketLinkedToIncident],
        notices: list[IncidentNotice],
        plan_changes: list[SupportPlanChanged],
        catalog: Catalog,
        now: int,
    ) -> None:
        assert folded.state is not None
        self.ticket_id = ticket_id
        self.folded = folded
        self.state = folded.state
        self.now = now
        refused = {r.event_id for r in folded.rejected}
        self.links = [(at, link) for at, link in in_order(links) if link.event_id not in refused]
        self.incidents: dict[str, _Incident] = {}
        self.pending: list[int] = []  # instants after `now` at which something here becomes due
        for at, notice in in_order(n for n in notices if n.ticket_id == ticket_id):
            if at > now:
                self.pending.append(at)
                continue
            incident = self.incidents.setdefault(notice.incident_id, _Incident())
            if notice.phase == "declared" and incident.declared_at is None:  # the earliest declaration counts
                incident.declared_at, incident.summary = at, notice.summary
            elif notice.phase == "resolved" and incident.resolved_at is None:
                incident.resolved_at = at
        # The plans as the fold reads them: its owner's changes, of levels the catalog knows.
        owner = self.state.customer_id
        levels = {name for version in catalog.versions for name in version.levels}
        known = [p for p in plan_changes if p.customer_id == owner and p.support_level in levels]
        self.plan_instants, self.plans = plans_in_force(in_order(known))

    def incident_at(self, instant: int) -> str | None:
        """The open incident the ticket is linked to at `instant`: its latest link then, if that incident is open."""
        current = None
        for at, link in self.links:
            if at > instant:
                break
            current = link.incident_id
        incident = self.incidents.get(current) if current is not None else None
        return current if incident is not None and incident.open_at(instant) else None

    def apply(self) -> Folded:
        effects: list[Effect] = []
        grouped: set[tuple[str, str]] = set()  # (clock key, route) of triggers under an incident's key
        pages: dict[tuple[str, str], Alert] = {}  # (incident, route) -> this ticket's first trigger there
        for effect in self.folded.effects:
            if isinstance(effect, Alert) and effect.kind == "trigger":
                incident_id = self.incident_at(effect.at)
                if incident_id is not None:
                    page = replace(effect, dedup_key=incident_key(incident_id))
                    grouped.add((page.clock_key, page.route))
                    pages.setdefault((incident_id, page.route), page)
                    effects.append(page)
                    continue
            elif (
                isinstance(effect, Alert)
                and effect.kind in ("resolve", "acknowledge")
                and (effect.clock_key, effect.route) in grouped
            ):
                continue  # the shared page is closed at the incident's resolution, not by one ticket
            effects.append(effect)
        effects.extend(self.resolves(pages))
        effects.extend(self.notices())
        effects.sort(key=lambda e: e.at)
        due = [t + 1 for t in self.pending]
        if self.folded.next_due is not None:
            due.append(self.folded.next_due)
        # A clock whose page is shared stays unsettled until the incident is resolved: the store forgets a
        # settled clock's effects, and the resolve of its page is still to come.
        waiting = {
            page.clock_key
            for (incident_id, _), page in pages.items()
            if self.incidents[incident_id].resolved_at is None
        }
        return replace(
            self.folded,
            effects=tuple(effects),
            next_due=min(due, default=None),
            settled=self.folded.settled - waiting,
        )

    def resolves(self, pages: dict[tuple[str, str], Alert]) -> list[Alert]:
        """One resolve per (incident, route) this ticket's triggers went to, at the incident's resolution.

        Tied to the clock of the first trigger there, which stays unsettled until then (`apply`), so that the
        store keeps its pages and decides the resolve once; once settled, the proposal is no longer fresh."""
        found = []
        for (incident_id, route), trigger in pages.items():
            resolved_at = self.incidents[incident_id].resolved_at
            if resolved_at is None:
                continue
            found.append(
                replace(
                    trigger,
                    effect_id=f"{self.ticket_id}:incident:{incident_id}:resolve:{route}",
                    at=resolved_at,
                    kind="resolve",
                    step=0,
                )
            )
        return found

    def notices(self) -> list[Notification]:
        """`incident_linked` and `incident_resolved`, each once per ticket and incident (module docstring)."""
        found: list[Notification] = []
        first_link: dict[str, int] = {}
        for at, link in self.links:
            first_link.setdefault(link.incident_id, at)
        for incident_id, linked_at in first_link.items():
            incident = self.incidents.get(incident_id)
            if incident is None or incident.declared_at is None:
                continue  # the link waits for the declaration
            known_at = max(linked_at, incident.declared_at)
            resolved_at = incident.resolved_at
            if resolved_at is None or known_at < resolved_at:
                found.append(self.notification("incident_linked", known_at, incident_id, incident))
                if resolved_at is not None:
                    found.append(self.notification("incident_resolved", resolved_at, incident_id, incident))
            else:
                found.append(self.notification("incident_resolved", known_at, incident_id, incident))
        kept = [n for n in found if n.at <= self.now]
        self.pending.extend(n.at for n in found if n.at > self.now)
        return kept

    def notification(
        self,
        kind: Literal["incident_linked", "incident_resolved"],
        at: int,
        incident_id: str,
        incident: _Incident,
    ) -> Notification:
        plan = self.plan_at(at)
        return Notification(
            f"{self.ticket_id}:notify:{kind}:{incident_id}",
            at,
            self.ticket_id,
            self.state.customer_id,
            kind,
            plan.locale,
            plan.timezone,
            plan.contact_email,
            {"incident_id": incident_id, "summary": incident.summary, "support_level": plan.support_level},
            None,
        )

    def plan_at(self, instant: int) -> Plan:
        index = bisect_right(
            self.plan_instants, instant
        )  # as sla.fold reads it: a change at `instant` applies
        return self.plans[index - 1] if index else Plan()
