"""The ingest DLQ's messages back to the ingest queue: an SQS message move task where SQS offers one, else
receive, send ten at a time and delete each once its copy is accepted."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from local.dlq.letters import DeadLetter, Queue
from local.dlq.queue_reads import WORK_SECONDS, collect, queue_arn, release, select
from local.dlq.target import Outcome, Target

MOVE_TASK_UNSUPPORTED = {
    "UnsupportedOperation",
    "AWS.SimpleQueueService.UnsupportedOperation",
    "InvalidAction",
}


def _user_attributes(letter: DeadLetter) -> dict[str, Any]:
    """The message attributes as SendMessage takes them (what SQS answered, without its empty list fields)."""
    attributes = {}
    for name, value in letter.message_attributes.items():
        kept = {key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value}
        if "DataType" in kept:
            attributes[name] = kept
    return attributes


def move(target: Target, queue: Queue, destination: str, only: Sequence[str] = ()) -> list[Outcome]:
    """Move messages to `destination` by receive, send and delete, so that none is lost or doubled.

    Every message of the queue is received once and kept hidden while the run lasts (those not selected too,
    so a receive never returns one twice); each selected one is sent, its copy checked (MD5 of the body), and
    only then deleted; a failed send leaves the message in the queue, visible again at the end. A delete that
    fails after its copy went out is retried once with the same receipt handle; if it fails again the message
    is reported: redriven again later, the ingest would find its event id already recorded.
    """
    sqs, url = target.sqs, target.queue_url(queue)
    letters = collect(sqs, url, None, WORK_SECONDS, target.wait_seconds)
    chosen, others = select(sqs, url, letters, only)
    outcomes: list[Outcome] = []
    keep: list[DeadLetter] = list(others)
    for start in range(0, len(chosen), 10):
        chunk = chosen[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=destination,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": letter.body,
                    **({"MessageAttributes": attrs} if (attrs := _user_attributes(letter)) else {}),
                }
                for index, letter in enumerate(chunk)
            ],
        )
        sent = {
            int(entry["Id"])
            for entry in response.get("Successful", [])
            if entry.get("MD5OfMessageBody") == hashlib.md5(chunk[int(entry["Id"])].body.encode()).hexdigest()
        }
        refused = {int(entry["Id"]): entry for entry in response.get("Failed", [])}
        for index, letter in enumerate(chunk):
            if index not in sent:
                keep.append(letter)
                reason = refused.get(index, {}).get("Message") or "the copy's checksum did not match"
                outcomes.append(Outcome.of(letter, "kept", f"not sent: {reason}"))
                continue
            outcomes.append(_delete_after_copy(sqs, url, letter))
    release(sqs, url, keep)
    return outcomes


def _delete_after_copy(sqs: Any, url: str, letter: DeadLetter) -> Outcome:
    from botocore.exceptions import BotoCoreError, ClientError

    error: Exception | None = None
    for _ in range(2):
        try:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
            return Outcome.of(letter, "redriven", "sent back to the ingest queue")
        except (ClientError, BotoCoreError) as failure:
            error = failure
    return Outcome.of(
        letter,
        "duplicate_risk",
        f"sent back, but not deleted from the DLQ ({error}): a second redrive would send it again, "
        "which the ingest ignores (it records each event id once)",
    )


def redrive_ingest(target: Target, only: Sequence[str] = (), wait: float = 60.0) -> list[Outcome]:
    """The ingest DLQ's messages back to the ingest queue: a move task where SQS offers one (every message,
    ordered by SQS), else `move`. Returns one outcome per message (or one for the whole task)."""
    destination = target.redrive_destination()
    if not only and target.move_task():
        started = _start_move_task(target, destination, wait)
        if started is not None:
            return started
    return move(target, "ingest", destination, only)


def _start_move_task(target: Target, destination: str, wait: float) -> list[Outcome] | None:
    from botocore.exceptions import ClientError

    sqs = target.sqs
    source_arn = queue_arn(sqs, target.queue_url("ingest"))
    destination_arn = queue_arn(sqs, destination)
    try:
        handle = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)[
            "TaskHandle"
        ]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in MOVE_TASK_UNSUPPORTED:
            return None
        raise
    except (AttributeError, NotImplementedError):  # a botocore without the action, or a stand-in without it
        return None
    deadline = time.monotonic() + wait
    task: Mapping[str, Any] = {}
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        if task.get("Status") != "RUNNING" or time.monotonic() >= deadline:
            break
        time.sleep(2)
    status = task.get("Status", "RUNNING")
    moved = task.get("ApproximateNumberOfMessagesMoved", 0)
    total = task.get("ApproximateNumberOfMessagesToMove", "?")
    detail = f"SQS message move task {status.lower()}: {moved} of {total} messages moved to the ingest queue"
    if status == "FAILED":
        detail += f" ({task.get('FailureReason', 'no reason given')})"
    elif status == "RUNNING":
        detail += "; it goes on without this command (`sla-engine dlq list` shows what is left)"
    outcome_status: Literal["redriven", "kept"] = "redriven" if status in ("COMPLETED", "RUNNING") else "kept"
    return [Outcome(str(handle), "all messages", outcome_status, detail)]
