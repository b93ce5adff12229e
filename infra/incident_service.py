"""The application service of incidents (SPEC sections 3, 5 and 6): the incident partition, its fan-out to the
linked tickets' logs, and storm control's decision across tickets.

Order independence. The link and the declaration may arrive in either order, each any number of times:
- an incident event is kept in the incident partition (the first of its phase in SPEC order), then every
  linked ticket gets its notice (sla.incidents.IncidentNotice) through the ticket service, a page of links
  at a time;
- a link is appended to its ticket, put in the incident partition as `LINK#<ticket>`, then the incident's
  known phases are read back and copied into the ticket as notices.
Each side writes its own item, then reads the other side's with a consistent read: whichever of the two
writes comes second, the read after it sees the first, so a link is never missed by both. A notice is
appended under an id derived from the incident event and the ticket, so whichever side appends it, and
however often, the ticket's log holds it once. The fan-out uses no queue of its own: it runs inside the
incident event's delivery, under a time budget; out of time, it raises a transient error and SQS
redelivers the event, whose fan-out resumes after the last page it finished (kept on the incident's phase
item; a ticket told twice answers `duplicate`).

An incident event claims its id table-wide first (`EVENTID#<id>`, as a ticket event's commit does): a
repeat goes on (its first delivery may have stopped short), another event under the id is refused with the
ticket events' reasons (infra.store.commit.collision).

Storm control. The fold marks a linked ticket's breach triggers with the dedup key `incident/<id>`; which of
them is the page, per (incident, route), is decided here at commit, by conditional writes of
`INCIDENT#<id>/PAGE#<route>` (infra.store.incidents): the first trigger to claim a route is delivered and
the others are recorded as `grouped` and remembered as covered by it (`COVER#<route>#<ticket>`, an item
each). The claim is made before the ticket's commit and stays its trigger's on a retry.

The page belongs to the incident, not to the ticket that happened to send it: its `owner` is a linked
ticket whose breach it covers, and only the owner closes it. Every commit of a linked ticket checks the
pages it owns against its fold (one Query per incident it is linked to):
- at the incident's resolution the owner's proposed resolve is kept (once per route), the others dropped;
- when the owner's breach is undone (a late reply), the page passes to another covered ticket still breached
  (its fold read, in ticket order) and stays open; without one, or once the incident is resolved, it is
  resolved under the incident's key, and the next trigger at that route pages again. The owner's own
  resolve of it (under its clock's key, which never paged) is dropped;
- a page claimed by a trigger whose commit never landed (the late event came in between) was never sent:
  the new owner's ticket sends it, marked due so that the sweep folds it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from infra.errors import ConflictingEvent, TransientStoreError
from infra.store.commit import collision, event_digest, fresh_effects
from infra.store.incidents import IncidentEvent, IncidentStore, Page, PageTrigger, incident_pk, phase_sk
from infra.store.records import TicketRecord
from sla.effects import Alert, Effect
from sla.events import TicketLinkedToIncident
from sla.folded import Folded
from sla.incidents import IncidentNotice, incident_key, incident_of_key, notice_for

Append = Callable[[IncidentNotice, int], object]
"""The ticket service's append of a notice to its ticket (retried and committed like any ticket event)."""
View = Callable[[str, int], Folded]
"""The ticket service's fold of a ticket at an instant, without writing: is a covered ticket still breached."""
MarkDue = Callable[[list[str], int], None]
"""The store's marking of tickets due now: the sweep folds a new owner that has a page to send."""

FAN_OUT_BUDGET_SECONDS = 10.0
"""Time an incident event's delivery spends telling linked tickets (a page of 100 at a time) before it asks
SQS to redeliver it: a third of the ingest function's 30 s, so a batch holding an incident event or two still
ends in time; a timed-out batch would be redelivered whole, which the idempotent appends also survive."""


class IncidentService:
    def __init__(
        self,
        store: IncidentStore,
        append: Append,
        view: View,
        mark_due: MarkDue,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        budget_seconds: float = FAN_OUT_BUDGET_SECONDS,
    ) -> None:
        self.store = store
        self.append = append
        self.view = view
        self.mark_due = mark_due
        self.monotonic = monotonic
        self.budget_seconds = budget_seconds

    def accept(self, event: IncidentEvent, now: int) -> bool:
        """Record an Incident Declared or Resolved and tell its linked tickets; False for a repeat of the
        event already held (still fanned out: its first delivery may have run out of time). Raises
        ConflictingEvent when its id names another event, of a ticket or of an incident."""
        digest = event_digest(event)
        claimed = self.store.claim_event(event, digest, now)
        if claimed is not None:
            taken = collision(incident_pk(event.incident_id), event.event_id, digest, claimed)
            if isinstance(taken, ConflictingEvent):
                raise taken
        held, written = self.store.record_phase(event, now)
        self._fan_out(held, now)
        return written or (claimed is None and held.event_id != event.event_id)

    def linked(self, link: TicketLinkedToIncident, now: int) -> None:
        """After a link is in its ticket's log: put it in the incident partition, then copy what the incident
        already knows into the ticket (nothing yet: the declaration's fan-out will)."""
        self.store.link(link.incident_id, link.ticket_id, now)
        for event in self.store.phases(link.incident_id):
            self.append(notice_for(event, link.ticket_id), now)

    def _fan_out(self, event: IncidentEvent, now: int) -> None:
        """Tell the linked tickets a page at a time, from where an earlier delivery stopped. A link written
        after the fan-out passed its ticket (or after it ended) is told by the link itself (`linked`)."""
        started = self.monotonic()
        done, cursor = self.store.progress(event)
        while not done:
            tickets, cursor = self.store.linked(event.incident_id, cursor)
            for ticket_id in tickets:
                self.append(notice_for(event, ticket_id), now)
            self.store.save_progress(event, cursor)
            if cursor is None:
                return
            if self.monotonic() - started > self.budget_seconds:
                raise TransientStoreError(f"incident {event.incident_id}: linked tickets still to tell")

    def decide(self, record: TicketRecord, folded: Folded, now: int) -> Folded:
        """The fold with its incident alerts decided (module docstring): new triggers claim their page or are
        `grouped`; resolves at the incident's resolution are kept by the page's owner only; the pages this
        ticket owns and no longer needs are handed over or resolved, and one it owns unsent is sent."""
        incidents = sorted(
            {e.incident_id for e in record.events if isinstance(e, TicketLinkedToIncident)}
            | {i for e in folded.effects if isinstance(e, Alert) and (i := incident_of_key(e.dedup_key))}
        )
        if not incidents:
            return folded  # never linked: nothing of storm control to decide, nothing read
        decided: dict[str, Effect | None] = {}  # effect id -> what goes out instead (None: nothing)
        fresh = fresh_effects(record, folded)
        for effect in fresh:
            incident_id = incident_of_key(effect.dedup_key) if isinstance(effect, Alert) else None
            if incident_id is not None and isinstance(effect, Alert) and effect.kind == "trigger":
                trigger = _page_trigger(effect)
                if self.store.claim_page(incident_id, trigger, now).sent_effect != effect.effect_id:
                    decided[effect.effect_id] = replace(effect, kind="grouped")
                    self.store.cover(incident_id, trigger, now)
        added: list[Alert] = []
        for incident_id in incidents:
            pages = {page.route: page for page in self.store.pages(incident_id)}
            for effect in fresh:
                if not isinstance(effect, Alert) or effect.kind != "resolve":
                    continue
                if incident_of_key(effect.dedup_key) == incident_id:
                    page = pages.get(effect.route)
                    if page is not None and self._closes(incident_id, page, effect):
                        # Closed where the page went (the sender's route), whoever owns it now.
                        decided[effect.effect_id] = replace(effect, paged_route=page.sent_route)
                        pages.pop(effect.route)
                    else:
                        decided[effect.effect_id] = None  # another ticket owns that page: it closes it
                elif _sent_by(effect, pages.values()):
                    decided[effect.effect_id] = None  # that page went out under the incident's key, not this
            for page in pages.values():
                if page.open and page.owner.ticket_id == record.ticket_id:
                    added.extend(self._keep(record, folded, incident_id, page, now))
        if not decided and not added:
            return folded
        kept = (decided.get(e.effect_id, e) for e in folded.effects)
        return replace(folded, effects=(*(e for e in kept if e is not None), *added))

    def _closes(self, incident_id: str, page: Page, resolve: Alert) -> bool:
        """Whether `resolve`, proposed at the incident's resolution, closes its route's page: its ticket owns
        it and it is still open (or this resolve closed it: a retry)."""
        if page.owner.ticket_id != resolve.ticket_id:
            return False
        if not page.open:
            return page.closed_by == resolve.effect_id
        return self.store.close_page(incident_id, page, resolve.effect_id)

    def _keep(
        self, record: TicketRecord, folded: Folded, incident_id: str, page: Page, now: int
    ) -> list[Alert]:
        """A page this ticket owns: still covering one of its breaches, sent if it never was; else handed over
        to a covered ticket still breached, or resolved. The alerts this commit adds for it."""
        mine = _covering(folded, incident_id, page.route)
        delivered = page.sent_by != record.ticket_id or page.sent_effect in record.emitted
        if mine is not None:
            if mine.clock_key != page.owner.clock_key:  # another of its clocks now needs the page
                send = None if delivered else _handover_id(record.ticket_id, incident_id, page)
                if self.store.hand_over(incident_id, page, _page_trigger(mine), send) and send is not None:
                    self.mark_due([record.ticket_id], now)  # its next fold sends it
                return []
            sending = any(e.effect_id == page.sent_effect for e in folded.effects)
            if delivered or sending:
                return []
            return [replace(mine, effect_id=page.sent_effect, at=now)]  # handed over unsent: send it now
        if not self._resolved(incident_id):
            successor = self._successor(incident_id, page, record.ticket_id, now)
            if successor is not None:
                send = None if delivered else _handover_id(successor.ticket_id, incident_id, page)
                if self.store.hand_over(incident_id, page, successor, send) and send is not None:
                    self.mark_due([successor.ticket_id], now)
                return []
        release = f"{record.ticket_id}:incident:{incident_id}:release:{page.route}@{page.generation}"
        if not self.store.close_page(incident_id, page, release) or not delivered:
            return []  # changed meanwhile (read again next time), or never sent: nothing to close
        owner = page.owner
        return [
            Alert(
                release,
                now,
                record.ticket_id,
                owner.metric,
                owner.cycle,
                "resolve",
                page.route,
                incident_key(incident_id),
                0,
                None,
                owner.due_at,
                owner.support_level,
                owner.clock_key,
                page.sent_route,
            )
        ]

    def _resolved(self, incident_id: str) -> bool:
        """Whether the incident's resolution is recorded: a page released after it is resolved, not handed
        over (the other tickets' resolves were proposed, and dropped, already)."""
        return any(phase_sk(event) == "RESOLVED" for event in self.store.phases(incident_id))

    def _successor(self, incident_id: str, page: Page, ticket_id: str, now: int) -> PageTrigger | None:
        """The first ticket covered at the page's route, in ticket order, whose fold still holds a breach
        trigger there (a covered ticket whose breach was undone since is passed over)."""
        cursor = None
        while True:
            tickets, cursor = self.store.covered(incident_id, page.route, cursor)
            for other in tickets:
                if other == ticket_id:
                    continue
                trigger = _covering(self.view(other, now), incident_id, page.route)
                if trigger is not None:
                    return _page_trigger(trigger)
            if cursor is None:
                return None


def _covering(folded: Folded, incident_id: str, route: str) -> Alert | None:
    """The fold's first breach trigger under the incident's key at `route`: the breach the page covers."""
    key = incident_key(incident_id)
    return next(
        (
            e
            for e in folded.effects
            if isinstance(e, Alert) and e.kind == "trigger" and e.dedup_key == key and e.route == route
        ),
        None,
    )


def _sent_by(resolve: Alert, pages: Iterable[Page]) -> bool:
    """Whether `resolve` (under its clock's key) closes a page its ticket sent under the incident's key."""
    return any(
        page.sent_by == resolve.ticket_id
        and page.sent_clock == resolve.clock_key
        and page.sent_route == resolve.delivered_to
        for page in pages
    )


def _handover_id(ticket_id: str, incident_id: str, page: Page) -> str:
    """The effect id of the trigger a new owner sends for a page that never went out: one per handover."""
    return f"{ticket_id}:incident:{incident_id}:page:{page.route}@{page.generation}.{page.handovers + 1}"


def _page_trigger(alert: Alert) -> PageTrigger:
    return PageTrigger(
        alert.effect_id,
        alert.ticket_id,
        alert.clock_key,
        alert.metric,
        alert.cycle,
        alert.route,
        alert.delivered_to,
        alert.support_level,
        alert.due_at,
    )
