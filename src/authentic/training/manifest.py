"""A frozen dataset: the manifest the finish route writes and the training container reads.

The training channel (a snapshot of exact object versions) is laid out as:
    manifest.json
    images/{pair_id}.jpg|.png
    annotations/{pair_id}.json      canonical annotation, upright pixels (seed format)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from authentic.annotations.model import Category
from authentic.errors import InvalidInput

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class ManifestItem:
    pair_id: str
    image: str  # path relative to the channel root, e.g. "images/ab12.jpg"
    annotation: str  # e.g. "annotations/ab12.json"
    sha256: str  # of the normalised image bytes: identical images share it
    image_version: str | None = None
    annotation_version: str | None = None


@dataclass(frozen=True)
class Manifest:
    brand_id: str
    manifest_id: str
    created_at: str
    categories: tuple[Category, ...]
    items: tuple[ManifestItem, ...]
    counts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "brand_id": self.brand_id,
            "manifest_id": self.manifest_id,
            "created_at": self.created_at,
            "categories": [c.to_json() for c in self.categories],
            "items": [asdict(i) for i in self.items],
            "counts": self.counts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        try:
            return cls(
                brand_id=str(data["brand_id"]),
                manifest_id=str(data["manifest_id"]),
                created_at=str(data.get("created_at", "")),
                categories=tuple(
                    Category(int(c["class_id"]), str(c["name"]), c.get("role")) for c in data["categories"]
                ),
                items=tuple(ManifestItem(**i) for i in data["items"]),
                counts=dict(data.get("counts", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"manifest is malformed: {exc!r}") from exc

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise InvalidInput(f"no {MANIFEST_NAME} in {path.parent}") from exc
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name} is not valid JSON: {exc}") from exc
        return cls.from_json(data)
