"""Item keys and attribute (un)marshalling of the single table: one place that knows the key shapes."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def ticket_key(ticket_id: str, sort: str) -> dict[str, str]:
    return {"pk": f"TICKET#{ticket_id}", "sk": sort}


def plan_key(customer_id: str) -> dict[str, str]:
    return {"pk": f"CUSTOMER#{customer_id}", "sk": "PLAN"}


def rejection_key(event_id: str) -> dict[str, str]:
    return {"pk": f"REJECTED#{event_id}", "sk": "REJECTED"}


def event_id_key(event_id: str) -> dict[str, str]:
    """The table-wide claim of an event id: which ticket holds it, and the digest of its first version."""
    return {"pk": f"EVENTID#{event_id}", "sk": "EVENTID"}


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
