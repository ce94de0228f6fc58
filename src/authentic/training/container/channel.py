"""Reading a brand's frozen dataset from the training channel, and writing one (tests, benchmarks, local runs).

The channel is what SageMaker lays out from the job's `ManifestFile`: every listed object of the brand's prefix
under its path relative to that prefix (`authentic.training.manifest`): the manifest, the only file under
`manifests/`, and the immutable `objects/` it names. Every image is decoded (an unreadable one fails the job,
naming it), its size is measured from the pixels and never taken from the JSON, and every annotation passes the
same geometry gate as ingest (`authentic.annotations`), against the manifest's categories. Boxes the gate drops
are recorded with their reasons; a class left without images, or whose boxes were all dropped, fails the job
with a sentence a brand can act on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from authentic import keys
from authentic.annotations.checks import check_annotation
from authentic.annotations.model import Annotation, Box, Category, ParsedAnnotation, Problem
from authentic.annotations.seed import parse_seed
from authentic.errors import DatasetNotReady, DomainError, InvalidInput
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize
from authentic.training.manifest import Manifest, ManifestItem

LOGGER = logging.getLogger(__name__)
_MAX_REASONS = 5
_MAX_SENTENCE = 900  # characters of reasons, leaving room for the count within a failure reason


@dataclass(frozen=True)
class Sample:
    """One usable image of the dataset: upright size and boxes in upright pixels (brand class ids)."""

    pair_id: str
    image_path: Path
    sha256: str
    size: ImageSize  # upright, measured from the pixels
    orientation: int  # Exif orientation of the stored file, 1 when none
    boxes: tuple[Box, ...]

    @property
    def class_ids(self) -> frozenset[int]:
        return frozenset(b.class_id for b in self.boxes)


@dataclass(frozen=True)
class ClassCount:
    images: int
    boxes: int
    rejected_boxes: int

    def to_json(self) -> dict[str, int]:
        return {"images": self.images, "boxes": self.boxes, "rejected_boxes": self.rejected_boxes}


@dataclass(frozen=True)
class Dataset:
    """A read channel. `categories` is sorted by class id; a category's position is its detector class index."""

    manifest: Manifest
    categories: tuple[Category, ...]
    samples: tuple[Sample, ...]
    rejected: tuple[Problem, ...]  # dropped boxes, each naming its file and box

    def index_of(self, class_id: int) -> int:
        for index, category in enumerate(self.categories):
            if category.class_id == class_id:
                return index
        raise KeyError(class_id)

    def counts(self) -> dict[str, ClassCount]:
        images: Counter[int] = Counter()
        boxes: Counter[int] = Counter()
        for sample in self.samples:
            images.update(sample.class_ids)
            boxes.update(b.class_id for b in sample.boxes)
        rejected = _rejected_per_class(self.rejected)
        return {
            c.name: ClassCount(images[c.class_id], boxes[c.class_id], rejected[c.class_id]) for c in self.categories
        }


def read_channel(channel_dir: Path, *, min_images_per_class: int) -> Dataset:
    """Read and check the channel. Raises `DatasetNotReady` (a short reason first, details after) when the
    channel is empty or broken, or a class is too small to train."""
    if not channel_dir.is_dir() or not any(channel_dir.iterdir()):
        raise DatasetNotReady(f"the training channel is empty: nothing in {channel_dir}")
    try:
        manifest = Manifest.load(manifest_file(channel_dir))
    except InvalidInput as exc:
        raise DatasetNotReady(f"the training channel has no usable manifest: {exc.message}") from exc
    categories = _check_categories(manifest.categories)
    if not manifest.items:
        raise DatasetNotReady("the dataset is empty: the manifest lists no images")

    fatal: list[str] = []
    rejected: list[Problem] = []
    samples: list[Sample] = []
    for item in manifest.items:
        try:
            sample, problems = _read_item(channel_dir, item, categories)
        except DomainError as exc:
            fatal.append(exc.message)
            continue
        rejected.extend(problems)
        if sample is not None:
            samples.append(sample)
    if fatal:
        raise DatasetNotReady(_sentence(fatal), details=fatal)
    dataset = Dataset(manifest, categories, tuple(samples), tuple(rejected))
    _check_classes(dataset, min_images_per_class)
    for problem in rejected:
        LOGGER.warning("box dropped: %s", problem)
    return dataset


def manifest_file(channel_dir: Path) -> Path:
    """The channel's manifest: the one file under `manifests/` (a job's ManifestFile lists exactly one)."""
    found = sorted((channel_dir / keys.MANIFESTS).glob("*")) if (channel_dir / keys.MANIFESTS).is_dir() else []
    if not found:
        raise InvalidInput(f"nothing under {keys.MANIFESTS}/, where a job's channel holds exactly one manifest")
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:3]) + (", ..." if len(found) > 3 else "")
        raise InvalidInput(
            f"{len(found)} files under {keys.MANIFESTS}/ ({names}), where a job's channel holds exactly one manifest"
        )
    return found[0]


def write_channel(
    channel_dir: Path,
    entries: Iterable[tuple[str, bytes, Annotation]],
    *,
    brand_id: str,
    categories: Sequence[Category],
    extension: str = "jpg",
    counts: dict[str, Any] | None = None,
) -> Manifest:
    """Write a channel from (pair id, image bytes, annotation) entries as SageMaker lays out the finish route's
    ManifestFile: each image and annotation once under `objects/`, named by its SHA-256, and the manifest."""
    items: list[ManifestItem] = []
    for pair_id, data, annotation in entries:
        image = _write_object(channel_dir, data, extension)
        document = _write_object(channel_dir, json.dumps(annotation.to_seed_json()).encode(), "json")
        items.append(ManifestItem(pair_id, image, document, keys.object_digest(image)))
    manifest = Manifest.frozen(brand_id, tuple(categories), tuple(items), counts or {"images": len(items)})
    manifest.dump(channel_dir / manifest.path)
    return manifest


def _write_object(channel_dir: Path, data: bytes, extension: str) -> str:
    path = keys.object_path(hashlib.sha256(data).hexdigest(), extension)
    target = channel_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return path


# ---------------------------------------------------------------------------------------------------------------


def _check_categories(categories: Sequence[Category]) -> tuple[Category, ...]:
    if not categories:
        raise DatasetNotReady("the manifest names no categories")
    ids = [c.class_id for c in categories]
    names = [c.name for c in categories]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise DatasetNotReady("the manifest's categories repeat a class id or a name")
    if any(not name.strip() for name in names):
        raise DatasetNotReady("the manifest has a category without a name")
    return tuple(sorted(categories, key=lambda c: c.class_id))


def _inside(channel_dir: Path, relative: str, what: str, pair_id: str) -> Path:
    """The channel file a manifest entry names, refusing absolute paths and '..'."""
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or ".." in pure.parts:
        raise DatasetNotReady(f"pair {pair_id}: the manifest's {what} path {relative!r} is not inside the channel")
    return channel_dir.joinpath(*pure.parts)


def _read_item(
    channel_dir: Path, item: ManifestItem, categories: tuple[Category, ...]
) -> tuple[Sample | None, list[Problem]]:
    image_path = _inside(channel_dir, item.image, "image", item.pair_id)
    annotation_path = _inside(channel_dir, item.annotation, "annotation", item.pair_id)
    if not annotation_path.is_file():
        raise DatasetNotReady(f"annotation {item.annotation} (pair {item.pair_id}) is not in the training channel")
    if not image_path.is_file():
        raise DatasetNotReady(
            f"annotation {item.annotation} refers to image {item.image}, which is not in the training channel"
        )
    stored, orientation = _measure(image_path, item.image)
    digest = hashlib.sha256(image_path.read_bytes()).hexdigest()  # measured, like the size
    if item.sha256 and item.sha256 != digest:
        LOGGER.warning("pair %s: manifest sha256 differs from the image's; using the image's", item.pair_id)
    parsed = parse_seed(annotation_path.read_bytes(), source=item.annotation)  # RejectedFile is a DomainError
    parsed = replace(parsed, categories=categories)  # the manifest's categories are the brand's truth
    try:
        checked = check_annotation(parsed, stored=stored, orientation=orientation, source=item.annotation)
    except DomainError as exc:
        # The file cannot be used (every box dropped, or a size that is not the photo's): its boxes count as
        # rejected, each with its own reason when the gate gave one, and the image is left out.
        return None, _attach_classes(_file_problems(item.annotation, exc, parsed), parsed)
    sample = Sample(
        pair_id=item.pair_id,
        image_path=image_path,
        sha256=digest,
        size=checked.annotation.size or stored,
        orientation=orientation,
        boxes=checked.annotation.boxes,
    )
    return sample, _attach_classes(list(checked.problems), parsed)


def _file_problems(source: str, exc: DomainError, parsed: ParsedAnnotation) -> list[Problem]:
    problems: list[Problem] = []
    for detail in exc.details if isinstance(exc.details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            box = detail.get("box")
            problems.append(Problem(source, detail["reason"], box if isinstance(box, int) else None))
    named = {p.box_index for p in problems}
    if not problems:
        problems.append(Problem(source, exc.message))
    for index in _box_positions(parsed):
        if index not in named:
            problems.append(Problem(source, f"dropped with its file ({exc.message})", index))
    return problems


def _box_positions(parsed: ParsedAnnotation) -> Sequence[int]:
    """Each readable box's position in its file (what problems name it by)."""
    if len(parsed.box_indices) == len(parsed.boxes):
        return parsed.box_indices
    return range(len(parsed.boxes))


def _attach_classes(problems: list[Problem], parsed: ParsedAnnotation) -> list[Problem]:
    """Problems that name a readable box also remember its class (for the per-class counts and messages)."""
    boxes = dict(zip(_box_positions(parsed), parsed.boxes, strict=True))
    out: list[Problem] = []
    for problem in problems:
        box = boxes.get(problem.box_index) if problem.box_index is not None else None
        if box is not None:
            out.append(_ClassProblem(problem.file, problem.reason, problem.box_index, box))
        else:
            out.append(problem)
    return out


@dataclass(frozen=True)
class _ClassProblem(Problem):
    box: Box | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.box is not None:
            out["class_id"] = self.box.class_id
        return out


def _rejected_per_class(problems: Iterable[Problem]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for problem in problems:
        if isinstance(problem, _ClassProblem) and problem.box is not None:
            counts[problem.box.class_id] += 1
    return counts


def _measure(path: Path, name: str) -> tuple[ImageSize, int]:
    """Decode the whole image (so a truncated file fails here, not in the middle of training)."""
    try:
        with Image.open(path) as image:
            image.load()
            orientation = Image.Image.getexif(image).get(ORIENTATION_TAG, 1)
            size = ImageSize(image.width, image.height, len(image.getbands()))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DatasetNotReady(f"image {name} cannot be read: {exc}") from exc
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return size, orientation


def _check_classes(dataset: Dataset, min_images: int) -> None:
    problems: list[str] = []
    first_reason: dict[int, str] = {}
    for problem in dataset.rejected:
        if isinstance(problem, _ClassProblem) and problem.box is not None:
            first_reason.setdefault(problem.box.class_id, str(problem))
    counts = dataset.counts()
    for category in dataset.categories:
        count = counts[category.name]
        if count.boxes == 0 and count.rejected_boxes > 0:
            problems.append(
                f"all {count.rejected_boxes} boxes of class '{category.name}' were rejected "
                f"(first: {first_reason.get(category.class_id, 'no reason recorded')})"
            )
        elif count.images < min_images:
            problems.append(
                f"class '{category.name}' has {count.images} image{'s' if count.images != 1 else ''}, "
                f"at least {min_images} are needed"
            )
    if problems:
        raise DatasetNotReady(_sentence(problems), details=problems)


def _sentence(problems: Sequence[str]) -> str:
    """The first few problems, as many as fit a failure reason (SageMaker keeps 1024 characters), then a count."""
    shown: list[str] = []
    for problem in problems[:_MAX_REASONS]:
        if shown and sum(len(p) + 2 for p in shown) + len(problem) > _MAX_SENTENCE:
            break
        shown.append(problem)
    text = "; ".join(shown)
    if len(problems) > len(shown):
        text += f"; and {len(problems) - len(shown)} more"
    return text
