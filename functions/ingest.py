"""IngestFunction: ticket events from the SQS queue into the ticket's log, state, timer and outbox.

Thin on purpose: parse the SQS batch, hand each body to the ticket service, map the outcome to logs and
metrics. Invalid events are rejected and recorded (a success for SQS); only transient failures are
reported as batch item failures, so SQS redelivers them and, after its retries, parks them in the DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Cold start (tests/test_cold_start.py): this module imports Powertools and no more; the engine and its
# pydantic models come with the dependencies, on first use. Powertools' batch utility is imported before
# anything imports pydantic: it loads all its parser models (for type hints only) when pydantic is loaded.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.wiring import Clock, ColdStart, build_service, wall_clock

if TYPE_CHECKING:
    from infra.ticket_service import TicketService

logger = Logger()
# Only the AWS SDK is traced: Tracer() alone would patch, at import, every library X-Ray supports.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
# A batch whose records all failed still answers with its item failures, so SQS redelivers exactly those.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class Dependencies:
    service: TicketService
    clock: Clock


def _build() -> Dependencies:
    from infra.settings import IngestSettings  # pydantic-settings: loaded with the engine, on first use

    return Dependencies(build_service(IngestSettings()), wall_clock)


_cold_start = ColdStart(_build)
configure = _cold_start.configure  # tests and the local engine inject the service and clock
dependencies = _cold_start.get


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # Each record's logs carry its own id: the message id until the ticket is known, then the ticket id,
    # never the ticket of the record before it in the batch.
    logger.set_correlation_id(record.message_id)
    deps = dependencies()
    try:
        outcome = deps.service.accept_raw(record.body, deps.clock(), fallback_id=record.message_id)
    except Exception as error:  # reported as a batch item failure: SQS redelivers it, then the DLQ keeps it
        logger.warning(
            "event not handled, left for redelivery", message_id=record.message_id, error=type(error).__name__
        )
        metrics.add_metric(name="EventsRetried", unit=MetricUnit.Count, value=1)
        raise
    if outcome.ticket_id:
        logger.set_correlation_id(outcome.ticket_id)
    log = logger.warning if outcome.status == "rejected" else logger.info
    log(
        "event handled",
        status=outcome.status,
        event_id=outcome.event_id,
        ticket_id=outcome.ticket_id,
        reason=_redacted(outcome.reason),
        effects=len(outcome.effects),
    )
    metrics.add_metric(name=f"Events{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)
    if outcome.limit:  # a bound of the store, not a producer's mistake: the operators should know
        metrics.add_metric(name="EventsOverLimit", unit=MetricUnit.Count, value=1)
    if outcome.effects:
        metrics.add_metric(name="EffectsEmitted", unit=MetricUnit.Count, value=len(outcome.effects))


@logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    # The engine loads here on first use: if it cannot (a broken package, a bad catalog), the invocation
    # fails, which the Errors alarm sees, rather than every record of the batch, which it would not.
    dependencies()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def _redacted(reason: str | None) -> str | None:
    """A reason may quote a short excerpt of a bad value: no e-mail address of it reaches the logs."""
    if reason is None:
        return None
    from infra.store.codec import redact_text  # loaded with the service by then: no cold-start cost

    return redact_text(reason)
