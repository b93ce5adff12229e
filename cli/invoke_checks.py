"""What `sla-engine invoke` checks before it runs a handler: that the file holds the event the function's
trigger sends.

A handler given the wrong shape fails deep in a library: Powertools' `UnexpectedBatchTypeError` for a raw
EventBridge event given to IngestFunction, a `KeyError` for an SQS record without `messageId`. Each
function's trigger is read from template.yaml (its `Events`: SQS, DynamoDB, Schedule) and the event is
checked against what that trigger delivers, so a mistake is one line naming the problem; the likeliest one,
the raw sample instead of the SQS-wrapped one beside it, names the sample to use. What is inside an SQS
record's body is not checked here: that is the handler's job, and a bad body is a rejection with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sla.calendar import to_epoch
from sla.events import EARLIEST_INSTANT, LATEST_INSTANT, json_kind

SQS = "SQS"
STREAM = "DynamoDB"
SCHEDULES = frozenset({"Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent"})
_STREAM_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
_ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_SQS_EXAMPLE = '{"Records": [{"messageId": "...", "body": "<the EventBridge event as JSON text>", ...}]}'
_STREAM_EXAMPLE = (
    '{"Records": [{"eventID": "...", "eventName": "INSERT", '
    '"dynamodb": {"SequenceNumber": "...", "NewImage": {...}}}]}'
)


class BadEvent(ValueError):
    """The event file cannot be handed to the function: `option` is the command-line name to blame."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(problem)
        self.option = option
        self.problem = problem


def function_triggers(template: Mapping[str, Any]) -> dict[str, str | None]:
    """Each function of the template with the type of its first trigger (None: invoked directly)."""
    triggers: dict[str, str | None] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        kinds = [event.get("Type") for event in events.values() if isinstance(event, dict)]
        triggers[logical_id] = next((str(kind) for kind in kinds if kind), None)
    return triggers


def read_event_file(path: Path) -> Any:
    """The JSON value in `path`, or a BadEvent naming `--event` and why it is not one: unreadable, a
    directory, not UTF-8 text (a binary file), empty or not JSON. A UTF-8 byte order mark is allowed."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise BadEvent("--event", f"{path} is a directory, not an event file") from None
    except OSError as error:
        raise BadEvent("--event", f"cannot read {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadEvent(
            "--event",
            f"{path} is not UTF-8 text (a binary file?): "
            f"byte 0x{data[error.start]:02x} at offset {error.start}",
        ) from None
    if not text.strip():
        raise BadEvent("--event", f"{path} is empty; it should hold one event as a JSON object")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadEvent(
            "--event", f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise BadEvent("--event", f"{path} is JSON nested too deeply to be an event") from None


def check_event(
    function: str, triggers: Mapping[str, str | None], payload: Any, path: Path, samples: Path | None = None
) -> None:
    """Refuse, with a BadEvent, an event that `function`'s trigger would never send it.

    `samples` is the folder of sample events (default: the one beside `path`), to name the right one.
    """
    if function not in triggers:
        known = ", ".join(sorted(triggers)) or "none"
        raise BadEvent("FUNCTION", f"unknown function {function!r}; the functions of template.yaml: {known}")
    if not isinstance(payload, dict):
        raise BadEvent("--event", f"{path} holds {json_kind(payload)}; an event is a JSON object")
    trigger = triggers[function]
    if trigger == SQS:
        _check_sqs(function, payload, path, samples or path.parent)
    elif trigger == STREAM:
        _check_stream(function, payload, path)
    elif trigger in SCHEDULES and "Records" in payload:
        raise BadEvent(
            "--event",
            f"{path} is a batch of records, but {function} is triggered by a schedule and takes a "
            "Scheduled Event; to ingest events, invoke IngestFunction",
        )


def _check_sqs(function: str, payload: dict[str, Any], path: Path, samples: Path) -> None:
    trigger = f"{function} is triggered by SQS and takes a batch of SQS records"
    if "Records" not in payload:
        if "detail-type" in payload or "detail" in payload:
            raise BadEvent(
                "--event",
                f"{path} is a raw EventBridge event, but {trigger}; {_sqs_hint(payload, path, samples)}",
            )
        raise BadEvent("--event", f'{path} has no "Records": {trigger}, like {_SQS_EXAMPLE}')
    records = _records(payload, path, trigger)
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(record, dict):
            raise BadEvent("--event", f"{where}: expected an SQS record (an object), got {json_kind(record)}")
        source = record.get("eventSource")
        if source is not None and source != "aws:sqs":
            raise BadEvent(
                "--event", f"{where}.eventSource: {json_kind(source)} is not an SQS record; {trigger}"
            )
        message_id = record.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            raise BadEvent(
                "--event",
                f"{where}.messageId: {_missing(record, 'messageId')}; every SQS record carries its id",
            )
        body = record.get("body")
        if not isinstance(body, str):
            raise BadEvent(
                "--event",
                f"{where}.body: {_missing(record, 'body')}; the body is the EventBridge event as JSON text "
                '(a string, e.g. "{\\"version\\": \\"0\\", ...}")',
            )


def _sqs_hint(payload: dict[str, Any], path: Path, samples: Path) -> str:
    """Which SQS-wrapped sample to use instead of a raw event: the one beside it, else by its detail-type."""
    candidates = [path.with_name(f"sqs-{path.name}")]
    detail_type = payload.get("detail-type")
    if isinstance(detail_type, str):
        candidates.append(samples / f"sqs-{'-'.join(detail_type.lower().split())}.json")
    for candidate in candidates:
        if candidate.is_file():
            return f"use {candidate}, the same event wrapped as the queue delivers it"
    return f"wrap it as an SQS record's body, like {_SQS_EXAMPLE}"


def _check_stream(function: str, payload: dict[str, Any], path: Path) -> None:
    trigger = f"{function} is triggered by the table's stream and takes a batch of DynamoDB Streams records"
    if "Records" not in payload:
        raise BadEvent("--event", f'{path} has no "Records": {trigger}, like {_STREAM_EXAMPLE}')
    records = _records(payload, path, trigger)
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(record, dict):
            raise BadEvent(
                "--event", f"{where}: expected a stream record (an object), got {json_kind(record)}"
            )
        source = record.get("eventSource")
        if source is not None and source != "aws:dynamodb":
            raise BadEvent(
                "--event", f"{where}.eventSource: {json_kind(source)} is not a stream record; {trigger}"
            )
        name = record.get("eventName")
        if name not in _STREAM_EVENT_NAMES:
            raise BadEvent(
                "--event",
                f"{where}.eventName: {_missing(record, 'eventName')}; "
                f"one of {', '.join(_STREAM_EVENT_NAMES)}",
            )
        change = record.get("dynamodb")
        if not isinstance(change, dict):
            raise BadEvent(
                "--event", f"{where}.dynamodb: {_missing(record, 'dynamodb')}; the change, an object"
            )
        sequence = change.get("SequenceNumber")
        if not isinstance(sequence, str) or not sequence:
            raise BadEvent(
                "--event", f"{where}.dynamodb.SequenceNumber: {_missing(change, 'SequenceNumber')}; a string"
            )
        for image in ("NewImage", "OldImage", "Keys"):
            if image in change:
                _check_image(change[image], f"{where}.dynamodb.{image}")


def _check_image(image: Any, where: str) -> None:
    """An item as the stream writes it: each attribute a typed value, like {"S": "text"} or {"N": "42"}."""
    if not isinstance(image, dict):
        raise BadEvent("--event", f"{where}: expected an object of attributes, got {json_kind(image)}")
    for name, value in image.items():
        if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _ATTRIBUTE_TYPES):
            raise BadEvent(
                "--event",
                f'{where}.{name}: expected a typed attribute value like {{"S": "text"}} or {{"N": "42"}}, '
                f"got {json_kind(value)}",
            )


def _records(payload: dict[str, Any], path: Path, trigger: str) -> list[Any]:
    records = payload["Records"]
    if not isinstance(records, list):
        raise BadEvent("--event", f"Records: expected a list of records, got {json_kind(records)}; {trigger}")
    if not records:
        raise BadEvent("--event", f"Records: empty in {path}; a batch holds at least one record")
    return records


def _missing(record: dict[str, Any], key: str) -> str:
    return "missing" if key not in record else f"got {json_kind(record[key])}"


def receipt_time(payload: Any) -> int | None:
    """When the queue received an SQS batch (its records' latest `SentTimestamp`), in epoch seconds, or None.

    The moment to run the engine's clock at: the samples were sent in 2025, and run at the wall clock every
    one of them would be refused as more than 30 days late. None for a batch without that time (a stream
    batch, a schedule, a hand-written record) or with one outside the instants the engine takes.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list):
        return None
    sent: list[int] = []
    for record in payload["Records"]:
        attributes = record.get("attributes") if isinstance(record, dict) else None
        value = attributes.get("SentTimestamp") if isinstance(attributes, dict) else None
        if isinstance(value, str) and value.isdigit():
            sent.append(int(value) // 1000)
    if not sent:
        return None
    latest = max(sent)
    if latest > to_epoch(LATEST_INSTANT) or latest < to_epoch(EARLIEST_INSTANT):
        return None
    return latest
