"""SweeperFunction: every minute, fire the SLA timers that came due (warnings, breaches, ladder steps).

Thin: build the service at cold start, run one sweep at the wall-clock now, log and count what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.settings import SweeperSettings
from infra.sweep import sweep
from infra.ticket_service import TicketService
from infra.wiring import Clock, ColdStart, build_service, wall_clock

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class Dependencies:
    service: TicketService
    clock: Clock
    settings: SweeperSettings


def _build() -> Dependencies:
    settings = SweeperSettings()
    return Dependencies(build_service(settings), wall_clock, settings)


_cold_start = ColdStart(_build)
configure = _cold_start.configure  # tests and the local engine inject the service, clock and settings
dependencies = _cold_start.get


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    settings = deps.settings
    report = sweep(deps.service, deps.clock(), settings.page_size, settings.max_pages, settings.lease_seconds)
    logger.info(
        "sweep done",
        items_read=report.items_read,
        claimed=report.claimed,
        skipped=report.skipped,
        failed=len(report.failed),
        effects=len(report.effects),
        more=report.more,
    )
    for ticket_id, error in report.failed:
        logger.error(
            "ticket re-fold failed, retried after its claim lapses", ticket_id=ticket_id, error=error
        )
    metrics.add_metric(name="TimersRead", unit=MetricUnit.Count, value=report.items_read)
    metrics.add_metric(name="EffectsEmitted", unit=MetricUnit.Count, value=len(report.effects))
    metrics.add_metric(name="RefoldsFailed", unit=MetricUnit.Count, value=len(report.failed))
    if report.more:
        metrics.add_metric(name="SweepBacklog", unit=MetricUnit.Count, value=1)
    return {
        "items_read": report.items_read,
        "claimed": report.claimed,
        "skipped": report.skipped,
        "failed": len(report.failed),
        "effects": len(report.effects),
        "more": report.more,
    }
