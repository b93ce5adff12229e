"""The edge's record of an event id it refused: every distinct input kept or counted, none dropped.

A producer that sends two different bad bodies under one event id (a bug fixed half-way, a replayed queue)
must not see the second vanish because the first was kept: each distinct input is a version of the refusal.
A redelivery of the same input is not a new version (its digest is on record). The item stays bounded
whatever the producer does: the first EDGE_VERSIONS_KEPT versions keep their reason and redacted input,
the next ones up to EDGE_DIGESTS_MAX only their digest and a count, and past that every delivery is counted
(redeliveries included, since their digests can no longer be told apart); the count says so.

Both stores apply `next_edge_record` to what they hold (the table under an optimistic `revision` check),
so the rule is written once.
"""

from __future__ import annotations

from typing import Any

from infra.store.commit import rejection_item, text_digest
from sla.folded import Rejection

EDGE_VERSIONS_KEPT = 5
"""Versions kept with their reason and input: 5 redacted inputs of at most EDGE_RAW_CHARS stay far below
DynamoDB's 400 KB an item, whatever the script of their text."""
EDGE_RAW_CHARS = 8_000
"""The input kept of each later version; the first keeps infra.store.commit.MAX_RAW_CHARS."""
EDGE_DIGESTS_MAX = 50
"""Distinct inputs told apart by digest: 50 × 16 hex characters."""


def next_edge_record(
    prior: dict[str, Any] | None, event_id: str, reason: str, raw: str | None, now: int, retention_days: int
) -> dict[str, Any] | None:
    """The `REJECTED#<event_id>` / `EDGE` item once this refusal is added; None when this very input is on
    record already (a redelivery, nothing to write)."""
    digest = text_digest(raw or reason)
    if prior is None:
        item = rejection_item(Rejection(event_id, reason), raw, now, "EDGE", retention_days)
        return {**item, "digests": [digest], "revision": 1}
    digests: list[str] = list(prior.get("digests", []))
    if digest in digests:
        return None
    item = {**prior, "revision": int(prior.get("revision", 1)) + 1, "updated_at": now}
    later: list[dict[str, Any]] = list(prior.get("later_versions", []))
    if 1 + len(later) < EDGE_VERSIONS_KEPT:
        kept = rejection_item(Rejection(event_id, reason), raw, now, "EDGE", retention_days)
        later.append(
            {
                "reason": kept["reason"],
                "raw": (kept["raw"] or "")[:EDGE_RAW_CHARS] or None,
                "rejected_at": now,
            }
        )
        item["later_versions"] = later
    else:
        item["versions_not_kept"] = int(prior.get("versions_not_kept", 0)) + 1
    if len(digests) < EDGE_DIGESTS_MAX:
        item["digests"] = [*digests, digest]
    return item


def edge_rejection_rows(item: dict[str, Any]) -> list[dict[str, Any]]:
    """An EDGE item as the replay's `rejected` rows: one per version kept, then one counting the rest."""
    event_id = item["event_id"]
    rows = [{"event_id": event_id, "reason": item["reason"]}]
    rows.extend(
        {"event_id": event_id, "reason": version["reason"]} for version in item.get("later_versions", [])
    )
    not_kept = int(item.get("versions_not_kept", 0))
    if not_kept:
        rows.append(
            {
                "event_id": event_id,
                "reason": f"event_id: {not_kept} more different inputs refused under this id; "
                f"the first {EDGE_VERSIONS_KEPT} are kept",
            }
        )
    return rows
