"""S3: the only module that talks to S3. Implements `ports.ObjectStore`."""

from __future__ import annotations

from typing import IO, Any

from botocore.exceptions import ClientError

from authentic.aws.clients import client
from authentic.aws.ports import ObjectInfo, StoredObject
from authentic.errors import ObjectMissing

_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_EXISTS = {"PreconditionFailed", "412"}


class S3ObjectStore:
    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3 if s3 is not None else client("s3")

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        out = self._read("head_object", bucket, key, version_id)
        return ObjectInfo(bucket, key, int(out["ContentLength"]), out.get("VersionId"), out.get("ContentType"))

    def get(
        self, bucket: str, key: str, version_id: str | None = None, *, byte_range: str | None = None
    ) -> StoredObject:
        out = self._read("get_object", bucket, key, version_id, **({"Range": byte_range} if byte_range else {}))
        body: bytes = out["Body"].read()
        info = ObjectInfo(bucket, key, int(out["ContentLength"]), out.get("VersionId"), out.get("ContentType"))
        return StoredObject(info, body)

    def stream(self, bucket: str, key: str) -> IO[bytes]:
        """A file-like reader over the object's body, for reading only as much as needed."""
        body: IO[bytes] = self._read("get_object", bucket, key, None)["Body"]
        return body

    def _read(self, operation: str, bucket: str, key: str, version_id: str | None, **extra: Any) -> Any:
        """One read call, with a missing object or version as `ObjectMissing`."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, **extra}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            return getattr(self._s3, operation)(**kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ObjectMissing(f"s3://{bucket}/{key}") from exc
            raise

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except ObjectMissing:
            return False
        return True

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> ObjectInfo:
        out = self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return ObjectInfo(bucket, key, len(body), out.get("VersionId"), content_type)

    def put_if_absent(self, bucket: str, key: str, body: bytes, *, content_type: str) -> bool:
        """A conditional write: S3 answers 412 when the key exists, and the object stays as it was. (A 409
        `ConditionalRequestConflict`, two writers racing, raises: the caller's retry finds the object.)"""
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) in _EXISTS:
                return False
            raise
        return True

    def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str, *, source_version: str | None = None
    ) -> ObjectInfo:
        source: dict[str, str] = {"Bucket": source_bucket, "Key": source_key}
        if source_version:
            source["VersionId"] = source_version
        out = self._s3.copy_object(CopySource=source, Bucket=bucket, Key=key)
        return ObjectInfo(bucket, key, -1, out.get("VersionId"))

    def copy_once(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        try:
            self._s3.copy_object(
                CopySource={"Bucket": source_bucket, "Key": source_key}, Bucket=bucket, Key=key, IfNoneMatch="*"
            )
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def delete(self, bucket: str, key: str) -> None:
        self._s3.delete_object(Bucket=bucket, Key=key)

    def list_keys(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        paginator = self._s3.get_paginator("list_objects_v2")
        found: list[ObjectInfo] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(ObjectInfo(bucket, o["Key"], int(o["Size"]), None) for o in page.get("Contents", []))
        return found

    def presigned_post(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires_in: int,
    ) -> dict[str, Any]:
        """A POST form that can upload exactly this key, with this content type, up to `max_bytes`."""
        form: dict[str, Any] = self._s3.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"bucket": bucket},
                ["eq", "$key", key],
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return form


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
