"""DynamoDB: training jobs, model versions, the live pointer and the brand's verdict policy. Implements
`ports.ModelRecords`.

Items (same table as the dataset records):
    BRAND#{brand} / ACTIVEJOB          the brand's one running job (a lock, released when the job ends)
    BRAND#{brand} / JOB#{job_name}     a training job: manifest, state, reason, metrics, version
    BRAND#{brand} / VERSIONSEQ         the version counter (numbers are never reused)
    BRAND#{brand} / VERSION#{00001}    a model version: job, artifact, live key, metrics, gate, promotions
    BRAND#{brand} / LIVE               the live pointer: version, key, order (never moves backwards)
    BRAND#{brand} / POLICY             each class's role and confidence threshold; the barcode setting
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from authentic.aws.clients import table as table_resource
from authentic.aws.items import error_code, now, plain, query_prefix, to_item
from authentic.aws.ports import (
    BrandPolicy,
    ClassRule,
    JobEnd,
    JobRecord,
    JobStart,
    LivePointer,
    PromotionEntry,
    VersionRecord,
)
from authentic.keys import brand_partition


class _ConditionFailed(Exception):
    pass


def _brand(brand_id: str) -> str:
    return brand_partition(brand_id)


def version_sk(version: int) -> str:
    return f"VERSION#{version:05d}"


class DynamoModelRecords:
    def __init__(self, table_name: str, table: Any | None = None) -> None:
        self._table = table if table is not None else table_resource(table_name)

    # -- generic --------------------------------------------------------------------------------------------
    def _get(self, brand_id: str, sk: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": _brand(brand_id), "sk": sk}, ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _update(
        self, brand_id: str, sk: str, values: Mapping[str, Any], condition: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        names = {f"#f{i}": k for i, k in enumerate(values)}
        expr_values = {f":v{i}": to_item(v) for i, v in enumerate(values.values())}
        expr_values.update({k: to_item(v) for k, v in extra.items()})
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
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _ConditionFailed(sk) from exc
            raise
        attributes: dict[str, Any] = plain(out["Attributes"])
        return attributes

    # -- the one running job --------------------------------------------------------------------------------
    def acquire_job_slot(self, brand_id: str, job_name: str) -> str:
        try:
            self._table.put_item(
                Item={"pk": _brand(brand_id), "sk": "ACTIVEJOB", "job_name": job_name, "since": now()},
                ConditionExpression="attribute_not_exists(pk) OR job_name = :job",
                ExpressionAttributeValues={":job": job_name},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            holder = self._get(brand_id, "ACTIVEJOB")
            return str(holder["job_name"]) if holder else self.acquire_job_slot(brand_id, job_name)
        return job_name

    def release_job_slot(self, brand_id: str, job_name: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": _brand(brand_id), "sk": "ACTIVEJOB"},
                ConditionExpression="job_name = :job",
                ExpressionAttributeValues={":job": job_name},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    # -- jobs -----------------------------------------------------------------------------------------------
    def record_job_start(self, brand_id: str, job_name: str, start: JobStart) -> None:
        self._update(
            brand_id,
            f"JOB#{job_name}",
            {
                "job_name": job_name,
                "brand_id": brand_id,
                "created": True,
                "manifest_id": start.manifest_id,
                "manifest_key": start.manifest_key,
                "state": "InProgress",
                "created_at": start.created_at,
                "counts": dict(start.counts),
                "ended": False,
            },
        )

    def job(self, brand_id: str, job_name: str) -> JobRecord | None:
        item = self._get(brand_id, f"JOB#{job_name}")
        return _job(brand_id, job_name, item) if item else None

    def finish_job(self, brand_id: str, job_name: str, end: JobEnd) -> JobRecord:
        values = {
            "job_name": job_name,
            "brand_id": brand_id,
            "state": end.state,
            "ended": True,
            "ended_at": end.ended_at,
            **({"failure_reason": end.failure_reason} if end.failure_reason else {}),
            **({"metrics": dict(end.metrics)} if end.metrics else {}),
            **({"version": end.version} if end.version is not None else {}),
            **({"gate": dict(end.gate)} if end.gate else {}),
        }
        try:
            item = self._update(
                brand_id,
                f"JOB#{job_name}",
                values,
                "attribute_not_exists(ended) OR ended = :false",
                **{":false": False},
            )
        except _ConditionFailed:
            item = self._get(brand_id, f"JOB#{job_name}") or {}
        return _job(brand_id, job_name, item)

    # -- versions -------------------------------------------------------------------------------------------
    def allocate_version(self, brand_id: str, job_name: str) -> int:
        existing = self._get(brand_id, f"JOB#{job_name}") or {}
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
        except _ConditionFailed:
            return int((self._get(brand_id, f"JOB#{job_name}") or {})["version"])
        return candidate

    def put_version(self, record: VersionRecord) -> None:
        values = {k: v for k, v in asdict(record).items() if k not in ("brand_id", "promotions") and v is not None}
        self._update(record.brand_id, version_sk(record.version), {**values, "brand_id": record.brand_id})

    def add_promotion(self, brand_id: str, version: int, entry: PromotionEntry) -> None:
        self._table.update_item(
            Key={"pk": _brand(brand_id), "sk": version_sk(version)},
            UpdateExpression="SET promotions = list_append(if_not_exists(promotions, :none), :entry)",
            ExpressionAttributeValues={":none": [], ":entry": [to_item(asdict(entry))]},
        )

    def version(self, brand_id: str, version: int) -> VersionRecord | None:
        item = self._get(brand_id, version_sk(version))
        return _version(brand_id, item) if item else None

    def versions(self, brand_id: str) -> list[VersionRecord]:
        return [_version(brand_id, item) for item in query_prefix(self._table, _brand(brand_id), "VERSION#")]

    # -- the live pointer -----------------------------------------------------------------------------------
    def live(self, brand_id: str) -> LivePointer | None:
        item = self._get(brand_id, "LIVE")
        if not item:
            return None
        return LivePointer(
            version=int(item["version"]),
            live_key=str(item["live_key"]),
            reason=str(item.get("reason", "")),
            order=float(item.get("order", 0)),
            manual=bool(item.get("manual", False)),
            moved_at=float(item.get("moved_at", 0)),
        )

    def move_live(self, brand_id: str, version: int, live_key: str, reason: str, *, order: float, manual: bool) -> bool:
        fields = {
            "version": version,
            "live_key": live_key,
            "reason": reason,
            "order": Decimal(str(order)),
            "manual": manual,
            "moved_at": now(),
        }
        order_name = f"#f{list(fields).index('order')}"  # `_update` names the fields #f0, #f1, ... in order
        condition = None if manual else f"attribute_not_exists({order_name}) OR {order_name} < :order"
        try:
            self._update(brand_id, "LIVE", fields, condition, **({} if manual else {":order": Decimal(str(order))}))
        except _ConditionFailed:
            return False
        return True

    # -- policy ---------------------------------------------------------------------------------------------
    def policy(self, brand_id: str) -> BrandPolicy | None:
        item = self._get(brand_id, "POLICY")
        if not item:
            return None
        classes = {
            str(name): ClassRule(role=rule.get("role"), threshold=rule.get("threshold"))
            for name, rule in (item.get("classes") or {}).items()
        }
        barcode = item.get("barcode")
        return BrandPolicy(
            classes=classes, updated_at=item.get("updated_at"), barcode=str(barcode) if barcode else None
        )

    def put_policy(self, brand_id: str, classes: Mapping[str, ClassRule], *, barcode: str | None = None) -> None:
        stored = {name: {k: v for k, v in asdict(rule).items() if v is not None} for name, rule in classes.items()}
        self._update(brand_id, "POLICY", {"classes": stored, "updated_at": now(), "barcode": barcode})


def _job(brand_id: str, job_name: str, item: Mapping[str, Any]) -> JobRecord:
    version = item.get("version")
    return JobRecord(
        brand_id=brand_id,
        job_name=job_name,
        started=bool(item.get("created", False)),
        manifest_id=str(item.get("manifest_id", "")),
        manifest_key=str(item.get("manifest_key", "")),
        state=str(item.get("state", "InProgress")),
        created_at=item.get("created_at"),
        counts=item.get("counts"),
        ended=bool(item.get("ended", False)),
        ended_at=item.get("ended_at"),
        failure_reason=str(item.get("failure_reason", "")),
        metrics=item.get("metrics") or {},
        version=None if version is None else int(version),
        gate=item.get("gate") or {},
    )


def _version(brand_id: str, item: Mapping[str, Any]) -> VersionRecord:
    return VersionRecord(
        brand_id=brand_id,
        version=int(item["version"]),
        job_name=str(item.get("job_name", "")),
        artifact_uri=str(item.get("artifact_uri", "")),
        live_key=str(item.get("live_key", "")),
        metrics=item.get("metrics") or {},
        labels=item.get("labels") or {},
        gate=item.get("gate") or {},
        job_created_at=item.get("job_created_at"),
        recorded_at=item.get("recorded_at"),
        promotions=tuple(
            PromotionEntry(at=float(p["at"]), reason=str(p.get("reason", "")), forced=bool(p.get("forced", False)))
            for p in item.get("promotions") or ()
        ),
    )
