"""`authentic gtins`: the CSV file and `--add` forms, merging with the stored list, naming refused lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from authentic.cli import gtins
from authentic.cli.main import build_parser


def test_a_file_holds_a_gtin_a_line_with_its_class_and_format(tmp_path: Path) -> None:
    path = tmp_path / "gtins.csv"
    path.write_text("gtin,class,format\n5901234123457,shoe\n\n# the boot\n96385074, boot \n04965802,,UPC-E\n")
    found = gtins.read_file(path)
    assert [s.entry for s in found] == [
        {"gtin": "5901234123457", "class": "shoe"},
        {"gtin": "96385074", "class": "boot"},
        {"gtin": "04965802", "format": "UPC-E"},
    ]
    assert [s.where for s in found] == ["gtins.csv line 2", "gtins.csv line 5", "gtins.csv line 6"]


@pytest.mark.parametrize(
    ("spec", "entry"),
    [
        ("5901234123457", {"gtin": "5901234123457"}),
        ("5901234123457:shoe", {"gtin": "5901234123457", "class": "shoe"}),
        ("UPC-E:04965802", {"gtin": "04965802", "format": "UPC-E"}),
        ("upc-e:04965802:shoe", {"gtin": "04965802", "class": "shoe", "format": "UPC-E"}),
    ],
)
def test_add_takes_a_gtin_and_a_class(spec: str, entry: dict[str, str]) -> None:
    assert gtins.parse_add(spec).entry == entry


@pytest.mark.parametrize("spec", ["", ":shoe", "1:2:3"])
def test_a_malformed_add_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="expected GTIN"):
        gtins.parse_add(spec)


def test_adding_and_removing_keep_the_rest_of_the_stored_list() -> None:
    stored: list[dict[str, Any]] = [
        {"gtin": "05901234123457", "class": "shoe"},
        {"gtin": "00000096385074", "class": None},
    ]
    merged = gtins.merged(stored, [gtins.parse_add("96385074:boot")], ["5901234123457"])
    assert [s.entry for s in merged] == [{"gtin": "96385074", "class": "boot"}]
    assert [s.entry for s in gtins.merged(stored, [], [])] == [
        {"gtin": "05901234123457", "class": "shoe"},
        {"gtin": "00000096385074"},
    ]


def test_a_refusal_names_the_line_each_entry_came_from(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("5901234123457\n5901234123458\n")
    sources = gtins.read_file(path)
    text = gtins.refusal_text([{"entry": 2, "problem": "the check digit is wrong"}], sources)
    assert text == "  list.csv line 2: the check digit is wrong"


def test_the_command_line() -> None:
    args = build_parser().parse_args(["gtins", "--brand", "acme", "--add", "1:a", "--add", "2", "--remove", "3"])
    assert (args.add, args.remove, args.file) == (["1:a", "2"], ["3"], None)
    policy = build_parser().parse_args(["policy", "--brand", "acme", "--barcode", "required"])
    assert policy.barcode == "required"
