"""The store contract for the edge's rejections (infra.store.rejections), on both adapters.

Two different bad bodies under one event id used to keep only the first: the second refusal answered
"refused before" and vanished. Each distinct input is now a version of the refusal, bounded.
"""

from __future__ import annotations

import json

from infra.store.rejections import EDGE_DIGESTS_MAX, EDGE_VERSIONS_KEPT, edge_rejection_rows
from tests.contract.conftest import Adapter
from tests.contract.test_tickets import commit
from tests.fold_helpers import epoch, opened

T0 = epoch("2026-04-07T09:00:00Z")
EVENT_ID = "cp-evt-42"


def body(n: int) -> str:
    return json.dumps({"detail": {"event_id": EVENT_ID, "severity": f"bad-{n}"}})


def test_a_second_different_bad_body_under_one_id_is_kept_as_a_version(adapter: Adapter) -> None:
    assert adapter.store.record_rejection(EVENT_ID, "severity: 'bad-1' is unknown", body(1), T0)
    assert adapter.store.record_rejection(EVENT_ID, "severity: 'bad-2' is unknown", body(2), T0 + 1)

    (item,) = adapter.items("rejected")
    assert [row["reason"] for row in edge_rejection_rows(item)] == [
        "severity: 'bad-1' is unknown",
        "severity: 'bad-2' is unknown",
    ]
    assert "bad-2" in item["later_versions"][0]["raw"]


def test_a_redelivered_bad_body_is_no_new_version_whichever_version_it_repeats(adapter: Adapter) -> None:
    for n in (1, 2):
        adapter.store.record_rejection(EVENT_ID, f"severity: 'bad-{n}' is unknown", body(n), T0)

    assert not adapter.store.record_rejection(EVENT_ID, "severity: 'bad-1' is unknown", body(1), T0 + 5)
    assert not adapter.store.record_rejection(EVENT_ID, "severity: 'bad-2' is unknown", body(2), T0 + 5)

    (item,) = adapter.items("rejected")
    assert len(edge_rejection_rows(item)) == 2


def test_versions_past_the_kept_ones_are_counted_and_the_item_stays_bounded(adapter: Adapter) -> None:
    distinct = EDGE_DIGESTS_MAX + 3
    for n in range(distinct):
        assert adapter.store.record_rejection(EVENT_ID, f"severity: 'bad-{n}' is unknown", body(n), T0 + n)

    (item,) = adapter.items("rejected")
    rows = edge_rejection_rows(item)
    assert len(rows) == EDGE_VERSIONS_KEPT + 1
    assert rows[-1]["reason"].startswith(f"event_id: {distinct - EDGE_VERSIONS_KEPT} more different inputs")
    assert len(item["digests"]) == EDGE_DIGESTS_MAX
    assert len(json.dumps(item, default=str).encode()) < 400_000


def test_an_accepted_delivery_removes_every_version(adapter: Adapter) -> None:
    event = opened(T0)
    for n in (1, 2, 3):
        adapter.store.record_rejection(event.event_id, f"severity: 'bad-{n}' is unknown", body(n), T0)

    commit(adapter, event, T0)

    assert adapter.rejections() == {}
