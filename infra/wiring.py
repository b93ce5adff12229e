"""Building the service from settings: the one place that turns configuration into clients and objects.

The handlers import it at cold start: it loads boto3 (part of the bare stack every function pays for) and
no more; the engine (settings, catalog, store, ticket service, with their pydantic models) is loaded by
`build_service` on first use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from infra.query.service import QueryService
    from infra.settings import EngineSettings
    from infra.ticket_service import TicketService

# botocore's standard retry mode: backoff with jitter on throttling and 5xx, within the Lambda's time.
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=5)

Clock = Callable[[], int]
T = TypeVar("T")


def wall_clock() -> int:
    return int(time.time())


def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=AWS_CONFIG)


def build_service(settings: EngineSettings, client: Any | None = None) -> TicketService:
    from infra.catalog_source import load_catalog
    from infra.store import Store
    from infra.ticket_service import TicketService

    store = Store(client or dynamodb_client(), settings.table_name, settings.retention_days)
    return TicketService(store, load_catalog(settings.catalog_path), settings.max_attempts)


def build_query_service(settings: EngineSettings, client: Any | None = None) -> QueryService:
    """The read API's service: the same table and catalog as the writers, read only."""
    from infra.catalog_source import load_catalog
    from infra.query.service import QueryService
    from infra.store import Store

    store = Store(client or dynamodb_client(), settings.table_name, settings.retention_days)
    return QueryService(store, load_catalog(settings.catalog_path))


class ColdStart(Generic[T]):
    """A Lambda's dependencies, built on first use (at cold start, from settings) and kept for warm
    invocations; tests and the local engine put their own in with `configure`, and None rebuilds."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None

    def configure(self, value: T | None) -> None:
        self._value = value

    def get(self) -> T:
        if self._value is None:
            self._value = self._build()
        return self._value
