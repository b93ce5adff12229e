"""ReportFunction on moto (DynamoDB and S3 built from template.yaml): a month of records in, three objects out.

The hand-worked month of tests/kpi_month.py goes through the ticket service into the template's table (each
commit writing its decided-cycle index); the handler runs on its sample event, as deployed (its settings
from the template's environment, its clients built at cold start), and writes April's report. Its JSON is
what `sla-engine report --format json` prints for the same events; CSV and HTML carry the same figures; a
rerun writes the same keys; a month without tickets still gets its three objects, empty.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

import functions.report as report_function
from cli.main import app
from infra.catalog_source import load_catalog
from infra.report.service import month_period, object_key, previous_month
from infra.store import Store
from infra.store.report_index import REPORT_SHARDS
from infra.ticket_service import TicketService
from local.engine import FakeLambdaContext
from local.stack import LocalResources
from tests.conftest import epoch
from tests.kpi_month import month_events
from tests.samples import EVENTS_DIR, load_sample
from tests.test_function_samples import scheduled_rule

SAMPLE = "report-scheduled-event"
APRIL = ("reports/2026/04/sla-report-2026-04.json", "reports/2026/04/sla-report-2026-04.csv",
         "reports/2026/04/sla-report-2026-04.html")  # fmt: skip


def _received(envelope: dict[str, Any]) -> int:
    return max(epoch(envelope["detail"]["occurred_at"]), epoch(envelope["time"]))


@pytest.fixture
def deployed(
    aws: boto3.Session, resources: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, str]]:
    """The function's environment as the template sets it; its dependencies built from it at first use."""
    environment = resources.environment("ReportFunction")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    report_function.configure(None)
    yield aws.client("s3"), environment["REPORT_BUCKET"]
    report_function.configure(None)


def ingest_month(aws: boto3.Session, resources: LocalResources) -> None:
    service = TicketService(Store(aws.client("dynamodb"), resources.table_name), load_catalog(None))
    envelopes = sorted(month_events(), key=_received)
    for envelope in envelopes:
        assert service.accept(envelope, _received(envelope), envelope["id"]).status == "accepted"
    end = _received(envelopes[-1]) + 86_400
    for ticket in sorted({e["detail"]["ticket_id"] for e in envelopes if "ticket_id" in e["detail"]}):
        service.refold(ticket, end)  # the sweeper's runs, folded into one


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return report_function.handler(event, FakeLambdaContext("ReportFunction", timeout_millis=900_000))  # type: ignore[arg-type]


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def cli_report(tmp_path: Path, output_format: str) -> str:
    events = tmp_path / "month.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in month_events()), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["report", str(events), "--from", "2026-04-01", "--to", "2026-05-01", "--format", output_format]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_month_of_records_becomes_three_objects_with_the_figures_of_sla_engine_report(
    aws: boto3.Session, resources: LocalResources, deployed: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = deployed
    ingest_month(aws, resources)
    calls: list[str] = []
    table = report_function.dependencies().service.store.client  # type: ignore[attr-defined]
    table.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))

    answer = invoke(load_sample(SAMPLE))

    assert calls == ["Query"] * REPORT_SHARDS  # a Query per shard of the month (one page each), no Scan
    assert answer["month"] == "2026-04" and tuple(answer["keys"]) == APRIL
    stored = objects(s3, bucket)
    assert sorted(stored) == sorted(APRIL)
    document = json.loads(stored[APRIL[0]])
    assert document == json.loads(cli_report(tmp_path, "json"))
    assert stored[APRIL[1]].decode() == cli_report(tmp_path, "csv")
    # Figures worked by hand in tests/kpi_month.py: T3 and T5 breached first_response, T4 a hot-swap disk.
    rows = list(csv.DictReader(io.StringIO(stored[APRIL[1]].decode())))
    breached = {(r["section"], r["item"]): r["value"] for r in rows if r["measure"] == "breached"}
    assert breached[("compliance", "first_response")] == str(
        next(e["breached"] for e in document["groups"][0]["compliance"] if e["metric"] == "first_response")
    )
    assert breached[("hardware", "hot_swap")] == "1"
    page = stored[APRIL[2]].decode()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3
    assert "SLA report 2026-04-01 → 2026-05-01" in page
    for credit in document["credits"]:
        assert credit["customer_id"] in page
    for key in APRIL:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key=APRIL[2])["ContentType"] == "text/html; charset=utf-8"


def test_a_rerun_replaces_the_months_objects_under_the_same_keys(
    aws: boto3.Session, resources: LocalResources, deployed: tuple[Any, str]
) -> None:
    s3, bucket = deployed
    ingest_month(aws, resources)
    first = invoke(load_sample(SAMPLE))
    before = objects(s3, bucket)

    again = invoke(load_sample(SAMPLE))

    assert again == first
    assert objects(s3, bucket) == before  # the same three keys, the same bytes
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == sorted(APRIL * 2)  # the versioned bucket keeps the first run


def test_a_month_without_tickets_gets_its_three_objects_empty(deployed: tuple[Any, str]) -> None:
    s3, bucket = deployed
    event = {**load_sample(SAMPLE), "time": "2026-07-01T02:00:00Z"}

    answer = invoke(event)

    assert (answer["month"], answer["tickets"], answer["cycles"]) == ("2026-06", 0, 0)
    stored = objects(s3, bucket)
    document = json.loads(stored["reports/2026/06/sla-report-2026-06.json"])
    assert document["period"] == {"from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"}
    assert (document["groups"], document["lines"], document["credits"]) == ([], [], [])
    assert stored["reports/2026/06/sla-report-2026-06.csv"].decode().count("\n") == 1  # the header alone
    assert "Nothing happened in the period." in stored["reports/2026/06/sla-report-2026-06.html"].decode()


def test_the_report_sample_is_the_event_its_schedule_rule_sends() -> None:
    event = load_sample(SAMPLE)
    rule = scheduled_rule(event, "ReportFunction")
    assert rule["ScheduleExpression"] == "cron(0 2 1 * ? *)"  # 02:00 UTC on the 1st
    assert re.fullmatch(r"\d{4}-\d\d-01T02:00:00Z", event["time"])


@pytest.mark.parametrize("backend", ["memory", "moto"])
def test_sla_engine_invoke_runs_the_report_on_its_sample(backend: str) -> None:
    result = CliRunner().invoke(
        app,
        ["invoke", "ReportFunction", "--event", str(EVENTS_DIR / f"{SAMPLE}.json"), "--backend", backend],
    )

    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("response: ")]
    response = json.loads(line.removeprefix("response: "))
    # A fresh engine holds no ticket: April's three objects, written empty.
    assert response == {"month": "2026-04", "keys": list(APRIL), "tickets": 0, "cycles": 0}


def test_the_run_of_the_1st_reports_the_month_before_across_a_year_end() -> None:
    assert previous_month(datetime(2027, 1, 1, 2, tzinfo=UTC)) == "2026-12"
    assert previous_month(datetime.fromisoformat("2026-05-01T02:00:00Z")) == "2026-04"
    december = month_period("2026-12")
    assert (december.start, december.end) == (epoch("2026-12-01T00:00:00Z"), epoch("2027-01-01T00:00:00Z"))
    assert object_key("reports/", "2026-12", "csv") == "reports/2026/12/sla-report-2026-12.csv"
