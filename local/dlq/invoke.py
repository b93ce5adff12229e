"""Running a function of the local engine as an event source mapping does, and reading its answer."""

from __future__ import annotations

import warnings
from typing import Any

from local.engine import LocalEngine


def invoke_quietly(engine: LocalEngine, function: str, event: dict[str, Any]) -> Any:
    """The function's handler on `event`; a batch that leaves nothing to count says so in a warning of
    Powertools Metrics, which is no news here (a record whose item an earlier one delivered)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        return engine.invoke(function, event)


def failed_items(response: Any) -> tuple[str, ...]:
    """The items a function's partial batch response (`batchItemFailures`) reports failed, in its order."""
    return tuple(str(failure["itemIdentifier"]) for failure in (response or {}).get("batchItemFailures", []))
