"""The two reads every adapter of the single table makes: one item by its key, and every page of a Query.

One place, so that each adapter (tickets, incidents, the report index) unmarshals and translates errors the
same way and none forgets a page.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from infra.errors import translate
from infra.store.keys import marshal, unmarshal


def get_item(client: Any, table_name: str, key: dict[str, str]) -> dict[str, Any] | None:
    """The item under `key`, read consistently (a write acknowledged before is seen), or None."""
    try:
        answer = client.get_item(TableName=table_name, Key=marshal(key), ConsistentRead=True)
    except ClientError as error:
        raise translate(error) from error
    return unmarshal(answer["Item"]) if "Item" in answer else None


def query_all(client: Any, **request: Any) -> list[dict[str, Any]]:
    """Every item a Query `request` matches, page after page, unmarshalled."""
    items: list[dict[str, Any]] = []
    while True:
        try:
            page = client.query(**request)
        except ClientError as error:
            raise translate(error) from error
        items.extend(unmarshal(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
