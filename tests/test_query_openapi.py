"""The read API's OpenAPI document: generated from the routes' pydantic models, committed, served, in step.

`schemas/openapi.json` is what `python -m infra.query.openapi` writes; when a route or a model changes, this
fails until the file is written again, so the committed contract never drifts from the code. The handler
serves the same text, and the template routes to the function exactly the paths the document describes.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from functions import query
from infra.catalog_source import load_catalog
from infra.query.openapi import committed_text
from infra.query.service import QueryService
from local.engine import FakeLambdaContext
from local.memory.store import MemoryStore
from local.serve import api_event
from local.stack import load_template

COMMITTED = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"
REGENERATE = "python -m infra.query.openapi > schemas/openapi.json"


def test_the_committed_document_is_the_one_the_routes_generate() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == committed_text(), f"routes changed: run `{REGENERATE}`"


def test_the_handler_serves_the_committed_document() -> None:
    query.configure(query.wire(QueryService(MemoryStore(), load_catalog(None)), lambda: 0))
    try:
        with redirect_stdout(io.StringIO()):
            response = query.handler(api_event("GET", "/v1/openapi.json", {}), FakeLambdaContext("Q"))
    finally:
        query.configure(None)
    assert response["statusCode"] == 200
    assert response["body"] == COMMITTED.read_text(encoding="utf-8")


def test_the_document_describes_the_apis_own_errors_and_the_templates_routes() -> None:
    document: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"] == {
        "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    events = load_template()["Resources"]["QueryFunction"]["Properties"]["Events"].values()
    routed = {e["Properties"]["Path"] for e in events if e["Properties"]["Path"] != "$default"}
    assert set(document["paths"]) == routed
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ResponseValidationError" not in schemas
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            assert "422" not in responses, path
            assert "200" in responses, path
            for status, answer in responses.items():
                if status != "200":
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorBody"
                    }
            if operation.get("parameters"):
                assert "400" in responses, path
    # The SPEC's fields, each in the model the document names.
    queue_item = schemas["QueueItem"]["properties"]
    assert set(queue_item) == {"position", "ticket_id", "customer_id", "support_level", "severity", "line",
                               "metric", "due_at", "remaining_seconds", "breached"}  # fmt: skip
    ongoing = schemas["Ongoing"]["properties"]
    assert {"cycle", "started_at", "due_at", "due_local", "breached", "paused", "elapsed_seconds",
            "remaining_seconds", "target_seconds"} <= set(ongoing)  # fmt: skip
    wait = schemas["Wait"]["properties"]
    assert {"ticket_id", "position", "ahead", "promised_by", "promised_by_local", "expected_by",
            "expected_by_local"} <= set(wait)  # fmt: skip
    assert schemas["ErrorDetail"]["required"] == ["status", "message", "field"]
