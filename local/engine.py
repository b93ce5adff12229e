"""The deployed pipeline in one process, for replay, the demo, `invoke` and tests: moto stands in for AWS,
a simulated clock stands in for time, and the real Lambda handlers run unchanged.

Events go in as SQS batches through the IngestFunction handler, exactly as the queue would deliver them;
the table is created from template.yaml, so the local run cannot drift from the infrastructure.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from infra.catalog_source import load_catalog
from infra.settings import SweeperSettings
from infra.store import Store
from infra.ticket_service import TicketService
from infra.views import iso
from sla.catalog import Catalog
from sla.fold import Folded

REGION = "eu-west-1"
SWEEP_INTERVAL = 60  # seconds: the SweeperFunction's schedule in template.yaml
ACCOUNT = "123456789012"
_QUIET_ENV = {
    "POWERTOOLS_METRICS_NAMESPACE": "SlaEngine",
    "POWERTOOLS_SERVICE_NAME": "sla-engine",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools reads from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    timeout_millis: int = 30_000  # the template's Timeout

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_millis

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"


def sqs_event(bodies: list[str], queue: str = "IngestQueue") -> dict[str, Any]:
    """An SQS batch as the Lambda event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{body}")),
                "receiptHandle": "local",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for index, body in enumerate(bodies)
        ]
    }


class LocalEngine(AbstractContextManager["LocalEngine"]):
    """An in-process engine on moto with a simulated clock; use it as a context manager."""

    def __init__(self, catalog_path: Path | None = None, start: int = 0) -> None:
        self.catalog_path = catalog_path
        self.now = start
        self.logs = io.StringIO()
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._log_streams: list[tuple[logging.StreamHandler[Any], Any]] = []

    def clock(self) -> int:
        return self.now

    def __enter__(self) -> LocalEngine:
        from moto import mock_aws  # only local runs pay for moto

        catalog = load_catalog(self.catalog_path)  # before moto starts: a bad catalog leaves nothing behind
        for key, value in _QUIET_ENV.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._mock = mock_aws()
        self._mock.start()
        try:
            self._build(catalog)
        except BaseException:
            self.__exit__(None, None, None)  # stop moto and restore the environment on a failed start
            raise
        return self

    def _build(self, catalog: Catalog) -> None:
        import boto3

        from local.stack import create_resources, load_template

        self.session = boto3.Session(region_name=REGION)
        self.resources = create_resources(self.session)
        self._handlers = {
            logical_id: resource["Properties"]["Handler"]
            for logical_id, resource in load_template()["Resources"].items()
            if resource.get("Type") == "AWS::Serverless::Function"
        }
        self.dynamodb = self.session.client("dynamodb")
        self.store = Store(self.dynamodb, self.resources.table_name)
        self.service = TicketService(self.store, catalog)
        self._wire_handlers()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from functions import ingest, notifier, sweeper

        ingest.configure(None)
        sweeper.configure(None)
        notifier.configure(None)
        for handler, stream in self._log_streams:
            handler.setStream(stream)
        self._mock.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _wire_handlers(self) -> None:
        from functions import ingest, notifier, sweeper
        from local.notifier import RecordingTransport, build_local_dependencies

        ingest.configure(ingest.Dependencies(self.service, self.clock))
        sweeper.configure(
            sweeper.Dependencies(
                self.service, self.clock, SweeperSettings(table_name=self.resources.table_name)
            )
        )
        # PagerDuty and Slack answer through a recording fake: nothing leaves the machine.
        self.http = RecordingTransport()
        notifier.configure(
            build_local_dependencies(self.session, self.resources, self.http, clock=self.clock)
        )
        for module in (ingest, sweeper, notifier):
            handler = module.logger.registered_handler
            if isinstance(handler, logging.StreamHandler):
                # Keep the handlers' JSON logs off the CLI's stdout, until the engine closes.
                self._log_streams.append((handler, handler.setStream(self.logs)))

    # -- driving the pipeline ---------------------------------------------------------------------------

    def deliver(self, bodies: list[str]) -> dict[str, Any]:
        """Run one SQS batch through the IngestFunction handler at the simulated now, then the notifier."""
        response: dict[str, Any] = self.invoke("IngestFunction", sqs_event(bodies))
        self.notify()
        return response

    def notify(self) -> None:
        """Hand the outbox's new items to the NotifierFunction handler, as the table stream would.

        moto 5.2's DynamoDB Streams API does not answer current botocore, so the stream's INSERT records are
        rebuilt from the outbox items not yet delivered, in the order the stream keeps: commit after commit,
        a ticket's items in sort key order. Effects are never re-ordered here: the notifier delivers each
        item's effects in the order they were decided. An item that failed is offered again at the next
        call, as Lambda retries a failed stream batch.
        """
        from infra.store.outbox import OUTBOX_KIND
        from local.notifier import stream_event

        pending = [item for item in self.items_of_kind(OUTBOX_KIND) if "delivered_at" not in item]
        if pending:
            pending.sort(key=lambda item: (int(item["emitted_at"]), item["pk"], item["sk"]))
            self.invoke("NotifierFunction", stream_event(pending, self.resources))

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Run a function of template.yaml on its event, as `sam local invoke` would, but on moto.

        What the handler prints (Powertools' metrics, logs) goes to `self.logs`, off the CLI's stdout.
        """
        handler_path = self._handlers.get(function)
        if handler_path is None:
            raise ValueError(f"unknown function {function!r}; known: {', '.join(sorted(self._handlers))}")
        module_name, _, attribute = handler_path.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        with contextlib.redirect_stdout(self.logs):
            return handler(event, FakeLambdaContext(function))

    def sweep(self) -> dict[str, Any]:
        """Run the SweeperFunction handler once at the simulated now, as its schedule would."""
        event: dict[str, Any] = {
            "version": "0",
            "id": f"sweep-{self.now}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": iso(self.now),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        response: dict[str, Any] = self.invoke("SweeperFunction", event)
        self.notify()
        return response

    def advance_to(self, instant: int) -> None:
        """Move the simulated clock to `instant`, running the every-minute sweeper on the way.

        Only the minutes at which a timer is due are visited: a sweep at any other minute reads nothing
        and does nothing, so skipping it changes no outcome. A sweep at `instant` itself is left for after
        the events of that instant, as it would be deployed.
        """
        last_sweep = -1
        while True:
            due = self.store.next_timer()
            if due is None:
                break
            tick = max(-(-due // SWEEP_INTERVAL) * SWEEP_INTERVAL, self.now, last_sweep + SWEEP_INTERVAL)
            if tick >= instant:
                break
            self.now = last_sweep = tick
            self.sweep()
        self.now = max(self.now, instant)

    # -- reading the outcome ----------------------------------------------------------------------------

    def items_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every item of one kind. A Scan, which only this local tool may do: the functions never scan."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.resources.table_name,
            "FilterExpression": "#kind = :kind",
            "ExpressionAttributeNames": {"#kind": "kind"},
            "ExpressionAttributeValues": {":kind": {"S": kind}},
        }
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend({k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def ticket_ids(self) -> list[str]:
        return sorted(item["pk"].removeprefix("TICKET#") for item in self.items_of_kind("state"))

    def tickets(self, now: int) -> list[Folded]:
        return [self.service.view(ticket_id, now) for ticket_id in self.ticket_ids()]

    def rejections(self) -> list[dict[str, Any]]:
        return sorted(
            ({"event_id": i["event_id"], "reason": i["reason"]} for i in self.items_of_kind("rejected")),
            key=lambda r: r["event_id"],
        )

    def outbox(self) -> list[dict[str, Any]]:
        """Effects in the order the engine wrote them (commit after commit, each in decided order), each with
        the simulated time it acted and the channels the notifier recorded (empty while not yet delivered)."""
        from infra.store.outbox import OUTBOX_KIND

        rows: list[dict[str, Any]] = []
        items = self.items_of_kind(OUTBOX_KIND)
        for item in sorted(items, key=lambda item: (int(item["emitted_at"]), item["pk"], item["sk"])):
            outcomes = item.get("deliveries") or {}
            rows.extend(
                {
                    **view,
                    "emitted_at": int(item["emitted_at"]),
                    "channels": list((outcomes.get(view["effect_id"]) or {}).get("channels", [])),
                }
                for view in json.loads(item["effects"])
            )
        return rows
