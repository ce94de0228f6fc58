"""Barcodes in shoppers' photos: what the project's reader decodes, what it gets wrong, and what it costs verify.

In the same run:

1. The quagga2 photos of ../shared/data/barcodes (48 EAN-13, EAN-8, UPC-A, UPC-E and EAN-13 with add-on
   photos; `quagga2_expected.tsv` gives each value and which ones may fail): the project's reader
   (`authentic.barcodes.reader.read_photo` on the photo's bytes) against a plain `zxingcpp.read_barcodes` call on
   the full photo. Values are compared as GTIN-14. One expected value is corrected: `ean_extended/image-006`'s
   TSV value is 412056690699101, but the digits printed under its bars read 4 190566 906901, and every decoder
   returns that (a typo upstream, in a row allowed to fail).
2. Blurred EAN-13s (2 px a module, Gaussian blur sigma 0.6-1.0, JPEG), where zxing-cpp returns wrong numbers
   whose check digit verifies: how many reads are wrong, and how many of those the project confirms (a
   confirmed read is the only kind the verdict takes as evidence against a product).
3. Verify's latency with and without barcode reading: the `Verify` service of the verify Lambda, its endpoint
   calls going over HTTP to the inference container's program (`serve.py serve`, the nano model of
   `bench.verify`), on the phone photos of ../shared/data/exif (2-13 MP, no barcode: the reader's longest path),
   the same photos at 1600 px (what the shopper's page sends) and the quagga2 photos. The server runs on one
   core and this process on the other, as the endpoint and the Lambda run on different machines.

Figures (last line, JSON): decoded_rate (all 48 files; target >= the baseline's), required_decoded_rate (the
files not allowed to fail; target >= 0.9), wrong_values (target 0), verify_latency_ratio (median over photos of
with / without; target <= 1.15), barcode_in_answer_rate (the quagga2 photos' verify answers that carry their
barcode in the default advisory mode, which waits past the model's answer at most a tenth of its time), and the
baseline's and the synthetic set's figures beside them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from authentic.aws.ports import BrandPolicy, GtinEntry, LivePointer, VersionRecord
from authentic.barcodes import gtin
from authentic.barcodes.reader import read_photo
from authentic.cli.synthetic import barcode_label
from authentic.models.policy import Policy
from authentic.settings import Settings
from authentic.verify.barcodes import BarcodeCheck, share_the_core
from authentic.verify.service import Verify
from bench.verify import nano_model, server_process

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BARCODES = DATA / "barcodes"
PHONES = DATA / "exif"
CORRECTED = {"ean_extended/image-006.jpg": "4190566906901"}  # the TSV's typo (see above)
SYNTHETIC = 60
REPETITIONS = 5
SETTLE_SECONDS = 0.25
PAGE_LONG_SIDE = 1600


# ------------------------------------------------------------------------------------ decode rate


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expected: str  # GTIN-14
    may_fail: bool


def cases() -> list[Case]:
    found = []
    with (BARCODES / "quagga2_expected.tsv").open() as tsv:
        for row in csv.reader(tsv, delimiter="\t"):
            if not row or not row[0]:
                continue
            folder, file, value, fmt, note = (row + [""] * 5)[:5]
            name = f"{folder}/{file}"
            value = CORRECTED.get(name, value)
            if fmt == "upc_e":
                expected = gtin.expand_upc_e(value).zfill(14)
            elif fmt == "ean_13":
                expected = value[:13].zfill(14)  # an add-on's digits follow the EAN-13's in the TSV
            else:
                expected = value.zfill(14)
            found.append(Case(name, BARCODES / "quagga2_fixtures" / folder / file, expected, "allowFail" in note))
    return found


def project_gtins(body: bytes) -> set[str]:
    return {s.scanned.gtin for s in read_photo(body).symbols if s.scanned and s.scanned.check_digit_ok}


def baseline_gtins(path: Path) -> set[str]:
    results = zxingcpp.read_barcodes(Image.open(path))
    scanned = (gtin.from_scan(r.text, r.symbology_identifier, str(r.format)) for r in results)
    return {s.gtin for s in scanned if s and s.check_digit_ok}


def decode_rates() -> dict[str, Any]:
    rows = cases()
    tally = {"project": [0, 0, 0], "baseline": [0, 0, 0]}  # decoded, decoded among required, wrong
    times: dict[str, list[float]] = {"project": [], "baseline": []}
    print(f"{'file':34} {'expected':15} {'project':9} {'baseline':9}")
    for case in rows:
        body = case.path.read_bytes()
        started = time.perf_counter()
        ours = project_gtins(body)
        times["project"].append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs = baseline_gtins(case.path)
        times["baseline"].append(time.perf_counter() - started)
        marks = []
        for key, got in (("project", ours), ("baseline", theirs)):
            hit = case.expected in got
            tally[key][0] += hit
            tally[key][1] += hit and not case.may_fail
            tally[key][2] += len(got - {case.expected})
            marks.append(("ok" if hit else "--") + ("+WRONG" if got - {case.expected} else ""))
        flag = " (may fail)" if case.may_fail else ""
        print(f"{case.name:34} {case.expected:15} {marks[0]:9} {marks[1]:9}{flag}", flush=True)
    required = sum(not c.may_fail for c in rows)
    figures = {
        "files": len(rows),
        "required_files": required,
        "decoded_rate": round(tally["project"][0] / len(rows), 4),
        "required_decoded_rate": round(tally["project"][1] / required, 4),
        "wrong_values": tally["project"][2],
        "baseline_decoded_rate": round(tally["baseline"][0] / len(rows), 4),
        "baseline_required_decoded_rate": round(tally["baseline"][1] / required, 4),
        "baseline_wrong_values": tally["baseline"][2],
        "read_ms_median": round(statistics.median(times["project"]) * 1e3, 1),
        "baseline_read_ms_median": round(statistics.median(times["baseline"]) * 1e3, 1),
    }
    print(
        f"project: {tally['project'][0]}/{len(rows)} decoded, {tally['project'][1]}/{required} required, "
        f"{tally['project'][2]} wrong; plain zxing-cpp: {tally['baseline'][0]}/{len(rows)}, "
        f"{tally['baseline'][1]}/{required}, {tally['baseline'][2]} wrong",
        flush=True,
    )
    return figures


# ------------------------------------------------------------------------------------ misreads


def blurred_ean(code: str, rng: random.Random) -> bytes:
    label = barcode_label(code, module_px=2.0 * rng.uniform(0.97, 1.03), seed=rng.randint(0, 7))
    label = label.rotate(rng.uniform(-4, 4), Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 100, 110))
    canvas = Image.new("RGB", (480, 360), (90, 100, 110))
    canvas.paste(label, ((480 - label.width) // 2 + rng.randint(-20, 20), (360 - label.height) // 2))
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0)))
    noise = np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, 5, (360, 480, 1))
    pixels = np.clip(np.asarray(canvas, np.float32) + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    return out.getvalue()


def misreads() -> dict[str, Any]:
    rng = random.Random(99)
    counts = {"read": 0, "wrong": 0, "wrong_confirmed": 0, "right_confirmed": 0, "plain_wrong": 0}
    for _ in range(SYNTHETIC):
        body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(11))
        expected = (body + str(gtin.check_digit(body))).zfill(14)
        photo = blurred_ean(body, rng)
        symbols = [s for s in read_photo(photo).symbols if s.scanned]
        counts["read"] += any(s.scanned.gtin == expected for s in symbols if s.scanned)
        counts["wrong"] += any(s.scanned.gtin != expected for s in symbols if s.scanned)
        counts["wrong_confirmed"] += any(s.scanned.gtin != expected and s.confirmed for s in symbols if s.scanned)
        counts["right_confirmed"] += any(s.scanned.gtin == expected and s.confirmed for s in symbols if s.scanned)
        plain = {
            s.gtin
            for s in (
                gtin.from_scan(r.text, r.symbology_identifier, str(r.format))
                for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(photo)))
            )
            if s
        }
        counts["plain_wrong"] += bool(plain - {expected})
    print(
        f"blurred EAN-13 at 2 px a module, {SYNTHETIC} photos: read {counts['read']}, wrong {counts['wrong']} "
        f"(plain zxing-cpp: {counts['plain_wrong']}), wrong and confirmed {counts['wrong_confirmed']}, "
        f"right and confirmed {counts['right_confirmed']}",
        flush=True,
    )
    return {f"synthetic_{k}": v for k, v in counts.items()} | {"synthetic_photos": SYNTHETIC}


# ------------------------------------------------------------------------------------ verify latency


class _Records:
    """The brand's live model, policy and GTINs, in memory (the bench measures the route, not DynamoDB)."""

    def __init__(self, model_key: str) -> None:
        self.key = model_key

    def live(self, brand_id: str) -> LivePointer:
        return LivePointer(1, self.key, "bench", 1.0, False, 0.0)

    def version(self, brand_id: str, version: int) -> VersionRecord:
        labels = {"classes": [{"id": 0, "name": "genuine", "role": "genuine"}, {"id": 1, "name": "counterfeit"}]}
        return VersionRecord(brand_id, 1, "bench", "s3://bench/model.tar.gz", self.key, {"threshold": 0.25}, labels)

    def policy(self, brand_id: str) -> BrandPolicy | None:
        return None

    def summary(self, brand_id: str) -> Any:
        raise NotImplementedError

    def lookup(self, brand_id: str, gtins: Any) -> dict[str, GtinEntry]:
        return {}


class HttpEndpoint:
    """`ports.Endpoint` over the inference container's own HTTP route (no SageMaker in between)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def invoke(
        self, endpoint_name: str, target_model: str, body: bytes, content_type: str, *, custom_attributes: str = ""
    ) -> bytes:
        headers = {"content-type": content_type}
        response = self.http.post(f"/models/{target_model}/invoke", content=body, headers=headers)
        response.raise_for_status()
        return response.content


def photos() -> list[tuple[str, bytes, str | None]]:
    """(name, body, the GTIN-14 its answer should carry, if any)."""
    found: list[tuple[str, bytes, str | None]] = []
    for path in sorted(PHONES.glob("*.jpg")):
        body = path.read_bytes()
        with Image.open(io.BytesIO(body)) as image:
            if image.width * image.height < 2_000_000 or len(body) > 4_500_000:
                continue
            upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((PAGE_LONG_SIDE, PAGE_LONG_SIDE))
        page = io.BytesIO()
        upright.save(page, "JPEG", quality=88)
        found += [(f"phone/{path.name}", body, None), (f"page/{path.name}", page.getvalue(), None)]
    found += [(f"quagga2/{c.name}", c.path.read_bytes(), c.expected) for c in cases()[::4]]
    return found


def pin(pid: int, cores: set[int]) -> None:
    """Every thread of a process onto `cores` (sched_setaffinity sets one thread's)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cores)


def latency() -> dict[str, Any]:
    model = nano_model()
    settings = Settings(uploads_bucket="u", dataset_bucket="d", table_name="t", endpoint_name="bench")
    pin(os.getpid(), {1})  # this process: the Lambda's core
    share_the_core()  # as the verify function's process does
    with server_process(SAGEMAKER_MODEL_SERVER_WORKERS="1", AUTHENTIC_INTRA_OP_THREADS="1") as (url, process):
        pin(process.pid, {0})  # the endpoint's
        http = httpx.Client(base_url=url, timeout=60)
        http.post("/models", json={"model_name": "bench", "url": str(model.model_dir)}).raise_for_status()
        pin(process.pid, {0})  # and the threads the model brought
        records = _Records("bench")
        policy = Policy(records, records)  # type: ignore[arg-type]
        with_barcodes = Verify(policy, HttpEndpoint(http), settings, barcodes=BarcodeCheck(records))  # type: ignore[arg-type]
        without = Verify(policy, HttpEndpoint(http), settings)
        ratios: dict[str, list[float]] = {}
        carried = expected_answers = 0
        print(f"{'photo':48} {'without ms':>10} {'with ms':>8} {'ratio':>6}")
        for name, body, expected in photos():
            timed: dict[str, list[float]] = {"with": [], "without": []}
            for repetition in range(REPETITIONS + 1):  # the first round warms up and is dropped
                for key, service in (("without", without), ("with", with_barcodes)):
                    time.sleep(SETTLE_SECONDS)  # a reading the answer did not wait for finishes its stage
                    started = time.perf_counter()
                    answer = service("acme", body, "image/jpeg")
                    if repetition:
                        timed[key].append(time.perf_counter() - started)
                        if key == "with" and expected:
                            expected_answers += 1
                            carried += any(b.get("gtin") == expected for b in answer.barcodes)
            w, wo = statistics.median(timed["with"]) * 1e3, statistics.median(timed["without"]) * 1e3
            ratios.setdefault(name.split("/")[0], []).append(w / wo)
            print(f"{name:48} {wo:10.1f} {w:8.1f} {w / wo:6.2f}", flush=True)
        http.close()
    pin(os.getpid(), set(range(os.cpu_count() or 1)))
    every = [r for group in ratios.values() for r in group]
    figures = {"verify_latency_ratio": round(statistics.median(every), 3)}
    figures |= {f"verify_latency_ratio_{group}": round(statistics.median(r), 3) for group, r in ratios.items()}
    figures["verify_latency_ratio_max"] = round(max(every), 3)
    # Advisory answers of the quagga2 photos that carry the photo's barcode: the reading is not waited for
    # beyond a tenth of the model call, so this says whether it keeps up.
    figures["barcode_in_answer_rate"] = round(carried / max(1, expected_answers), 3)
    print("latency ratio (with / without barcodes), median by set: " + json.dumps(figures), flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parts = (argv if argv is not None else sys.argv[1:]) or ["decode", "misreads", "latency"]
    figures: dict[str, Any] = {}
    if "decode" in parts:
        figures |= decode_rates()
    if "misreads" in parts:
        figures |= misreads()
    if "latency" in parts:
        figures |= latency()
    figures["zxing_cpp"] = version("zxing-cpp")
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
