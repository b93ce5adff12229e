"""The local engine with the deployed event sources: the ingest queue and the table stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from local.dlq.invoke import failed_items, invoke_quietly
from local.dlq.queue_reads import SYSTEM_ATTRIBUTES, queue_arn
from local.dlq.stream_filter import stream_mapping
from local.dlq.stream_poller import StreamPoller
from local.engine import LocalEngine
from local.stack import NOTIFIER_DLQ

INGEST_FUNCTION = "IngestFunction"


class StreamEngine(LocalEngine):
    """The local engine with the deployed event sources: ingest through the ingest queue (its RedrivePolicy
    moves what keeps failing to the DLQ) and the notifier fed from the table's stream (StreamPoller)."""

    _poller: StreamPoller | None = None

    def notify(self) -> None:
        if self._poller is None:
            mapping = stream_mapping()
            queue = mapping.on_failure or NOTIFIER_DLQ
            self._poller = StreamPoller(self, mapping, self.resources.physical_ids[queue])
        self._poller.poll()

    def send_to_ingest_queue(self, body: str) -> None:
        """Put one event in the ingest queue and run the queue's event source until it is empty."""
        self.session.client("sqs").send_message(QueueUrl=self.resources.ingest_queue_url, MessageBody=body)
        self.run_ingest_queue()

    def run_ingest_queue(self) -> None:
        """The ingest queue's event source: batches to IngestFunction until the queue is empty; what fails
        is received again at once, and after the RedrivePolicy's receives SQS moves it to the DLQ."""
        sqs = self.session.client("sqs")
        url = self.resources.ingest_queue_url
        arn = queue_arn(sqs, url)
        for _ in range(100):  # each round receives again what failed; the RedrivePolicy ends that
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,  # a failed message is offered again at the next round
                MessageSystemAttributeNames=SYSTEM_ATTRIBUTES,
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            failed = failed_items(invoke_quietly(self, INGEST_FUNCTION, _sqs_event(messages, arn)))
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
        self.notify()


def _sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Received messages as the SQS event source mapping hands them to the function."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.get("DataType"),
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }
