"""What every importer shares: the dataset it builds, finding the image an annotation names, merging the
categories of several files, and the last step, where each annotation passes the one geometry gate
(`authentic.annotations.checks.check_annotation`) against its image's real size and Exif orientation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from authentic.annotations.checks import check_annotation
from authentic.annotations.fields import check_categories
from authentic.annotations.model import Annotation, Category, Problem
from authentic.errors import FieldError, RejectedFile
from authentic.media.exif import ORIENTATION_TAG
from authentic.media.geometry import ImageSize

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*/")


@dataclass(frozen=True)
class ImportedItem:
    image_path: Path
    annotation: Annotation
    """Checked: upright pixels, `size` the upright size, `file` the image's path relative to the folder."""


@dataclass
class ImportedDataset:
    items: list[ImportedItem] = field(default_factory=list)
    categories: tuple[Category, ...] = ()
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    image: Path
    source: str  # names the annotation in problems
    annotation: Annotation  # as read: declared size, boxes in the file's frame
    measured: tuple[ImageSize, int] | None = None


@dataclass
class Loaded:
    pending: list[Pending] = field(default_factory=list)
    categories: tuple[Category, ...] = ()
    problems: list[Problem] = field(default_factory=list)


def measure_image(path: Path) -> tuple[ImageSize, int]:
    """The stored size and Exif orientation (1 when absent or invalid), read from the header only."""
    with Image.open(path) as image:
        width, height = image.size
        depth = len(image.getbands())
        # The base method reads Exif already in the header; PNG's override would decode the pixels.
        orientation = Image.Image.getexif(image).get(ORIENTATION_TAG, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return ImageSize(width, height, depth), orientation


def rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def image_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.is_file()
    )


def finish(root: Path, loaded: Loaded) -> ImportedDataset:
    dataset = ImportedDataset(categories=loaded.categories, problems=list(loaded.problems))
    annotated_by: dict[Path, str] = {}
    for pending in loaded.pending:
        image_name = rel(pending.image, root)
        if pending.image in annotated_by:
            reason = f"its image {image_name} is already annotated by {annotated_by[pending.image]}"
            dataset.problems.append(Problem(pending.source, reason))
            continue
        annotated_by[pending.image] = pending.source
        try:
            stored, orientation = pending.measured or measure_image(pending.image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            dataset.problems.append(Problem(image_name, f"cannot read the image: {exc}"))
            continue
        annotation = replace(pending.annotation, file=image_name)
        try:
            checked = check_annotation(annotation, stored=stored, orientation=orientation, source=pending.source)
        except RejectedFile as exc:
            dataset.problems.append(Problem(pending.source, exc.message.removeprefix(f"{pending.source}: ")))
            continue
        dataset.problems.extend(checked.problems)
        dataset.items.append(ImportedItem(pending.image, checked.annotation))
    return dataset


class ImageIndex:
    """Finds an image named by an annotation (`IMG_1.JPG`, `train2017/1.jpg`, `s3://bucket/a/1.jpg`,
    `C:\\data\\1.jpg`): by file name, then by the longest matching path tail, then by the directories it
    shares with the annotation file (so `annotations/train/x.xml` finds `images/train/x.jpg`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_name: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        for path in image_files(root):
            self.by_name.setdefault(path.name.casefold(), []).append(path)
            self.by_stem.setdefault(path.stem.casefold(), []).append(path)

    def find(self, ref: str, *, near: Path | None = None, by_stem: bool = False) -> Path:
        """The image, or `LookupError` with the reason."""
        parts = [part.casefold() for part in re.split(r"[\\/]", _URI.sub("", ref)) if part not in ("", ".")]
        if not parts:
            raise LookupError("names no image")
        candidates = (self.by_stem if by_stem else self.by_name).get(parts[-1], [])
        if not candidates:
            raise LookupError(f"its image {ref!r} is not under the folder")
        near_dirs = {p.casefold() for p in near.relative_to(self.root).parts[:-1]} if near else set()

        def score(path: Path) -> tuple[int, int]:
            rel = [p.casefold() for p in path.relative_to(self.root).parts]
            tail = 0
            while tail < min(len(rel), len(parts)) and rel[-1 - tail] == parts[-1 - tail]:
                tail += 1
            return tail, len(near_dirs.intersection(rel[:-1]))

        ranked = sorted(candidates, key=score, reverse=True)
        if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
            listed = ", ".join(rel(path, self.root) for path in ranked[:3])
            raise LookupError(f"its image {ref!r} is ambiguous: {listed}")
        return ranked[0]


def _roles_differ(old: Category, new: Category) -> bool:
    return old.role is not None and new.role is not None and old.role != new.role


def merge_categories(
    known: dict[int, Category], new: Sequence[Category], source: str
) -> tuple[dict[int, Category], Problem | None]:
    """Add `new` to `known` unless a class id or a name is already used differently."""
    merged = dict(known)
    for category in new:
        old = merged.get(category.class_id)
        if old is not None and (old.name != category.name or _roles_differ(old, category)):
            reason = f"class id {category.class_id} is {category.name!r} here but {old.name!r} elsewhere"
            return known, Problem(source, reason)
        if old is None or old.role is None:
            merged[category.class_id] = category
    try:
        check_categories(list(merged.values()))
    except FieldError as exc:
        return known, Problem(source, f"its categories clash with the other files': {exc}")
    return merged, None
