"""The deployed pipeline in one process, for replay, the demo, `invoke` and tests, with a simulated clock, on
one of two backends:

- `moto` (`LocalEngine`): moto stands in for AWS, the table and queues are created from template.yaml, and
  the real Lambda handlers run unchanged: events go in as SQS batches through the IngestFunction handler,
  exactly as the queue would deliver them. The most faithful run, and a slow one: moto's cost grows with
  the square of the history (a few hundred events).
- `memory` (`MemoryEngine`): the store contract in memory (`local.memory`), and the services the handlers
  call, driven directly (the handlers' Powertools shell costs more than the engine's work on a small
  event). Linear in the history: months of tickets in minutes. The handlers are wired to it as well, for
  `invoke`.

Both give the same output for the same history (tests/test_backends.py), as they share everything but the
store and the shell: the services, the fold, the commit plan and the notifier's delivery service.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import io
import json
import logging
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from infra.catalog_source import load_catalog
from infra.settings import SweeperSettings
from infra.store import Store
from infra.store.outbox import OUTBOX_KIND
from infra.store.rejections import edge_rejection_rows
from infra.ticket_service import TicketService
from infra.views import iso
from local.outcomes import OutcomeRecorder, RecordOutcome
from sla.catalog import Catalog
from sla.folded import Folded

if TYPE_CHECKING:
    from functions import notifier
    from infra.notify.delivery import DeliveryService
    from infra.store.port import ReportStore
    from local.memory.aws import MemoryAws
    from local.memory.bucket import MemoryBucket
    from local.memory.store import MemoryStore
    from local.notifier import RecordingTransport

Backend = Literal["memory", "moto"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)

REGION = "eu-west-1"
SWEEP_INTERVAL = 60  # seconds: the SweeperFunction's schedule in template.yaml
ACCOUNT = "123456789012"
MEMORY_TABLE = "sla-engine-local-memory"  # what the memory backend's settings name the table
FREEZE_EVERY = 10_000  # events ingested between two gc.freeze() of the memory backend
YOUNG_COLLECTION_EVERY = 50_000
"""The memory backend's gen0 threshold (CPython's is 700) while it runs. A fold allocates thousands of
objects and drops them all, so a young collection every 700 keeps finding a fold's live working set,
promoting it, and then collecting the older generations for it: 2.4 s of the collector in a 60,000-event
replay, 0.6 s at this threshold, with the same peak memory."""
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


def message_id(index: int, body: str) -> str:
    """The `messageId` of the record at `index` of a local batch: drawn from both, so either backend names
    a record (its fallback event id, its `batchItemFailures` entry) the same.

    `str(uuid.uuid5(uuid.NAMESPACE_URL, f"{index}:{body}"))`, spelled out: the UUID object's checks cost
    twice the hash, once for every event a replay takes (tests/test_memory_backend.py compares the two)."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + f"{index}:{body}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def sqs_event(bodies: list[str], queue: str = "IngestQueue") -> dict[str, Any]:
    """An SQS batch as the Lambda event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": message_id(index, body),
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


def open_engine(
    backend: Backend, catalog_path: Path | None = None, start: int = 0, *, keep_sent: bool = True
) -> Engine:
    """The engine of a backend, not yet started: use it as a context manager."""
    if backend == "moto":
        return LocalEngine(catalog_path, start, keep_sent=keep_sent)
    if backend == "memory":
        return MemoryEngine(catalog_path, start, keep_sent=keep_sent)
    raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")


class Engine(AbstractContextManager["Engine"], ABC):
    """What both backends share: the simulated clock, the sweeper at every due minute, the handlers wired
    for `invoke` (their logs kept off the CLI's stdout) and the reading of the outcome."""

    service: TicketService
    http: RecordingTransport

    def __init__(self, catalog_path: Path | None = None, start: int = 0, *, keep_sent: bool = True) -> None:
        """`keep_sent`: keep every request sent to the channels (`http.requests`, the memory backend's
        `aws.sent`) for a test to read back; a long replay, which reads only the outbox, counts them."""
        self.catalog_path = catalog_path
        self.now = start
        self.keep_sent = keep_sent
        self.logs = io.StringIO()
        self._saved_env: dict[str, str | None] = {}
        self._log_streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._log_levels: dict[logging.Logger, int] = {}
        self._handlers: dict[str, str] = {}

    def clock(self) -> int:
        return self.now

    def __enter__(self) -> Engine:
        # Before anything starts: a bad catalog leaves nothing behind.
        catalog = load_catalog(self.catalog_path)
        for key, value in _QUIET_ENV.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        try:
            self._start(catalog)
        except BaseException:
            self.__exit__(None, None, None)  # stop the backend and restore the environment on a failed start
            raise
        return self

    @abstractmethod
    def _start(self, catalog: Catalog) -> None:
        """Build the backend and the service, and wire the handlers (`_wire_handlers`)."""

    def _stop(self) -> None:
        """Release what `_start` built beyond the handlers' wiring."""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from functions import ingest, notifier, query, report, sweeper

        ingest.configure(None)
        query.configure(None)
        sweeper.configure(None)
        notifier.configure(None)
        report.configure(None)
        for handler, stream in self._log_streams:
            handler.setStream(stream)
        for logger, level in self._log_levels.items():
            logger.setLevel(level)
        self._stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _wire_handlers(
        self,
        template: dict[str, Any],
        sweeper_settings: SweeperSettings,
        notifier_deps: notifier.Dependencies,
        log_level: int = logging.NOTSET,
    ) -> None:
        """Inject the backend into the three handlers; their logs (from `log_level` up, when given: for their
        service's loggers and its children's, such as the delivery service's) go to `self.logs`."""
        from functions import ingest, notifier, query, sweeper
        from infra.query.service import QueryService

        self._handlers = {
            logical_id: resource["Properties"]["Handler"]
            for logical_id, resource in template["Resources"].items()
            if resource.get("Type") == "AWS::Serverless::Function"
        }
        # The service as the handler sees it, noting each record's outcome for `invoke` (local.outcomes).
        self.recorder = OutcomeRecorder(self.service)
        ingest.configure(ingest.Dependencies(cast("TicketService", self.recorder), self.clock))
        sweeper.configure(sweeper.Dependencies(self.service, self.clock, sweeper_settings))
        notifier.configure(notifier_deps)
        # The read API over the same store, at the simulated now (either backend's store reads the queue).
        query.configure(query.wire(QueryService(self.service.store, self.service.catalog), self.clock))  # type: ignore[arg-type]
        for module in (ingest, sweeper, notifier, query):
            handler = module.logger.registered_handler
            if isinstance(handler, logging.StreamHandler):
                # Keep the handlers' JSON logs off the CLI's stdout, until the engine closes.
                self._log_streams.append((handler, handler.setStream(self.logs)))
            if log_level != logging.NOTSET:
                self._raise_log_level(module.logger.name, log_level)

    def _wire_report(self, table_name: str, s3: Any, bucket: str) -> None:
        """The ReportFunction over this backend's store, writing to `bucket` through `s3` (`invoke`)."""
        from functions import report
        from infra.report.service import ReportService
        from infra.settings import ReportSettings

        settings = ReportSettings(table_name=table_name, report_bucket=bucket)
        store = cast("ReportStore", self.service.store)
        service = ReportService(store, self.service.catalog, s3, bucket, settings.report_prefix)
        report.configure(report.Dependencies(service, settings))

    def _raise_log_level(self, service: str, level: int) -> None:
        """On the loggers themselves, not the handler: a record below the level is then never formatted."""
        names = [name for name in logging.root.manager.loggerDict if name.startswith(f"{service}.")]
        for logger in map(logging.getLogger, [service, *names]):
            self._log_levels.setdefault(logger, logger.level)
            logger.setLevel(level)

    # -- driving the pipeline ---------------------------------------------------------------------------

    def deliver(self, bodies: list[str]) -> dict[str, Any]:
        """Take one SQS batch at the simulated now, then hand the new effects to the notifier.

        Returns what the IngestFunction answers SQS: the records to redeliver (`batchItemFailures`).
        """
        response = self._ingest(bodies)
        self.notify()
        return response

    def sweep(self) -> dict[str, Any]:
        """Run the sweeper once at the simulated now, as its schedule would, then the notifier; returns the
        SweeperFunction's answer (functions.sweeper.summary)."""
        response = self._sweep()
        self.notify()
        return response

    @abstractmethod
    def _ingest(self, bodies: list[str]) -> dict[str, Any]: ...

    @abstractmethod
    def _sweep(self) -> dict[str, Any]: ...

    @abstractmethod
    def notify(self) -> None:
        """Hand the outbox's new items to the notifier, as the table stream would: commit after commit, a
        ticket's items in sort key order. Effects are never re-ordered here: the notifier delivers each
        item's effects in the order they were decided. A ticket's item that failed is offered again, with
        the ticket's later ones, at the next call, as Lambda retries a failed stream batch."""

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Run a function of template.yaml on its event, as `sam local invoke` would, on this backend.

        What the handler prints (Powertools' metrics, logs) goes to `self.logs`, off the CLI's stdout.
        """
        handler_path = self._handlers.get(function)
        if handler_path is None:
            raise ValueError(f"unknown function {function!r}; known: {', '.join(sorted(self._handlers))}")
        module_name, _, attribute = handler_path.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        with contextlib.redirect_stdout(self.logs):
            return handler(event, FakeLambdaContext(function))

    def invoke_recorded(self, function: str, event: dict[str, Any]) -> tuple[Any, list[RecordOutcome]]:
        """`invoke`, with the outcome of each record the IngestFunction took (none for another function)."""
        with self.recorder.recording() as outcomes:
            response = self.invoke(function, event)
        return response, outcomes

    def show_all_logs(self) -> None:
        """Let the handlers log at their own levels again, into `self.logs` (`invoke --verbose`)."""
        for logger, level in self._log_levels.items():
            logger.setLevel(level)

    def advance_to(self, instant: int) -> None:
        """Move the simulated clock to `instant`, running the every-minute sweeper on the way.

        Only the minutes at which a timer is due are visited: a sweep at any other minute reads nothing
        and does nothing, so skipping it changes no outcome. A sweep at `instant` itself is left for after
        the events of that instant, as it would be deployed.
        """
        last_sweep = -1
        while True:
            due = self.service.store.timers.next_timer()
            if due is None:
                break
            tick = max(-(-due // SWEEP_INTERVAL) * SWEEP_INTERVAL, self.now, last_sweep + SWEEP_INTERVAL)
            if tick >= instant:
                break
            self.now = last_sweep = tick
            self.sweep()
        self.now = max(self.now, instant)

    # -- reading the outcome ----------------------------------------------------------------------------

    @abstractmethod
    def items_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every item of one kind ("outbox", "rejected"), as the table holds it: what only this local tool
        lists; the functions never do."""

    @abstractmethod
    def ticket_ids(self) -> list[str]:
        """Every ticket committed at least once, in order."""

    def tickets(self, now: int) -> Iterator[Folded]:
        """Each ticket as it stands at `now`, one at a time: a long history's folds are not all held at once
        (holding them took 10 MB more at 20,000 events, some 100 MB at 200,000)."""
        for ticket_id in self.ticket_ids():
            yield self.service.view(ticket_id, now)

    def rejections(self) -> list[dict[str, Any]]:
        rows = (
            edge_rejection_rows(item)
            if item["sk"] == "EDGE"
            else [{"event_id": item["event_id"], "reason": item["reason"]}]
            for item in self.items_of_kind("rejected")
        )
        return sorted((row for item_rows in rows for row in item_rows), key=lambda r: r["event_id"])

    def outbox(self) -> list[dict[str, Any]]:
        """Effects in the order the engine wrote them (commit after commit, each in decided order), each with
        the simulated time it acted and the channels the notifier recorded (empty while not yet delivered)."""
        return list(self.outbox_rows())

    def outbox_rows(self) -> Iterator[dict[str, Any]]:
        """`outbox`, a row at a time: a long history's effects are not all held twice over."""
        for item in sorted(self.items_of_kind(OUTBOX_KIND), key=_stream_order):
            outcomes = item.get("deliveries") or {}
            for view in json.loads(item["effects"]):
                view["emitted_at"] = int(item["emitted_at"])
                view["channels"] = list((outcomes.get(view["effect_id"]) or {}).get("channels", []))
                yield view


def _stream_order(item: dict[str, Any]) -> tuple[int, str, str]:
    return int(item["emitted_at"]), item["pk"], item["sk"]


class LocalEngine(Engine):
    """The engine on moto, the handlers driven as Lambda would drive them."""

    def _start(self, catalog: Catalog) -> None:
        import boto3
        from moto import mock_aws  # only the moto backend pays for moto

        from local.notifier import RecordingTransport, build_local_dependencies
        from local.stack import create_resources, load_template

        self._mock = mock_aws()
        self._mock.start()
        self._held: list[dict[str, Any]] = []  # stream records the notifier gave back, in order
        self.session = boto3.Session(region_name=REGION)
        self.resources = create_resources(self.session)
        self.dynamodb = self.session.client("dynamodb")
        self.store = Store(self.dynamodb, self.resources.table_name)
        self.service = TicketService(self.store, catalog)
        # PagerDuty and Slack answer through a recording fake: nothing leaves the machine.
        self.http = RecordingTransport(keep=self.keep_sent)
        self._wire_handlers(
            load_template(),
            SweeperSettings(table_name=self.resources.table_name),
            build_local_dependencies(self.session, self.resources, self.http, clock=self.clock),
        )
        bucket = self.resources.environment("ReportFunction")["REPORT_BUCKET"]
        self._wire_report(self.resources.table_name, self.session.client("s3"), bucket)

    def _stop(self) -> None:
        mock = getattr(self, "_mock", None)
        if mock is not None:
            mock.stop()

    def _ingest(self, bodies: list[str]) -> dict[str, Any]:
        response: dict[str, Any] = self.invoke("IngestFunction", sqs_event(bodies))
        return response

    def _sweep(self) -> dict[str, Any]:
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
        return response

    def notify(self) -> None:
        """The table stream's records as moto keeps them (its DynamoDB Streams API does not answer current
        botocore): those written since the last call, taken off moto's shard, so that neither a Scan nor a
        shard that moto copies for every transaction item grows with the history. The NotifierFunction
        gets the INSERTs of outbox items, as the template's event source filter passes them; the records it
        gives back (a failure and its ticket's later records) come again first at the next call."""
        from boto3.dynamodb.types import TypeDeserializer
        from moto.dynamodb.models import dynamodb_backends

        from infra.notify.outbox import is_outbox_key
        from local.notifier import stream_event

        shard = dynamodb_backends[ACCOUNT][REGION].get_table(self.resources.table_name).stream_shard
        assert shard is not None, "the template's table has a stream"
        taken, shard.items = shard.items, []
        deserializer = TypeDeserializer()
        images = [
            {
                key: deserializer.deserialize(value)
                for key, value in record.record["dynamodb"]["NewImage"].items()
            }
            for record in taken
            if record.record["eventName"] == "INSERT"
            and is_outbox_key(record.record["dynamodb"]["Keys"]["pk"].get("S"))
        ]
        records = [*self._held, *stream_event(images, self.resources)["Records"]]
        if not records:
            return
        answer = self.invoke("NotifierFunction", {"Records": records})
        failed = {failure["itemIdentifier"] for failure in answer.get("batchItemFailures", [])}
        self._held = [record for record in records if record["dynamodb"]["SequenceNumber"] in failed]

    def ticket_ids(self) -> list[str]:
        return sorted(item["pk"].removeprefix("TICKET#") for item in self.items_of_kind("state"))

    def items_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """A Scan, which only this local tool may do: the functions never scan."""
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


class MemoryEngine(Engine):
    """The engine on the in-memory store, the services driven directly; the notifier reads the store's
    stream of new outbox items, so each step costs what it changed, not what the store holds."""

    store: MemoryStore
    aws: MemoryAws  # what the notifier sent through SNS, SES and the DLQ
    bucket: MemoryBucket  # what the ReportFunction wrote
    delivery: DeliveryService
    _thresholds: tuple[int, int, int] | None = None  # the collector's before `_start`

    def _start(self, catalog: Catalog) -> None:
        from local.memory.bucket import MemoryBucket
        from local.memory.store import MemoryStore
        from local.notifier import RecordingTransport, build_memory_dependencies, memory_settings
        from local.stack import load_template

        template = load_template()

        self.store = MemoryStore()
        self.service = TicketService(self.store, catalog)
        self.http = RecordingTransport(keep=self.keep_sent)
        self.sweeper_settings = SweeperSettings(table_name=MEMORY_TABLE)
        deps, self.aws = build_memory_dependencies(
            self.store,
            memory_settings(template, MEMORY_TABLE, REGION, ACCOUNT),
            self.http,
            clock=self.clock,
            keep_sent=self.keep_sent,
        )
        self.delivery = deps.service
        self._held: list[dict[str, Any]] = []  # stream records of tickets whose delivery failed, in order
        self._ingested = 0
        self._thresholds = gc.get_threshold()  # given back at `_stop`
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *self._thresholds[1:])
        # Warnings and errors only: an info line per event and per delivery (Powertools' JSON) would cost
        # more than the engine's own work, and hold a long history's worth of text in `self.logs`.
        self._wire_handlers(template, self.sweeper_settings, deps, log_level=logging.WARNING)
        self.bucket = MemoryBucket()
        self._wire_report(MEMORY_TABLE, self.bucket, "sla-engine-local-memory-reports")

    def _ingest(self, bodies: list[str]) -> dict[str, Any]:
        """The IngestFunction's work without its shell: each record to the ticket service, and a record that
        raises reported for redelivery, as the batch processor reports it. Only the records' ids are made,
        not the rest of an SQS batch, which nothing here reads."""
        failures = []
        for index, body in enumerate(bodies):
            record_id = message_id(index, body)
            try:
                self.service.accept_raw(body, self.now, fallback_id=record_id)
            except Exception:  # a transient failure: SQS redelivers it (the replay does, a few times)
                failures.append({"itemIdentifier": record_id})
        self._ingested += len(bodies)
        if self._ingested >= FREEZE_EVERY:
            # The store keeps what it was given until the engine closes: set it aside from the cyclic
            # collector, which would otherwise walk the whole history again at each of its full passes.
            gc.freeze()
            self._ingested = 0
        return {"batchItemFailures": failures}

    def _sweep(self) -> dict[str, Any]:
        from functions.sweeper import summary
        from infra.sweep import sweep

        settings = self.sweeper_settings
        report = sweep(
            self.service,
            self.now,
            settings.page_size,
            settings.max_pages,
            settings.lease_seconds,
            margin_seconds=settings.margin_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        )
        return summary(report)

    def notify(self) -> None:
        """A record whose delivery raises holds back its ticket's later records (infra.notify.ordered)."""
        records, self._held = [*self._held, *self.store.take_stream()], []
        failed: set[str] = set()
        for image in records:
            if image["pk"] not in failed:
                try:
                    self.delivery.deliver(image, self.now)
                    continue
                except Exception:  # retried at the next call, as Lambda retries the batch
                    failed.add(image["pk"])
            self._held.append(image)

    def _stop(self) -> None:
        gc.unfreeze()  # what was set aside goes back to the collector, with the store it belonged to
        if self._thresholds is not None:  # None: the start failed before setting them
            gc.set_threshold(*self._thresholds)

    def items_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return self.store.items_of_kind(kind)

    def ticket_ids(self) -> list[str]:
        return self.store.ticket_ids()
