"""A DynamoDB Streams batch processor that never lets a ticket's later record pass its failed earlier one.

Powertools' BatchProcessor goes on with the records after a failure and reports only the failed ones.
Lambda then retries from the lowest failed sequence number, so for a stream nothing is lost, but a later
record of the same ticket would already have gone out before the earlier one: a `resolve` before its
`trigger` leaves a PagerDuty incident open. Like Powertools' SqsFifoPartialProcessor with
`skip_group_on_error`, this processor fails, unprocessed, every record of a partition key (one ticket's
outbox) after that key's first failure; other tickets' records go on. Lambda's retry starts at the first
failed record and covers them all; the records that went out meanwhile come again and find their
deliveries done (each is idempotent).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, FailureResponse, SuccessResponse

logger = Logger(child=True)


class HeldBack(Exception):
    """An earlier record of the same partition key failed in this batch: this one waits for its retry."""


class OrderedStreamProcessor(BatchProcessor):
    def __init__(self) -> None:
        # A batch that fails as a whole still answers with its item failures: Lambda retries from the first.
        super().__init__(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        self._failed_keys: set[str] = set()

    def process(self) -> list[tuple[Any, ...]]:
        self._failed_keys.clear()  # a warm container's next batch starts with no ticket held back
        return super().process()

    def _process_record(self, record: dict[str, Any]) -> SuccessResponse | FailureResponse:
        key = partition_key(record)
        if key is not None and key in self._failed_keys:
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber")
            logger.warning(
                "record held back behind its ticket's failed record", pk=key, sequence_number=sequence
            )
            held = HeldBack(f"an earlier record of {key} failed in this batch")
            return self.failure_handler(
                record=self._to_batch_type(record=record, event_type=self.event_type),
                exception=(HeldBack, held, None),
            )
        result = super()._process_record(record)
        if key is not None and result[0] == "fail":
            self._failed_keys.add(key)
        return result


def partition_key(record: dict[str, Any]) -> str | None:
    """The `pk` of a stream record's item, or None for a record without one."""
    value = (((record.get("dynamodb") or {}).get("Keys") or {}).get("pk") or {}).get("S")
    return value if isinstance(value, str) else None
