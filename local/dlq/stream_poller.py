"""The template's table-stream event source mapping on moto, feeding the notifier of a local run."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from local.dlq.invoke import failed_items, invoke_quietly
from local.dlq.stream_filter import StreamMapping
from local.dlq.stream_records import lambda_record, streams_client
from local.engine import FakeLambdaContext, LocalEngine


class StreamPoller:
    """The template's table-stream event source mapping, on moto: reads the stream from its oldest record,
    filters, batches, invokes the function, retries a failed batch from its first failed record, and after
    MaximumRetryAttempts sends the OnFailure record to the destination queue, as Lambda does. A function
    error retries the whole batch; BisectBatchOnFunctionError is not modelled (the notifier reports item
    failures, never a function error). Records are stamped with the simulated now they are read at."""

    def __init__(self, engine: LocalEngine, mapping: StreamMapping, destination: str) -> None:
        self.engine = engine
        self.mapping = mapping
        self.destination = destination
        self.stream_arn = engine.resources.table_stream_arn
        self.streams = streams_client(engine.session)
        self.sqs = engine.session.client("sqs")
        self.function_arn = FakeLambdaContext(mapping.function).invoked_function_arn
        self.iterator: str | None = None
        self.shard_id = ""

    def poll(self) -> None:
        if self.iterator is None:
            description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            self.shard_id = description["Shards"][0]["ShardId"]
            self.iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while True:
            page = self.streams.get_records(ShardIterator=self.iterator)
            self.iterator = page["NextShardIterator"]
            if not page["Records"]:
                break
            records.extend(page["Records"])
        events = [lambda_record(record, self.stream_arn) for record in records]
        for event in events:
            event["dynamodb"]["ApproximateCreationDateTime"] = self.engine.now  # written at the simulated now
        for batch in self.mapping.batches(self.mapping.handed(events)):
            self._process(batch)

    def _process(self, batch: list[dict[str, Any]]) -> None:
        pending = batch
        attempts = 0
        error: str | None = None
        while True:
            attempts += 1
            try:
                failed = failed_items(
                    invoke_quietly(self.engine, self.mapping.function, {"Records": pending})
                )
                error = None
            except Exception as failure:  # a function error: Lambda retries the whole batch
                failed, error = ("*",), f"{type(failure).__name__}: {failure}"
            if not failed:
                return
            if "*" not in failed:
                first = min(int(number) for number in failed)
                pending = [e for e in pending if int(e["dynamodb"]["SequenceNumber"]) >= first]
            retries = self.mapping.maximum_retry_attempts
            if retries >= 0 and attempts > retries:
                break
            if attempts > 100:  # "retry until the record expires": a local run stops somewhere
                break
        self._on_failure(pending, attempts, error)

    def _on_failure(self, pending: list[dict[str, Any]], attempts: int, error: str | None) -> None:
        first, last = pending[0]["dynamodb"], pending[-1]["dynamodb"]
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if error else {}),
            },
            "version": "1.0",
            "timestamp": _iso_ms(self.engine.now),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso_ms(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso_ms(last["ApproximateCreationDateTime"]),
                "batchSize": len(pending),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.destination, MessageBody=json.dumps(record))


def _iso_ms(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
