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
from infra.wiring import Clock, build_service, wall_clock

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class Dependencies:
    service: TicketService
    clock: Clock
    settings: SweeperSettings


_dependencies: Dependencies | None = None


def configure(dependencies: Dependencies | None) -> None:
    """Inject the service, clock and settings (tests, replay); None rebuilds them from the environment."""
    global _dependencies  # noqa: PLW0603 - the Lambda's cold-start cache, replaceable by tests
    _dependencies = dependencies


def dependencies() -> Dependencies:
    global _dependencies  # noqa: PLW0603
    if _dependencies is None:
        settings = SweeperSettings()
        _dependencies = Dependencies(build_service(settings), wall_clock, settings)
    return _dependencies


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
        effects=len(report.effects),
        more=report.more,
    )
    metrics.add_metric(name="TimersRead", unit=MetricUnit.Count, value=report.items_read)
    metrics.add_metric(name="EffectsEmitted", unit=MetricUnit.Count, value=len(report.effects))
    if report.more:
        metrics.add_metric(name="SweepBacklog", unit=MetricUnit.Count, value=1)
    return {"items_read": report.items_read, "claimed": report.claimed, "effects": len(report.effects)}
