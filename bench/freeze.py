"""Starting training for a large brand: `POST /brands/{b}/training-jobs` on the embedded default, with S3 latency.

The local runtime runs with every S3 call delayed by 50 ms (`LocalRuntime(s3_latency_ms=50)`, about what a
small S3 request costs from Lambda); DynamoDB and SQS answer at moto's speed. Each brand has 5,000 accepted
photos, seeded as ingest's commits leave them (pair records, the compact dataset entries, the counters). The
request runs the real training handler through the local API Gateway: the dataset check and the freeze (3
BatchGetItem calls for the entries, two S3 writes: the manifest and its ManifestFile), CreateTrainingJob on the
local SageMaker, and the job's description. Figures:

- start_seconds: the request's wall time, median over FRESH_BRANDS brands of 5,000 photos (each a first start:
  a new manifest, a new job), after one request has warmed the handler (target < 1 s);
- first_request_seconds: the same for the very first request, which also builds the handler;
- retry_seconds: the same request again (the job exists: nothing is written, 200);
- start_seconds_by_size: one brand each of SIZES photos, to show the time does not grow with the photos;
- baseline: the freeze it replaces copied every image and annotation (two CopyObject per photo, one after
  another); measured here on BASELINE_PHOTOS photos at the same latency and extrapolated to 5,000.

The photos' objects are not uploaded (a freeze reads none); the local training jobs these requests start stop at
their first missing object, and each is waited for before the next request. Seeding writes the table with
BatchWriteItem because moto's TransactWriteItems deep-copies the whole table on every call: committing 15,000
pairs one by one takes hours on moto (not on DynamoDB).

Prints its figures and, as the last line, one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from authentic import keys
from authentic.aws import clients
from authentic.aws import dataset_records as records
from authentic.aws.dataset_records import DynamoDatasetRecords
from authentic.aws.ports import Contribution, PairFiles
from authentic.aws.s3 import S3ObjectStore
from authentic.local.runtime import LocalRuntime

S3_LATENCY_MS = 50
PHOTOS = 5000
FRESH_BRANDS = 3
SIZES = (50, 500)
BASELINE_PHOTOS = 50
TARGET_SECONDS = 1.0
CLASSES = {0: "genuine", 1: "counterfeit"}


def seed_brand(table: Any, brand: str, photos: int) -> None:
    """`photos` accepted pairs of `brand`, each item as `DynamoDatasetRecords.commit_outcome` leaves it (its own
    encoders build them; `tests/training/test_freeze_bench.py` checks the two agree)."""
    entries: dict[str, set[str]] = {}
    counts = {"images": Decimal(photos)}
    with table.batch_writer() as batch:
        for n in range(photos):
            pair, class_id = uuid.uuid4().hex, n % len(CLASSES)
            image, annotation = f"{n:064x}", f"{n + photos:064x}"
            files = PairFiles(
                source_file=f"photo-{n}.jpg",
                image_key=keys.dataset_object_key(brand, image, "jpg"),
                annotation_key=keys.dataset_object_key(brand, annotation, "json"),
                sha256=image,
                width=4032,
                height=3024,
                boxes=1,
            )
            contribution = Contribution(1, {class_id: 1}, {class_id: 1})
            batch.put_item(Item=pair_item(brand, pair, files, contribution))
            entry = records._entry(pair, files, contribution)
            entries.setdefault(records._shard(pair), set()).add(entry)
            for prefix in (records._IMAGES, records._BOXES):
                counts[f"{prefix}{class_id}"] = counts.get(f"{prefix}{class_id}", Decimal(0)) + 1
        for shard, strings in entries.items():
            batch.put_item(Item={**records._entries_key(brand, shard), "e1": strings})
        names = {f"{records._CATEGORY}{cid}": name for cid, name in CLASSES.items()}
        batch.put_item(Item={**records._dataset_key(brand), **counts, **names, "updated_at": Decimal(1)})


def pair_item(brand: str, pair: str, files: PairFiles, contribution: Contribution) -> dict[str, Any]:
    """A pair record after its first accepted outcome (revision 1)."""
    return {
        **records._pair_key(brand, pair),
        "brand_id": brand,
        "pair_id": pair,
        "status": "accepted",
        "image_version": "v1",
        "annotation_version": "v1",
        "image_size": 3_000_000,
        "annotation_size": 600,
        "image_arrived_at": Decimal(1),
        "annotation_arrived_at": Decimal(1),
        "image_sequencer": "1".rjust(40, "0"),
        "annotation_sequencer": "1".rjust(40, "0"),
        "created_at": Decimal(1),
        "fingerprint": "v1|v1",
        "reason": "",
        "problems": [],
        "contribution": records._contribution_item(contribution),
        "details": records._files_item(files),
        "processed_at": Decimal(1),
        "revision": 1,
    }


def start(api: httpx.Client, brand: str) -> tuple[float, int, dict[str, Any]]:
    began = time.perf_counter()
    answer = api.post(f"/brands/{brand}/training-jobs", json={})
    elapsed = time.perf_counter() - began
    return elapsed, answer.status_code, answer.json()


def wait_for_end(runtime: LocalRuntime, job_name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(job.name == job_name for job in runtime.jobs_ended):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the local training job {job_name} did not end")
        time.sleep(0.1)


def timed_start(runtime: LocalRuntime, api: httpx.Client, brand: str, expected: int = 201) -> float:
    seconds, status, job = start(api, brand)
    if status != expected:
        raise RuntimeError(f"POST /brands/{brand}/training-jobs answered {status}: {job}")
    if status == 201:
        wait_for_end(runtime, job["job_name"])  # nothing of it runs while the next request is timed
    return seconds


def baseline_copy_seconds(runtime: LocalRuntime, photos: int) -> float:
    """The replaced freeze's cost per photo: copy its image and its annotation, one CopyObject after another."""
    store, bucket = S3ObjectStore(), runtime.settings.dataset_bucket
    sources = [f"baseline/objects/{n:064x}.{ext}" for n in range(photos) for ext in ("jpg", "json")]
    with ThreadPoolExecutor(8) as pool:  # the sources, in parallel: only the copies are timed
        list(pool.map(lambda key: store.put(bucket, key, b"x" * 1024, content_type="image/jpeg"), sources))
    began = time.perf_counter()
    for key in sources:
        store.copy(bucket, key, bucket, f"snapshots/baseline/m/{key}")
    return (time.perf_counter() - began) / photos


def main() -> int:
    load_at_start = os.getloadavg()[0]
    logging.getLogger("authentic.local.trainer").setLevel(logging.CRITICAL)  # the jobs' missing objects
    print(f"S3 latency {S3_LATENCY_MS} ms per call on the embedded default", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-freeze-") as root:
        runtime = LocalRuntime(Path(root), s3_latency_ms=S3_LATENCY_MS)
        with runtime, httpx.Client(base_url=runtime.api_url, timeout=120) as api:
            table = clients.table(runtime.settings.table_name)
            brands = {f"fresh-{i}": PHOTOS for i in range(FRESH_BRANDS + 1)} | {f"size-{n}": n for n in SIZES}
            began = time.perf_counter()
            for brand, photos in brands.items():
                seed_brand(table, brand, photos)
            datasets = DynamoDatasetRecords(runtime.settings.table_name)
            assert len(datasets.entries("fresh-0")) == PHOTOS, "the seeded entries are not what the adapter reads"
            seeded = time.perf_counter() - began
            print(f"seeded {sum(brands.values())} photos, {len(brands)} brands, in {seeded:.0f} s", flush=True)

            first = timed_start(runtime, api, "fresh-0")
            print(f"first request (the handler built on it), {PHOTOS} photos: {first:.3f} s", flush=True)
            retry = timed_start(runtime, api, "fresh-0", expected=200)
            print(f"the same request again (the job exists, 200): {retry:.3f} s", flush=True)
            runs = [timed_start(runtime, api, f"fresh-{i}") for i in range(1, FRESH_BRANDS + 1)]
            print(f"{PHOTOS} photos, {FRESH_BRANDS} brands: " + ", ".join(f"{s:.3f} s" for s in runs), flush=True)
            by_size = {n: timed_start(runtime, api, f"size-{n}") for n in SIZES} | {PHOTOS: statistics.median(runs)}
            print("by size: " + ", ".join(f"{n} photos {s:.3f} s" for n, s in sorted(by_size.items())), flush=True)

            per_photo = baseline_copy_seconds(runtime, BASELINE_PHOTOS)
            print(
                f"baseline, copying every object: {per_photo * 1e3:.0f} ms per photo (measured on "
                f"{BASELINE_PHOTOS}), {per_photo * PHOTOS:.0f} s for {PHOTOS} photos",
                flush=True,
            )
    start_seconds = statistics.median(runs)
    summary = {
        "benchmark": "freeze",
        "photos": PHOTOS,
        "s3_latency_ms": S3_LATENCY_MS,
        "start_seconds": round(start_seconds, 3),
        "start_seconds_runs": [round(s, 3) for s in runs],
        "first_request_seconds": round(first, 3),
        "retry_seconds": round(retry, 3),
        "start_seconds_by_size": {str(n): round(s, 3) for n, s in sorted(by_size.items())},
        "baseline_copy_seconds_per_photo": round(per_photo, 4),
        "baseline_start_seconds_estimate": round(per_photo * PHOTOS, 1),
        "cpus": os.cpu_count(),
        "load_average_at_start_and_end": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
        "targets": {"start_seconds": f"< {TARGET_SECONDS}"},
        "met": start_seconds < TARGET_SECONDS,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
