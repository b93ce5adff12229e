"""A report's figures as CSV: every figure on a row of its own, to pivot in a spreadsheet.

Shared by `sla-engine report --format csv` and the ReportFunction (infra.report.service): the columns are
`period_from, period_to, section, level, severity, line, agent, customer, item, measure, value`, empty for
null.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sla.kpi_records import DIMENSIONS

CSV_COLUMNS = (
    "period_from",
    "period_to",
    "section",
    *DIMENSIONS,
    "item",
    "measure",
    "value",
)
RESPONSE_MEASURES = (
    "count",
    "mean_seconds",
    "median_seconds",
    "p90_seconds",
    "median_working_seconds",
    "waiting",
    "unanswered",
)


def csv_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure as one row: what it is about (section, the group's key, item), what it measures, its value."""
    rows: list[dict[str, Any]] = []

    def add(
        section: str, about: dict[str, Any], item: str, values: dict[str, Any], measures: tuple[str, ...]
    ) -> None:
        for measure in measures:
            rows.append(
                {"section": section, **about, "item": item, "measure": measure, "value": values[measure]}
            )

    tally = ("met", "breached", "percent")
    for group in document["groups"]:
        key = group["key"]
        for entry in group["compliance"]:
            add("compliance", key, entry["metric"], entry, tally)
        add("reaction", key, "", group["reaction"], RESPONSE_MEASURES)
        add("useful_response", key, "", group["useful_response"], RESPONSE_MEASURES)
        add("csat", key, "", group["csat"], ("ratings", "good", "percent", "feedback_rate"))
        for entry in group["hardware"]:
            add("hardware", key, entry["component_class"], entry, tally)
    for line in document["lines"]:
        add(
            "lines",
            {"line": line["line"]},
            "",
            line,
            ("escalations", "pickup_met", "pickup_breached", "median_pickup_seconds"),
        )
    for credit in document["credits"]:
        about = {"customer": credit["customer_id"], "level": credit["support_level"]}
        add("credits", about, "", credit, ("breaches", "hours_late", "percent"))
    return rows


def csv_text(document: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    period = {"period_from": document["period"]["from"], "period_to": document["period"]["to"]}
    for row in csv_rows(document):
        writer.writerow({**period, **{k: "" if v is None else v for k, v in row.items()}})
    return buffer.getvalue()
