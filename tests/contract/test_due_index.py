"""The store contract for the due-index (infra.store.port.DueIndex), on both adapters.

Timers are put the way the ticket service puts them outside a commit (`mark_due`: a ticket's timer due at
an instant, no lease); the sweep reads them oldest first over the shards, in pages, claims each with a lease
that moves it to the lease's end, and backs a failing one off further each time, until a commit puts a fresh
timer again.
"""

from __future__ import annotations

import pytest

from infra.store.timers import DUE_SHARDS, DueTimer, due_shard, timer_sort_key
from tests.contract.conftest import Adapter

NOW = 1_775_520_000  # 2026-04-07T00:00:00Z
LEASE = 120


def put(adapter: Adapter, ticket: str, due: int) -> None:
    adapter.store.mark_due([ticket], due)


def due_now(adapter: Adapter, now: int = NOW) -> list[DueTimer]:
    timers, cursor = adapter.store.timers.due_timers(now, 1000)
    assert cursor is None
    return timers


def test_due_timers_page_oldest_first_over_every_shard_without_repeats(adapter: Adapter) -> None:
    tickets = [f"T-{n:02d}" for n in range(25)]
    for number, ticket in enumerate(reversed(tickets)):
        put(adapter, ticket, NOW - number)  # the last ticket is the oldest
    put(adapter, "T-later", NOW + 1)
    assert len({due_shard(t) for t in tickets}) == DUE_SHARDS
    seen: list[DueTimer] = []
    cursor: str | None = None
    while True:
        page, cursor = adapter.store.timers.due_timers(NOW, 4, cursor)
        assert len(page) <= 4
        seen.extend(page)
        if cursor is None:
            break

    assert [t.ticket_id for t in seen] == tickets
    assert [(t.due, t.due_at) for t in seen] == [(NOW - n, NOW - n) for n in range(24, -1, -1)]
    assert adapter.store.timers.next_timer() == NOW - 24


def test_a_sweep_reads_a_page_per_shard_and_counts_what_it_leaves(adapter: Adapter) -> None:
    for number in range(40):
        put(adapter, f"T-{number}", NOW - 100 + number)
    reader = adapter.store.timers.due(NOW, page_size=2, max_pages=1)

    taken = []
    while (timer := reader.pop()) is not None:
        taken.append(timer)

    assert len(taken) == 2 * DUE_SHARDS
    assert [t.due for t in taken] == sorted(t.due for t in taken)
    assert reader.has_more()
    assert reader.count_rest(max_pages=4 * DUE_SHARDS) == (40 - 2 * DUE_SHARDS, True)


def test_a_claim_moves_the_timer_to_its_leases_end_and_no_other_sweep_takes_it(adapter: Adapter) -> None:
    put(adapter, "T-1", NOW - 10)
    (timer,) = due_now(adapter)

    claim = adapter.store.timers.claim(timer, NOW, LEASE)

    assert claim is not None and (claim.until, claim.attempts) == (NOW + LEASE, 1)
    assert due_now(adapter) == []
    assert adapter.store.timers.next_timer() == NOW + LEASE
    assert adapter.store.load_ticket("T-1").timer == timer_sort_key(NOW + LEASE, "T-1")
    assert adapter.store.timers.claim(timer, NOW, LEASE) is None  # the timer read is no longer there
    (leased,) = adapter.store.timers.due_timers(NOW + LEASE, 10)[0]
    assert not adapter.store.timers.claim_timer(leased, NOW + LEASE - 1, LEASE)  # the lease still runs
    assert leased.due_at == NOW - 10  # the ticket's own due instant does not move


def test_a_timer_put_again_since_it_was_read_is_not_claimed(adapter: Adapter) -> None:
    put(adapter, "T-1", NOW - 10)
    (stale,) = due_now(adapter)
    put(adapter, "T-1", NOW - 5)  # a commit, or a plan change marking it due

    assert adapter.store.timers.claim(stale, NOW, LEASE) is None
    assert [t.sort_key for t in due_now(adapter)] == [timer_sort_key(NOW - 5, "T-1")]


def test_a_lapsed_lease_is_claimed_again_and_counts_the_attempts_until_a_put(adapter: Adapter) -> None:
    put(adapter, "T-1", NOW - 10)
    first = adapter.store.timers.claim(due_now(adapter)[0], NOW, LEASE)
    (lapsed,) = due_now(adapter, NOW + LEASE)

    second = adapter.store.timers.claim(lapsed, NOW + LEASE, LEASE)
    put(adapter, "T-1", NOW + LEASE + 1)
    third = adapter.store.timers.claim(due_now(adapter, NOW + LEASE + 1)[0], NOW + LEASE + 1, LEASE)

    assert [c.attempts if c else None for c in (first, second, third)] == [1, 2, 1]


def test_a_failing_timer_is_backed_off_further_each_time(adapter: Adapter) -> None:
    put(adapter, "T-1", NOW - 10)
    first = adapter.store.timers.claim(due_now(adapter)[0], NOW, LEASE)
    assert first is not None
    assert adapter.store.timers.back_off(first, 3600) == NOW + LEASE  # the lease alone brings it back
    second = adapter.store.timers.claim(due_now(adapter, NOW + LEASE)[0], NOW + LEASE, LEASE)
    assert second is not None

    retry = adapter.store.timers.back_off(second, 3600)

    assert retry == NOW + LEASE + 2 * LEASE
    assert due_now(adapter, retry - 1) == []
    assert adapter.store.timers.next_timer() == retry
    (back,) = due_now(adapter, retry)
    assert back.ticket_id == "T-1"


@pytest.mark.parametrize("since", ["put", "claimed"])
def test_a_back_off_leaves_alone_a_timer_put_or_claimed_since(adapter: Adapter, since: str) -> None:
    put(adapter, "T-1", NOW - 10)
    first = adapter.store.timers.claim(due_now(adapter)[0], NOW, LEASE)
    second = adapter.store.timers.claim(due_now(adapter, NOW + LEASE)[0], NOW + LEASE, LEASE)
    assert first is not None and second is not None
    if since == "put":
        put(adapter, "T-1", NOW + 3 * LEASE)
        expected = timer_sort_key(NOW + 3 * LEASE, "T-1")
    else:
        third = adapter.store.timers.claim(due_now(adapter, NOW + 2 * LEASE)[0], NOW + 2 * LEASE, LEASE)
        assert third is not None
        expected = timer_sort_key(NOW + 3 * LEASE, "T-1")

    assert adapter.store.timers.back_off(second, 3600) == second.until
    assert adapter.store.load_ticket("T-1").timer == expected
