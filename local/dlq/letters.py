"""The messages of the two dead-letter queues: each one as received (DeadLetter), what it is (an ingest event,
a parked effect, the OnFailure record of a stream batch: StreamBatch) and its summary without personal data."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infra.store.codec import redact_payload, redact_text
from infra.views import iso
from local.stack import INGEST_DLQ, NOTIFIER_DLQ

Queue = Literal["ingest", "notifier"]
QUEUE_NAMES: Mapping[Queue, str] = {"ingest": INGEST_DLQ, "notifier": NOTIFIER_DLQ}


@dataclass(frozen=True)
class StreamBatch:
    """An OnFailure record of the stream's event source mapping: where the failed batch's records are."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    first_arrival: int
    last_arrival: int
    size: int
    function_arn: str
    condition: str

    @classmethod
    def read(cls, document: Any) -> StreamBatch | None:
        """The batch an OnFailure record names, or None for any other document."""
        if not isinstance(document, dict) or "DDBStreamBatchInfo" not in document:
            return None
        from aws_lambda_powertools.utilities.parser.models.dynamodb import (
            DynamoDBStreamLambdaOnFailureDestinationModel,
        )
        from pydantic import ValidationError

        try:
            record = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(document)
        except ValidationError:
            return None
        info = record.ddb_stream_batch_info
        return cls(
            stream_arn=info.stream_arn,
            shard_id=info.shard_id,
            start=info.start_sequence_number,
            end=info.end_sequence_number,
            first_arrival=int(info.approximate_arrival_of_first_record.timestamp()),
            last_arrival=int(info.approximate_arrival_of_last_record.timestamp()),
            size=info.batch_size,
            function_arn=record.request_context.function_arn,
            condition=record.request_context.condition,
        )


Kind = Literal["event", "stream_batch", "parked_effect", "unknown"]


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, as received (system attributes and message attributes included)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Any]

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> DeadLetter:
        return cls(
            message_id=str(message["MessageId"]),
            receipt_handle=str(message["ReceiptHandle"]),
            body=str(message.get("Body", "")),
            attributes=dict(message.get("Attributes", {})),
            message_attributes=dict(message.get("MessageAttributes", {})),
        )

    @property
    def sent_ms(self) -> int:
        return int(self.attributes.get("SentTimestamp", "0"))

    @property
    def sent_at(self) -> int:
        return self.sent_ms // 1000

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "0"))

    def document(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def kind(self) -> Kind:
        document = self.document()
        if not isinstance(document, dict):
            return "unknown"
        if StreamBatch.read(document) is not None:
            return "stream_batch"
        if {"effect_id", "channel", "reason"} <= set(document):
            return "parked_effect"
        if "detail-type" in document and isinstance(document.get("detail"), dict):
            return "event"
        return "unknown"

    def summary(self) -> str:
        """One line, without personal data: the ticket and event, the effect and its failure, or the batch."""
        document = self.document()
        kind = self.kind()
        if kind == "event":
            detail = document["detail"]
            subject = (
                f"ticket {detail['ticket_id']}"
                if detail.get("ticket_id")
                else f"customer {detail.get('customer_id', '?')}"
            )
            text = f"{document['detail-type']}: {subject}, event {detail.get('event_id', '?')}"
            error = self.message_attributes.get("ERROR_CODE", {}).get("StringValue")
            return f"{text} (EventBridge could not deliver it: {error})" if error else text
        if kind == "parked_effect":
            return (
                f"effect {document['effect_id']} of ticket {document.get('ticket_id', '?')}: "
                f"{document['channel']} refused it ({document['reason']})"
            )
        if kind == "stream_batch":
            batch = StreamBatch.read(document)
            assert batch is not None
            numbers = batch.start if batch.start == batch.end else f"{batch.start}..{batch.end}"
            return (
                f"stream batch of {count(batch.size, 'record')} ({batch.condition}): shard {batch.shard_id}, "
                f"sequence {numbers}, first written {iso(batch.first_arrival)}"
            )
        return f"unreadable message ({len(self.body.encode())} bytes)"

    def age(self) -> int:
        """Seconds since the message was first sent (SQS's own clock: the wall clock, locally too)."""
        return max(0, int(time.time()) - self.sent_at)

    def shown(self, queue: Queue) -> dict[str, Any]:
        """The message as `show` prints it: personal data redacted (infra/store/codec.py redact_payload)."""
        body = redact_payload(self.body)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body
        return {
            "id": self.message_id,
            "queue": QUEUE_NAMES[queue],
            "kind": self.kind(),
            "summary": self.summary(),
            "sent_at": iso(self.sent_at),
            "age_seconds": self.age(),
            "receive_count": self.receive_count,
            "attributes": {k: v for k, v in sorted(self.attributes.items()) if k != "SentTimestamp"},
            "message_attributes": {
                name: redact_text(str(value.get("StringValue", value.get("DataType", ""))))
                for name, value in sorted(self.message_attributes.items())
            },
            "body": parsed,
        }


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"
