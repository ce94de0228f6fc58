"""A frozen dataset: the manifest the finish route writes and the training container reads.

A manifest lists exact, immutable objects: the dataset bucket names each image and annotation by the SHA-256 of
its bytes (`authentic.keys`), so freezing copies nothing. The training channel is the brand's prefix of the
dataset bucket as SageMaker lays out a `ManifestFile` channel, each listed object under its key relative to
the prefix:

    manifests/{manifest_id}.json    this manifest (the only file under manifests/)
    objects/{sha256}.jpg|.png       the images
    objects/{sha256}.json           their canonical annotations (seed format, upright pixels)

The manifest id is a hash of the manifest's content, so the same dataset always freezes to the same id and the
same bytes, and a changed one (a pair, a box, a class's role) to a new id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authentic import keys
from authentic.annotations.model import Category
from authentic.errors import InvalidInput

MANIFEST_SCHEMA = 2
_ID_LENGTH = 32


@dataclass(frozen=True)
class ManifestItem:
    pair_id: str
    image: str  # path relative to the brand's prefix and the channel root, e.g. "objects/{sha256}.jpg"
    annotation: str  # e.g. "objects/{sha256}.json"
    sha256: str  # of the image bytes (its object's name): identical images share it

    def to_json(self) -> dict[str, str]:
        return {"pair_id": self.pair_id, "image": self.image, "annotation": self.annotation, "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest:
    brand_id: str
    manifest_id: str
    categories: tuple[Category, ...]
    items: tuple[ManifestItem, ...]
    counts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def frozen(
        cls, brand_id: str, categories: tuple[Category, ...], items: tuple[ManifestItem, ...], counts: dict[str, Any]
    ) -> Manifest:
        """The manifest of this content, its id the hash of that content."""
        draft = cls(brand_id, "", categories, tuple(sorted(items, key=lambda i: i.pair_id)), counts)
        digest = hashlib.sha256(_canonical(draft._content())).hexdigest()
        return cls(draft.brand_id, digest[:_ID_LENGTH], draft.categories, draft.items, draft.counts)

    @property
    def path(self) -> str:
        """Where the manifest is in the channel (and under the brand's prefix)."""
        return keys.manifest_path(self.manifest_id)

    def objects(self) -> list[str]:
        """Every object the manifest names, once, sorted (two pairs may share an image)."""
        return sorted({path for item in self.items for path in (item.image, item.annotation)})

    def channel_file(self, prefix_uri: str) -> list[Any]:
        """SageMaker's ManifestFile for the channel: the prefix, then this manifest and every object it names,
        relative to the prefix (`s3://{dataset bucket}/{brand}/`)."""
        if not prefix_uri.startswith("s3://") or not prefix_uri.endswith("/"):
            raise ValueError(f"a ManifestFile prefix is an s3:// URI ending in '/', not {prefix_uri!r}")
        return [{"prefix": prefix_uri}, self.path, *self.objects()]

    def _content(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "brand_id": self.brand_id,
            "categories": [c.to_json() for c in self.categories],
            "items": [i.to_json() for i in self.items],
            "counts": self.counts,
        }

    def to_json(self) -> dict[str, Any]:
        return self._content() | {"manifest_id": self.manifest_id}

    def encode(self) -> bytes:
        """The manifest's bytes: canonical, so the same manifest is always the same object."""
        return _canonical(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        try:
            if data.get("schema") != MANIFEST_SCHEMA:
                raise ValueError(f"schema {data.get('schema')!r}, this program reads schema {MANIFEST_SCHEMA}")
            return cls(
                brand_id=str(data["brand_id"]),
                manifest_id=str(data["manifest_id"]),
                categories=tuple(
                    Category(int(c["class_id"]), str(c["name"]), c.get("role")) for c in data["categories"]
                ),
                items=tuple(ManifestItem(**i) for i in data["items"]),
                counts=dict(data.get("counts", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"manifest is malformed: {exc!r}") from exc

    def dump(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.encode())

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise InvalidInput(f"no manifest at {path}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{path.name} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"{path.name} is not a JSON object")
        return cls.from_json(data)


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
