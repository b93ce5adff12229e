"""When every record of a batch fails transiently, the handler still answers with item failures (so SQS
redelivers just those) rather than raising; replay relies on it to redeliver as SQS would."""

from __future__ import annotations

from typing import Any, cast

from functions import ingest
from infra.errors import TransientStoreError
from infra.ticket_service import TicketService
from local.engine import FakeLambdaContext, sqs_event


class ThrottledService:
    def accept_raw(self, body: str, now: int, fallback_id: str) -> Any:
        raise TransientStoreError("ProvisionedThroughputExceededException")


def test_a_batch_of_only_failures_reports_each_record() -> None:
    event = sqs_event(['{"a": 1}', '{"b": 2}'])
    ingest.configure(ingest.Dependencies(cast(TicketService, ThrottledService()), lambda: 0))
    try:
        response = ingest.handler(event, FakeLambdaContext("IngestFunction"))
    finally:
        ingest.configure(None)
    expected = [{"itemIdentifier": record["messageId"]} for record in event["Records"]]
    assert response["batchItemFailures"] == expected
