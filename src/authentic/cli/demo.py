"""`make demo`: the whole story on one machine, through the same handlers, routes and containers as on AWS.

A synthetic brand ("acme": a genuine product and a known counterfeit variant, some photos stored sideways with
Exif orientation 6, one broken file) is uploaded through the local API with presigned forms, ingested, trained,
promoted, and then shoppers' photos held back from training are verified. Exit code 0 only when every verdict
is the expected one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from authentic.annotations.model import Category
from authentic.cli import flows
from authentic.cli.client import ApiClient
from authentic.cli.synthetic import generate_brand, render_single, render_unrelated
from authentic.local.runtime import LocalRuntime

BRAND = "acme"
CATEGORIES = (Category(0, "acme-shoe", "genuine"), Category(1, "acme-shoe-fake", "counterfeit"))
DEMO_EPOCHS = 50
DEMO_IMGSZ = 320
DEMO_BATCH = 4  # ~48 training photos: 12 optimizer steps an epoch; batch 16 gives 3 and learns nothing in 30 epochs


@dataclass(frozen=True)
class Case:
    name: str
    expected: str
    photo: Path


def run_demo(out: Path, *, images: int = 60, epochs: int | None = None, imgsz: int | None = None, seed: int = 7) -> int:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="authentic-demo-"))
    try:
        _say(f"1/5  Generating brand {BRAND!r}: {images} annotated photos, some stored sideways, one broken file")
        dataset = work / "acme"
        generate_brand(dataset, n_images=images, seed=seed, sideways_fraction=0.2, categories=CATEGORIES)
        _break_one(dataset)
        cases = _held_back(work / "shoppers", seed)
        with LocalRuntime(work / "state") as runtime:
            client = ApiClient(runtime.api_url)
            _say(f"2/5  Local runtime up (moto on 127.0.0.1, API {runtime.api_url}); uploading through presigned forms")
            report = _import(client, dataset)
            _say("3/5  Training with the demo recipe (the same training program SageMaker runs)")
            hyperparameters = {
                "epochs": str(epochs or DEMO_EPOCHS),
                "imgsz": str(imgsz or DEMO_IMGSZ),
                "batch": str(DEMO_BATCH),
                "seed": "0",
            }
            job = _train(client, hyperparameters)
            if job.get("state") != "Completed" or not (job.get("gate") or {}).get("passed"):
                _say("the model did not go live; the demo stops here")
                return 1
            _say("4/5  Promoted: " + _models_line(client))
            _say("5/5  Verifying shoppers' photos that training never saw")
            results = [_verify(client, case, out) for case in cases]
        ok = _table(results) and not report.pending and not report.failed
        (out / "report.json").write_text(json.dumps({"job": job, "verdicts": results}, indent=2, default=str))
        _say(f"annotated photos and report.json in {out.resolve()}  ({time.monotonic() - started:.0f} s in all)")
        _say("every verdict is right" if ok else "SOME VERDICTS ARE WRONG")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _say(text: str) -> None:
    print(text, flush=True)


def _break_one(dataset: Path) -> None:
    """A photo cut short in transfer: its header is fine, its image data ends early."""
    source = sorted(dataset.glob("*.jpg"))[0]
    data = source.read_bytes()
    (dataset / "broken.jpg").write_bytes(data[: int(len(data) * 0.6)])
    annotation = json.loads(source.with_suffix(".json").read_text())
    annotation["file"] = "broken.jpg"
    (dataset / "broken.json").write_text(json.dumps(annotation))


def _held_back(folder: Path, seed: int) -> list[Case]:
    genuine, fake, sideways, unrelated = (
        folder / f"{n}.jpg" for n in ("genuine", "counterfeit", "genuine-sideways", "unrelated")
    )
    render_single(genuine, class_id=0, seed=seed + 1001, categories=CATEGORIES)
    render_single(fake, class_id=1, seed=seed + 1002, categories=CATEGORIES)
    render_single(sideways, class_id=0, seed=seed + 1003, categories=CATEGORIES, sideways=True)
    render_unrelated(unrelated, seed=seed + 1004)
    return [
        Case("genuine product", "genuine", genuine),
        Case("known counterfeit", "counterfeit", fake),
        Case("genuine, stored sideways (Exif 6)", "genuine", sideways),
        Case("an unrelated object", "inconclusive", unrelated),
    ]


def _import(client: ApiClient, dataset: Path) -> flows.ImportReport:
    prepared = flows.prepare_import(dataset, "seed")
    uploads = prepared[0]
    with (
        tqdm(total=len(uploads), desc="     uploaded", unit="photo") as up,
        tqdm(total=len(uploads), desc="     ingested", unit="photo") as ingested,
    ):
        report = flows.import_folder(
            client, BRAND, dataset, "seed", on_upload=up.update, on_ingested=ingested.update, prepared=prepared
        )
    summary = client.ingest_summary(BRAND)
    _say(f"     accepted {len(report.accepted)}, rejected {len(report.rejected)}, pending {len(report.pending)}")
    for name, reason in report.rejected:
        _say(f"     rejected {name}: {reason}")
    for c in summary["classes"]:
        _say(f"     class {c['name']}: {c['images']} images, {c['boxes']} boxes")
    return report


def _train(client: ApiClient, hyperparameters: dict[str, str]) -> dict[str, Any]:
    bar = tqdm(total=int(hyperparameters["epochs"]), desc="     training", unit="epoch")

    def progress(job: dict[str, Any]) -> None:
        p = job.get("progress") or {}
        if p.get("epoch") is not None and p["epoch"] > bar.n:
            bar.update(p["epoch"] - bar.n)
        if p.get("map50") is not None:
            bar.set_postfix_str(f"mAP50={p['map50']:.3f}")

    try:
        job = flows.train_and_wait(client, BRAND, hyperparameters, on_progress=progress, timeout=1800)
    finally:
        bar.close()
    metrics = job.get("metrics") or {}
    gate = job.get("gate") or {}
    _say(
        f"     job {job['job_name']}: {job.get('state')}; mAP50 {metrics.get('map50', 0):.3f}, "
        f"threshold {metrics.get('threshold', 0):.2f}; gate: {gate.get('reason', job.get('failure_reason'))}"
    )
    return job


def _models_line(client: ApiClient) -> str:
    live = client.models(BRAND).get("live") or {}
    return f"version {live.get('version')} is live under {live.get('live_key')}"


def _verify(client: ApiClient, case: Case, out: Path) -> dict[str, Any]:
    answer = flows.verify_photo(client, BRAND, case.photo).answer
    annotated = flows.annotate(case.photo, answer, out / f"verdict-{case.photo.stem}.jpg")
    counting = [d for d in answer.get("detections", []) if d.get("counts")]
    best = max((float(d["confidence"]) for d in counting), default=None)
    return {
        "case": case.name,
        "expected": case.expected,
        "actual": answer["verdict"],
        "confidence": best,
        "reason": answer["reason"],
        "annotated": str(annotated),
    }


def _table(results: list[dict[str, Any]]) -> bool:
    _say(f"     {'photo':<36} {'expected':<13} {'actual':<13} {'conf':>5}  ok")
    for r in results:
        conf = f"{r['confidence']:.2f}" if r["confidence"] is not None else "  -  "
        mark = "yes" if r["expected"] == r["actual"] else "NO"
        _say(f"     {r['case']:<36} {r['expected']:<13} {r['actual']:<13} {conf:>5}  {mark}")
        _say(f"       {r['reason']}")
    return all(r["expected"] == r["actual"] for r in results)
