"""The pure parts of the read side: the queue's order and working time left, and the answer history's median.

Properties (hypothesis) where a rule is general: the sort key orders as the SPEC's order does; the working
time left that a reader computes from a queue entry alone is what the fold says of the clock; a median read
from the histogram is never earlier than the true one and at most one bucket (10 %) later.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sla.clocks import counting_calendar
from sla.fold import fold
from sla.queue import (
    LEVEL_ORDER,
    is_sort_key,
    level_rank,
    owed,
    queue_entry,
    queue_sort_key,
    remaining_seconds,
)
from sla.response_history import (
    BUCKETS,
    EDGES,
    MIN_ANSWERS,
    answers,
    bucket_of,
    bucket_upper,
    median_beyond,
)
from tests.fold_helpers import HOUR, MINUTE, default_catalog, epoch, message, opened, plan, status

T0 = epoch("2026-04-07T09:00:00Z")  # a Tuesday, 11:00 in Paris


@given(
    st.lists(
        st.tuples(
            st.integers(0, 4_102_444_800),
            st.sampled_from([*LEVEL_ORDER, "gold"]),
            st.from_regex(r"[A-Za-z0-9#:-]{1,12}", fullmatch=True),
        ),
        min_size=2,
        max_size=30,
        unique_by=lambda row: row[2],
    )
)
def test_the_sort_key_orders_as_the_specs_queue(rows: list[tuple[int, str, str]]) -> None:
    by_key = sorted(rows, key=lambda r: queue_sort_key(r[0], level_rank(r[1]), r[2]))
    by_rule = sorted(rows, key=lambda r: (r[0], level_rank(r[1]), r[2]))
    assert by_key == by_rule
    assert all(is_sort_key(queue_sort_key(r[0], level_rank(r[1]), r[2])) for r in rows)


def test_enterprise_ranks_first_and_an_unknown_level_last() -> None:
    assert [level_rank(level) for level in ("enterprise", "business", "premium", "standard", "gold")] == [
        0,
        1,
        2,
        3,
        4,
    ]


@settings(max_examples=60, deadline=None)
@given(
    level=st.sampled_from(["standard", "premium", "business", "enterprise"]),
    grade=st.sampled_from(["critical", "high", "medium", "low"]),
    opened_after=st.integers(0, 7 * 86_400),
    read_after=st.integers(0, 10 * 86_400),
)
def test_the_working_time_left_from_a_queue_entry_is_the_folds(
    level: str, grade: str, opened_after: int, read_after: int
) -> None:
    catalog = default_catalog()
    start = T0 + opened_after
    now = start + read_after
    folded = fold("T-1", [opened(start, grade)], [plan(T0 - 86_400, level)], catalog, now)
    assert folded.state is not None
    clock, entry = owed(folded.state), queue_entry(folded.state)
    assert clock is not None and entry is not None
    calendar = counting_calendar(
        catalog, entry.clock_level, entry.metric, entry.started_at, entry.timezone, entry.country
    )
    assert remaining_seconds(calendar, entry.due_at, now) == clock.target_seconds - clock.elapsed_seconds
    assert entry.breached_at(now) == (now > entry.due_at)


def test_a_ticket_waiting_on_the_customer_or_answered_owes_nothing() -> None:
    catalog = default_catalog()
    answered = fold("T-1", [opened(T0), message(T0 + MINUTE)], [], catalog, T0 + HOUR)
    closed = fold("T-1", [opened(T0), status(T0 + MINUTE, "closed")], [], catalog, T0 + HOUR)
    assert answered.state is not None and closed.state is not None
    assert queue_entry(answered.state) is None and queue_entry(closed.state) is None


# ----- the answer history ----------------------------------------------------------------------------------


def test_buckets_cover_every_duration_in_order() -> None:
    assert EDGES[0] == 0 and EDGES[1] == 60 and list(EDGES) == sorted(set(EDGES))
    assert EDGES[-1] >= 90 * 86_400 and BUCKETS == len(EDGES) < 140
    for seconds in (0, 59, 60, 61, 3599, 3600, 86_400, 90 * 86_400, 10**9):
        bucket = bucket_of(seconds)
        assert EDGES[bucket] <= seconds
        assert seconds <= bucket_upper(bucket) or bucket == BUCKETS - 1


@given(st.lists(st.integers(0, 30 * 86_400), min_size=MIN_ANSWERS, max_size=200), st.integers(0, 86_400))
def test_the_median_from_buckets_is_never_earlier_and_at_most_a_bucket_later(
    times: list[int], waited: int
) -> None:
    histogram: dict[int, int] = {}
    for seconds in times:
        histogram[bucket_of(seconds)] = histogram.get(bucket_of(seconds), 0) + 1
    estimate = median_beyond(histogram, waited)
    # What the buckets know: an answer in the bucket of `waited` may have taken longer, so it counts.
    beyond = sorted(t for t in times if bucket_of(t) >= bucket_of(waited))
    if not beyond:
        assert estimate is None
        return
    true_median = beyond[(len(beyond) + 1) // 2 - 1]
    assert estimate is not None
    assert estimate >= true_median and estimate > waited
    assert estimate <= max(waited + 1, bucket_upper(bucket_of(true_median)))
    assert estimate <= max(waited + 1, 60, true_median * 1.1 + 1)


def test_no_estimate_without_enough_answers() -> None:
    assert median_beyond({bucket_of(600): MIN_ANSWERS - 1}, 0) is None
    assert median_beyond({bucket_of(600): MIN_ANSWERS}, 0) == bucket_upper(bucket_of(600))
    assert median_beyond({bucket_of(600): MIN_ANSWERS}, 7200) is None  # none took that long


def test_answers_count_met_and_late_cycles_but_not_those_closed_unanswered() -> None:
    catalog = default_catalog()
    events = [
        opened(T0, "critical", ticket="T-1"),  # standard critical: 4 h
        message(T0 + 30 * MINUTE, ticket="T-1"),  # met after 30 min
    ]
    late = [opened(T0, "critical", ticket="T-2"), message(T0 + 5 * HOUR, ticket="T-2")]  # breached, then met
    unanswered = [opened(T0, "critical", ticket="T-3"), status(T0 + 5 * HOUR, "closed", ticket="T-3")]
    found = []
    for ticket, history in (("T-1", events), ("T-2", late), ("T-3", unanswered)):
        folded = fold(ticket, history, [], catalog, T0 + 6 * HOUR)
        assert folded.state is not None
        keys = {f"{ticket}/first_response/{history[0].event_id}"}
        found += [
            (ticket, a.metric, a.level, a.severity, a.day, a.working_seconds)
            for a in answers(folded.state, folded.facts, keys)
        ]
    assert found == [
        ("T-1", "first_response", "standard", "critical", "2026-04-07", 1800),
        ("T-2", "first_response", "standard", "critical", "2026-04-07", 5 * 3600),
    ]
