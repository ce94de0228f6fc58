"""What the CLI does, as functions: import a folder through the API, train and wait, verify, draw a verdict.

Everything goes through `ApiClient`, exactly as the brand web server would: presigned POST forms for uploads,
the REST routes for the rest. Progress is reported through callbacks so the CLI can draw bars.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from authentic.annotations.importers.folder import Format, load_dataset
from authentic.annotations.model import Annotation
from authentic.cli.client import ApiClient, content_type_for
from authentic.cli.fitting import CannotFit, Fitted, fit_for_upload, fit_for_verify
from authentic.contracts import MAX_PHOTO_PIXELS
from authentic.settings import MAX_IMAGE_BYTES

Progress = Callable[[int], None]
FORMS_PER_REQUEST = 100
OUTCOMES_PER_REQUEST = 100  # the upload route's limit on pair ids per outcome query


@dataclass
class ImportReport:
    uploaded: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    pending: list[str] = field(default_factory=list)
    not_uploaded: list[tuple[str, str]] = field(default_factory=list)  # refused before upload: (file, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # its upload failed (file, why): send it again
    box_problems: list[tuple[str, str]] = field(default_factory=list)  # accepted, some boxes dropped


@dataclass(frozen=True)
class _Upload:
    name: str
    image: bytes
    content_type: str
    annotation: bytes
    scale: float = 1.0  # < 1: downscaled to fit the upload limits


@dataclass(frozen=True)
class UploadLimits:
    """What the upload form and ingest take (the deployment's defaults; the forms' answer repeats the bytes)."""

    image_bytes: int = MAX_IMAGE_BYTES
    image_pixels: int = MAX_PHOTO_PIXELS


def prepare_import(
    folder: Path, fmt: Format, limits: UploadLimits | None = None
) -> tuple[list[_Upload], list[tuple[str, str]]]:
    """Read a dataset folder in any supported format into upload pairs (image bytes + seed annotation JSON).
    A photo over the limits is downscaled in its own frame, Exif kept, and its annotation scaled with it."""
    limits = limits or UploadLimits()
    dataset = load_dataset(folder, fmt)
    uploads = []
    refused = [(p.file, p.reason if p.box_index is None else str(p)) for p in dataset.problems]
    for item in dataset.items:
        try:
            fitted = fit_for_upload(
                item.image_path.read_bytes(),
                content_type_for(item.image_path),
                max_bytes=limits.image_bytes,
                max_pixels=limits.image_pixels,
            )
        except CannotFit as exc:
            refused.append((item.annotation.file, str(exc)))
            continue
        annotation = item.annotation
        raw = item.image_path.with_suffix(".json")
        if fitted.scale != 1.0:
            body = json.dumps(scaled_annotation(annotation, fitted).to_seed_json()).encode()
        elif fmt == "seed" and raw.exists():  # the canonical upload format goes up as the brand wrote it
            body = raw.read_bytes()
        else:
            body = json.dumps(annotation.to_seed_json()).encode()
        uploads.append(_Upload(annotation.file, fitted.data, fitted.content_type, body, fitted.scale))
    return uploads, refused


def scaled_annotation(annotation: Annotation, fitted: Fitted) -> Annotation:
    """The annotation of a photo downscaled in its stored frame: written against the stored pixels or the upright
    ones (its `image_size` says which), it is scaled on each axis as that frame was."""
    (width, height), (new_width, new_height) = fitted.original_size, fitted.size
    across, down = new_width / width, new_height / height
    size = annotation.size
    if size is not None and (size.width, size.height) == (height, width) != (width, height):
        across, down = down, across  # written upright on a photo stored on its side
    boxes = tuple(
        replace(b, left=b.left * across, top=b.top * down, width=b.width * across, height=b.height * down)
        for b in annotation.boxes
    )
    if size is not None:
        size = replace(size, width=round(size.width * across), height=round(size.height * down))
    return annotation.with_boxes(boxes, size)


def import_folder(
    client: ApiClient,
    brand: str,
    folder: Path,
    fmt: Format,
    *,
    on_upload: Progress | None = None,
    on_ingested: Progress | None = None,
    wait_seconds: float = 300.0,
    workers: int = 4,
    prepared: tuple[list[_Upload], list[tuple[str, str]]] | None = None,
) -> ImportReport:
    """Upload the folder's pairs (`prepared`: what `prepare_import` made of it, if already read) and collect
    each pair's outcome."""
    uploads, refused = prepared if prepared is not None else prepare_import(folder, fmt)
    report = ImportReport(not_uploaded=refused)
    pair_names: dict[str, str] = {}
    for start in range(0, len(uploads), FORMS_PER_REQUEST):
        chunk = uploads[start : start + FORMS_PER_REQUEST]
        forms = client.upload_forms(brand, [{"content_type": u.content_type, "name": u.name} for u in chunk])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            sent = {
                pair["pair_id"]: (upload.name, pool.submit(_upload_pair, client, pair, upload, on_upload))
                for pair, upload in zip(forms["pairs"], chunk, strict=True)
            }
        for pair_id, (name, future) in sent.items():
            error = future.exception()
            if error is None:
                pair_names[pair_id] = name
            else:  # no outcome will come for it: say so now rather than wait for it
                report.failed.append((name, f"the upload failed: {error}"))
    report.uploaded = len(pair_names)
    _collect(client, brand, pair_names, report, on_ingested, wait_seconds)
    return report


def _upload_pair(client: ApiClient, pair: dict[str, Any], upload: _Upload, on_upload: Progress | None) -> None:
    client.post_form(pair["image"], upload.image, Path(upload.name).name)
    client.post_form(pair["annotation"], upload.annotation, "annotation.json")
    if on_upload:
        on_upload(1)


def _collect(  # noqa: PLR0917
    client: ApiClient,
    brand: str,
    pair_names: dict[str, str],
    report: ImportReport,
    on_ingested: Progress | None,
    wait_seconds: float,
) -> None:
    """Ask for each uploaded pair's outcome until every one has one (or the wait runs out): a pair is open while
    neither file has been ingested ("unknown") or one half waits for the other ("pending")."""
    deadline = time.monotonic() + wait_seconds
    outcomes: dict[str, dict[str, Any]] = {}
    waiting = list(pair_names)
    while True:
        for start in range(0, len(waiting), OUTCOMES_PER_REQUEST):
            for outcome in client.pair_outcomes(brand, waiting[start : start + OUTCOMES_PER_REQUEST]):
                outcomes[outcome["pair_id"]] = outcome
        still = [pid for pid in waiting if outcomes.get(pid, {}).get("status") in (None, "unknown", "pending")]
        if on_ingested and len(still) < len(waiting):
            on_ingested(len(waiting) - len(still))
        waiting = still
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for pid, name in pair_names.items():
        outcome = outcomes.get(pid, {})
        if outcome.get("status") == "rejected":
            report.rejected.append((name, str(outcome.get("reason", ""))))
        elif outcome.get("status") == "accepted":
            report.accepted.append(name)
            report.box_problems.extend((name, str(p.get("reason"))) for p in outcome.get("problems", []))
        else:  # unknown, pending or stale when the wait ran out
            report.pending.append(name)


def train_and_wait(
    client: ApiClient,
    brand: str,
    hyperparameters: dict[str, str] | None = None,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    wait: bool = True,
    poll_seconds: float = 2.0,
    timeout: float = 3 * 3600,
) -> dict[str, Any]:
    job = client.start_training(brand, hyperparameters)
    if not wait:
        return job
    deadline = time.monotonic() + timeout
    promotion_wait: float | None = None
    while True:
        state = job.get("state")
        if state in ("Failed", "Stopped") or (state == "Completed" and "version" in job):
            return job
        if state == "Completed":  # ended: the promotion handler records the version moments later
            promotion_wait = promotion_wait or time.monotonic() + 120
            if time.monotonic() > promotion_wait:
                return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"training job {job['job_name']} did not finish within {timeout:.0f} s")
        time.sleep(poll_seconds)
        job = client.training_job(brand, job["job_name"])
        if on_progress:
            on_progress(job)


@dataclass(frozen=True)
class Verified:
    answer: dict[str, Any]  # boxes and image_size in the original photo's upright pixels
    sent: Fitted  # what went over the wire


def verify_photo(client: ApiClient, brand: str, photo: Path, *, public: bool = False) -> Verified:
    """Verify as the brand (the full answer), or with `public` as a shopper would; a photo over the route's limits
    is downscaled (upright) first, and the answer's boxes are mapped back onto the original photo."""
    sent = fit_for_verify(photo.read_bytes(), content_type_for(photo))
    answer = client.verify(brand, sent.data, sent.content_type, public=public)
    if sent.scale != 1.0:
        answer = _scaled_answer(answer, 1 / sent.scale)
    return Verified(answer, sent)


def _scaled_answer(answer: dict[str, Any], factor: float) -> dict[str, Any]:
    scaled = dict(answer)
    if isinstance(answer.get("image_size"), dict):
        scaled["image_size"] = {k: round(float(v) * factor) for k, v in answer["image_size"].items()}
    for key in ("detections", "barcodes"):
        scaled[key] = [
            {**d, "box": {k: round(float(v) * factor, 1) for k, v in d["box"].items()}} for d in answer.get(key, [])
        ]
    return scaled


_COLOURS = {"genuine": (40, 170, 80), "counterfeit": (220, 40, 40), "inconclusive": (200, 150, 0)}


_BARCODE_COLOURS = {
    "registered": (40, 170, 80),
    "not registered": (220, 40, 40),
    "check digit fails": (150, 150, 150),
    "no GTIN": (150, 150, 150),
}


def _barcode_state(barcode: dict[str, Any]) -> str:
    if not barcode.get("gtin"):
        return "no GTIN"
    if not barcode.get("check_digit_ok"):
        return "check digit fails"
    return "registered" if barcode.get("registered") else "not registered"


def annotate(photo: Path, answer: dict[str, Any], out: Path) -> Path:
    """Draw the boxes, classes, confidences, the barcodes read and the verdict onto an upright copy of the photo."""
    with Image.open(photo) as source:
        image = ImageOps.exif_transpose(source).convert("RGB")
    draw = ImageDraw.Draw(image)
    scale = max(image.size) / 640
    font_size = max(12, round(16 * scale))
    font = ImageFont.load_default(size=font_size)
    width = max(2, round(3 * scale))
    detections = answer.get("detections", [])
    shown = [d for d in detections if d.get("counts", True)] or detections[
        :1
    ]  # the verdict's boxes, or the best near miss
    for detection in shown:
        box = detection["box"]
        left, top = float(box.get("left", box.get("x1", 0))), float(box.get("top", box.get("y1", 0)))
        right = float(box.get("right", box.get("x2", left + float(box.get("width", 0)))))
        bottom = float(box.get("bottom", box.get("y2", top + float(box.get("height", 0)))))
        colour = _COLOURS.get(detection.get("role", ""), (60, 60, 220))
        if not detection.get("counts", True):
            colour = (150, 150, 150)
        draw.rectangle((left, top, right, bottom), outline=colour, width=width)
        label = f"{detection.get('name')} {float(detection['confidence']):.2f}"
        draw.text((left + width, max(0, top - font_size - 2)), label, fill=colour, font=font)
    for barcode in answer.get("barcodes", []):
        box = barcode["box"]
        left, top = float(box["left"]), float(box["top"])
        right, bottom = left + float(box["width"]), top + float(box["height"])
        colour = _BARCODE_COLOURS[_barcode_state(barcode)]
        draw.rectangle((left - width, top - width, right + width, bottom + width), outline=colour, width=width)
        label = f"{barcode.get('gtin') or barcode.get('format')} {_barcode_state(barcode)}"
        draw.text((left, bottom + width + 2), label, fill=colour, font=font)
    verdict = str(answer.get("verdict", "inconclusive"))
    banner = f"{verdict.upper()}: {answer.get('reason', '')}"
    draw.rectangle((0, 0, image.width, font_size + 8), fill=(0, 0, 0))
    draw.text((4, 4), banner, fill=_COLOURS.get(verdict, (255, 255, 255)), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, "JPEG", quality=90)
    return out
