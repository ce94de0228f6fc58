"""SageMaker Ground Truth: every `*.manifest` / `*.jsonl` output manifest under the folder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from authentic.annotations.fields import json_type
from authentic.annotations.importers.base import (
    ImageIndex,
    Loaded,
    Pending,
    merge_categories,
    rel,
)
from authentic.annotations.model import Category, ParsedAnnotation, Problem
from authentic.annotations.seed import annotation_from_json
from authentic.errors import FieldError, InvalidInput, RejectedFile


def _metadata(line: dict[str, Any], attribute: str) -> dict[str, Any]:
    metadata = line.get(f"{attribute}-metadata")
    return metadata if isinstance(metadata, dict) else {}


def _label_attribute(line: dict[str, Any]) -> str:
    """The bounding-box label attribute: the one holding `annotations`; with several, the one whose
    metadata says object detection."""
    found = [key for key, value in line.items() if isinstance(value, dict) and "annotations" in value]
    if not found:
        raise FieldError("no bounding-box label attribute (an object with 'image_size' and 'annotations')")
    detection = [key for key in found if _metadata(line, key).get("type") == "groundtruth/object-detection"]
    if len(found) > 1 and len(detection) != 1:
        raise FieldError(
            f"several label attributes hold 'annotations' ({', '.join(found)}) and not exactly one has "
            "'groundtruth/object-detection' as the type in its -metadata"
        )
    return detection[0] if len(found) > 1 else found[0]


def _groundtruth_line(text: str, source: str) -> tuple[str, ParsedAnnotation]:
    """The line's image reference and annotation."""
    try:
        line = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FieldError(f"not valid JSON: {exc}") from exc
    if not isinstance(line, dict):
        raise FieldError(f"must be a JSON object, got {json_type(line)}")
    ref = line.get("source-ref")
    if not isinstance(ref, str) or not ref:
        raise FieldError("missing 'source-ref' (the image's S3 URI)")
    attribute = _label_attribute(line)
    label = line[attribute]
    class_map = _metadata(line, attribute).get("class-map")
    doc = {
        "file": ref.rsplit("/", 1)[-1],
        "image_size": label.get("image_size"),
        "annotations": label["annotations"],
        "categories": class_map,
    }
    try:
        return ref, annotation_from_json(doc, source=source)
    except RejectedFile as exc:
        raise FieldError(exc.message.removeprefix(f"{source}: ")) from exc


def load(root: Path) -> Loaded:
    manifests = sorted({*root.rglob("*.manifest"), *root.rglob("*.jsonl")})
    if not manifests:
        raise InvalidInput(f"no Ground Truth manifest (*.manifest, JSON lines) under {root}")
    loaded = Loaded()
    index = ImageIndex(root)
    known: dict[int, Category] = {}
    read: list[tuple[Path, str, ParsedAnnotation]] = []
    for manifest in manifests:
        for number, text in enumerate(manifest.read_text(encoding="utf-8-sig").splitlines(), start=1):
            if not text.strip():
                continue
            source = f"{rel(manifest, root)} line {number}"
            try:
                ref, annotation = _groundtruth_line(text, source)
                image = index.find(ref, near=manifest)
            except (FieldError, LookupError) as exc:
                loaded.problems.append(Problem(source, str(exc)))
                continue
            known, problem = merge_categories(known, annotation.categories, source)
            if problem is not None:
                loaded.problems.append(problem)
                continue
            read.append((image, source, annotation))
    loaded.categories = tuple(known[class_id] for class_id in sorted(known))
    for image, source, annotation in read:
        loaded.pending.append(Pending(image, source, replace(annotation, categories=loaded.categories)))
    return loaded
