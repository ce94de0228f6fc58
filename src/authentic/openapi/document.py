"""The OpenAPI 3.1 document: one operation per route of `authentic.wiring.ROUTES` (a route without an operation
here, or an operation without a route, stops the build), its auth from the wiring, its bodies from
`authentic.openapi.models`, its errors and examples from the table below."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import authentic
from authentic import keys, wiring
from authentic.contracts import (
    DOWNSCALE_LONG_SIDE_PX,
    MAX_VERIFY_PHOTO_BYTES,
    MAX_VERIFY_PIXELS,
    PAYLOAD_TOO_LARGE_ERROR,
    PAYLOAD_TOO_LARGE_MESSAGE,
    PHOTO_MEDIA_TYPES,
)
from authentic.ingest.report import MAX_PAIRS_PER_QUERY
from authentic.openapi import models as m

OPENAPI_VERSION = "3.1.0"
SIGV4 = "sigv4"
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)\}")
_REF = "#/components/schemas/{model}"

DESCRIPTION = """\
Counterfeit detection for brands. The brand web server uploads annotated photos, trains one detector per
brand and manages its model versions and verdict policy (routes under `/brands/{brandId}`, signed with AWS
Signature Version 4); shoppers post a photo to the public `POST /verify?brand={brandId}` and get a verdict with
the boxes that justify it. The shopper's page is served on the same origin and calls that route.

Every error answer is JSON with a stable `error` code and a `message` that says what was wrong and how to fix it
(API Gateway's own answers for a bad signature, throttling or an oversized body carry only `message`). Photos sent
to `/verify` are never stored or logged.
"""

# -- examples (the brand "acme" of the demo) ----------------------------------------------------------------------

BRAND = "acme"
JOB = "authentic-acme-3f9c2d1e8b7a"
PAIR = "9b1f0c3e5d7a4b6c8e0f1a2b3c4d5e6f"
_POST = {"url": "https://authentic-uploads.s3.amazonaws.com/", "fields": {"key": f"{BRAND}/{PAIR}/image"}}
_GATE = {"passed": True, "map50": 0.962, "bar": 0.5, "reason": "mAP50 0.962 ≥ bar 0.500"}
_METRICS = {"map50": 0.962, "map50_95": 0.711, "precision": 0.93, "recall": 0.95, "threshold": 0.41}
_JOB = {
    "job_name": JOB,
    "brand_id": BRAND,
    "manifest_key": f"{BRAND}/manifests/3f9c2d1e8b7a40c1a2b3c4d5e6f7a8b9.json",
    "state": "InProgress",
    "counts": {"images": 120, "classes": {"acme-box": {"images": 64, "boxes": 80}}},
    "secondary_status": "Training",
    "progress": {"epoch": 12, "epochs": 40, "map50": 0.81},
}
_OVERVIEW = {
    "brand_id": BRAND,
    "live": {
        "version": 2,
        "live_key": f"{BRAND}/v00002.tar.gz",
        "reason": f"training job {JOB} passed the gate",
        "moved_at": 1764547200.0,
        "manual": False,
    },
    "versions": [{"version": 2, "job_name": JOB, "metrics": _METRICS, "gate": _GATE, "live": True, "promotions": []}],
}
_GTINS = {
    "brand_id": BRAND,
    "count": 2,
    "gtins": [{"gtin": "05901234123457", "class": None}, {"gtin": "00000096385074", "class": "acme-box"}],
}
_BARCODE = {
    "format": "EAN-13",
    "text": "5901234123457",
    "gtin": "05901234123457",
    "check_digit_ok": True,
    "registered": True,
    "class": None,
    "box": {"left": 700.0, "top": 780.0, "width": 210.0, "height": 80.0},
    "confirmed": True,
}
_POLICY = {
    "brand_id": BRAND,
    "classes": {"acme-box-fake": {"threshold": 0.4}},
    "barcode": "advisory",
    "effective": [
        {"id": 0, "name": "acme-box", "role": "genuine", "threshold": 0.41, "source": "model"},
        {"id": 1, "name": "acme-box-fake", "role": "counterfeit", "threshold": 0.4, "source": "policy"},
    ],
    "live_version": 2,
}
_DETECTION = {
    "class_id": 0,
    "name": "acme-box",
    "role": "genuine",
    "confidence": 0.91,
    "box": {"left": 612.0, "top": 388.5, "width": 402.0, "height": 455.0},
    "box_normalized": {"left": 0.3825, "top": 0.32375, "width": 0.25125, "height": 0.379167},
    "threshold": 0.41,
    "counts": True,
}
_VERDICT = {
    "brand_id": BRAND,
    "model_version": 2,
    "verdict": "genuine",
    "reason": "genuine class 'acme-box' detected at 0.91 (threshold 0.41); no counterfeit class detected",
    "detections": [_DETECTION],
    "barcodes": [_BARCODE],
    "image_size": {"width": 1600, "height": 1200},
    "timings_ms": {"queue": 0.1, "decode": 21.4, "preprocess": 2.2, "inference": 31.9, "postprocess": 0.6},
}
_PUBLIC_VERDICT = {
    "brand_id": BRAND,
    "model_version": 2,
    "verdict": "genuine",
    "reason": "genuine acme-box detected; no counterfeit detected",
    "detections": [{name: _DETECTION[name] for name in ("class_id", "name", "role", "confidence", "box")}],
    "barcodes": [_BARCODE],
    "image_size": {"width": 1600, "height": 1200},
}


def _error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message} | ({"details": details} if details is not None else {})


# -- the operations -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    description: str
    model: type[BaseModel] | tuple[type[BaseModel], ...] = m.Error  # a tuple: one of these
    example: Any = None
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    tag: str
    summary: str
    description: str
    replies: dict[int, Reply]
    body: type[BaseModel] | None = None  # a JSON body (optional: an empty body is an empty object)
    body_example: Any = None
    photo: bool = False  # the body is a photo


def _not_a_photo() -> Reply:
    return Reply(
        "the content type is not a photo this route reads",
        example=_error(
            "unsupported_media_type",
            "content type 'text/plain' is not a photo this route reads; send one of " + ", ".join(PHOTO_MEDIA_TYPES),
        ),
    )


def _loading() -> Reply:
    return Reply(
        "the brand's model is loading on the endpoint: try again after `Retry-After` seconds",
        example=_error("unavailable", "the brand's model is loading; try again in a few seconds"),
        headers=_RETRY_AFTER,
    )


def _too_large() -> Reply:
    return Reply(
        f"the photo is over {MAX_VERIFY_PHOTO_BYTES:,} bytes or {MAX_VERIFY_PIXELS:,} pixels (what the route's "
        "Lambda can take after base64, and decode), or the body over API Gateway's limit: send it downscaled to "
        f"{DOWNSCALE_LONG_SIDE_PX} px on the long side as a JPEG",
        example=_error(PAYLOAD_TOO_LARGE_ERROR, PAYLOAD_TOO_LARGE_MESSAGE),
    )


def _bad_brand() -> Reply:
    return Reply(
        "the brandId is not valid, or the request is not",
        example=_error("invalid_input", f"brandId 'Acme!' is not valid: use {_BRAND_RULE}"),
    )


_BRAND_RULE = "1-32 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
        "example": 5,
    }
}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/brands/{brandId}/uploads"): Operation(
        "createUploadForms",
        "uploads",
        "Presigned upload forms for annotated photos",
        "One presigned S3 POST form for each photo and one for its annotation JSON (the canonical format in the "
        "README). Keys are made by the server; each form fixes its key, content type and size limit, and expires "
        "after `expires_at`. Ask for `count` pairs of one content type, or one entry per pair in `pairs` (with a "
        "`name` echoed back to match forms to files). Uploaded pairs are ingested asynchronously: see "
        "`GET /brands/{brandId}/uploads`.",
        {
            200: Reply(
                "the forms",
                m.UploadForms,
                {
                    "brand_id": BRAND,
                    "expires_at": 1764548100,
                    "limits": {"image_bytes": 26214400, "annotation_bytes": 1048576},
                    "pairs": [{"pair_id": PAIR, "name": "shoe-1.jpg", "image": _POST, "annotation": _POST}],
                },
            ),
            400: Reply(
                "the request asks for no pair, too many, or an unaccepted content type",
                example=_error(
                    "invalid_input",
                    "pair 0: content type 'image/gif' is not accepted; use one of " + ", ".join(PHOTO_MEDIA_TYPES),
                ),
            ),
        },
        body=m.UploadRequest,
        body_example={"pairs": [{"content_type": "image/jpeg", "name": "shoe-1.jpg"}]},
    ),
    ("GET", "/brands/{brandId}/uploads"): Operation(
        "getIngestSummary",
        "uploads",
        "The brand's ingest results",
        "Counts per class of the accepted dataset, and every rejected, pending (half a pair has arrived) or stale "
        "(pending for longer than the configured time) pair, each with its reason. With `?pairs=`, only the "
        "named pairs' outcomes instead (`PairOutcomes`): what an uploader waits on after sending its files.",
        {
            200: Reply(
                "the ingest summary, or with `?pairs=` the named pairs' outcomes",
                (m.IngestSummary, m.PairOutcomes),
                {
                    "brand_id": BRAND,
                    "images": 58,
                    "classes": [{"class_id": 0, "name": "acme-box", "images": 31, "boxes": 40}],
                    "counts": {"accepted": 58, "rejected": 1, "pending": 0, "stale": 0},
                    "rejected": [
                        {
                            "pair_id": PAIR,
                            "status": "rejected",
                            "file": "broken.jpg",
                            "reason": "the JPEG's scan data runs to the end of the file without an end-of-image marker",
                        }
                    ],
                    "pending": [],
                    "stale": [],
                    "accepted_with_problems": [],
                },
            ),
        },
    ),
    ("POST", "/brands/{brandId}/training-jobs"): Operation(
        "startTraining",
        "training",
        "Freeze the dataset and start training",
        "Checks the dataset (enough images per class), freezes it as a manifest of exact object versions and "
        "starts one training job. The job's name comes from the brand and the frozen dataset, so a retried request "
        "returns the same job (200) instead of starting another (201).",
        {
            201: Reply("a job was started", m.TrainingJob, _JOB),
            200: Reply("this exact dataset's job already exists: it is returned", m.TrainingJob, _JOB),
            409: Reply(
                "another training job of the brand is running; `details` describes it",
                example=_error("conflict", f"brand 'acme' already has a training job running: {JOB}", _JOB),
            ),
            422: Reply(
                "the dataset cannot be trained yet; `details.problems` names every problem",
                example=_error(
                    "dataset_not_ready",
                    "brand 'acme' cannot be trained yet: class 'acme-box-fake' has 4 images, at least 10 are needed",
                    {"problems": ["class 'acme-box-fake' has 4 images, at least 10 are needed"]},
                ),
            ),
        },
        body=m.TrainingRequest,
        body_example={"hyperparameters": {"epochs": 40, "imgsz": 320}},
    ),
    ("GET", "/brands/{brandId}/training-jobs/{jobId}"): Operation(
        "getTrainingJob",
        "training",
        "A training job's state",
        "State and SageMaker's secondary status, epoch progress while it runs; metrics, the model version and the "
        "quality gate once it completed; the failure reason when it failed.",
        {
            200: Reply("the job", m.TrainingJob, _JOB),
            404: Reply(
                "no such job for this brand",
                example=_error("not_found", "brand 'acme' has no training job 'authentic-acme-000000000000'"),
            ),
        },
    ),
    ("GET", "/brands/{brandId}/models"): Operation(
        "listModels",
        "models",
        "The brand's model versions",
        "Every version with its metrics and quality gate, which one is live, since when and why.",
        {200: Reply("the versions", m.ModelsOverview, _OVERVIEW)},
    ),
    ("POST", "/brands/{brandId}/models/{version}/promote"): Operation(
        "promoteModel",
        "models",
        "Make a version live",
        "A rollback or a forward move by hand. A version below the quality gate needs `force`. A manual promotion "
        "becomes the floor for automatic ones: a training job started before it cannot undo it.",
        {
            200: Reply("the versions after the move", m.ModelsOverview, _OVERVIEW),
            404: Reply("no such version", example=_error("not_found", "brand 'acme' has no model version 7")),
            409: Reply(
                "the version failed the quality gate and `force` was not set",
                example=_error(
                    "quality_gate_failed",
                    "version 3 failed the quality gate (mAP50 0.310 < bar 0.500); pass force=true to promote it anyway",
                    {"gate": _GATE | {"passed": False}},
                ),
            ),
        },
        body=m.PromoteRequest,
        body_example={"reason": "roll back: version 3 misses the new packaging"},
    ),
    ("GET", "/brands/{brandId}/policy"): Operation(
        "getPolicy",
        "models",
        "The verdict policy",
        "What the brand set per class (role and confidence threshold), how barcodes weigh in (`barcode`), and the "
        "effective policy the verdict applies to the live model's classes.",
        {200: Reply("the policy", m.PolicyView, _POLICY)},
    ),
    ("PUT", "/brands/{brandId}/policy"): Operation(
        "putPolicy",
        "models",
        "Set the verdict policy",
        "Sets each named class's role and threshold (classes not named keep the model's). Class names must be the "
        "dataset's or the live model's.",
        {
            200: Reply("the policy after the change", m.PolicyView, _POLICY),
            400: Reply(
                "an unknown class, role or threshold",
                example=_error(
                    "invalid_input",
                    "unknown class(es) 'acme-bag'; this brand's classes are 'acme-box', 'acme-box-fake'",
                ),
            ),
        },
        body=m.PolicyRequest,
        body_example={"classes": {"acme-box-fake": {"role": "counterfeit", "threshold": 0.4}}},
    ),
    ("GET", "/brands/{brandId}/gtins"): Operation(
        "getGtins",
        "models",
        "The brand's registered GTINs",
        "Every GTIN the brand registered, as GTIN-14, with the class it is printed on (null: any of the brand's "
        "products). A barcode read in a shopper's photo is checked against this list.",
        {200: Reply("the registered GTINs", m.GtinList, _GTINS)},
    ),
    ("PUT", "/brands/{brandId}/gtins"): Operation(
        "putGtins",
        "models",
        "Register the brand's GTINs",
        "Replaces the list. Each entry is a GTIN (8, 12, 13 or 14 digits with a valid GS1 check digit, not a "
        "restricted circulation number) or an object with `gtin`, optional `class` (one of the brand's classes) and "
        "optional `format` (`UPC-E`: the 8 digits are expanded to UPC-A). Stored as GTIN-14.",
        {
            200: Reply(
                "the list as stored, with what changed", m.GtinList, {**_GTINS, "added": 1, "changed": 0, "removed": 0}
            ),
            413: Reply(
                "over 10,000 GTINs or 2 MB",
                example=_error("payload_too_large", "12,000 GTINs sent; a brand registers at most 10,000"),
            ),
            422: Reply(
                "some entries are not valid GTINs of this brand: `details.problems` names every one",
                example=_error(
                    "invalid_entries",
                    "1 of 2 entries are not valid GTINs of this brand: entry 2 ('5901234123458'): the check "
                    "digit should be 7",
                    {"problems": [{"entry": 2, "gtin": "5901234123458", "problem": "the check digit should be 7"}]},
                ),
            ),
        },
        body=m.GtinsRequest,
        body_example={"gtins": ["5901234123457", {"gtin": "96385074", "class": "acme-box"}]},
    ),
    ("POST", "/verify"): Operation(
        "verifyPhoto",
        "verify",
        "Verify a shopper's photo",
        "The photo is the request body (JPEG, PNG or HEIC). The answer is `genuine` when a genuine-role class is "
        "detected at or above its threshold and no counterfeit-role class is, `counterfeit` when a "
        "counterfeit-role class is, `inconclusive` otherwise (nothing recognised, the photo unreadable, or no live "
        "model for the brand), always with the reason and the boxes, in the upright photo's pixels. The photo is "
        "never stored. Public and throttled; larger photos are shrunk before the model sees them, but a photo of "
        "at most 1600 px and about 1 MB (what the shopper's page sends) is answered fastest.",
        {
            200: Reply("the verdict, without thresholds or near misses", m.PublicVerifyAnswer, _PUBLIC_VERDICT),
            400: Reply(
                "no brand, or not a valid brand id",
                example=_error("invalid_input", "say which brand: POST /verify?brand={brandId}"),
            ),
            413: _too_large(),
            415: _not_a_photo(),
            503: _loading(),
        },
        photo=True,
    ),
    ("POST", "/brands/{brandId}/verify"): Operation(
        "verifyPhotoForBrand",
        "verify",
        "Verify a photo as the brand sees it",
        "The same verification as `POST /verify`, answered in full for the brand: every detection with its class "
        "threshold under the policy and whether it counts (near misses included), boxes also as fractions of the "
        "photo, and the model's timings. Signed; the photo is never stored.",
        {
            200: Reply("the verdict with every detection", m.VerifyAnswer, _VERDICT),
            413: _too_large(),
            415: _not_a_photo(),
            503: _loading(),
        },
        photo=True,
    ),
}

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "brandId": {
        "description": f"the brand: {_BRAND_RULE}",
        "schema": {"type": "string", "pattern": keys.BRAND_ID_PATTERN},
        "example": BRAND,
    },
    "jobId": {
        "description": "the training job's name, as `POST /brands/{brandId}/training-jobs` returned it",
        "schema": {"type": "string", "pattern": r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"},  # SageMaker's job names
        "example": JOB,
    },
    "version": {
        "description": "a model version number (`3` or `v3`)",
        "schema": {"type": "string", "pattern": r"^v?[0-9]{1,9}$"},
        "example": "2",
    },
}
QUERY_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("GET", "/brands/{brandId}/uploads"): [
        {
            "name": "pairs",
            "in": "query",
            "required": False,
            "description": f"up to {MAX_PAIRS_PER_QUERY} pair ids, comma-separated: answer only their outcomes",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}(,[0-9a-f]{32})*$"},
            "example": PAIR,
        }
    ],
    ("POST", "/verify"): [
        {
            "name": "brand",
            "in": "query",
            "required": True,
            "description": f"the brand whose products the photo shows: {_BRAND_RULE}",
            "schema": {"type": "string", "pattern": keys.BRAND_ID_PATTERN},
            "example": BRAND,
        }
    ],
}


def _forbidden() -> Reply:
    return Reply(
        "API Gateway refused the request: no or an invalid AWS Signature Version 4, or the caller's IAM policy "
        "does not allow execute-api:Invoke on the route",
        example={"message": "Missing Authentication Token"},
    )


def _throttled() -> Reply:
    return Reply(
        "API Gateway throttled the request (the stage's or the account's rate limit): try again shortly",
        example={"message": "Too Many Requests"},
    )


# -- building ---------------------------------------------------------------------------------------------------


def _replies(route: wiring.Route, operation: Operation) -> dict[int, Reply]:
    replies = {400: _bad_brand(), **operation.replies}
    if route.auth is wiring.Auth.IAM:
        replies[403] = _forbidden()
    replies[429] = _throttled()
    return dict(sorted(replies.items()))


def _models(model: type[BaseModel] | tuple[type[BaseModel], ...]) -> tuple[type[BaseModel], ...]:
    return model if isinstance(model, tuple) else (model,)


def _media(model: type[BaseModel] | tuple[type[BaseModel], ...], example: Any) -> dict[str, Any]:
    refs = [{"$ref": _REF.format(model=one.__name__)} for one in _models(model)]
    media: dict[str, Any] = {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}
    if example is not None:
        media["examples"] = {"example": {"value": example}}
    return media


def _parameters(route: wiring.Route) -> list[dict[str, Any]]:
    names = _PATH_PARAMETER.findall(route.path)
    missing = [name for name in names if name not in PATH_PARAMETERS]
    if missing:
        raise KeyError(f"{route.method} {route.path}: no description of the path parameter(s) {missing}")
    path = [{"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]} for name in names]
    return path + QUERY_PARAMETERS.get((route.method, route.path), [])


def _operation(route: wiring.Route, operation: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "summary": operation.summary,
        "description": operation.description,
        "security": [{SIGV4: []}] if route.auth is wiring.Auth.IAM else [],
    }
    parameters = _parameters(route)
    if parameters:
        doc["parameters"] = parameters
    if operation.photo:
        doc["requestBody"] = {
            "required": True,
            "description": "the photo, as taken: its Exif orientation is applied and its metadata never kept",
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in PHOTO_MEDIA_TYPES},
        }
    elif operation.body is not None:
        doc["requestBody"] = {
            "required": False,
            "content": {"application/json": _media(operation.body, operation.body_example)},
        }
    doc["responses"] = {}
    for status, reply in _replies(route, operation).items():
        answer: dict[str, Any] = {
            "description": reply.description,
            "content": {"application/json": _media(reply.model, reply.example)},
        }
        if reply.headers:
            answer["headers"] = reply.headers
        doc["responses"][str(status)] = answer
    return doc


def _schemas() -> dict[str, Any]:
    requests = {o.body for o in OPERATIONS.values() if o.body is not None}
    answers = {one for o in OPERATIONS.values() for r in o.replies.values() for one in _models(r.model)} | {m.Error}
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation") for model in sorted(requests, key=lambda c: c.__name__)
    ]
    pairs += [(model, "serialization") for model in sorted(answers, key=lambda c: c.__name__)]
    _, top = models_json_schema(pairs, ref_template=_REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    return dict(sorted(schemas.items()))


def build() -> dict[str, Any]:
    """The whole document, as a JSON-ready dict (the same input gives the same output, key order included)."""
    documented = set(OPERATIONS)
    wired = {(r.method, r.path) for r in wiring.ROUTES}
    if documented != wired:
        raise KeyError(
            f"the document and the wiring disagree: routes without an operation {sorted(wired - documented)}, "
            f"operations without a route {sorted(documented - wired)}"
        )
    paths: dict[str, dict[str, Any]] = {}
    for route in wiring.ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, OPERATIONS[(route.method, route.path)]
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "authentic: counterfeit detection API",
            "version": authentic.__version__,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [
            {
                "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/prod",
                "description": "a deployment (the stack output ApiUrl); the shopper's page's CloudFront domain also "
                "serves POST /verify",
                "variables": {"restApiId": {"default": "abc123defg"}, "region": {"default": "eu-west-1"}},
            },
            {"url": "http://127.0.0.1:8000", "description": "the embedded default: `authentic local up`"},
        ],
        "tags": [
            {"name": "uploads", "description": "annotated photos in, ingest results out"},
            {"name": "training", "description": "freeze the dataset, train, follow the job"},
            {"name": "models", "description": "model versions, the live pointer and the verdict policy"},
            {"name": "verify", "description": "the shoppers' route"},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                SIGV4: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 for the service `execute-api` (API Gateway's AWS_IAM "
                    "authorization); the caller needs execute-api:Invoke on the route",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }


def render() -> str:
    """The document as the checked-in file holds it."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
