"""The table stream's records: read again between a batch's sequence numbers while the stream keeps them,
and shaped as the event source mapping hands them to the function."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from local.dlq.letters import StreamBatch

STREAM_RETENTION = 86_400
"""Seconds DynamoDB Streams keeps a record."""
EXPIRED_CODES = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}


def streams_client(session: Any) -> Any:
    """A DynamoDB Streams client of `session`; moto answers the regional endpoint, not the account-based one
    botocore picks by default."""
    from botocore.config import Config

    return session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))


class RecordsGone(Exception):
    """The stream no longer has the records a batch names."""


def read_records(streams: Any, batch: StreamBatch) -> list[dict[str, Any]]:
    """The stream records from the batch's first sequence number to its last, as GetRecords gives them."""
    from botocore.exceptions import ClientError

    first, last = int(batch.start), int(batch.end)
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start,
        ).get("ShardIterator")
        records: list[dict[str, Any]] = []
        empty = 0
        while iterator and empty < 5:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page.get("Records", []):
                number = int(record["dynamodb"]["SequenceNumber"])
                if number > last:
                    return records
                if number >= first:
                    records.append(record)
            empty = 0 if page.get("Records") else empty + 1
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) == last:
                return records
            iterator = page.get("NextShardIterator")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in EXPIRED_CODES:
            raise RecordsGone(f"{code}: {error.response.get('Error', {}).get('Message', '')}") from error
        raise
    if not records:
        raise RecordsGone("none of the batch's sequence numbers is in the shard any more")
    return records


def _plain_json(value: Any) -> Any:
    import base64

    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Mapping):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain_json(item) for item in value]
    return value


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the event source mapping hands it to the function (eventSourceARN added,
    times in epoch seconds, binary values in base64)."""
    event = {key: value for key, value in record.items() if key != "ResponseMetadata"}
    event["eventSourceARN"] = stream_arn
    converted: dict[str, Any] = _plain_json(event)
    return converted
