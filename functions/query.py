"""QueryFunction: the control panel's read API (SPEC section 8) behind the HTTP API and its JWT authorizer.

Thin: the routes, their validation and their errors are the resolver's (infra.query.api), the answers the
query service's (infra.query.service); this module builds them on first use, resolves each request, and
counts what operators watch: failures (an alarm) and the queue index items each page read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Cold start (tests/test_cold_start.py): this module imports Powertools and no more; the resolver, the
# engine and their pydantic models come with the dependencies, on first use.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.wiring import Clock, ColdStart, build_query_service, wall_clock

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from infra.query.service import QueryService

logger = Logger()
# Only the AWS SDK is traced: Tracer() alone would patch, at import, every library X-Ray supports.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()


@dataclass(frozen=True)
class Dependencies:
    app: APIGatewayHttpResolver


def _failed(error: Exception) -> None:
    # The type only: a store error's text may quote an item (a customer's id) and the logs keep none.
    logger.error("request failed", error=type(error).__name__)
    metrics.add_metric(name="QueryFailures", unit=MetricUnit.Count, value=1)


def _queue_read(items: int) -> None:
    metrics.add_metric(name="QueueItemsRead", unit=MetricUnit.Count, value=items)


def wire(service: QueryService, clock: Clock) -> Dependencies:
    """The resolver over `service` and `clock`, reporting to this module's logs and metrics (tests and
    `sla-engine serve` configure the handler with it)."""
    from infra.query.api import build_app  # the resolver and its models: loaded on first use

    return Dependencies(build_app(service, clock, on_failure=_failed, on_queue_read=_queue_read))


def _build() -> Dependencies:
    from infra.settings import QuerySettings  # pydantic-settings: loaded with the engine, on first use

    return wire(build_query_service(QuerySettings()), wall_clock)


_cold_start = ColdStart(_build)
configure = _cold_start.configure
dependencies = _cold_start.get


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = dependencies().app.resolve(event, context)
    metrics.add_metric(name="QueryRequests", unit=MetricUnit.Count, value=1)
    # The route and the status only: no path (it names a ticket), no query string (it may carry a token).
    logger.info("request answered", route=event.get("routeKey"), status=response.get("statusCode"))
    return response
