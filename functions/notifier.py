"""NotifierFunction: outbox items from the table stream to on-call channels and customers' mailboxes.

Thin on purpose: each stream record's NewImage goes to the delivery service, which delivers the ticket's
effects up to that item in decided order, makes every delivery once and parks what can never succeed in
the notifier DLQ. Whatever it raises is worth a retry and becomes a batch item failure, together with the
same ticket's later records of the batch (infra.notify.ordered), so Lambda retries from that record and,
after its retries, hands the batch to the OnFailure queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Cold start (tests/test_cold_start.py): this module imports Powertools and no more; the delivery service,
# the engine and their pydantic models come with the dependencies, on first use. Powertools' batch utility
# is imported before anything imports pydantic: it loads all its parser models (for type hints only) when
# pydantic is loaded.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.notify.ordered import OrderedStreamProcessor
from infra.wiring import Clock, ColdStart, wall_clock

if TYPE_CHECKING:
    from infra.notify.delivery import DeliveryService

logger = Logger()
# The AWS SDK and the webhooks (urllib on http.client) are traced: Tracer() alone would patch, at import,
# every library X-Ray supports.
tracer = Tracer(patch_modules=["botocore", "httplib"])
metrics = Metrics()
processor = OrderedStreamProcessor()
_METRIC_OF_STATUS = {
    "delivered": "EffectsDelivered",
    "partial": "EffectsPartiallyDelivered",
    "dead_lettered": "EffectsDeadLettered",
    "skipped": "EffectsSkipped",
}


@dataclass(frozen=True)
class Dependencies:
    service: DeliveryService
    clock: Clock


def _build() -> Dependencies:
    # The delivery service and pydantic-settings: loaded with the engine, on first use.
    from infra.notify.delivery import build_delivery_service
    from infra.settings import NotifierSettings

    return Dependencies(build_delivery_service(NotifierSettings()), wall_clock)


_cold_start = ColdStart(_build)
configure = _cold_start.configure  # tests and the local engine inject the delivery service and clock
dependencies = _cold_start.get


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> None:
    from infra.notify.outbox import is_outbox_key  # the engine is loaded on first use; then a dict lookup

    image = record.dynamodb.new_image if record.dynamodb else {}
    # The event source filter passes only INSERTs of outbox items; a local run has no filter, and the
    # notifier's own writes (outcomes, idempotency records) must never be taken for effects.
    if record.event_name != DynamoDBRecordEventName.INSERT or not is_outbox_key(image.get("pk")):
        return
    deps = dependencies()
    if image.get("ticket_id"):
        logger.set_correlation_id(str(image["ticket_id"]))
    for report in deps.service.deliver(image, deps.clock()):
        log = logger.warning if report.status in ("dead_lettered", "partial") else logger.info
        log(
            "effect handled",
            effect_id=report.effect_id,
            ticket_id=report.ticket_id,
            effect_type=report.effect_type,
            kind=report.kind,
            status=report.status,
            channels=report.channels,
            dead_lettered=report.dead_lettered,
            skipped_reason=report.skipped_reason,
        )
        metrics.add_metric(name=_METRIC_OF_STATUS[report.status], unit=MetricUnit.Count, value=1)
        if report.delivered:
            metrics.add_metric(name="ChannelDeliveries", unit=MetricUnit.Count, value=len(report.delivered))


@logger.inject_lambda_context(correlation_id_path="Records[0].eventID")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    dependencies().service.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
