"""A seed folder: every image with a same-stem `.json` in the seed upload format beside it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from authentic.annotations.importers.base import (
    Loaded,
    Pending,
    image_files,
    merge_categories,
    rel,
)
from authentic.annotations.model import Category, ParsedAnnotation, Problem
from authentic.annotations.seed import parse_seed
from authentic.errors import RejectedFile


def load(root: Path) -> Loaded:
    loaded = Loaded()
    parsed: list[tuple[Path, str, ParsedAnnotation]] = []
    paired: set[Path] = set()
    for image in image_files(root):
        path = image.with_suffix(".json")
        if not path.is_file():
            loaded.problems.append(Problem(rel(image, root), f"no annotation: expected {path.name} beside it"))
            continue
        paired.add(path)
        source = rel(path, root)
        try:
            parsed.append((image, source, parse_seed(path.read_bytes(), source=source)))
        except RejectedFile as exc:
            loaded.problems.append(Problem(source, exc.message.removeprefix(f"{source}: ")))
    for path in sorted(root.rglob("*.json")):
        if path not in paired:
            loaded.problems.append(Problem(rel(path, root), "no image with the same name beside it"))
    known: dict[int, Category] = {}
    accepted: list[tuple[Path, str, ParsedAnnotation]] = []
    for image, source, annotation in parsed:
        known, problem = merge_categories(known, annotation.categories, source)
        if problem is not None:
            loaded.problems.append(problem)
        else:
            accepted.append((image, source, annotation))
    loaded.categories = tuple(known[class_id] for class_id in sorted(known))
    for image, source, annotation in accepted:
        loaded.pending.append(Pending(image, source, replace(annotation, categories=loaded.categories)))
    return loaded
