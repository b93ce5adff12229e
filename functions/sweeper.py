"""SweeperFunction: every minute, fire the SLA timers that came due (warnings, breaches, ladder steps).

Thin: build the service at cold start, run one sweep at the wall-clock now within the time Lambda has left,
log and count what it did: the backlog and the lag of the oldest due timer are the metrics that say whether
the sweeper keeps up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Cold start (tests/test_cold_start.py): this module imports Powertools and no more; the engine and its
# pydantic models come with the dependencies, on first use.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.wiring import Clock, ColdStart, build_service, wall_clock

if TYPE_CHECKING:
    from infra.settings import SweeperSettings
    from infra.sweep import SweepReport
    from infra.ticket_service import TicketService

logger = Logger()
# Only the AWS SDK is traced: Tracer() alone would patch, at import, every library X-Ray supports.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()


@dataclass(frozen=True)
class Dependencies:
    service: TicketService
    clock: Clock
    settings: SweeperSettings


def _build() -> Dependencies:
    from infra.settings import SweeperSettings  # pydantic-settings: loaded with the engine, on first use

    settings = SweeperSettings()
    return Dependencies(build_service(settings), wall_clock, settings)


_cold_start = ColdStart(_build)
configure = _cold_start.configure  # tests and the local engine inject the service, clock and settings
dependencies = _cold_start.get


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from infra.sweep import sweep  # the engine is loaded on first use; after that, a lookup in sys.modules

    deps = dependencies()
    settings = deps.settings
    now = deps.clock()
    report = sweep(
        deps.service,
        now,
        settings.page_size,
        settings.max_pages,
        settings.lease_seconds,
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
        margin_seconds=settings.margin_seconds,
        max_backoff_seconds=settings.max_backoff_seconds,
    )
    logger.info(
        "sweep done",
        items_read=report.items_read,
        claimed=report.claimed,
        skipped=report.skipped,
        failed=len(report.failed),
        effects=len(report.effects),
        more=report.more,
        backlog=report.backlog,
        oldest_due_lag=report.oldest_due_lag,
    )
    if report.out_of_time and report.more:
        logger.warning(
            "sweep stopped at its time budget, the next run goes on",
            backlog=report.backlog,
            backlog_exact=report.backlog_exact,
        )
    for failure in report.failed:
        logger.error(
            "ticket sweep failed, retried when its timer is due again",
            ticket_id=failure.ticket_id,
            error=failure.error,
            attempts=failure.attempts,
            retry_at=failure.retry_at,
        )
    for shard, error in report.read_errors:
        logger.error("due-index shard unread this run", shard=shard, error=error)
    metrics.add_metric(name="TimersRead", unit=MetricUnit.Count, value=report.items_read)
    metrics.add_metric(name="EffectsEmitted", unit=MetricUnit.Count, value=len(report.effects))
    metrics.add_metric(name="RefoldsFailed", unit=MetricUnit.Count, value=len(report.failed))
    # Both every run, zero included, so an alarm on them has a data point each minute.
    metrics.add_metric(name="SweepBacklog", unit=MetricUnit.Count, value=report.backlog)
    metrics.add_metric(name="OldestDueTimerLag", unit=MetricUnit.Seconds, value=report.oldest_due_lag)
    return summary(report)


def summary(report: SweepReport) -> dict[str, Any]:
    """The run's answer: what it read, claimed and fired, and what it left (the local engine's too)."""
    return {
        "items_read": report.items_read,
        "claimed": report.claimed,
        "skipped": report.skipped,
        "failed": len(report.failed),
        "effects": len(report.effects),
        "more": report.more,
        "backlog": report.backlog,
        "oldest_due_lag": report.oldest_due_lag,
    }
