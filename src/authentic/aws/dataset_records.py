"""DynamoDB: the brand's dataset records (upload pairs, per-class counts, category names). Implements
`ports.DatasetRecords`.

Items (one table, string keys pk/sk):
    BRAND#{brand} / PAIR#{pair}   one upload pair: arrivals, status (pending|accepted|rejected), reason, problems,
                                  what it contributes to the counts, and where its normalised files are
    BRAND#{brand} / DATASET       counters: images, img_c{id} (images holding class id), box_c{id} (boxes),
                                  cat_{id} (the class's name, fixed by the first accepted upload)
    UNSCOPED / KEY#{key}          an object that landed outside any brand's upload prefix
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from authentic.aws.clients import client
from authentic.aws.clients import table as table_resource
from authentic.aws.items import error_code, now, plain, query_prefix, serialize
from authentic.aws.ports import Contribution, DatasetSummary, Outcome, PairFiles, PairRecord, UploadKind
from authentic.errors import CategoryConflict, RecordRefused

_SEQ_WIDTH = 40
TRANSACTION_ATTEMPTS = 8
CONFLICT_BACKOFF = 0.05  # seconds, doubled each attempt (full jitter), at most CONFLICT_BACKOFF_CAP
CONFLICT_BACKOFF_CAP = 2.0
_CATEGORY, _IMAGES, _BOXES = "cat_", "img_c", "box_c"


class DynamoDatasetRecords:
    def __init__(self, table_name: str, dynamodb: Any | None = None, table: Any | None = None) -> None:
        self._table_name = table_name
        self._ddb = dynamodb if dynamodb is not None else client("dynamodb")
        self._table = table if table is not None else table_resource(table_name)

    # -- arrivals -------------------------------------------------------------------------------------------
    def record_arrival(
        self,
        brand_id: str,
        pair_id: str,
        kind: UploadKind,
        *,
        version_id: str | None,
        size: int,
        sequencer: str,
        now: float | None = None,
    ) -> PairRecord:
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
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = self.get_pair(brand_id, pair_id)
            return current if current is not None else PairRecord(brand_id, pair_id)
        return _pair(plain(out["Attributes"]))

    def get_pair(self, brand_id: str, pair_id: str) -> PairRecord | None:
        out = self._table.get_item(Key=_pair_key(brand_id, pair_id), ConsistentRead=True)
        item = out.get("Item")
        return _pair(plain(item)) if item else None

    # -- outcomes -------------------------------------------------------------------------------------------
    def commit_outcome(self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome) -> bool:
        pair_update = self._pair_update(brand_id, pair_id, previous, outcome)
        dataset_update = self._dataset_update(brand_id, previous.contribution, outcome.contribution, outcome)
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self._ddb.transact_write_items(TransactItems=[pair_update, dataset_update])
            except ClientError as exc:
                code = error_code(exc)
                if code == "ValidationException":
                    raise RecordRefused(str(exc.response.get("Error", {}).get("Message", ""))) from exc
                if code != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if "TransactionConflict" in reasons and attempt + 1 < TRANSACTION_ATTEMPTS:
                    # Another ingest batch is writing the brand's counters now: retry after a jittered pause
                    # (botocore's standard retries do not retry a cancelled transaction).
                    time.sleep(random.uniform(0, min(CONFLICT_BACKOFF_CAP, CONFLICT_BACKOFF * 2**attempt)))  # noqa: S311
                    continue
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    raise CategoryConflict(self._describe_conflict(brand_id, outcome.categories)) from exc
                if "ValidationError" in reasons:
                    raise RecordRefused(str(exc.response.get("Error", {}).get("Message", ""))) from exc
                raise
            return True
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _pair_update(self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome) -> dict[str, Any]:
        values: dict[str, Any] = {
            ":st": outcome.status,
            ":fp": outcome.fingerprint,
            ":reason": outcome.reason,
            ":problems": [dict(p) for p in outcome.problems],
            ":contrib": _contribution_item(outcome.contribution),
            ":details": _files_item(outcome.files),
            ":now": now(),
            ":iv": previous.image_version or "null",
            ":av": previous.annotation_version or "null",
        }
        condition = "image_version = :iv AND annotation_version = :av AND "
        if previous.fingerprint:
            values[":oldfp"] = previous.fingerprint
            condition += "fingerprint = :oldfp AND fingerprint <> :fp"
        else:
            condition += "attribute_not_exists(fingerprint)"
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": {k: serialize(v) for k, v in _pair_key(brand_id, pair_id).items()},
                "UpdateExpression": (
                    "SET #st = :st, fingerprint = :fp, reason = :reason, problems = :problems, "
                    "contribution = :contrib, details = :details, processed_at = :now"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {k: serialize(v) for k, v in values.items()},
            }
        }

    def _dataset_update(self, brand_id: str, old: Contribution, new: Contribution, outcome: Outcome) -> dict[str, Any]:
        adds: dict[str, int] = {"images": new.images - old.images}
        for cid in set(old.class_images) | set(new.class_images):
            adds[f"{_IMAGES}{cid}"] = new.class_images.get(cid, 0) - old.class_images.get(cid, 0)
        for cid in set(old.class_boxes) | set(new.class_boxes):
            adds[f"{_BOXES}{cid}"] = new.class_boxes.get(cid, 0) - old.class_boxes.get(cid, 0)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": now()}
        add_parts = []
        for i, (attr, delta) in enumerate(sorted(adds.items())):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = delta
            add_parts.append(f"#a{i} :a{i}")
        set_parts = ["updated_at = :now"]
        conditions = []
        for i, (cid, name) in enumerate(sorted(outcome.categories.items())):
            names[f"#c{i}"] = f"{_CATEGORY}{cid}"
            values[f":c{i}"] = name
            set_parts.append(f"#c{i} = :c{i}")
            conditions.append(f"(attribute_not_exists(#c{i}) OR #c{i} = :c{i})")
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {k: serialize(v) for k, v in _dataset_key(brand_id).items()},
            "UpdateExpression": "SET " + ", ".join(set_parts) + " ADD " + ", ".join(add_parts),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: serialize(v) for k, v in values.items()},
        }
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        return {"Update": update}

    def _describe_conflict(self, brand_id: str, categories: Any) -> str:
        known = self.summary(brand_id).categories
        clashes = [
            f"class {cid} is {known[cid]!r} in this brand's dataset but {name!r} here"
            for cid, name in sorted(categories.items())
            if cid in known and known[cid] != name
        ]
        return "; ".join(clashes) or "category names changed while this upload was processed"

    # -- reads ----------------------------------------------------------------------------------------------
    def summary(self, brand_id: str) -> DatasetSummary:
        out = self._table.get_item(Key=_dataset_key(brand_id), ConsistentRead=True)
        item: dict[str, Any] = plain(out.get("Item") or {})
        return DatasetSummary(
            images=int(item.get("images", 0)),
            categories=_by_class(item, _CATEGORY, str),
            class_images=_by_class(item, _IMAGES, int),
            class_boxes=_by_class(item, _BOXES, int),
        )

    def pairs(self, brand_id: str) -> list[PairRecord]:
        return [_pair(item) for item in query_prefix(self._table, f"BRAND#{brand_id}", "PAIR#")]

    def record_unscoped(self, key: str, reason: str) -> None:
        self._table.put_item(
            Item={
                "pk": "UNSCOPED",
                "sk": f"KEY#{key}",
                "key": key,
                "status": "rejected",
                "reason": reason,
                "processed_at": now(),
            }
        )


def _by_class(item: dict[str, Any], prefix: str, kind: type) -> dict[int, Any]:
    return {
        int(k[len(prefix) :]): kind(v) for k, v in item.items() if k.startswith(prefix) and k[len(prefix) :].isdigit()
    }


def _contribution_item(contribution: Contribution) -> dict[str, Any]:
    return {
        "images": contribution.images,
        "class_images": {str(k): v for k, v in contribution.class_images.items()},
        "class_boxes": {str(k): v for k, v in contribution.class_boxes.items()},
    }


def _contribution(item: dict[str, Any] | None) -> Contribution:
    if not item:
        return Contribution()
    return Contribution(
        images=int(item.get("images", 0)),
        class_images={int(k): int(v) for k, v in item.get("class_images", {}).items()},
        class_boxes={int(k): int(v) for k, v in item.get("class_boxes", {}).items()},
    )


def _files_item(files: PairFiles) -> dict[str, Any]:
    return {k: v for k, v in asdict(files).items() if v not in ("", None)}


def _files(item: dict[str, Any] | None) -> PairFiles:
    known = {f.name for f in fields(PairFiles)}
    return PairFiles(**{k: v for k, v in (item or {}).items() if k in known})


def _version(value: Any) -> str | None:
    return None if value is None else str(value)


def _pair(item: dict[str, Any]) -> PairRecord:
    return PairRecord(
        brand_id=str(item.get("brand_id", "")),
        pair_id=str(item.get("pair_id", "")),
        status=item.get("status", "pending"),
        image_version=_version(item.get("image_version")),
        annotation_version=_version(item.get("annotation_version")),
        image_size=int(item.get("image_size", 0)),
        annotation_size=int(item.get("annotation_size", 0)),
        image_arrived_at=float(item.get("image_arrived_at", 0)),
        annotation_arrived_at=float(item.get("annotation_arrived_at", 0)),
        fingerprint=item.get("fingerprint"),
        reason=str(item.get("reason", "")),
        problems=tuple(item.get("problems", ())),
        contribution=_contribution(item.get("contribution")),
        files=_files(item.get("details")),
    )


def _pair_key(brand_id: str, pair_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": f"PAIR#{pair_id}"}


def _dataset_key(brand_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": "DATASET"}
