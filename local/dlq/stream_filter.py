"""The table stream's event source mapping of template.yaml (the notifier's): its filter, batch size, retries
and OnFailure queue, which a local run and a redrive reproduce."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.stack import load_template


@dataclass(frozen=True)
class StreamMapping:
    """The table stream's event source mapping of template.yaml: what a local run and a redrive reproduce."""

    function: str
    batch_size: int
    maximum_retry_attempts: int
    patterns: tuple[Mapping[str, Any], ...]
    on_failure: str | None
    """Logical id of the OnFailure queue."""

    def handed(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events (records as the function gets them) the filter passes."""
        return [event for event in events if passes(event, self.patterns)]

    def batches(self, events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """`events` in batches of BatchSize, as the mapping invokes the function."""
        for start in range(0, len(events), self.batch_size):
            yield events[start : start + self.batch_size]


def stream_mapping(template: Mapping[str, Any] | None = None) -> StreamMapping:
    """The one DynamoDB event of a function in the template (the notifier's), with Lambda's defaults."""
    template = template if template is not None else load_template()
    found = [
        (logical_id, event.get("Properties", {}))
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event.get("Type") == "DynamoDB"
    ]
    if len(found) != 1:
        raise ValueError(f"template.yaml has {len(found)} table stream event sources, not one")
    function, props = found[0]
    destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    on_failure = None
    if isinstance(destination, Mapping) and "Fn::GetAtt" in destination:
        on_failure = str(destination["Fn::GetAtt"][0])
    patterns = tuple(
        json.loads(entry["Pattern"]) for entry in props.get("FilterCriteria", {}).get("Filters", [])
    )
    return StreamMapping(
        function=function,
        batch_size=int(props.get("BatchSize", 100)),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        patterns=patterns,
        on_failure=on_failure,
    )


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Whether `value` (a stream record) matches an event filter pattern: the subset the template uses (exact
    values and `prefix`, nested objects); any other operator raises rather than guess."""
    if not isinstance(value, Mapping):
        return False
    for key, wanted in pattern.items():
        if key not in value:
            return False
        actual = value[key]
        if isinstance(wanted, Mapping):
            if not matches(wanted, actual):
                return False
        elif isinstance(wanted, list):
            if not any(_matches_one(option, actual) for option in wanted):
                return False
        else:
            raise ValueError(f"filter pattern {key!r}: {wanted!r} is neither an object nor a list")
    return True


def _matches_one(option: Any, actual: Any) -> bool:
    if isinstance(option, Mapping):
        if set(option) == {"prefix"}:
            return isinstance(actual, str) and actual.startswith(str(option["prefix"]))
        raise ValueError(f"filter operator {sorted(option)} is not reproduced here")
    return bool(option == actual)


def passes(record: Mapping[str, Any], patterns: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the mapping hands `record` to the function: no filter, or any of its patterns matches."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)
