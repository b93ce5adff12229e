"""Replay lists every version of an edge refusal: two different bad bodies under one id are two rows."""

from __future__ import annotations

import json

import pytest

from local.engine import BACKENDS
from local.replay import replay
from tests.conftest import eventbridge


def opened(severity: str) -> str:
    detail = {
        "event_id": "cp-evt-7",
        "occurred_at": "2026-04-07T09:00:00Z",
        "ticket_id": "T-7",
        "customer_id": "C-7",
        "severity": severity,
        "subject": "Disk failing",
    }
    return json.dumps(eventbridge("Ticket Opened", detail))


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_different_bad_bodies_under_one_id_are_both_reported_and_a_repeat_once(backend: str) -> None:
    lines = [opened("urgent"), opened("apocalyptic"), opened("urgent")]

    document = replay(lines, backend=backend)

    assert [row["event_id"] for row in document["rejected"]] == ["cp-evt-7", "cp-evt-7"]
    reasons = sorted(row["reason"] for row in document["rejected"])
    assert "'apocalyptic'" in reasons[0] and "'urgent'" in reasons[1]
    assert document["tickets"] == []
