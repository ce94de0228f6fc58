"""The train/validation split: deterministic for a seed, stratified by class, grouped by content hash."""

from __future__ import annotations

import random

import pytest

from authentic.errors import DatasetNotReady
from authentic.training.container.split import SplitItem, split_items


def items(n_genuine: int, n_counterfeit: int, *, both: int = 0, empty: int = 0, dup_every: int = 0) -> list[SplitItem]:
    out: list[SplitItem] = []
    specs = [frozenset({0})] * n_genuine + [frozenset({1})] * n_counterfeit + [frozenset({0, 1})] * both
    specs += [frozenset()] * empty
    for index, classes in enumerate(specs):
        out.append(SplitItem(f"p{index:04d}", f"h{index:04d}", classes))
        if dup_every and index % dup_every == 0:
            out.append(SplitItem(f"d{index:04d}", f"h{index:04d}", classes))
    return out


def test_same_seed_same_split_whatever_the_order() -> None:
    data = items(40, 30, both=10, dup_every=7)
    first = split_items(data, val_fraction=0.2, seed=3)
    shuffled = list(data)
    random.Random(1).shuffle(shuffled)
    again = split_items(shuffled, val_fraction=0.2, seed=3)
    assert again == first
    assert again.digest == first.digest


def test_another_seed_gives_another_split() -> None:
    data = items(40, 30)
    assert split_items(data, val_fraction=0.2, seed=1).val != split_items(data, val_fraction=0.2, seed=2).val


def test_identical_images_always_on_the_same_side() -> None:
    data = items(30, 30, both=6, dup_every=3)
    for seed in range(20):
        split = split_items(data, val_fraction=0.25, seed=seed)
        side = {pid: "val" for pid in split.val} | {pid: "train" for pid in split.train}
        by_hash: dict[str, set[str]] = {}
        for item in data:
            by_hash.setdefault(item.sha256, set()).add(side[item.pair_id])
        assert all(len(sides) == 1 for sides in by_hash.values())


def test_every_image_is_on_exactly_one_side() -> None:
    data = items(25, 12, both=5, empty=4, dup_every=5)
    split = split_items(data, val_fraction=0.2, seed=0)
    assert set(split.train).isdisjoint(split.val)
    assert set(split.train) | set(split.val) == {i.pair_id for i in data}
    assert list(split.train) == sorted(split.train)


def test_stratified_each_class_gets_its_share() -> None:
    data = items(100, 10)
    split = split_items(data, val_fraction=0.2, seed=5)
    val = set(split.val)
    genuine_val = sum(1 for i in data if 0 in i.class_ids and i.pair_id in val)
    counterfeit_val = sum(1 for i in data if 1 in i.class_ids and i.pair_id in val)
    assert genuine_val == 20
    assert counterfeit_val == 2  # the rare class is not left to chance


def test_a_class_with_two_images_gets_one_on_each_side() -> None:
    data = items(20, 2)
    for seed in range(10):
        split = split_items(data, val_fraction=0.2, seed=seed)
        sides = {i.pair_id in split.val for i in data if 1 in i.class_ids}
        assert sides == {True, False}


def test_images_without_boxes_are_spread_too() -> None:
    data = items(20, 20, empty=10)
    split = split_items(data, val_fraction=0.2, seed=0)
    empties_in_val = sum(1 for i in data if not i.class_ids and i.pair_id in split.val)
    assert empties_in_val == 2


def test_a_class_with_one_distinct_image_cannot_be_split() -> None:
    data = [*items(10, 1), SplitItem("copy", "h0010", frozenset({1}))]
    with pytest.raises(DatasetNotReady, match="at least two different images"):
        split_items(data, val_fraction=0.2, seed=0)


def test_repeated_pair_ids_are_refused() -> None:
    data = [*items(5, 5), SplitItem("p0000", "other", frozenset({0}))]
    with pytest.raises(DatasetNotReady, match="pair id twice"):
        split_items(data, val_fraction=0.2, seed=0)


def test_record_names_classes_and_counts() -> None:
    data = items(10, 10, empty=2)
    split = split_items(data, val_fraction=0.2, seed=0)
    record = split.to_json(data, {0: "genuine", 1: "counterfeit"})
    assert record["seed"] == 0 and record["val_fraction"] == 0.2
    assert record["per_class"]["genuine"] == {"train": 8, "val": 2}
    assert record["per_class"]["counterfeit"] == {"train": 8, "val": 2}
    assert sum(record["per_class"]["(no boxes)"].values()) == 2
    assert len(record["train"]) + len(record["val"]) == 22
