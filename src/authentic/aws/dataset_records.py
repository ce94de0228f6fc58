"""DynamoDB: the brand's dataset records (upload pairs, per-class counts, category names). Implements
`ports.DatasetRecords`.

Items (one table, string keys pk/sk):
    BRAND#{brand} / PAIR#{pair}   one upload pair: arrivals, status (pending|accepted|rejected), reason, problems,
                                  what it contributes to the counts, and where its normalised files are
    BRAND#{brand} / DATASET       counters: images, img_c{id} (images holding class id), box_c{id} (boxes),
                                  cat_{id} (the class's name, fixed by the first accepted upload)
    BRAND#{brand} / ENTRIES#{xx}  the accepted pairs, compact: 256 shards by a hash of the pair id, each with two
                                  string sets `e0`, `e1` of "{pair} {image key} {annotation key} {class}:{boxes},..."
                                  (a pair's entry is in `e{revision % 2}`, so replacing it deletes from one set and
                                  adds to the other in one update). Kept in the outcome's transaction, and read
                                  with BatchGetItem by key: a freeze of 5,000 pairs reads about 1 MB in 3 calls.
    UNSCOPED / KEY#{key}          an object that landed outside any brand's upload prefix
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from authentic.aws.clients import client
from authentic.aws.clients import table as table_resource
from authentic.aws.items import error_code, now, plain, query_prefix, serialize
from authentic.aws.ports import (
    Contribution,
    DatasetEntry,
    DatasetSummary,
    Outcome,
    PairFiles,
    PairRecord,
    UploadKind,
)
from authentic.errors import CategoryConflict, RecordRefused

_SEQ_WIDTH = 40
TRANSACTION_ATTEMPTS = 8
CONFLICT_BACKOFF = 0.05  # seconds, doubled each attempt (full jitter), at most CONFLICT_BACKOFF_CAP
CONFLICT_BACKOFF_CAP = 2.0
_CATEGORY, _IMAGES, _BOXES = "cat_", "img_c", "box_c"
_ENTRY_SHARDS = 256
_BATCH_GET_LIMIT = 100  # keys per BatchGetItem request


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
        entries_update = self._entries_update(brand_id, pair_id, previous, outcome)
        items = [pair_update, dataset_update] + ([entries_update] if entries_update else [])
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self._ddb.transact_write_items(TransactItems=items)
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
            ":rev": previous.revision + 1,
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
                    "contribution = :contrib, details = :details, processed_at = :now, revision = :rev"
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

    def _entries_update(
        self, brand_id: str, pair_id: str, previous: PairRecord, outcome: Outcome
    ) -> dict[str, Any] | None:
        """Move the pair's compact entry: out of the set its previous outcome put it in, into the other one."""
        parts, names, values = [], {}, {}
        if outcome.status == "accepted":
            names["#new"] = f"e{(previous.revision + 1) % 2}"
            values[":new"] = {"SS": [_entry(pair_id, outcome.files, outcome.contribution)]}
            parts.append("ADD #new :new")
        if previous.status == "accepted":
            names["#old"] = f"e{previous.revision % 2}"
            values[":old"] = {"SS": [_entry(pair_id, previous.files, previous.contribution)]}
            parts.append("DELETE #old :old")
        if not parts:
            return None
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": {k: serialize(v) for k, v in _entries_key(brand_id, _shard(pair_id)).items()},
                "UpdateExpression": " ".join(parts),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

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

    def entries(self, brand_id: str) -> list[DatasetEntry]:
        found = [
            _parse_entry(entry)
            for item in self._entry_items(brand_id)
            for attribute in ("e0", "e1")
            for entry in item.get(attribute, ())
        ]
        return sorted(found, key=lambda e: e.pair_id)

    def _entry_items(self, brand_id: str) -> Iterator[dict[str, Any]]:
        """Every shard of the brand's entries, by key (BatchGetItem, strongly consistent, unprocessed keys
        retried): a Query would read the brand's pair records' partition too."""
        keys = [_entries_key(brand_id, f"{shard:02x}") for shard in range(_ENTRY_SHARDS)]
        pending = [keys[i : i + _BATCH_GET_LIMIT] for i in range(0, len(keys), _BATCH_GET_LIMIT)]
        while pending:
            batch = pending.pop()
            request = {
                "Keys": [{k: serialize(v) for k, v in key.items()} for key in batch],
                "ConsistentRead": True,
                "ProjectionExpression": "e0, e1",
            }
            out = self._ddb.batch_get_item(RequestItems={self._table_name: request})
            yield from (_strings(item) for item in out.get("Responses", {}).get(self._table_name, []))
            unprocessed = out.get("UnprocessedKeys", {}).get(self._table_name)
            if unprocessed:
                time.sleep(0.05)
                pending.append([{k: v["S"] for k, v in key.items()} for key in unprocessed["Keys"]])

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


def _shard(pair_id: str) -> str:
    return f"{zlib.crc32(pair_id.encode()) % _ENTRY_SHARDS:02x}"


def _entry(pair_id: str, files: PairFiles, contribution: Contribution) -> str:
    boxes = ",".join(f"{cid}:{n}" for cid, n in sorted(contribution.class_boxes.items()))
    names = (pair_id, files.image_key, files.annotation_key)
    if not all(names) or any(" " in name for name in names):
        raise ValueError(f"pair {pair_id!r}: an accepted pair needs two object keys without spaces, got {names}")
    return " ".join((*names, boxes))


def _parse_entry(entry: str) -> DatasetEntry:
    pair_id, image_key, annotation_key, boxes = entry.split(" ")
    counts = (part.split(":") for part in boxes.split(",") if part)
    return DatasetEntry(pair_id, image_key, annotation_key, {int(cid): int(n) for cid, n in counts})


def _strings(item: dict[str, Any]) -> dict[str, list[str]]:
    """The string sets of a low-level item."""
    return {name: list(value.get("SS", ())) for name, value in item.items()}


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
        revision=int(item.get("revision", 0)),
    )


def _pair_key(brand_id: str, pair_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": f"PAIR#{pair_id}"}


def _dataset_key(brand_id: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": "DATASET"}


def _entries_key(brand_id: str, shard: str) -> dict[str, str]:
    return {"pk": f"BRAND#{brand_id}", "sk": f"ENTRIES#{shard}"}
