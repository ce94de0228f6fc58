"""Ingest image normalisation against the naive baseline, over every real phone photo in ../shared/data/exif.

Baseline: Pillow open -> ImageOps.exif_transpose -> save JPEG quality 95. Project: `normalise_image`, end to
end (structural walk, re-encode where needed, canonical rebuild; the SHA-256 the ingest records is computed on
first use and timed separately as sha256_ms). Each photo is timed REPETITIONS
times, baseline and project interleaved; medians. The headline figures use process CPU time, which other jobs
on a shared machine cannot inflate (both sides are single-threaded, CPU-bound and do no I/O); the wall-clock
figures are reported beside them. Figures:

- upright_speedup_median: median over orientation-1 photos of baseline ms / project ms (target >= 100).
- rotated_time_ratio_median: median over the others of project ms / baseline ms (target <= 1.1).
- rotated_psnr_min_db: worst PSNR of a project output against the source's decoded pixels, transposed and never
  re-encoded (target >= 40); the baseline's PSNR is printed beside it.
- upright_pixels_identical: every upright output decodes to exactly the source's pixels (target true).
- metadata_left: outputs in which `has_metadata` or Pillow finds Exif, XMP, GPS, IPTC or a comment (target 0).

For the verification decision it also times, on the upright photos, what a decode-based check would cost:
a full decode and a 1/8-scale draft decode (which still runs the whole Huffman decoder).

Prints one line per photo, a summary, and as the last line one JSON object.
"""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from authentic.media import jpeg
from authentic.media.geometry import TRANSPOSE
from authentic.media.normalise import has_metadata, normalise_image, read_orientation

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exif"
REPETITIONS = 5
MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 100_000_000


@dataclass
class PhotoResult:
    name: str
    orientation: int
    size_in: int
    size_out: int
    baseline_ms: float
    project_ms: float
    baseline_wall_ms: float
    project_wall_ms: float
    size_ok: bool
    metadata: list[str]
    identical: bool | None = None  # upright photos
    psnr_db: float | None = None  # rotated photos
    baseline_psnr_db: float | None = None
    full_decode_ms: float | None = None
    draft_decode_ms: float | None = None
    walk_ms: float | None = None
    sha256_ms: float | None = None


def baseline(data: bytes) -> bytes:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def project(data: bytes) -> bytes:
    return normalise_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).data


def _timed(fn: Callable[[], object]) -> float:
    """CPU milliseconds of one call."""
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def _wall(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _full_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def _draft_decode(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (image.width // 8, image.height // 8))
    image.load()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def psnr(reference: np.ndarray, candidate: np.ndarray) -> float:
    mse = float(np.mean((reference.astype(np.float64) - candidate.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _pillow_metadata(data: bytes) -> list[str]:
    """An independent look (Pillow's parser) for what must not survive."""
    image = Image.open(io.BytesIO(data))
    found = [key for key in ("exif", "xmp", "comment", "photoshop", "mp") if image.info.get(key)]
    exif = image.getexif()
    if len(exif):
        found.append("Exif tags")
    if exif.get_ifd(0x8825):
        found.append("GPS")
    return found


def _manifest() -> dict[str, tuple[int, int]]:
    upright: dict[str, tuple[int, int]] = {}
    for line in (DATA / "manifest.tsv").read_text().splitlines()[1:]:
        cells = line.split("\t")
        width, height = cells[5].split("x")
        upright[cells[0]] = (int(width), int(height))
    return upright


def measure(path: Path, expected: tuple[int, int]) -> PhotoResult:
    data = path.read_bytes()
    orientation = read_orientation(data)
    baseline_times, project_times, baseline_wall, project_wall = [], [], [], []
    for _ in range(REPETITIONS):
        baseline_times.append(_timed(lambda: baseline(data)))
        project_times.append(_timed(lambda: project(data)))
        baseline_wall.append(_wall(lambda: baseline(data)))
        project_wall.append(_wall(lambda: project(data)))
    result = normalise_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    output = result.data
    found = sorted(set(has_metadata(output)) | set(_pillow_metadata(output)))
    with Image.open(io.BytesIO(output)) as decoded:
        size_ok = decoded.size == expected == (result.size.width, result.size.height)
    photo = PhotoResult(
        name=path.name,
        orientation=orientation,
        size_in=len(data),
        size_out=len(output),
        baseline_ms=statistics.median(baseline_times),
        project_ms=statistics.median(project_times),
        baseline_wall_ms=statistics.median(baseline_wall),
        project_wall_ms=statistics.median(project_wall),
        size_ok=size_ok,
        metadata=found,
    )
    source = _pixels(data)
    if orientation == 1:
        photo.identical = result.lossless and np.array_equal(source, _pixels(output))
        photo.full_decode_ms = statistics.median(_timed(lambda: _full_decode(data)) for _ in range(REPETITIONS))
        photo.draft_decode_ms = statistics.median(_timed(lambda: _draft_decode(data)) for _ in range(REPETITIONS))
        photo.walk_ms = statistics.median(_timed(lambda: jpeg.rebuild(data)) for _ in range(REPETITIONS))
        photo.sha256_ms = statistics.median(_timed(lambda: hashlib.sha256(output)) for _ in range(REPETITIONS))
    else:
        reference = np.asarray(Image.fromarray(source.astype(np.uint8)).transpose(TRANSPOSE[orientation]))
        photo.psnr_db = psnr(reference, _pixels(output))
        photo.baseline_psnr_db = psnr(reference, _pixels(baseline(data)))
    return photo


def _line(photo: PhotoResult) -> str:
    head = (
        f"{photo.name:46} o{photo.orientation} {photo.size_in / 1e6:5.2f} MB -> {photo.size_out / 1e6:5.2f} MB  "
        f"baseline {photo.baseline_ms:6.1f} ms  project {photo.project_ms:6.2f} ms "
        f"(wall {photo.baseline_wall_ms:6.1f} / {photo.project_wall_ms:6.2f})  "
    )
    if photo.orientation == 1:
        body = (
            f"speedup {photo.baseline_ms / photo.project_ms:6.1f}x  identical={photo.identical}  "
            f"[walk {photo.walk_ms:.2f} ms, sha256 {photo.sha256_ms:.2f} ms, draft-1/8 decode "
            f"{photo.draft_decode_ms:.1f} ms, "
            f"full decode {photo.full_decode_ms:.1f} ms]"
        )
    else:
        body = (
            f"ratio {photo.project_ms / photo.baseline_ms:5.2f}  PSNR {photo.psnr_db:5.1f} dB "
            f"(baseline {photo.baseline_psnr_db:5.1f} dB)"
        )
    tail = f"  size_ok={photo.size_ok}" + (f"  METADATA {photo.metadata}" if photo.metadata else "")
    return head + body + tail


def main() -> int:
    paths = sorted(DATA.glob("phone-*.jpg"))
    if not paths:
        print(f"no phone-*.jpg under {DATA}")
        return 1
    manifest = _manifest()
    photos = []
    for path in paths:
        photo = measure(path, manifest[path.name])
        print(_line(photo), flush=True)
        photos.append(photo)
    upright = [p for p in photos if p.orientation == 1]
    rotated = [p for p in photos if p.orientation != 1]

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    summary = {
        "upright_speedup_median": med([p.baseline_ms / p.project_ms for p in upright]),
        "rotated_time_ratio_median": med([p.project_ms / p.baseline_ms for p in rotated]),
        "rotated_psnr_min_db": round(min(p.psnr_db or 0.0 for p in rotated), 2),
        "upright_pixels_identical": all(p.identical for p in upright),
        "metadata_left": sum(1 for p in photos if p.metadata),
        "sizes_match_manifest": all(p.size_ok for p in photos),
        "upright_baseline_ms_median": med([p.baseline_ms for p in upright]),
        "upright_project_ms_median": med([p.project_ms for p in upright]),
        "rotated_baseline_ms_median": med([p.baseline_ms for p in rotated]),
        "rotated_project_ms_median": med([p.project_ms for p in rotated]),
        "upright_walk_ms_median": med([p.walk_ms or 0.0 for p in upright]),
        "upright_sha256_ms_median": med([p.sha256_ms or 0.0 for p in upright]),
        "upright_draft_decode_ms_median": med([p.draft_decode_ms or 0.0 for p in upright]),
        "upright_full_decode_ms_median": med([p.full_decode_ms or 0.0 for p in upright]),
        "wall_upright_speedup_median": med([p.baseline_wall_ms / p.project_wall_ms for p in upright]),
        "wall_rotated_time_ratio_median": med([p.project_wall_ms / p.baseline_wall_ms for p in rotated]),
        "clock": "process CPU time (wall_* keys: wall clock)",
        "photos": len(photos),
        "repetitions": REPETITIONS,
    }
    print(
        f"\n{len(upright)} upright: speedup median {summary['upright_speedup_median']}x (target >= 100), "
        f"pixels identical {summary['upright_pixels_identical']}; "
        f"{len(rotated)} rotated: time ratio median {summary['rotated_time_ratio_median']} (target <= 1.1), "
        f"PSNR min {summary['rotated_psnr_min_db']} dB (target >= 40); metadata left {summary['metadata_left']}"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
