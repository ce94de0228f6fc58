"""The canonical annotation model every import format converts into.

Pixels, top-left origin, boxes as left/top/width/height: the seed's annotation JSON (and SageMaker Ground
Truth's bounding-box shape). `to_seed_json` writes the canonical upload format back out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from authentic.media.geometry import ImageSize

__all__ = ["ROLES", "Annotation", "Box", "Category", "ImageSize", "Problem", "Role", "default_role"]

Role = Literal["genuine", "counterfeit"]
ROLES: tuple[Role, ...] = ("genuine", "counterfeit")
_COUNTERFEIT_WORDS = ("counterfeit", "fake", "replica", "knockoff", "knock-off", "imitation")


def default_role(name: str) -> Role:
    """A class's role when nobody said: names that say counterfeit are counterfeit, the rest genuine."""
    lowered = name.lower()
    return "counterfeit" if any(word in lowered for word in _COUNTERFEIT_WORDS) else "genuine"


@dataclass(frozen=True)
class Category:
    class_id: int
    name: str
    role: Role | None = None

    @property
    def effective_role(self) -> Role:
        return self.role or default_role(self.name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"class_id": self.class_id, "name": self.name}
        if self.role is not None:
            out["role"] = self.role
        return out


@dataclass(frozen=True)
class Box:
    """One labelled box in pixels: left/top is the top-left corner."""

    class_id: int
    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def area(self) -> float:
        return self.width * self.height

    def to_json(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "left": _num(self.left),
            "top": _num(self.top),
            "width": _num(self.width),
            "height": _num(self.height),
        }


@dataclass(frozen=True)
class Annotation:
    """One image's boxes, in the canonical model."""

    file: str
    size: ImageSize | None
    boxes: tuple[Box, ...]
    categories: tuple[Category, ...] = field(default_factory=tuple)

    def category_names(self) -> dict[int, str]:
        return {c.class_id: c.name for c in self.categories}

    def with_boxes(self, boxes: tuple[Box, ...], size: ImageSize | None) -> Annotation:
        return replace(self, boxes=boxes, size=size)

    def to_seed_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.size is not None:
            out["image_size"] = [self.size.to_json()]
        out["annotations"] = [b.to_json() for b in self.boxes]
        out["categories"] = [c.to_json() for c in self.categories]
        return out


@dataclass(frozen=True)
class Problem:
    """Why a file or one of its boxes was refused: always names the file, and the box when there is one."""

    file: str
    reason: str
    box_index: int | None = None

    def __str__(self) -> str:
        where = self.file if self.box_index is None else f"{self.file}, box {self.box_index}"
        return f"{where}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "box": self.box_index, "reason": self.reason}


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 3)


@dataclass(frozen=True)
class ParsedAnnotation(Annotation):
    """An annotation as read from a file, with what could not be read.

    `problems`: one per box that could not be read (its `box_index` is its position in the file).
    `box_indices`: the position in the file of each box in `boxes`, so that later problems name the box the
    way the file does; empty means 0, 1, 2, ...
    """

    problems: tuple[Problem, ...] = ()
    box_indices: tuple[int, ...] = ()
