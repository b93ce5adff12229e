"""The committed sample events (events/*.json) and SQS batches built the way the ingest queue delivers them.

Tests use the same files as `sam local invoke IngestFunction -e events/...`, so a sample that stops matching
the contract fails here before it misleads an operator. The story: ticket T-1001 of customer C-42.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
INGEST_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sla-engine-dev-IngestQueue"
# EventBridge's service principal as SQS reports it for messages it sends.
EVENTBRIDGE_SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"
_SAMPLES = uuid.UUID("6f1c1b4e-3d7a-4f51-9a59-1b0f7c2f1001")


def load_sample(name: str) -> dict[str, Any]:
    """One committed sample by file stem ('ticket-opened', 'sqs-ticket-opened'); a fresh copy each call."""
    stem = name.removesuffix(".json")
    sample: dict[str, Any] = json.loads((EVENTS_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    return sample


def sqs_event(*eventbridge_events: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch as Lambda receives it from the ingest queue, one record per EventBridge event.

    Deterministic (ids derive from the event ids) so the committed sqs-*.json samples can be checked against
    it, and a test can build the same batch twice to exercise redelivery.
    """
    records = []
    for event in eventbridge_events:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        message_id = str(uuid.uuid5(_SAMPLES, f"message:{event['id']}"))
        sent = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        sent_ms = str(int(sent.timestamp() * 1000) + 87)
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": "AQEB" + hashlib.sha256(f"receipt:{message_id}".encode()).hexdigest(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent_ms,
                    "SenderId": EVENTBRIDGE_SENDER_ID,
                    "ApproximateFirstReceiveTimestamp": str(int(sent_ms) + 35),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # SQS's own checksum, not a security use
                "eventSource": "aws:sqs",
                "eventSourceARN": INGEST_QUEUE_ARN,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}
