"""The dead letters of the local stack (moto, built from template.yaml), after a file of events ran through it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.dlq.invoke import failed_items, invoke_quietly
from local.dlq.letters import QUEUE_NAMES, Queue
from local.dlq.stream_engine import StreamEngine
from local.dlq.stream_filter import stream_mapping
from local.dlq.stream_records import streams_client
from local.dlq.target import InvokeResult


@dataclass
class LocalTarget:
    """The dead letters of the local stack (moto, built from template.yaml) a command built and ran."""

    engine: StreamEngine
    where: str = "the local stack (moto, built from template.yaml; no AWS account)"
    wait_seconds: int = 0
    sqs: Any = field(init=False)
    streams: Any = field(init=False)

    def __post_init__(self) -> None:
        self.sqs = self.engine.session.client("sqs")
        self.streams = streams_client(self.engine.session)

    def queue_url(self, queue: Queue) -> str:
        return str(self.engine.resources.physical_ids[QUEUE_NAMES[queue]])

    def redrive_destination(self) -> str:
        return self.engine.resources.ingest_queue_url

    def move_task(self) -> bool:
        return False  # moto implements no StartMessageMoveTask

    def invoke_notifier(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        name = function_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
        if name != stream_mapping().function:
            return InvokeResult(error=f"{function_arn} is not this stack's notifier")
        try:
            response = invoke_quietly(self.engine, name, event)
        except Exception as failure:  # the function's error, as Lambda would report it
            return InvokeResult(error=f"{type(failure).__name__}: {failure}")
        return InvokeResult(failed=failed_items(response))

    def now(self) -> int:
        return self.engine.now


@contextmanager
def open_local(
    catalog: Path | None = None,
    lines: Iterable[str] = (),
    *,
    outage: int | None = None,
    until: int | None = None,
) -> Iterator[LocalTarget]:
    """The local stack, after `lines` (EventBridge events, one a line) ran through it up to `until` (default:
    the last event's delivery), with the HTTP channels answering `outage` meanwhile."""
    from local.replay import read_deliveries  # the replay's delivery order and times

    deliveries = read_deliveries(lines)
    times = [d.at for d in deliveries if d.at is not None]
    start = min(times) if times else int(time.time())
    horizon = until if until is not None else max(times, default=start)
    engine = StreamEngine(catalog, start=start)
    with engine:
        if outage is not None:
            engine.http.status = outage
        for delivery in deliveries:
            at = delivery.at if delivery.at is not None else start
            if at > horizon:
                break
            engine.advance_to(at)
            engine.send_to_ingest_queue(delivery.body)
        engine.advance_to(max(horizon, engine.now))
        engine.http.status = 202  # the outage is over when the operator looks
        yield LocalTarget(engine)
