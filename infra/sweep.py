"""One sweep of due timers: what the SweeperFunction does every minute.

A sweep reads only the timers that are due, from the sparse due-index, oldest first over its shards and in
bounded pages, so its cost follows what is due, not what is open. A timer is a hint: the sweep claims it
with a conditional write (so two sweeps never work one ticket at once), then re-folds the ticket from its
event log at `now`, which fires every warning, breach and ladder step that came due since, once and in
order, however long the sweeper was away; the re-fold's commit puts the ticket's next timer.

What can go wrong stays with its ticket: a claim that is throttled or a re-fold that fails is reported and
the sweep goes on with the next timer. A claim moves the timer behind the lease (infra.store.timers), so a
ticket that keeps failing comes back later and later instead of holding the head of the index.

A sweep has a time budget: it stops taking timers when `seconds_left()` reaches the margin, since a Lambda
cut off at its timeout reports nothing and leaves its last claim to lapse. What it did not get to is the
backlog, which the next run starts with, oldest first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from infra.errors import StoreError
from infra.store.port import DueIndex
from infra.store.timers import DUE_SHARDS, Claim, DueTimer
from infra.ticket_service import TicketService
from sla.effects import Effect

# Select=COUNT Queries a sweep may spend counting what it left (about 1 MB of index each): past that the
# backlog is reported as a lower bound, so a huge backlog cannot make the count itself overrun the budget.
BACKLOG_COUNT_PAGES = 4 * DUE_SHARDS


class Failure(NamedTuple):
    ticket_id: str
    error: str  # the exception's type name
    attempts: int  # claims of the timer so far, this one included; 0 when the claim itself failed
    retry_at: int | None  # when the timer is due again; None: still due, the next run takes it


@dataclass
class SweepReport:
    items_read: int = 0
    claimed: int = 0
    skipped: int = 0
    pages: int = 0
    effects: list[Effect] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    read_errors: list[tuple[str, str]] = field(default_factory=list)  # (shard, error type)
    more: bool = False
    out_of_time: bool = False
    backlog: int = 0  # due timers this run did not get to
    backlog_exact: bool = True
    # Seconds from the oldest due timer's instant in the index to `now`, as the run began: how far behind
    # the sweeper is. A timer retried after a failure counts from its retry instant (its ticket's failures
    # show in `failed` and the RefoldsFailed metric, every time it is retried).
    oldest_due_lag: int = 0


def _unlimited() -> float:
    return math.inf


def sweep(
    service: TicketService,
    now: int,
    page_size: int,
    max_pages: int,
    lease_seconds: int,
    *,
    seconds_left: Callable[[], float] = _unlimited,
    margin_seconds: float = 0.0,
    max_backoff_seconds: int = 3600,
) -> SweepReport:
    """Fire what is due at `now`, until nothing is due, `max_pages` per shard are read or time runs out.

    `more` says timers are still due for the next run; `backlog` how many (`backlog_exact` False: at least).
    """
    index = service.store.timers
    due = index.due(now, page_size, max_pages)
    report = SweepReport()
    oldest = due.peek()
    report.oldest_due_lag = max(0, now - oldest.due) if oldest is not None else 0
    worked: set[str] = set()
    while True:
        if seconds_left() <= margin_seconds:
            report.out_of_time = True
            break
        timer = due.pop()
        if timer is None:
            break
        if timer.ticket_id in worked:  # its new timer is due again at once: the next run takes it
            report.skipped += 1
            continue
        worked.add(timer.ticket_id)
        _work(service, index, timer, now, lease_seconds, max_backoff_seconds, report)
    report.items_read, report.pages = due.items_read, due.pages
    report.read_errors = [(shard, type(error).__name__) for shard, error in due.errors]
    if due.has_more():
        report.backlog, report.backlog_exact = due.count_rest(BACKLOG_COUNT_PAGES)
    report.more = report.backlog > 0 or not report.backlog_exact
    return report


def _work(
    service: TicketService,
    index: DueIndex,
    timer: DueTimer,
    now: int,
    lease_seconds: int,
    max_backoff_seconds: int,
    report: SweepReport,
) -> None:
    """Claim one timer and re-fold its ticket; whatever fails is this ticket's, reported, and the sweep goes on."""
    claim: Claim | None = None
    try:
        claim = index.claim(timer, now, lease_seconds)
        if claim is None:
            report.skipped += 1
            return
        report.claimed += 1
        report.effects.extend(service.refold(timer.ticket_id, now))
    except Exception as error:  # one broken ticket must not stall every other ticket's alerts
        retry_at: int | None = None
        if claim is not None:
            try:
                retry_at = index.back_off(claim, max_backoff_seconds)
            except StoreError:
                retry_at = claim.until  # the lease alone still brings the timer back
        report.failed.append(
            Failure(timer.ticket_id, type(error).__name__, claim.attempts if claim else 0, retry_at)
        )
