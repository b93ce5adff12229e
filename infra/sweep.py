"""One sweep of due timers: what the SweeperFunction does every minute.

A sweep reads only the timers that are due, from the sparse due-index, oldest first and in bounded pages,
so its cost follows what is due, not what is open. A timer is a hint: the sweep claims it with a
conditional write (so two sweeps never work one ticket at once), then re-folds the ticket from its event
log at `now`, which fires every warning, breach and ladder step that came due since, once and in order,
however long the sweeper was away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.ticket_service import TicketService
from sla.effects import Effect


@dataclass
class SweepReport:
    items_read: int = 0
    claimed: int = 0
    skipped: int = 0
    pages: int = 0
    effects: list[Effect] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (ticket id, error type)
    more: bool = False


def sweep(
    service: TicketService, now: int, page_size: int, max_pages: int, lease_seconds: int
) -> SweepReport:
    """Fire what is due at `now`; `more` says the page budget ran out with timers still due."""
    report = SweepReport()
    start_after: str | None = None
    for _ in range(max_pages):
        timers, start_after = service.due_timers(now, page_size, start_after)
        report.pages += 1
        report.items_read += len(timers)
        for timer in timers:
            if not service.store.claim_timer(timer, now, lease_seconds):
                report.skipped += 1
                continue
            report.claimed += 1
            try:
                report.effects.extend(service.refold(timer.ticket_id, now))
            except Exception as error:  # one broken ticket must not stall every other ticket's alerts
                # Its claim lapses after the lease and a later sweep retries it; the handler logs it.
                report.failed.append((timer.ticket_id, type(error).__name__))
        if start_after is None:
            return report
    report.more = True
    return report
