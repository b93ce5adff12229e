"""Local replay (SPEC section 7): a file of EventBridge events through the deployed code path, with a
simulated clock, on the memory backend (the default: linear in the history) or moto (local.engine).

Each event is delivered at the later of its `detail.occurred_at` and its envelope's `time` (the moment it
was put on the bus): a line whose `time` is after its `occurred_at` models a late delivery, e.g. a reply
stamped 07:10 that arrived at 07:40, after the timers due in between have fired. A `time` that is missing,
unreadable or without an offset means "delivered at `occurred_at`", as does a `time` before it (an event
cannot be received before it happened). Deliveries run in the order of that delivery time, and events
delivered at the same time in the engine's own total order (`occurred_at`, `sequence`, `event_id`), so a
shuffled file, or one with repeated lines, replays to the same output. A line without a readable
`occurred_at` (or one outside the instants the engine takes, like year 9999) is delivered at its `time` if
it has one, else first, and is rejected with its reason; the simulated clock and its horizon are drawn from
the readable instants only, so one far-future event cannot push them past the calendars.

A line that is not UTF-8 text, not JSON or not a JSON object is rejected by the replay itself, under the
id `line-N` (its line number in the file), and the lines around it still run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.views import iso
from local.engine import Backend, Engine, open_engine
from local.jsonl import text_of
from sla.events import excerpt, out_of_range
from sla.folded import Folded

DAY = 86_400
REDELIVERIES = 5
TICKET_KEYS = ("ticket_id", "customer_id", "support_level", "severity", "status", "line")
CLOCK_KEYS = (
    "metric",
    "cycle",
    "state",
    "started_at",
    "due_at",
    "stopped_at",
    "elapsed_seconds",
    "target_seconds",
)


@dataclass(frozen=True)
class Delivery:
    """One line of the file; `at` is when it is delivered (None: not known, delivered first).

    `problem`: why the line is not an event at all (not UTF-8, not JSON, not an object), rejected by the
    replay under the id `line-N` rather than delivered."""

    at: int | None
    order: tuple[int, int, str, str]
    body: str
    line: int = 0
    problem: str | None = None


def read_deliveries(lines: Iterable[str | bytes]) -> list[Delivery]:
    """Lines in the order they are delivered; unreadable lines go first, to be rejected with their reason.

    A bytes line is one that is not UTF-8 text (local.jsonl.decode_lines)."""
    deliveries = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            if line.strip():
                deliveries.append(_unreadable(number, text_of(line), "not UTF-8 text"))
            continue
        body = line.strip()
        if not body:
            continue
        envelope, problem = _object(body)
        if problem is not None:
            deliveries.append(_unreadable(number, body, problem))
            continue
        detail = envelope.get("detail")
        detail = detail if isinstance(detail, dict) else {}
        occurred = _instant(detail.get("occurred_at"))
        sent = _instant(envelope.get("time"))
        known = [t for t in (occurred, sent) if t is not None]
        at = max(known) if known else None
        sequence = detail.get("sequence")
        order = (
            occurred if occurred is not None else 0,
            sequence if isinstance(sequence, int) else -1,
            str(detail.get("event_id", "")),
            body,
        )
        deliveries.append(Delivery(at, order, body, number))
    return sorted(deliveries, key=lambda d: (d.at is not None, d.at or 0, d.order))


def _unreadable(number: int, body: str, problem: str) -> Delivery:
    return Delivery(None, (0, -1, "", body), body, number, f"line {number}: {problem}")


def _object(body: str) -> tuple[dict[str, Any], str | None]:
    """The line's JSON object, or why it is none (the column of a syntax error: the line is known)."""
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as error:
        return {}, f"not JSON ({error.msg} at column {error.colno})"
    except RecursionError:
        return {}, "JSON nested too deeply to be an EventBridge event"
    if isinstance(parsed, dict):
        return parsed, None
    if isinstance(parsed, list):
        return {}, "a JSON array, not an event; expected one JSON object per line (JSONL)"
    return {}, f"an EventBridge event must be a JSON object, got {excerpt(parsed)}"


def _instant(value: Any) -> int | None:
    """Epoch seconds of an ISO 8601 instant with an offset, within the instants the engine takes (those
    of the event contract); None for anything else, year 9999 included."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None or out_of_range(parsed) is not None:
        return None
    return int(parsed.timestamp())


def replay(
    lines: Iterable[str | bytes],
    until: datetime | None = None,
    catalog_path: Path | None = None,
    backend: Backend = "memory",
    note: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the deliveries on `backend` and return the document of SPEC section 7.

    `note` is told, in a sentence, of a replay that runs no event: an empty file, or `until` before them."""
    deliveries, start, horizon = schedule(lines, until)
    del lines  # a caller that handed its lines over has them freed as they are delivered
    if note is not None:
        _notes(deliveries, until, note)
    with open_engine(backend, catalog_path, start=start, keep_sent=False) as engine:
        play(engine, deliveries, horizon)
        return document(engine, horizon)


@dataclass(frozen=True)
class Message:
    """One message the channels received, as its recipient reads it, and the simulated instant it left.

    `channel`: sns (the on-call topic), pagerduty, slack or email; `key` ties it to its alert (the dedup
    key) or its ticket (an e-mail's subject names it)."""

    at: int
    channel: str
    to: str
    subject: str
    text: str
    key: str = ""


def replay_with_messages(
    lines: Iterable[str | bytes],
    until: datetime | None = None,
    catalog_path: Path | None = None,
    backend: Backend = "memory",
) -> tuple[dict[str, Any], list[Message]]:
    """`replay`, and every message the notifier sent, in order, read back from the local engine's recording
    transport and its SNS and SES stand-ins: the very text built by infra.notify, not a rendering of it."""
    deliveries, start, horizon = schedule(lines, until)
    with open_engine(backend, catalog_path, start=start, keep_sent=True) as engine:
        messages: list[Message] = []
        seen: dict[str, int] = {}  # HTTP requests, SES and SNS calls read so far
        notify = engine.notify

        def notify_and_read() -> None:  # every send happens in notify, at the simulated now
            notify()
            messages.extend(_new_messages(engine, seen))

        engine.notify = notify_and_read  # type: ignore[method-assign]
        play(engine, deliveries, horizon)
        return document(engine, horizon), messages


def _new_messages(engine: Engine, seen: dict[str, int]) -> list[Message]:
    """The messages sent since the last call (`seen`: how many of each source were read before)."""
    found = []
    requests = engine.http.requests
    for request in requests[seen.get("http", 0) :]:
        sent = request.document
        if "pagerduty" in request.url:
            payload = sent.get("payload") or {}
            action = str(sent.get("event_action"))
            text = str(payload.get("summary") or "")  # an acknowledge or a resolve carries only its key
            found.append(Message(engine.now, "pagerduty", action, action, text, str(sent.get("dedup_key"))))
        else:
            found.append(Message(engine.now, "slack", "webhook", "", str(sent.get("text", sent)), ""))
    seen["http"] = len(requests)
    for service, calls in _aws_calls(engine).items():
        for call in calls[seen.get(service, 0) :]:
            if service == "ses":
                message = call.get("Message") or {}
                to = ", ".join((call.get("Destination") or {}).get("ToAddresses") or [])
                subject = str((message.get("Subject") or {}).get("Data", ""))
                body = str(((message.get("Body") or {}).get("Text") or {}).get("Data", ""))
                found.append(Message(engine.now, "email", to, subject, body, subject))
            else:
                published = _object(str(call.get("Message", "")))[0]
                key = str(published.get("dedup_key", ""))
                subject = str(call.get("Subject", ""))
                found.append(Message(engine.now, "sns", "on-call topic", subject, "", key))
        seen[service] = len(calls)
    return found


def _aws_calls(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """SES and SNS sends, each in order: the memory backend's stand-ins record them; on moto, its own
    SES and SNS backends."""
    aws = getattr(engine, "aws", None)
    if aws is not None:
        return {service: [dict(r) for r in aws.messages(service)] for service in ("ses", "sns")}
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    from local.engine import ACCOUNT, REGION

    emails = [
        {
            "Destination": {"ToAddresses": list((m.destinations or {}).get("ToAddresses", []))},
            "Message": {"Subject": {"Data": m.subject}, "Body": {"Text": {"Data": m.body}}},
        }
        for m in ses_backends[ACCOUNT][REGION].sent_messages
    ]
    published = [
        {"Message": message, "Subject": subject}
        for topic in sns_backends[ACCOUNT][REGION].topics.values()
        for _, message, subject, _, _ in topic.sent_notifications
    ]
    return {"ses": emails, "sns": published}


def _notes(deliveries: list[Delivery], until: datetime | None, note: Callable[[str], None]) -> None:
    if not deliveries:
        note("EVENTS holds no event; the document is empty")
        return
    times = [d.at for d in deliveries if d.at is not None]
    if until is not None and times and int(until.timestamp()) < min(times):
        first = iso(min(times))
        note(
            f"--until {until.isoformat()} is before every event (the first is delivered at {first}); none was replayed"
        )


def schedule(lines: Iterable[str | bytes], until: datetime | None = None) -> tuple[list[Delivery], int, int]:
    """The deliveries in order, the instant the replay starts at and its horizon (`until`, or a day after
    the last delivery). Only instants the engine takes count (`_instant`)."""
    deliveries = read_deliveries(lines)
    times = [d.at for d in deliveries if d.at is not None]
    horizon = int(until.timestamp()) if until else max(times, default=0) + DAY
    return deliveries, min(times, default=0), horizon


def play(engine: Engine, deliveries: list[Delivery], horizon: int) -> None:
    """Deliver each event at its time, the sweeper running in between, up to `horizon`. `deliveries` is
    consumed: each is let go once done, which a long history's peak memory notices."""
    start = engine.now
    deliveries.reverse()
    while deliveries:
        delivery = deliveries.pop()
        if delivery.problem is not None:  # not an event at all: rejected whatever the horizon
            engine.service.reject(f"line-{delivery.line}", delivery.problem, delivery.body, engine.now)
            continue
        at = delivery.at if delivery.at is not None else start
        if at > horizon:
            break
        engine.advance_to(at)
        _deliver(engine, delivery.body)
    engine.advance_to(horizon)


def _deliver(engine: Engine, body: str) -> None:
    """Redeliver a transient failure as SQS would; a record that keeps failing is left to the DLQ."""
    for _ in range(REDELIVERIES):
        if not engine.deliver([body]).get("batchItemFailures"):
            return


def document(engine: Engine, now: int) -> dict[str, Any]:
    alerts: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for e in engine.outbox_rows():
        if e["type"] == "alert":
            alerts.append(
                {
                    "at": iso(e["emitted_at"]),
                    **{k: e[k] for k in ("ticket_id", "metric", "cycle", "kind", "route")},
                    "paged_route": e.get("paged_route") or e["route"],
                    "dedup_key": e["dedup_key"],
                }
            )
        else:
            notifications.append(
                {
                    "at": iso(e["emitted_at"]),
                    **{k: e[k] for k in ("ticket_id", "customer_id", "kind")},
                    "channel": "+".join(e["channels"]) or "undelivered",
                    "locale": e["locale"],
                }
            )
    return {
        "tickets": [ticket_document(folded) for folded in engine.tickets(now) if folded.state is not None],
        "alerts": alerts,
        "notifications": notifications,
        "rejected": engine.rejections(),
    }


def ticket_document(folded: Folded) -> dict[str, Any]:
    state = folded.state
    assert state is not None
    ticket: dict[str, Any] = {key: getattr(state, key) for key in TICKET_KEYS}
    ticket["clocks"] = [
        {
            key: iso(value) if key.endswith("_at") else value
            for key, value in ((k, getattr(c, k)) for k in CLOCK_KEYS)
        }
        for c in state.clocks
    ]
    return ticket
