"""`authentic gtins`: the brand's registered GTINs from a CSV file or the command line.

A file holds one GTIN a line, `gtin[,class[,format]]`: the class it is tied to (one of the brand's classes) and
`UPC-E` for an 8-digit UPC-E number; blank lines, `#` comments and a header line (`gtin,class,...`) are skipped.
On the command line, `--add GTIN[:class]` and `--add UPC-E:NUMBER[:class]`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UPC_E = "UPC-E"


@dataclass(frozen=True)
class Source:
    """Where an entry came from, to name it when the API refuses it."""

    entry: dict[str, Any]
    where: str  # "gtins.csv line 4", "--add 5901234123457:shoe"


def read_file(path: Path) -> list[Source]:
    text = path.read_text(encoding="utf-8-sig")
    found: list[Source] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "gtin":
            continue  # a header
        found.append(
            Source(_entry(cells[0], cells[1] if len(cells) > 1 else "", cells[2:3]), f"{path.name} line {number}")
        )
    return found


def parse_add(spec: str) -> Source:
    parts = spec.split(":")
    upc_e = parts[0].upper().replace("_", "-") == UPC_E
    if upc_e:
        parts = parts[1:]
    if not parts or not parts[0] or len(parts) > 2:
        raise ValueError(f"--add {spec!r}: expected GTIN[:class] or UPC-E:NUMBER[:class]")
    return Source(_entry(parts[0], parts[1] if len(parts) > 1 else "", [UPC_E] if upc_e else []), f"--add {spec}")


def _entry(gtin: str, class_name: str, rest: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"gtin": gtin}
    if class_name:
        entry["class"] = class_name
    if rest and rest[0]:
        entry["format"] = rest[0]
    return entry


def merged(current: list[dict[str, Any]], added: list[Source], removed: list[str]) -> list[Source]:
    """The brand's list as stored, with the additions (a GTIN again takes its new class) and without `removed`
    (GTIN-14 or as written, left zeros aside)."""
    gone = {g.strip().lstrip("0") for g in removed}
    adding = {s.entry["gtin"].strip().lstrip("0") for s in added if "format" not in s.entry}
    kept = [
        Source({"gtin": e["gtin"], **({"class": e["class"]} if e.get("class") else {})}, f"registered {e['gtin']}")
        for e in current
        if e["gtin"].lstrip("0") not in gone | adding
    ]
    return kept + added


def refusal_text(problems: list[dict[str, Any]], sources: list[Source]) -> str:
    lines = []
    for problem in problems:
        index = int(problem.get("entry", 0)) - 1
        where = sources[index].where if 0 <= index < len(sources) else f"entry {problem.get('entry')}"
        lines.append(f"  {where}: {problem.get('problem')}")
    return "\n".join(lines)
