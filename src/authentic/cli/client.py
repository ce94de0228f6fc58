"""The platform's REST API as the brand web server uses it: upload forms, presigned POSTs, training, models,
policy, registered GTINs, verify. Talks to the local runtime or a deployed API; with `sign=True` requests carry SigV4
(credentials and region from the usual AWS configuration)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from authentic.contracts import PHOTO_SUFFIXES


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


def content_type_for(path: Path) -> str:
    try:
        return PHOTO_SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"{path.name}: not a photo this platform takes (use .jpg, .png or .heic)") from None


@dataclass
class ApiClient:
    base_url: str
    sign: bool = False
    region: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(timeout=self.timeout)
        self._credentials: Any = None
        if self.sign:
            import boto3  # noqa: PLC0415

            session = boto3.session.Session()
            self._credentials = session.get_credentials()
            self.region = self.region or session.region_name
            if self._credentials is None or not self.region:
                raise ValueError("signing needs AWS credentials and a region (AWS_PROFILE, AWS_REGION, ...)")

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        url = f"{self.base_url}{path}"
        if params:
            url = str(httpx.URL(url, params=params))
        headers: dict[str, str] = {}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self.sign:
            headers = self._signed(method, url, content or b"", headers)
        response = self._http.request(method, url, content=content, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code not in expect:
            raise ApiError(response.status_code, body)
        return body

    def _signed(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())

    # -- the routes -----------------------------------------------------------------------------------------
    def upload_forms(self, brand: str, pairs: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", f"/brands/{brand}/uploads", json_body={"pairs": pairs})
        return result

    def post_form(self, form: dict[str, Any], data: bytes, filename: str) -> None:
        """Upload through a presigned POST form, as a browser would (never signed: the form is the grant)."""
        response = self._http.post(form["url"], data=form["fields"], files={"file": (filename, data)})
        if response.status_code not in (200, 201, 204):
            raise ApiError(response.status_code, response.text[:500])

    def ingest_summary(self, brand: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/uploads")
        return result

    def pair_outcomes(self, brand: str, pair_ids: list[str]) -> list[dict[str, Any]]:
        """Each named pair's outcome (at most 100 ids a call): accepted, rejected, pending, stale or unknown."""
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/uploads", params={"pairs": ",".join(pair_ids)})
        return list(result["pairs"])

    def start_training(self, brand: str, hyperparameters: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"hyperparameters": hyperparameters} if hyperparameters else {}
        result: dict[str, Any] = self.request("POST", f"/brands/{brand}/training-jobs", json_body=body)
        return result

    def training_job(self, brand: str, job: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/training-jobs/{job}")
        return result

    def models(self, brand: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/models")
        return result

    def promote(self, brand: str, version: int, *, force: bool = False, reason: str = "") -> dict[str, Any]:
        body = {"force": force, "reason": reason}
        result: dict[str, Any] = self.request("POST", f"/brands/{brand}/models/{version}/promote", json_body=body)
        return result

    def policy(self, brand: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/policy")
        return result

    def put_policy(
        self, brand: str, classes: dict[str, Any] | None = None, *, barcode: str | None = None
    ) -> dict[str, Any]:
        """Set the classes' roles and thresholds and/or the barcode setting (what is left out stays)."""
        body: dict[str, Any] = {"classes": classes} if classes is not None else {}
        if barcode:
            body["barcode"] = barcode
        result: dict[str, Any] = self.request("PUT", f"/brands/{brand}/policy", json_body=body)
        return result

    def gtins(self, brand: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/brands/{brand}/gtins")
        return result

    def put_gtins(self, brand: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PUT", f"/brands/{brand}/gtins", json_body={"gtins": entries})
        return result

    def verify(self, brand: str, photo: bytes, content_type: str, *, public: bool = False) -> dict[str, Any]:
        """The brand's full answer (`POST /brands/{brandId}/verify`: near misses, thresholds), or with `public` the
        shopper's (`POST /verify?brand=`: the verdict and the counting boxes)."""
        if public:
            path, params = "/verify", {"brand": brand}
        else:
            path, params = f"/brands/{brand}/verify", None
        result: dict[str, Any] = self.request("POST", path, content=photo, content_type=content_type, params=params)
        return result
