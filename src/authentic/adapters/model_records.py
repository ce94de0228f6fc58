"""DynamoDB: training jobs, model versions, the live pointer and the brand's verdict policy.

Items (same table as the dataset records):
    BRAND#{brand} / ACTIVEJOB          the brand's one running job (a lock, released when the job ends)
    BRAND#{brand} / JOB#{job_name}     a training job: manifest, state, reason, metrics, version
    BRAND#{brand} / VERSIONSEQ         the version counter (numbers are never reused)
    BRAND#{brand} / VERSION#{00001}    a model version: job, artifact, live key, metrics, gate
    BRAND#{brand} / LIVE               the live pointer: version, key, order (never moves backwards)
    BRAND#{brand} / POLICY             each class's role and confidence threshold
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from authentic.adapters.dataset_records import _ddb_value, _plain, query_prefix
from authentic.aws import table as table_resource


class ConditionFailed(Exception):
    pass


def _brand(brand_id: str) -> str:
    return f"BRAND#{brand_id}"


def version_sk(version: int) -> str:
    return f"VERSION#{version:05d}"


class ModelRecords:
    def __init__(self, table_name: str, table: Any | None = None) -> None:
        self._table = table if table is not None else table_resource(table_name)

    # -- generic --------------------------------------------------------------------------------------------
    def get(self, brand_id: str, sk: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": _brand(brand_id), "sk": sk}, ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def _query(self, brand_id: str, prefix: str) -> list[dict[str, Any]]:
        return query_prefix(self._table, _brand(brand_id), prefix)

    def _update(
        self, brand_id: str, sk: str, values: dict[str, Any], condition: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        names = {f"#f{i}": k for i, k in enumerate(values)}
        expr_values = {f":v{i}": _ddb_value(v) for i, v in enumerate(values.values())}
        expr_values.update({k: _ddb_value(v) for k, v in extra.items()})
        kwargs: dict[str, Any] = {
            "Key": {"pk": _brand(brand_id), "sk": sk},
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": expr_values,
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            out = self._table.update_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConditionFailed(sk) from exc
            raise
        attributes: dict[str, Any] = _plain(out["Attributes"])
        return attributes

    # -- the one running job --------------------------------------------------------------------------------
    def acquire_job_slot(self, brand_id: str, job_name: str) -> dict[str, Any]:
        """Take the brand's job slot for `job_name`; if another job holds it, return the holder unchanged."""
        try:
            self._table.put_item(
                Item={"pk": _brand(brand_id), "sk": "ACTIVEJOB", "job_name": job_name, "since": _now()},
                ConditionExpression="attribute_not_exists(pk) OR job_name = :job",
                ExpressionAttributeValues={":job": job_name},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return self.get(brand_id, "ACTIVEJOB") or {}
        return {"job_name": job_name}

    def release_job_slot(self, brand_id: str, job_name: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": _brand(brand_id), "sk": "ACTIVEJOB"},
                ConditionExpression="job_name = :job",
                ExpressionAttributeValues={":job": job_name},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    # -- jobs -----------------------------------------------------------------------------------------------
    def put_job(self, brand_id: str, job_name: str, values: dict[str, Any]) -> dict[str, Any]:
        return self._update(brand_id, f"JOB#{job_name}", {**values, "job_name": job_name, "brand_id": brand_id})

    def job(self, brand_id: str, job_name: str) -> dict[str, Any] | None:
        return self.get(brand_id, f"JOB#{job_name}")

    def finish_job(self, brand_id: str, job_name: str, values: dict[str, Any]) -> dict[str, Any]:
        """Record a job's end state; a job already recorded as ended keeps its first end state."""
        try:
            return self._update(
                brand_id,
                f"JOB#{job_name}",
                {**values, "job_name": job_name, "brand_id": brand_id},
                "attribute_not_exists(ended) OR ended = :false",
                **{":false": False},
            )
        except ConditionFailed:
            return self.job(brand_id, job_name) or {}

    # -- versions -------------------------------------------------------------------------------------------
    def allocate_version(self, brand_id: str, job_name: str) -> int:
        """The job's version number: allocated once per job, never reused, safe under duplicate events."""
        existing = self.job(brand_id, job_name) or {}
        if "version" in existing:
            return int(existing["version"])
        counter = self._table.update_item(
            Key={"pk": _brand(brand_id), "sk": "VERSIONSEQ"},
            UpdateExpression="ADD next_version :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        candidate = int(counter["Attributes"]["next_version"])
        try:
            self._update(
                brand_id,
                f"JOB#{job_name}",
                {"version": candidate, "job_name": job_name, "brand_id": brand_id},
                "attribute_not_exists(version)",
            )
        except ConditionFailed:
            return int((self.job(brand_id, job_name) or {})["version"])
        return candidate

    def put_version(self, brand_id: str, version: int, values: dict[str, Any]) -> dict[str, Any]:
        return self._update(brand_id, version_sk(version), {**values, "version": version, "brand_id": brand_id})

    def version(self, brand_id: str, version: int) -> dict[str, Any] | None:
        return self.get(brand_id, version_sk(version))

    def versions(self, brand_id: str) -> list[dict[str, Any]]:
        return self._query(brand_id, "VERSION#")

    # -- the live pointer -----------------------------------------------------------------------------------
    def live(self, brand_id: str) -> dict[str, Any] | None:
        return self.get(brand_id, "LIVE")

    def move_live(self, brand_id: str, values: dict[str, Any], *, order: float, manual: bool) -> bool:
        """Point the brand at a version. Automatic moves only go forwards (by `order`, the job's creation
        time); a manual promotion always applies and becomes the new floor. Returns whether it moved."""
        fields = {**values, "order": Decimal(str(order)), "manual": manual, "moved_at": _now()}
        condition = None if manual else "attribute_not_exists(#o) OR #o < :order"
        try:
            if condition is None:
                self._update(brand_id, "LIVE", fields)
            else:
                self._update_with_order(brand_id, fields, order)
        except ConditionFailed:
            return False
        return True

    def _update_with_order(self, brand_id: str, fields: dict[str, Any], order: float) -> None:
        names = {f"#f{i}": k for i, k in enumerate(fields)} | {"#o": "order"}
        values = {f":v{i}": _ddb_value(v) for i, v in enumerate(fields.values())} | {":order": Decimal(str(order))}
        try:
            self._table.update_item(
                Key={"pk": _brand(brand_id), "sk": "LIVE"},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression="attribute_not_exists(#o) OR #o < :order",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConditionFailed("LIVE") from exc
            raise

    # -- policy ---------------------------------------------------------------------------------------------
    def policy(self, brand_id: str) -> dict[str, Any] | None:
        return self.get(brand_id, "POLICY")

    def put_policy(self, brand_id: str, classes: dict[str, Any]) -> dict[str, Any]:
        return self._update(brand_id, "POLICY", {"classes": classes, "updated_at": _now()})


def _now() -> Decimal:
    return Decimal(str(round(time.time(), 3)))
