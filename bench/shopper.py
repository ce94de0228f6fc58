"""The shopper's page: time from choosing a phone photo to the verdict shown, with the page's on-device downscale,
against posting the original photo to the same API.

One run, on the embedded default (the local runtime: the real handlers, the verify Lambda's code, the inference
server) with a brand trained through the API (`authentic.cli.shapes`: a red box is genuine, a blue oval a
counterfeit). The photos are the phone photos of 8 MP or more in ../shared/data/exif (two of them 12 MP), each with
one of the brand's products painted on it, upright, and saved back as the phone stored it (its own Exif, so the
sideways ones stay sideways, its quantization tables and subsampling): a verdict is then something to agree on.

Both paths run in the same headless Chromium (Debian's), interleaved per photo:
- page: the shopper's page at /?brand=acme; the file is chosen in its input; the time is the page's own User
  Timing, from the input's change event to the verdict shown (decode with orientation, quality gate, resize to at
  most 1600 px, JPEG encode, upload, answer, drawing);
- raw: the original file's bytes posted from the same page with fetch() to the same route; the time is from the
  request to the parsed answer.

On loopback an upload costs nothing, so each path runs twice: over loopback as it is, and under a simulated phone
network (Chromium's own network emulation through the DevTools protocol, for both paths: 6 Mbit/s up, 20 Mbit/s
down, 70 ms latency, a typical 4G uplink). The headline figures are the phone network's; loopback's are printed
beside them with a `loopback_` prefix.

Prints one line per photo, a summary, and as the last line one JSON object: page_seconds_median,
raw_seconds_median, speedup_median (raw / page, per photo; target >= 2), upload_bytes_median (target <= 1 MB),
verdict_agreement (photos whose page and raw verdicts agree; target >= 0.95).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, JpegImagePlugin

from authentic.cli import shapes
from authentic.cli.client import ApiClient
from authentic.local.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "exif"
OUT = ROOT / "bench" / "out" / "shopper"
CHROMIUM = Path(os.environ.get("AUTHENTIC_CHROMIUM", "/usr/bin/chromium"))
BRAND = "acme"
MIN_PIXELS = 7_500_000
REPETITIONS = 2
KBIT = 1000 / 8  # bytes per second in one kbit/s
PHONE: dict[str, Any] = {
    "offline": False,
    "latency": 70,
    "uploadThroughput": 6000 * KBIT,
    "downloadThroughput": 20000 * KBIT,
}
LOOPBACK: dict[str, Any] = {"offline": False, "latency": 0, "uploadThroughput": -1, "downloadThroughput": -1}
NETWORKS: dict[str, dict[str, Any]] = {"phone": PHONE, "loopback": LOOPBACK}
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
# The inverse of the transpose that makes each Exif orientation upright (Pillow's ImageOps.exif_transpose).
_BACK = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
RAW_POST = """async ([b64, brand]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const started = performance.now();
  const answer = await fetch('/verify?brand=' + brand,
    {method: 'POST', body: bytes, headers: {'Content-Type': 'image/jpeg'}});
  const body = await answer.json();
  return {seconds: (performance.now() - started) / 1000, status: answer.status, verdict: body.verdict};
}"""
PAGE_TIME = """() => {
  const at = Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]));
  return (at['verify:shown'] - at['verify:chosen']) / 1000;
}"""


@dataclass(frozen=True)
class Photo:
    path: Path
    source: str
    expected: str
    megapixels: float


@dataclass
class Run:
    page_seconds: list[float] = field(default_factory=list)
    raw_seconds: list[float] = field(default_factory=list)
    page_verdicts: list[str] = field(default_factory=list)
    raw_verdicts: list[str] = field(default_factory=list)
    upload_bytes: list[int] = field(default_factory=list)


def photos() -> list[Photo]:
    """Each phone photo of 8 MP or more, with a product painted on it (cached in bench/out/shopper)."""
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = []
    for index, source in enumerate(sorted(DATA.glob("phone-*.jpg"))):
        with Image.open(source) as original:
            if original.width * original.height < MIN_PIXELS:
                continue
            kind: shapes.Kind = "genuine" if index % 2 == 0 else "counterfeit"
            target = OUT / f"{source.stem}-{kind}.jpg"
            if not target.exists():
                _paint(original, kind, index, target)
            chosen.append(Photo(target, source.name, kind, original.width * original.height / 1e6))
    return chosen


def _paint(original: Image.Image, kind: shapes.Kind, index: int, target: Path) -> None:
    orientation = original.getexif().get(0x0112, 1)
    upright = ImageOps.exif_transpose(original)
    assert upright is not None
    size = int(min(upright.size) * 0.4)
    width = size if kind == "counterfeit" else int(size * 0.8)
    left = (upright.width - width) // 2 + (index % 3 - 1) * upright.width // 8
    top = (upright.height - size) // 2
    shapes.draw_product(upright, shapes.Product(kind, left, top, width, size))
    stored = upright.transpose(_BACK[orientation]) if orientation in _BACK else upright
    extra = {"icc_profile": original.info["icc_profile"]} if original.info.get("icc_profile") else {}
    # The phone's own quantization tables and chroma subsampling: about the size and quality the phone wrote.
    assert isinstance(original, JpegImagePlugin.JpegImageFile)
    tables = {"qtables": original.quantization, "subsampling": JpegImagePlugin.get_sampling(original)}
    stored.save(target, "JPEG", exif=original.info.get("exif", b""), **tables, **extra)


def measure(page: Any, runtime: LocalRuntime, photo: Photo, network: dict[str, Any], run: Run) -> None:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", network)
    raw = base64.b64encode(photo.path.read_bytes()).decode()
    for _ in range(REPETITIONS):
        page.goto(f"{runtime.api_url}/?brand={BRAND}")
        page.wait_for_selector('#verdict[data-state="idle"]', state="attached")
        with runtime.tap.record() as seen:
            page.set_input_files("#photo", str(photo.path))
            page.wait_for_selector(
                '#verdict[data-state="done"], #verdict[data-state="error"]', state="attached", timeout=120000
            )
        state = page.eval_on_selector("#verdict", "e => ({...e.dataset})")
        if state.get("state") != "done":
            raise RuntimeError(f"{photo.path.name}: the page ended in {state}")
        run.page_seconds.append(float(page.evaluate(PAGE_TIME)))
        run.page_verdicts.append(state["verdict"])
        run.upload_bytes.extend(len(s.body) for s in seen if s.path == "/verify")
        answer = page.evaluate(RAW_POST, [raw, BRAND])
        if answer["status"] != 200:
            raise RuntimeError(f"{photo.path.name}: the raw post answered {answer}")
        run.raw_seconds.append(float(answer["seconds"]))
        run.raw_verdicts.append(str(answer["verdict"]))
    session.detach()


def _mode(values: list[str]) -> str:
    return max(set(values), key=values.count)


def main() -> int:
    if not CHROMIUM.is_file():
        print(f"no Chromium at {CHROMIUM}: install Debian's chromium (make test does, as root)", file=sys.stderr)
        return 1
    chosen = photos()
    if not chosen:
        print(f"no phone photos of 8 MP or more under {DATA}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    started_load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-shopper-"))
    results: dict[str, dict[str, Run]] = {name: {} for name in NETWORKS}
    try:
        with LocalRuntime(work / "state") as runtime:
            print(f"training the brand through the API ({shapes.PHOTOS} photos, {shapes.TRAINING}) ...", flush=True)
            trained = time.monotonic()
            job = shapes.upload_and_train(ApiClient(runtime.api_url), BRAND, work / "brand")
            if not (job.get("gate") or {}).get("passed"):
                print(f"the model did not go live: {job}", file=sys.stderr)
                return 1
            print(f"trained in {time.monotonic() - trained:.0f} s (mAP50 {job['metrics'].get('map50')})", flush=True)
            print(
                f"{len(chosen)} phone photos >= 8 MP with a product painted on; {REPETITIONS} runs per path and "
                f"network; phone network: {PHONE['uploadThroughput'] * 8 / 1e6:.0f} Mbit/s up, "
                f"{PHONE['downloadThroughput'] * 8 / 1e6:.0f} Mbit/s down, {PHONE['latency']} ms (Chromium emulation)",
                flush=True,
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS, headless=True)
                context = browser.new_context(viewport={"width": 412, "height": 915})
                page = context.new_page()
                for photo in chosen:
                    for name, network in NETWORKS.items():
                        run = results[name].setdefault(photo.path.name, Run())
                        measure(page, runtime, photo, network, run)
                    phone, loop = results["phone"][photo.path.name], results["loopback"][photo.path.name]
                    print(
                        f"{photo.source:<46} {photo.megapixels:4.1f} MP {photo.path.stat().st_size / 1e6:4.1f} MB  "
                        f"phone: page {statistics.median(phone.page_seconds):5.2f} s raw "
                        f"{statistics.median(phone.raw_seconds):5.2f} s  loopback: page "
                        f"{statistics.median(loop.page_seconds):5.2f} s raw "
                        f"{statistics.median(loop.raw_seconds):5.2f} s  "
                        f"upload {statistics.median(phone.upload_bytes) / 1e3:5.0f} kB  expected {photo.expected}: "
                        f"page {_mode(phone.page_verdicts + loop.page_verdicts)} raw "
                        f"{_mode(phone.raw_verdicts + loop.raw_verdicts)}",
                        flush=True,
                    )
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = _summary(chosen, results, started_load)
    print(
        f"\nphone network: page {summary['page_seconds_median']} s, raw {summary['raw_seconds_median']} s, "
        f"speedup {summary['speedup_median']}x (target >= 2); loopback: page {summary['loopback_page_seconds_median']} "
        f"s, raw {summary['loopback_raw_seconds_median']} s, speedup {summary['loopback_speedup_median']}x; upload "
        f"{summary['upload_bytes_median']} bytes (target <= 1 MB); verdict agreement {summary['verdict_agreement']} "
        "(target >= 0.95)"
    )
    print(json.dumps(summary), flush=True)
    return 0


def _summary(chosen: list[Photo], results: dict[str, dict[str, Run]], started_load: float) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    def figures(runs: dict[str, Run]) -> dict[str, float]:
        page = [statistics.median(r.page_seconds) for r in runs.values()]
        raw = [statistics.median(r.raw_seconds) for r in runs.values()]
        return {
            "page_seconds_median": med(page),
            "raw_seconds_median": med(raw),
            "speedup_median": med([r / p for r, p in zip(raw, page, strict=True)]),
        }

    every = [(p, results["phone"][p.path.name], results["loopback"][p.path.name]) for p in chosen]
    agree = [_mode(a.page_verdicts + b.page_verdicts) == _mode(a.raw_verdicts + b.raw_verdicts) for _, a, b in every]
    correct = [_mode(a.page_verdicts + b.page_verdicts) == p.expected for p, a, b in every]
    loopback = {f"loopback_{k}": v for k, v in figures(results["loopback"]).items()}
    return {
        "benchmark": "shopper",
        **figures(results["phone"]),
        "upload_bytes_median": int(statistics.median([statistics.median(a.upload_bytes) for _, a, _ in every])),
        "raw_bytes_median": int(statistics.median([p.path.stat().st_size for p in chosen])),
        "verdict_agreement": round(sum(agree) / len(agree), 3),
        "page_verdict_correct": round(sum(correct) / len(correct), 3),
        **loopback,
        "network": "phone: Chromium network emulation, 6 Mbit/s up, 20 Mbit/s down, 70 ms; loopback: none",
        "photos": len(chosen),
        "repetitions": REPETITIONS,
        "cpus": os.cpu_count(),
        "load_average_at_start_and_end": [round(started_load, 2), round(os.getloadavg()[0], 2)],
        "targets": {"speedup_median": ">= 2", "upload_bytes_median": "<= 1000000", "verdict_agreement": ">= 0.95"},
    }


if __name__ == "__main__":
    raise SystemExit(main())
