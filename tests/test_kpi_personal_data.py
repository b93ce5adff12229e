"""A rating's comment is the customer's own words: through the deployed path it reaches no item and no log.

The ingest handler takes a valid rating and a refused one, both with a sentinel comment, on the local engine
(moto); the comment is validated at the edge and then dropped, so the table holds the rating without it and
the refused input holds only its length (README, "Personal data").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.engine import LocalEngine
from tests.conftest import epoch, eventbridge
from tests.fold_helpers import iso

SENTINEL = "Sentinel comment Zq9Kpi from a customer"
TOKEN = "Zq9Kpi"
T0 = epoch("2026-04-13T10:00:00Z")


def body(detail_type: str, at: int, event_id: str, **detail: Any) -> str:
    return json.dumps(eventbridge(detail_type, {"event_id": event_id, "occurred_at": iso(at), **detail}))


def test_a_comment_reaches_no_item_and_no_log_line(capfd: pytest.CaptureFixture[str]) -> None:
    ticket = {"ticket_id": "T-CSAT", "customer_id": "C-CSAT"}
    with LocalEngine(start=T0) as engine:
        engine.now = T0 + 3600
        response = engine.deliver(
            [
                body("Ticket Opened", T0, "csat-1", **ticket, severity="low", subject="A question"),
                body("Ticket Status Changed", T0 + 600, "csat-2", **ticket, status="resolved"),
                body("Satisfaction Rated", T0 + 1200, "csat-3", **ticket, rating=5, comment=SENTINEL),
                body("Satisfaction Rated", T0 + 1300, "csat-4", **ticket, rating=9, comment=SENTINEL),
            ]
        )
        assert response == {"batchItemFailures": []}
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": engine.resources.table_name}
        while True:
            page = engine.dynamodb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        logs = engine.logs.getvalue()
    out, err = capfd.readouterr()
    keys = {(item["pk"]["S"], item["sk"]["S"]) for item in items}
    assert ("TICKET#T-CSAT", "EVENT#csat-3") in keys  # the good rating was accepted
    assert any(pk == "REJECTED#csat-4" for pk, _ in keys)  # the bad one refused and kept
    stored = json.dumps(items)
    assert '"rating":5' in stored.replace("\\", "")  # the rating itself is kept, for CSAT
    for text in (stored, logs, out, err):
        assert TOKEN not in text
