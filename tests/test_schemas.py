"""schemas/: the committed JSON Schemas are exactly what the models generate (`python -m infra.schemas`)."""

from __future__ import annotations

import json
from pathlib import Path

from infra.schemas import OTHER_DOCUMENTS, SCHEMA_DIR, detail_schemas, drift, kebab, main
from sla.events import DETAIL_MODELS
from tests.samples import load_sample


def test_committed_schemas_match_the_models() -> None:
    assert drift() == [], "run `python -m infra.schemas` and commit schemas/"
    for stem, schema in detail_schemas().items():
        assert json.loads((SCHEMA_DIR / f"{stem}.json").read_text(encoding="utf-8")) == schema


def test_one_schema_per_detail_type() -> None:
    stems = {
        path.stem for path in SCHEMA_DIR.glob("*.json")
    } - OTHER_DOCUMENTS  # openapi.json: the read API's
    assert sorted(stems) == sorted(map(kebab, DETAIL_MODELS))


def test_drift_is_detected_and_written_away(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert drift(tmp_path) == []
    opened = tmp_path / "ticket-opened.json"
    schema = json.loads(opened.read_text(encoding="utf-8"))
    del schema["properties"]["severity"]
    opened.write_text(json.dumps(schema), encoding="utf-8")
    (tmp_path / "ticket-deleted.json").write_text("{}", encoding="utf-8")
    (tmp_path / "alert-acknowledged.json").unlink()
    assert drift(tmp_path) == [
        "alert-acknowledged.json: missing",
        "ticket-deleted.json: no detail-type has this name (stale)",
        "ticket-opened.json: differs from the model TicketOpened",
    ]
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert drift(tmp_path) == []


def test_schemas_state_required_fields_and_closed_vocabularies() -> None:
    opened = detail_schemas()["ticket-opened"]
    assert {"event_id", "occurred_at", "ticket_id", "customer_id", "severity", "subject"} <= set(
        opened["required"]
    )
    assert opened["properties"]["severity"]["enum"] == ["critical", "high", "medium", "low"]
    acknowledged = detail_schemas()["alert-acknowledged"]
    assert "customer_id" not in acknowledged["required"]
    # The samples carry every required field of their type's schema.
    for detail_type in DETAIL_MODELS:
        stem = kebab(detail_type)
        assert set(detail_schemas()[stem]["required"]) <= set(load_sample(stem)["detail"])
