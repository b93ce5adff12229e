"""One settings model per function, read from the environment at cold start (never at import time)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    """What every function needs: the table and the catalog."""

    model_config = SettingsConfigDict(env_prefix="SLA_", frozen=True)

    table_name: str = Field(min_length=1)
    catalog_path: Path | None = None
    max_attempts: int = Field(default=5, ge=1, le=20)
    # Days the items that hold personal data are kept (rejections with their redacted payload, outbox items):
    # their `expiration` attribute, which the table's TTL acts on (README, "Personal data").
    retention_days: int = Field(default=30, ge=1, le=3650)


class IngestSettings(EngineSettings):
    pass


class SweeperSettings(EngineSettings):
    # Timers per Query of one shard of the due-index. Small pages: what a run has read but not reached when
    # its time is up (at most a page per shard) is read again by the next run.
    page_size: int = Field(default=50, ge=1, le=1000)
    # Queries per shard and run: a bound on what one run reads, even if every claim fails at once.
    max_pages: int = Field(default=20, ge=1)
    # How long a claimed timer stays out of the index head: longer than the function's timeout, so no timer
    # comes back while the run that claimed it may still be working it.
    lease_seconds: int = Field(default=120, ge=10)
    # A ticket whose re-fold keeps failing comes back after lease x 2^(attempts - 1), at most this long.
    max_backoff_seconds: int = Field(default=3600, ge=60)
    # Time left when a run stops taking timers: the slowest re-fold (retries with backoff included), the
    # backlog count and the metrics flush must fit in it before Lambda's timeout cuts the run off.
    margin_seconds: float = Field(default=5.0, ge=1.0, le=20.0)


class QuerySettings(EngineSettings):
    """The read API reads the table and the catalog, nothing else (infra.query)."""


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class NotifierSettings(EngineSettings):
    """The notifier's channels. The variable names are the template's, hence the aliases beside SLA_."""

    model_config = SettingsConfigDict(populate_by_name=True)

    oncall_topic_arn: str = Field(min_length=1, validation_alias="ONCALL_TOPIC_ARN")
    routes_parameter_name: str = Field(pattern=r"^/", validation_alias="ROUTES_PARAMETER_NAME")
    secrets_prefix: str = Field(min_length=1, validation_alias="SECRETS_PREFIX")
    ses_sender: str = Field(min_length=3, validation_alias="SES_SENDER")
    notifier_dlq_url: str = Field(min_length=1, validation_alias="NOTIFIER_DLQ_URL")
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL
    # Seconds the routes and secrets are cached, so a batch does not read SSM and Secrets Manager per record.
    config_max_age: int = Field(default=300, ge=0, le=3600)
    # HTTP attempts per channel and timeout per attempt: bounded so a batch of 10 fits the 30 s Lambda timeout.
    http_max_attempts: int = Field(default=3, ge=1, le=10)
    http_timeout_seconds: float = Field(default=3.0, gt=0, le=10)
    # Idempotency records outlive the stream's 24 h retention, so no redelivery can send twice.
    delivery_record_ttl: int = Field(default=172_800, ge=86_400)


class ReportSettings(EngineSettings):
    """The monthly report: the bucket it writes to (the template's REPORT_BUCKET) and the key prefix."""

    model_config = SettingsConfigDict(populate_by_name=True)

    report_bucket: str = Field(min_length=3, validation_alias="REPORT_BUCKET")
    report_prefix: str = Field(default="reports/", pattern=r"^([^/].*/)?$", validation_alias="REPORT_PREFIX")
