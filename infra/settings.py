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


class IngestSettings(EngineSettings):
    pass


class SweeperSettings(EngineSettings):
    page_size: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=20, ge=1)
    lease_seconds: int = Field(default=120, ge=10)
