"""Train/validation split: deterministic for a seed, stratified by class, by image, leak-free.

- The unit is a *group*: all images with the same content hash (sha256 of the normalised bytes). A group is never
  cut, so a photo uploaded twice cannot sit on both sides and flatter the validation score.
- Stratified: classes are served rarest first; each gets about `val_fraction` of its images into validation
  (at least one), taking whole groups in a seeded random order. Groups no class asked for go to training.
- Every class keeps at least one training image: a class whose training side would be empty gets a group back.
- Deterministic: the order is fixed by sorting on the hashes before the seeded shuffle, so the same dataset
  and seed give the same split whatever order the manifest lists its items in.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from authentic.errors import DatasetNotReady

BACKGROUND = -1  # the pseudo-class of images without boxes, so they are spread too


@dataclass(frozen=True)
class SplitItem:
    """What the split needs of an image: its id, content hash and the classes it shows."""

    pair_id: str
    sha256: str
    class_ids: frozenset[int]


@dataclass(frozen=True)
class Split:
    train: tuple[str, ...]  # pair ids, sorted
    val: tuple[str, ...]
    seed: int
    val_fraction: float

    def side_of(self, pair_id: str) -> str:
        if pair_id in self.val:
            return "val"
        if pair_id in self.train:
            return "train"
        raise KeyError(pair_id)

    @property
    def digest(self) -> str:
        """A short fingerprint of the assignment (equal digests: identical splits)."""
        text = "train:" + ",".join(self.train) + ";val:" + ",".join(self.val)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self, items: Sequence[SplitItem] = (), names: dict[int, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": "stratified by class, grouped by image content hash",
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "digest": self.digest,
            "train": list(self.train),
            "val": list(self.val),
        }
        if items:
            out["per_class"] = _per_class(self, items, names or {})
        return out


def split_items(items: Sequence[SplitItem], *, val_fraction: float, seed: int) -> Split:
    """Split the images; raises `DatasetNotReady` when a class cannot have both a training and a validation
    image (it needs at least two distinct images)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    ids = [item.pair_id for item in items]
    if len(set(ids)) != len(ids):
        raise DatasetNotReady("the manifest lists a pair id twice")
    groups = _groups(items)
    members: dict[int, list[str]] = defaultdict(list)  # class -> group keys holding it
    for key, group in sorted(groups.items()):
        for class_id in _classes(group):
            members[class_id].append(key)
    too_few = sorted(c for c, keys in members.items() if c != BACKGROUND and len(keys) < 2)
    if too_few:
        raise DatasetNotReady(
            "a class needs at least two different images to have one on each side of the split "
            f"(class ids with fewer: {', '.join(map(str, too_few))})"
        )
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    order = {key: rng.random() for key in sorted(groups)}
    val: set[str] = set()
    for class_id in sorted(members, key=lambda c: (len(members[c]), c)):
        keys = members[class_id]
        target = max(1, round(val_fraction * len(keys))) if len(keys) >= 2 else 0
        have = sum(1 for key in keys if key in val)
        for key in sorted(keys, key=lambda k: order[k]):
            if have >= target:
                break
            if key not in val:
                val.add(key)
                have += 1
    _keep_training_side(members, val, order)
    train_ids = sorted(pid for key, group in groups.items() if key not in val for pid in _ids(group))
    val_ids = sorted(pid for key in val for pid in _ids(groups[key]))
    return Split(tuple(train_ids), tuple(val_ids), seed, val_fraction)


# ---------------------------------------------------------------------------------------------------------------


def _groups(items: Iterable[SplitItem]) -> dict[str, list[SplitItem]]:
    groups: dict[str, list[SplitItem]] = defaultdict(list)
    for item in items:
        groups[item.sha256 or f"pair:{item.pair_id}"].append(item)
    return groups


def _classes(group: Sequence[SplitItem]) -> frozenset[int]:
    classes = frozenset().union(*(item.class_ids for item in group))
    return classes or frozenset({BACKGROUND})


def _ids(group: Sequence[SplitItem]) -> list[str]:
    return [item.pair_id for item in group]


def _keep_training_side(members: dict[int, list[str]], val: set[str], order: dict[str, float]) -> None:
    """Give back to training the last-chosen group of any class left without a training image."""
    for class_id in sorted(members):
        keys = members[class_id]
        if len(keys) >= 2 and all(key in val for key in keys):
            val.discard(max(keys, key=lambda k: order[k]))


def _per_class(split: Split, items: Sequence[SplitItem], names: dict[int, str]) -> dict[str, dict[str, int]]:
    val = set(split.val)
    counts: dict[str, dict[str, int]] = {}
    for item in items:
        side = "val" if item.pair_id in val else "train"
        for class_id in item.class_ids or {BACKGROUND}:
            name = names.get(class_id, "(no boxes)" if class_id == BACKGROUND else str(class_id))
            entry = counts.setdefault(name, {"train": 0, "val": 0})
            entry[side] += 1
    return dict(sorted(counts.items()))
