"""The notifier DLQ's OnFailure records redriven: each batch's records read from the stream again and handed
to the notifier; parked permanent failures stay for the operator."""

from __future__ import annotations

from collections.abc import Sequence

from infra.store.outbox import OUTBOX_PREFIX
from local.dlq.letters import DeadLetter, StreamBatch, count
from local.dlq.queue_reads import WORK_SECONDS, collect, order, release, select
from local.dlq.stream_filter import StreamMapping, stream_mapping
from local.dlq.stream_records import STREAM_RETENTION, RecordsGone, lambda_record, read_records
from local.dlq.target import Outcome, Target


def redrive_notifier(
    target: Target,
    only: Sequence[str] = (),
    *,
    drop_expired: bool = False,
    mapping: StreamMapping | None = None,
) -> list[Outcome]:
    """Each OnFailure record's batch read from the stream again and handed to the notifier; the record is
    deleted once the notifier reports every record delivered. Parked permanent failures stay."""
    mapping = mapping or stream_mapping()
    sqs, url = target.sqs, target.queue_url("notifier")
    letters = collect(sqs, url, None, WORK_SECONDS, target.wait_seconds)
    chosen, others = select(sqs, url, letters, only)
    outcomes: list[Outcome] = []
    keep = list(others)
    for letter in order(chosen):
        # Hidden for another while from now: the redrives before this one took their time.
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=WORK_SECONDS
        )
        outcome = _redrive_one(target, letter, mapping, drop_expired)
        outcomes.append(outcome)
        if outcome.status in ("redriven", "dropped"):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
        else:
            keep.append(letter)
    release(sqs, url, keep)
    return outcomes


def _redrive_one(target: Target, letter: DeadLetter, mapping: StreamMapping, drop_expired: bool) -> Outcome:
    kind = letter.kind()
    if kind == "parked_effect":
        return Outcome.of(
            letter,
            "kept",
            "a permanent failure (the channel refused the effect, or it has no route or secret): a retry "
            "cannot help; fix the cause, then remove the message (`show` prints the effect)",
        )
    batch = StreamBatch.read(letter.document()) if kind == "stream_batch" else None
    if batch is None:
        return Outcome.of(letter, "kept", "not a stream batch record: nothing to redrive")
    age = target.now() - batch.first_arrival
    try:
        if age >= STREAM_RETENTION:
            raise RecordsGone(f"written {age // 3600} h ago, past the stream's 24 h")
        records = read_records(target.streams, batch)
    except RecordsGone as gone:
        detail = (
            f"the stream no longer has these records ({gone}). The effects are not lost: they are the "
            "batch's OUTBOX items, still in the table without delivered_at until their TTL "
            "(RetentionDays), and each ticket's next stream record delivers them, in order"
        )
        if drop_expired:
            return Outcome.of(letter, "dropped", detail + "; pointer removed (--drop-expired)")
        return Outcome.of(letter, "expired", detail + "; pointer kept (--drop-expired removes it)")
    events = mapping.handed(lambda_record(r, batch.stream_arn) for r in records)
    tickets = sorted(
        {str(e["dynamodb"]["Keys"]["pk"].get("S", "")).removeprefix(OUTBOX_PREFIX) for e in events}
    )
    of_tickets = f" (outbox of {', '.join(tickets)})" if tickets else ""
    delivered = 0
    for chunk in mapping.batches(events):
        result = target.invoke_notifier(batch.function_arn, {"Records": chunk})
        if not result.ok:
            problem = result.error or f"records {', '.join(result.failed)} failed again"
            return Outcome.of(
                letter,
                "kept",
                f"{delivered} of {count(len(events), 'record')}{of_tickets} delivered, then: {problem}",
            )
        delivered += len(chunk)
    return Outcome.of(
        letter,
        "redriven",
        f"{count(len(records), 'record')} read again from the stream, {len(events)} handed to the "
        f"notifier{of_tickets}: all delivered",
    )
