"""The store contract for the outbox (infra.store.port.OutboxStore), on both adapters.

Commits write a ticket's effects as outbox items in decided order; the notifier reads back the ticket's
undelivered items up to a record's own, oldest first, writes each effect's outcome on its item (the first
outcome recorded stays) and marks the item delivered, which ends the backlog of every later record.
"""

from __future__ import annotations

import json
from typing import Any

from infra.store.outbox import outbox_partition, outbox_sort_key
from tests.contract.conftest import Adapter
from tests.contract.test_tickets import T0, commit
from tests.fold_helpers import HOUR, TICKET, opened

PK = outbox_partition(TICKET)


def two_commits(adapter: Adapter) -> tuple[list[str], list[str]]:
    """A critical ticket opened (its acknowledgement notice), then re-folded five hours on (its warning and
    breach page): the effect ids of each commit, in decided order."""
    first = commit(adapter, opened(T0, "critical"), T0)
    second = commit(adapter, None, T0 + 5 * HOUR)
    assert first and second
    return [e.effect_id for e in first], [e.effect_id for e in second]


def effect_ids(items: Any) -> list[list[str]]:
    return [[view["effect_id"] for view in json.loads(item["effects"])] for item in items]


def outbox(adapter: Adapter) -> list[dict[str, Any]]:
    return sorted(adapter.items("outbox"), key=lambda item: (item["pk"], item["sk"]))


def test_a_backlog_is_every_undelivered_item_up_to_the_records_own_in_decided_order(adapter: Adapter) -> None:
    first, second = two_commits(adapter)
    items = outbox(adapter)
    assert [(item["pk"], item["sk"]) for item in items] == [
        (PK, outbox_sort_key(1, 0)),
        (PK, outbox_sort_key(2, 0)),
    ]

    latest = adapter.outbox.backlog(PK, items[1]["sk"])
    earliest = adapter.outbox.backlog(PK, items[0]["sk"])
    ahead = adapter.outbox.backlog(PK, outbox_sort_key(3, 0))  # a record whose item is gone

    assert (effect_ids(latest.items), latest.own) == ([first, second], "pending")
    assert (effect_ids(earliest.items), earliest.own) == ([first], "pending")
    assert (effect_ids(ahead.items), ahead.own) == ([first, second], "missing")
    assert [item["emitted_at"] for item in latest.items] == [T0, T0 + 5 * HOUR]
    assert adapter.outbox.backlog(outbox_partition("T-other"), items[1]["sk"]).items == ()


def test_an_item_marked_delivered_ends_the_backlog_and_keeps_its_first_outcomes(adapter: Adapter) -> None:
    first, second = two_commits(adapter)
    items = outbox(adapter)
    sent = {"status": "delivered", "channels": ["email"], "at": T0}
    adapter.outbox.record(PK, items[0]["sk"], {first[0]: sent}, T0, complete=False)
    redacted = items[0]["effects"].replace("@", " at ")

    adapter.outbox.record(
        PK,
        items[0]["sk"],
        {first[0]: {**sent, "channels": ["none"]}},
        T0 + 1,
        complete=True,
        effects=redacted,
    )

    delivered = outbox(adapter)[0]
    assert delivered["deliveries"] == {first[0]: sent}
    assert (delivered["delivered_at"], delivered["effects"]) == (T0 + 1, redacted)
    assert delivered["expiration"] == items[0]["expiration"]  # set when written, not moved by delivery
    assert adapter.outbox.backlog(PK, items[0]["sk"]).own == "delivered"
    assert adapter.outbox.backlog(PK, items[0]["sk"]).items == ()
    assert effect_ids(adapter.outbox.backlog(PK, items[1]["sk"]).items) == [second]


def test_an_outcome_for_an_item_no_longer_there_creates_nothing(adapter: Adapter) -> None:
    two_commits(adapter)
    before = outbox(adapter)

    adapter.outbox.record(PK, outbox_sort_key(9, 0), {"e": {"status": "skipped"}}, T0, complete=True)

    assert outbox(adapter) == before
