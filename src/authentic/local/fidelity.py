"""What AWS refuses and moto lets through, refused here too (`apply()` once per process, before moto serves):

- DynamoDB: an expression (condition, update, key condition, filter, projection) over 4 KB is a
  ValidationException, whole request or one item of a transaction;
- DynamoDB: two transactions that write the same item at the same time: the second is cancelled with
  `TransactionConflict` (DynamoDB's isolation; botocore's standard retries do not retry it). moto applies a
  transaction in microseconds, so a transaction here holds its items for `TRANSACTION_HOLD_SECONDS`, about the
  time one takes in DynamoDB, so concurrent writers really meet;
- DynamoDB: a cancelled transaction cancels only itself. moto rolls one back by restoring a copy of each table
  taken when it began, which also erased every other writer's update made meanwhile (an ingest's arrival lost
  that way left a pair waiting for its image for ever); here the requests that read or write tables take turns;
- S3: a CopyObject with `If-None-Match: *` onto an existing key is refused 412 (a conditional write).

moto is pinned (==5.2.5) and these are its internal names; tests/aws/test_dynamodb_limits.py and the ingest
tests fail if they change.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import MockValidationException, TransactionCanceledException
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import PreconditionFailed

EXPRESSION_LIMIT = 4096  # bytes, each expression string
TRANSACTION_HOLD_SECONDS = 0.02
_EXPRESSIONS = (
    "ConditionExpression",
    "UpdateExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)

_applied = False
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()
_tables_lock = threading.RLock()  # one DynamoDB request at a time inside moto (see _serialise_tables)
_TABLE_ACTIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
    "execute_transaction",
)


def apply() -> None:
    """Install the refusals (idempotent)."""
    global _applied  # noqa: PLW0603 - moto's classes are process-wide, so is this switch
    if _applied:
        return
    _applied = True
    _serialise_tables()  # innermost: a transaction's hold below waits outside the lock
    _limit_expressions()
    _isolate_transactions()
    _conditional_copy()


def check_expressions(request: dict[str, Any]) -> None:
    """A ValidationException, as DynamoDB words it, for any expression of the request over 4 KB."""
    for name in _EXPRESSIONS:
        expression = request.get(name)
        if isinstance(expression, str) and len(expression.encode()) > EXPRESSION_LIMIT:
            raise MockValidationException(
                f"Invalid {name}: Expression size has exceeded the maximum allowed size; "
                f"expression size: {len(expression.encode())}"
            )


def _serialise_tables() -> None:
    """moto applies a transaction to the live tables and, when it is cancelled, puts back copies taken when it
    began: a write by another request in between would vanish, and a read would see changes that never happened.
    DynamoDB isolates each request, so here one table request runs inside moto at a time (they take microseconds
    to milliseconds; the transaction's hold, which lets concurrent transactions meet, stays outside)."""
    handler = dynamodb_responses.DynamoHandler
    for action in _TABLE_ACTIONS:
        original = getattr(handler, action)

        def serialised(self: Any, _original: Any = original) -> Any:
            with _tables_lock:
                return _original(self)

        setattr(handler, action, serialised)


def _limit_expressions() -> None:
    handler = dynamodb_responses.DynamoHandler
    for action in ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "transact_write_items"):
        original = getattr(handler, action)

        def checked(self: Any, _original: Any = original) -> Any:
            body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
            check_expressions(body)
            for item in body.get("TransactItems", []):
                for spec in item.values():
                    check_expressions(spec)
            return _original(self)

        setattr(handler, action, checked)


@contextlib.contextmanager
def _holding(keys: list[str]) -> Iterator[bool]:
    """Hold the items for the transaction; False (nothing held) when another transaction holds one of them."""
    with _in_flight_lock:
        if _in_flight.intersection(keys):
            yield False
            return
        _in_flight.update(keys)
    try:
        yield True
    finally:
        with _in_flight_lock:
            _in_flight.difference_update(keys)


def _isolate_transactions() -> None:
    handler = dynamodb_responses.DynamoHandler
    original = handler.transact_write_items

    def transact_write_items(self: Any) -> Any:
        items = self.body["TransactItems"]
        keys = []
        for item in items:
            ((_, spec),) = item.items()
            key = spec.get("Key") or {k: v for k, v in spec.get("Item", {}).items() if k in ("pk", "sk")}
            keys.append(f"{spec.get('TableName')}|{json.dumps(key, sort_keys=True)}")
        with _holding(keys) as held:
            if not held:
                reasons = [("TransactionConflict", "Transaction is ongoing for the item", None) for _ in items]
                raise TransactionCanceledException(reasons)
            time.sleep(TRANSACTION_HOLD_SECONDS)
            return original(self)

    handler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _conditional_copy() -> None:
    original = s3_responses.S3Response.copy_object

    def copy_object(resp: Any) -> Any:
        conditional = resp.headers.get("If-None-Match") == "*"
        if conditional and resp.backend.get_object(resp.bucket_name, resp.parse_key_name()) is not None:
            raise PreconditionFailed("If-None-Match")
        return original(resp)

    s3_responses.S3Response.copy_object = copy_object  # type: ignore[method-assign,assignment]
