"""Each record of an SQS batch logs under its own correlation id: its message id until its ticket is known,
then the ticket id. The id of one record's ticket must never label the logs of the next one, or an operator
following a ticket reads lines about another event."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest

from functions import ingest
from infra.ticket_service import Outcome, TicketService
from local.engine import FakeLambdaContext, sqs_event


class ScriptedService:
    """Answers each body as its script says: an outcome, or an exception (a transient failure)."""

    def __init__(self, script: dict[str, Outcome | Exception]) -> None:
        self.script = script

    def accept_raw(self, body: str, now: int, fallback_id: str) -> Outcome:
        answer = self.script[body]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The handler's JSON log lines (Powertools writes to the stream it captured at import)."""
    buffer = io.StringIO()
    handler = ingest.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def run(script: dict[str, Outcome | Exception], logs: io.StringIO) -> tuple[list[str], list[dict[str, Any]]]:
    """The batch's message ids, and the log lines of the handler for it."""
    event = sqs_event(list(script))
    ingest.configure(ingest.Dependencies(cast(TicketService, ScriptedService(script)), lambda: 0))
    try:
        ingest.handler(event, FakeLambdaContext("IngestFunction"))
    finally:
        ingest.configure(None)
        ingest.metrics.clear_metrics()
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    return [r["messageId"] for r in event["Records"]], [line for line in lines if "message" in line]


def test_a_record_without_a_ticket_does_not_log_under_the_previous_records_ticket(logs: io.StringIO) -> None:
    ids, lines = run(
        {
            "first": Outcome("accepted", "e-1", "T-1"),
            "second": Outcome("rejected", "m-2", None, "body: not JSON"),
        },
        logs,
    )

    first, second = (next(line for line in lines if line.get("event_id") == e) for e in ("e-1", "m-2"))
    assert first["correlation_id"] == "T-1"
    assert second["correlation_id"] == ids[1]
    assert "T-1" not in json.dumps(second)


def test_each_record_of_a_batch_logs_under_its_own_ticket(logs: io.StringIO) -> None:
    _, lines = run(
        {
            "first": Outcome("accepted", "e-1", "T-1"),
            "second": Outcome("duplicate", "e-2", "T-2"),
            "third": Outcome("accepted", "e-3", "T-1"),
        },
        logs,
    )

    handled = [
        (line["event_id"], line["correlation_id"]) for line in lines if line["message"] == "event handled"
    ]
    assert handled == [("e-1", "T-1"), ("e-2", "T-2"), ("e-3", "T-1")]


def test_a_record_that_fails_logs_under_its_message_id(logs: io.StringIO) -> None:
    ids, lines = run(
        {
            "first": Outcome("accepted", "e-1", "T-1"),
            "second": RuntimeError("throttled"),
        },
        logs,
    )

    (failed,) = [line for line in lines if line["message"] == "event not handled, left for redelivery"]
    assert failed["message_id"] == ids[1]
    assert failed["correlation_id"] == ids[1]


def test_an_event_refused_by_a_store_bound_is_counted_for_the_operators(
    logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        {
            "over": Outcome(
                "rejected", "e-9", "T-1", "ticket_id: the ticket has reached its limit", limit=True
            ),
            "bad": Outcome("rejected", "m-2", None, "body: not JSON"),
        },
        logs,
    )

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = {name: value for doc in documents for name, value in doc.items() if name.startswith("Events")}
    assert counted["EventsOverLimit"] == [1.0]  # the limit only, not the contract violation beside it
    assert counted["EventsRejected"] == [1.0, 1.0]
