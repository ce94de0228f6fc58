"""DynamoDB item helpers shared by the record adapters: Python values in and out of DynamoDB's types, and the
one paginated prefix query."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer

SERIALIZER = TypeSerializer()


def to_item(value: Any) -> Any:
    """Floats are not allowed in DynamoDB items: carry them as Decimal (recursively)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_item(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_item(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float (recursively)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def serialize(value: Any) -> dict[str, Any]:
    """One value in DynamoDB's low-level JSON (for the client's transactions)."""
    serialized: dict[str, Any] = SERIALIZER.serialize(to_item(value))
    return serialized


def now() -> Decimal:
    return Decimal(str(round(time.time(), 3)))


def query_prefix(table: Any, pk: str, sk_prefix: str) -> list[dict[str, Any]]:
    """Every item under `pk` whose sort key starts with `sk_prefix`, all pages, strongly consistent."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(sk_prefix),
        "ConsistentRead": True,
    }
    while True:
        out = table.query(**kwargs)
        items.extend(plain(i) for i in out.get("Items", []))
        if "LastEvaluatedKey" not in out:
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))
