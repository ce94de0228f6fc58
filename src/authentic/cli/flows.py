"""What the CLI does, as functions: import a folder through the API, train and wait, verify, draw a verdict.

Everything goes through `ApiClient`, exactly as the brand web server would: presigned POST forms for uploads,
the REST routes for the rest. Progress is reported through callbacks so the CLI can draw bars.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from authentic.annotations.importers.folder import Format, load_dataset
from authentic.cli.client import ApiClient, content_type_for

Progress = Callable[[int], None]
FORMS_PER_REQUEST = 100


@dataclass
class ImportReport:
    uploaded: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    pending: list[str] = field(default_factory=list)
    not_uploaded: list[tuple[str, str]] = field(default_factory=list)  # refused before upload: (file, reason)
    box_problems: list[tuple[str, str]] = field(default_factory=list)  # accepted, some boxes dropped


@dataclass(frozen=True)
class _Upload:
    name: str
    image: bytes
    content_type: str
    annotation: bytes


def prepare_import(folder: Path, fmt: Format) -> tuple[list[_Upload], list[tuple[str, str]]]:
    """Read a dataset folder in any supported format into upload pairs (image bytes + seed annotation JSON)."""
    dataset = load_dataset(folder, fmt)
    uploads = []
    for item in dataset.items:
        annotation = item.annotation.to_seed_json()
        if fmt == "seed":  # the canonical upload format goes up as the brand wrote it
            raw = item.image_path.with_suffix(".json")
            body = raw.read_bytes() if raw.exists() else json.dumps(annotation).encode()
        else:
            body = json.dumps(annotation).encode()
        uploads.append(
            _Upload(item.annotation.file, item.image_path.read_bytes(), content_type_for(item.image_path), body)
        )
    return uploads, [(p.file, p.reason if p.box_index is None else str(p)) for p in dataset.problems]


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
) -> ImportReport:
    uploads, refused = prepare_import(folder, fmt)
    report = ImportReport(not_uploaded=refused)
    pair_names: dict[str, str] = {}
    known_before = _pairs_known(client.ingest_summary(brand))
    for start in range(0, len(uploads), FORMS_PER_REQUEST):
        chunk = uploads[start : start + FORMS_PER_REQUEST]
        forms = client.upload_forms(brand, [{"content_type": u.content_type, "name": u.name} for u in chunk])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for pair, upload in zip(forms["pairs"], chunk, strict=True):
                pair_names[pair["pair_id"]] = upload.name
                pool.submit(_upload_pair, client, pair, upload, on_upload)
    report.uploaded = len(pair_names)
    _collect(client, brand, pair_names, report, on_ingested, wait_seconds, known_before)
    return report


def _pairs_known(summary: dict[str, Any]) -> int:
    """How many pairs the brand's records hold, whatever their status (a pair is recorded when its first half
    is ingested)."""
    return sum(int(n) for n in summary.get("counts", {}).values())


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
    known_before: int,
) -> None:
    """Poll the brand's ingest summary until every uploaded pair has an outcome (or the wait runs out). The
    summary names rejected, pending and stale pairs but not accepted ones, so a pair whose upload events have
    not been processed yet (no record at all) is told apart by the brand's pair count, which must have grown by
    the number of pairs uploaded."""
    deadline = time.monotonic() + wait_seconds
    done = 0
    while True:
        summary = client.ingest_summary(brand)
        open_pairs = {p["pair_id"] for p in summary.get("pending", []) + summary.get("stale", [])}
        unseen = max(0, len(pair_names) - (_pairs_known(summary) - known_before))
        waiting = [pid for pid in pair_names if pid in open_pairs]
        if unseen:  # the summary cannot say which: count that many of those without an outcome as waiting
            outcome = open_pairs | {p["pair_id"] for p in summary.get("rejected", [])}
            waiting += [pid for pid in pair_names if pid not in outcome][:unseen]
        finished = len(pair_names) - len(waiting)
        if on_ingested and finished > done:
            on_ingested(finished - done)
            done = finished
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    rejected = {p["pair_id"]: p.get("reason", "") for p in summary.get("rejected", [])}
    problems = {p["pair_id"]: p.get("problems", []) for p in summary.get("accepted_with_problems", [])}
    for pid, name in pair_names.items():
        if pid in rejected:
            report.rejected.append((name, rejected[pid]))
        elif pid in waiting:
            report.pending.append(name)
        else:
            report.accepted.append(name)
            report.box_problems.extend((name, str(p.get("reason"))) for p in problems.get(pid, []))


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


def verify_photo(client: ApiClient, brand: str, photo: Path) -> dict[str, Any]:
    return client.verify(brand, photo.read_bytes(), content_type_for(photo))


_COLOURS = {"genuine": (40, 170, 80), "counterfeit": (220, 40, 40), "inconclusive": (200, 150, 0)}


def annotate(photo: Path, answer: dict[str, Any], out: Path) -> Path:
    """Draw the boxes, classes, confidences and the verdict onto an upright copy of the photo."""
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
    verdict = str(answer.get("verdict", "inconclusive"))
    banner = f"{verdict.upper()}: {answer.get('reason', '')}"
    draw.rectangle((0, 0, image.width, font_size + 8), fill=(0, 0, 0))
    draw.text((4, 4), banner, fill=_COLOURS.get(verdict, (255, 255, 255)), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, "JPEG", quality=90)
    return out
