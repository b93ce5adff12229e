"""ReportFunction: on the 1st of each month, the previous month's SLA report (JSON, CSV, HTML) to S3.

Thin: the month is the one before the schedule event's `time` (a rerun with the same event writes the same
month, under the same keys), the report service reads it from the decided-cycle index and writes the three
objects; the handler logs and counts what it read and wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

# Cold start: Powertools and the wiring (boto3); the engine, the S3 client and matplotlib come on first use.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.wiring import ColdStart

if TYPE_CHECKING:
    from infra.report.service import ReportService
    from infra.settings import ReportSettings

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()


@dataclass(frozen=True)
class Dependencies:
    service: ReportService
    settings: ReportSettings


def _build() -> Dependencies:
    from infra.report.service import build_report_service
    from infra.settings import ReportSettings

    settings = ReportSettings()
    return Dependencies(build_report_service(settings), settings)


_cold_start = ColdStart(_build)
configure = _cold_start.configure  # tests and the local engine inject the service and settings
dependencies = _cold_start.get


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from infra.report.service import previous_month

    month = previous_month(datetime.fromisoformat(event["time"]))
    published = dependencies().service.publish(month)
    logger.info(
        "monthly report written",
        month=published.month,
        keys=list(published.keys),
        tickets=published.tickets,
        cycles=published.cycles,
    )
    metrics.add_metric(name="ReportCyclesRead", unit=MetricUnit.Count, value=published.cycles)
    return {
        "month": published.month,
        "keys": list(published.keys),
        "tickets": published.tickets,
        "cycles": published.cycles,
    }
