"""The monthly report: a month of the decided-cycle index in, SPEC section 9's figures out to S3.

The ReportFunction runs it on the 1st of each month for the month before. The figures are `sla.kpis` over the
records the commits wrote (infra.store.report_index), read with one Query per index shard, never a Scan, so
they are those `sla-engine report` computes from the same events (tests/contract/test_report_index.py).

Three objects a month, under fixed keys (`<prefix><yyyy>/<mm>/sla-report-<yyyy-mm>.json|csv|html`): a rerun,
Lambda's retry of a failed run or an operator's, replaces them with the figures as they stand then, so
there is never more than one report of a month to choose from (the bucket's versioning keeps the ones
replaced: README, "Monthly report").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.report.csv_text import csv_text
from infra.store.port import ReportStore
from sla.calendar import to_epoch
from sla.catalog import Catalog
from sla.kpis import Period, report

if TYPE_CHECKING:
    from infra.settings import ReportSettings

CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def previous_month(at: datetime) -> str:
    """The month before the one `at` falls in (UTC), `yyyy-mm`: what a run on the 1st reports."""
    at = at.astimezone(UTC)
    year, month = (at.year, at.month - 1) if at.month > 1 else (at.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def month_period(month: str) -> Period:
    """[the 1st of `month`, the 1st of the next) at midnight UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return Period(to_epoch(start), to_epoch(end))


def object_key(prefix: str, month: str, extension: str) -> str:
    return f"{prefix}{month[:4]}/{month[5:]}/sla-report-{month}.{extension}"


@dataclass(frozen=True)
class Published:
    """What a run wrote: the month, the objects' keys, and what it counted."""

    month: str
    keys: tuple[str, ...]
    tickets: int
    cycles: int


class ReportService:
    def __init__(self, store: ReportStore, catalog: Catalog, s3: Any, bucket: str, prefix: str) -> None:
        self.store = store
        self.catalog = catalog
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    def documents(self, month: str) -> tuple[dict[str, str], int, int]:
        """The month's report in each format (extension -> text), and the tickets and cycles it read."""
        from infra.report.html import report_html  # matplotlib: only once a report is drawn

        records = self.store.report.month(month)
        period = month_period(month)
        document = report(records.tickets, records.cycles, self.catalog, period)
        texts = {
            "json": json.dumps(document, ensure_ascii=False, indent=2) + "\n",
            "csv": csv_text(document),
            "html": report_html(document, records, self.catalog, period),
        }
        return texts, len(records.tickets), len(records.cycles)

    def publish(self, month: str) -> Published:
        """Write the month's three objects, replacing any earlier run's."""
        texts, tickets, cycles = self.documents(month)
        keys = []
        for extension, text in texts.items():
            key = object_key(self.prefix, month, extension)
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=text.encode("utf-8"),
                ContentType=CONTENT_TYPES[extension],
            )
            keys.append(key)
        return Published(month, tuple(keys), tickets, cycles)


def build_report_service(
    settings: ReportSettings, dynamodb: Any | None = None, s3: Any | None = None
) -> ReportService:
    """The service from the function's settings: the table, the catalog and the bucket."""
    import boto3

    from infra.catalog_source import load_catalog
    from infra.store import Store
    from infra.wiring import AWS_CONFIG, dynamodb_client

    store = Store(dynamodb or dynamodb_client(), settings.table_name, settings.retention_days)
    client = s3 or boto3.client("s3", config=AWS_CONFIG)
    return ReportService(
        store, load_catalog(settings.catalog_path), client, settings.report_bucket, settings.report_prefix
    )
