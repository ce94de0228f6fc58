"""DynamoDB: the brand's dataset records (upload pairs, per-class counts, category names).

Items (one table, string keys pk/sk):
    BRAND#{brand} / PAIR#{pair}   one upload pair: arrivals, status (pending|accepted|rejected), reason, problems,
                                  what it contributes to the counts, and where its normalised files are
    BRAND#{brand} / DATASET       counters: images, img_c{id} (images holding class id), box_c{id} (boxes),
                                  cat_{id} (the class's name, fixed by the first accepted upload)
    UNSCOPED / KEY#{key}          an object that landed outside any brand's upload prefix
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authentic.aws import client
from authentic.aws import table as table_resource

_SEQ_WIDTH = 40


@dataclass(frozen=True)
class Contribution:
    """What an accepted pair adds to the brand's counters."""

    images: int = 0
    class_images: dict[int, int] = field(default_factory=dict)
    class_boxes: dict[int, int] = field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "class_images": {str(k): v for k, v in self.class_images.items()},
            "class_boxes": {str(k): v for k, v in self.class_boxes.items()},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> Contribution:
        if not item:
            return cls()
        return cls(
            images=int(item.get("images", 0)),
            class_images={int(k): int(v) for k, v in item.get("class_images", {}).items()},
            class_boxes={int(k): int(v) for k, v in item.get("class_boxes", {}).items()},
        )


@dataclass(frozen=True)
class Outcome:
    """The result of processing one pair at one (image version, annotation version)."""

    status: str  # "accepted" or "rejected"
    fingerprint: str
    reason: str = ""
    problems: tuple[dict[str, Any], ...] = ()
    contribution: Contribution = field(default_factory=Contribution)
    categories: dict[int, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class CategoryConflict(Exception):
    """A class id already has another name in this brand's dataset."""


class DatasetRecords:
    def __init__(self, table_name: str, dynamodb: Any | None = None, table: Any | None = None) -> None:
        self._table_name = table_name
        self._ddb = dynamodb if dynamodb is not None else client("dynamodb")
        self._table = table if table is not None else table_resource(table_name)

    # -- arrivals -------------------------------------------------------------------------------------------
    def record_arrival(
        self,
        brand_id: str,
        pair_id: str,
        kind: str,
        *,
        version_id: str | None,
        size: int,
        sequencer: str,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Record that one side of a pair arrived; returns the pair item as it stands afterwards.

        An event older than what is recorded (by S3's sequencer) does not overwrite the newer arrival.
        """
        stamp = Decimal(str(round(now if now is not None else time.time(), 3)))
        seq = sequencer.rjust(_SEQ_WIDTH, "0")
        try:
            out = self._table.update_item(
                Key=_pair_key(brand_id, pair_id),
                UpdateExpression=(
                    "SET #v = :v, #s = :s, #at = :at, #seq = :seq, brand_id = :b, pair_id = :p, "
                    "#st = if_not_exists(#st, :pending), created_at = if_not_exists(created_at, :at)"
                ),
                ConditionExpression="attribute_not_exists(#seq) OR #seq <= :seq",
                ExpressionAttributeNames={
                    "#v": f"{kind}_version",
                    "#s": f"{kind}_size",
                    "#at": f"{kind}_arrived_at",
                    "#seq": f"{kind}_sequencer",
                    "#st": "status",
                },
                ExpressionAttributeValues={
                    ":v": version_id or "null",
                    ":s": size,
                    ":at": stamp,
                    ":seq": seq,
                    ":b": brand_id,
                    ":p": pair_id,
                    ":pending": "pending",
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            return self.get_pair(brand_id, pair_id) or {}
        attributes: dict[str, Any] = _plain(out["Attributes"])
        return attributes

    def get_pair(self, brand_id: str, pair_id: str) -> dict[str, Any] | None:
        out = self._table.get_item(Key=_pair_key(brand_id, pair_id), ConsistentRead=True)
        item = out.get("Item")
        return _plain(item) if item else None

    # -- outcomes -------------------------------------------------------------------------------------------
    def commit_outcome(self, brand_id: str, pair_id: str, previous: dict[str, Any], outcome: Outcome) -> bool:
        """Write a pair's outcome and move the brand's counters by the difference, exactly once.

        Returns False when nothing was written because this outcome (or a newer upload) is already there.
        Raises CategoryConflict when a class id would get a second name.
        """
        old = Contribution.from_item(previous.get("contribution"))
        new = outcome.contribution
        pair_update = self._pair_update(brand_id, pair_id, previous, outcome)
        dataset_update = self._dataset_update(brand_id, old, new, outcome.categories)
        try:
            self._ddb.transact_write_items(TransactItems=[pair_update, dataset_update])
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise CategoryConflict(self._describe_conflict(brand_id, outcome.categories)) from exc
            raise
        return True

    def _pair_update(self, brand_id: str, pair_id: str, previous: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

        ser = TypeSerializer()
        values: dict[str, Any] = {
            ":st": outcome.status,
            ":fp": outcome.fingerprint,
            ":reason": outcome.reason,
            ":problems": [dict(p) for p in outcome.problems],
            ":contrib": outcome.contribution.to_item(),
            ":details": outcome.details,
            ":now": Decimal(str(round(time.time(), 3))),
            ":iv": previous.get("image_version", "null"),
            ":av": previous.get("annotation_version", "null"),
        }
        condition = "image_version = :iv AND annotation_version = :av AND "
        if previous.get("fingerprint"):
            values[":oldfp"] = previous["fingerprint"]
            condition += "fingerprint = :oldfp AND fingerprint <> :fp"
        else:
            condition += "attribute_not_exists(fingerprint)"
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": {k: ser.serialize(v) for k, v in _pair_key(brand_id, pair_id).items()},
                "UpdateExpression": (
                    "SET #st = :st, fingerprint = :fp, reason = :reason, problems = :problems, "
                    "contribution = :contrib, details = :details, processed_at = :now"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {k: ser.serialize(_ddb_value(v)) for k, v in values.items()},
            }
        }

    def _dataset_update(
        self, brand_id: str, old: Contribution, new: Contribution, categories: dict[int, str]
    ) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

        ser = TypeSerializer()
        adds: dict[str, int] = {"images": new.images - old.images}
        for cid in set(old.class_images) | set(new.class_images):
            adds[f"img_c{cid}"] = new.class_images.get(cid, 0) - old.class_images.get(cid, 0)
        for cid in set(old.class_boxes) | set(new.class_boxes):
            adds[f"box_c{cid}"] = new.class_boxes.get(cid, 0) - old.class_boxes.get(cid, 0)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": Decimal(str(round(time.time(), 3)))}
        add_parts = []
        for i, (attr, delta) in enumerate(sorted(adds.items())):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = delta
            add_parts.append(f"#a{i} :a{i}")
        set_parts = ["updated_at = :now"]
        conditions = []
        for i, (cid, name) in enumerate(sorted(categories.items())):
            names[f"#c{i}"] = f"cat_{cid}"
            values[f":c{i}"] = name
            set_parts.append(f"#c{i} = :c{i}")
            conditions.append(f"(attribute_not_exists(#c{i}) OR #c{i} = :c{i})")
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {k: ser.serialize(v) for k, v in _dataset_key(brand_id).items()},
            "UpdateExpression": "SET " + ", ".join(set_parts) + " ADD " + ", ".join(add_parts),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: ser.serialize(v) for k, v in values.items()},
        }
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        return {"Update": update}

    def _describe_conflict(self, brand_id: str, categories: dict[int, str]) -> str:
        known = self.categories(brand_id)
        clashes = [
            f"class {cid} is {known[cid]!r} in this brand's dataset but {name!r} here"
            for cid, name in sorted(categories.items())
            if cid in known and known[cid] != name
        ]
        return "; ".join(clashes) or "category names changed while this upload was processed"

    # -- reads ----------------------------------------------------------------------------------------------
    def dataset(self, brand_id: str) -> dict[str, Any]:
        out = self._table.get_item(Key=_dataset_key(brand_id), ConsistentRead=True)
        item: dict[str, Any] = _plain(out.get("Item") or {})
        return item

    def categories(self, brand_id: str) -> dict[int, str]:
        item = self.dataset(brand_id)
        return {int(k[4:]): str(v) for k, v in item.items() if k.startswith("cat_")}

    def pairs(self, brand_id: str) -> list[dict[str, Any]]:
        return query_prefix(self._table, f"BRAND#{brand_id}", "PAIR#")

    def record_unscoped(self, key: str, reason: str) -> None:
        self._table.put_item(
            Item={
                "pk": "UNSCOPED",
                "sk": f"KEY#{key}",
                "key": key,
                "status": "rejected",
                "reason": reason,
                "processed_at": Decimal(str(round(time.time(), 3))),
            }
        )


def query_prefix(table: Any, pk: str, sk_prefix: str) -> list[dict[str, Any]]:
    """Every item under `pk` whose sort key starts with `sk_prefix`, all pages, strongly consistent."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(sk_prefix),
        "ConsistentRead": True,
    }
    while True:
        out = table.query(**kwargs)
        items.extend(_plain(i) for i in out.get("Items", []))
        if "LastEvaluatedKey" not in out:
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def _pair_key(brand_id: str, pair_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": f"PAIR#{pair_id}"}


def _dataset_key(brand_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": "DATASET"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _ddb_value(value: Any) -> Any:
    """Floats are not allowed in DynamoDB items: carry them as Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _ddb_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_ddb_value(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
