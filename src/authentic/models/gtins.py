"""The brand's registered GTINs (`GET/PUT /brands/{brandId}/gtins`): validated the GS1 way, each optionally tied
to one of the brand's classes, stored as GTIN-14.

A PUT replaces the whole list. Every entry that is wrong is named in one 422 (its position, what was sent, what
is wrong); a list over the limits is a 413 that says them. The limits keep a request inside API Gateway's and
Lambda's (10 MB and 6 MB) and its writes inside the API's 29 s: about 400 batched writes of 25 items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authentic import keys
from authentic.aws.ports import GtinEntry, GtinRecords
from authentic.barcodes import gtin
from authentic.errors import InvalidInput, PayloadTooLarge, UnprocessableEntries
from authentic.models.policy import Policy

MAX_GTINS_PER_BRAND = 10_000
MAX_GTIN_BODY_BYTES = 2_000_000  # 10,000 entries with class names of 64 characters fit in under 1 MB
_ENTRY_KEYS = frozenset({"gtin", "class", "format"})


@dataclass(frozen=True)
class GtinRegistry:
    records: GtinRecords
    policy: Policy

    def get(self, brand_id: str) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        return _listing(brand_id, self.records.entries(brand_id))

    def put(self, brand_id: str, body: Any) -> dict[str, Any]:
        keys.check_brand_id(brand_id)
        raw = body.get("gtins") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise InvalidInput(
                'send {"gtins": [...]}: each entry a GTIN ("09506000134352") or an object '
                '{"gtin": "...", "class": "...", "format": "UPC-E"} (class and format optional)'
            )
        if len(raw) > MAX_GTINS_PER_BRAND:
            raise PayloadTooLarge(
                f"{len(raw):,} GTINs sent; a brand registers at most {MAX_GTINS_PER_BRAND:,} "
                "(ask the operator to raise MAX_GTINS_PER_BRAND for a larger range)"
            )
        entries = self._validated(brand_id, raw)
        changes = self.records.replace(brand_id, entries)
        listing = _listing(brand_id, sorted(entries, key=lambda e: e.gtin))
        listing.update(added=changes.added, changed=changes.changed, removed=changes.removed)
        return listing

    def _validated(self, brand_id: str, raw: list[Any]) -> list[GtinEntry]:
        known = self.policy.known_classes(brand_id)
        problems: list[dict[str, Any]] = []
        seen: dict[str, tuple[int, GtinEntry]] = {}
        for position, item in enumerate(raw, start=1):
            try:
                entry = _entry(item, known)
            except gtin.GtinProblem as exc:
                problems.append({"entry": position, "gtin": _shown(item), "problem": str(exc)})
                continue
            first = seen.get(entry.gtin)
            if first is None:
                seen[entry.gtin] = (position, entry)
            elif first[1].class_name != entry.class_name:
                problems.append(
                    {
                        "entry": position,
                        "gtin": _shown(item),
                        "problem": f"GTIN {entry.gtin} is also entry {first[0]}, tied to class "
                        f"{first[1].class_name!r} there and {entry.class_name!r} here: keep one",
                    }
                )
        if problems:
            listed = "; ".join(f"entry {p['entry']} ({p['gtin']!r}): {p['problem']}" for p in problems[:5])
            more = f"; and {len(problems) - 5} more (see details)" if len(problems) > 5 else ""
            raise UnprocessableEntries(
                f"{len(problems)} of {len(raw)} entries are not valid GTINs of this brand: {listed}{more}",
                details={"problems": problems, "classes": sorted(known)},
            )
        return [entry for _, entry in seen.values()]


def check_body_size(body_bytes: int) -> None:
    """Refuse (413) a request body over the limit before reading it."""
    if body_bytes > MAX_GTIN_BODY_BYTES:
        raise PayloadTooLarge(
            f"the list is {body_bytes / 1e6:.1f} MB; a request carries at most {MAX_GTIN_BODY_BYTES / 1e6:.0f} MB "
            f"and {MAX_GTINS_PER_BRAND:,} GTINs: send the GTINs and class names only"
        )


def _entry(item: Any, known: set[str]) -> GtinEntry:
    if isinstance(item, str):
        return GtinEntry(gtin.normalise(item))
    if not isinstance(item, dict) or not isinstance(item.get("gtin"), str):
        raise gtin.GtinProblem('an entry is a GTIN string or an object with a "gtin" string')
    unknown = sorted(set(item) - _ENTRY_KEYS)
    if unknown:
        raise gtin.GtinProblem(f"unknown field(s) {', '.join(unknown)}; an entry has gtin, class and format")
    fmt = item.get("format")
    if fmt is not None and (not isinstance(fmt, str) or fmt.upper().replace("_", "-") not in ("UPC-E", "GTIN")):
        raise gtin.GtinProblem(f"format {fmt!r} is not known: leave it out, or say UPC-E for a UPC-E number")
    value = gtin.normalise(item["gtin"], upc_e=isinstance(fmt, str) and fmt.upper().replace("_", "-") == "UPC-E")
    name = item.get("class")
    if name is not None and (not isinstance(name, str) or name not in known):
        raise gtin.GtinProblem(
            f"class {name!r} is not one of this brand's classes ({', '.join(map(repr, sorted(known))) or 'none yet'})"
        )
    return GtinEntry(value, name)


def _shown(item: Any) -> str:
    value = item.get("gtin") if isinstance(item, dict) else item
    return str(value)[:40]


def _listing(brand_id: str, entries: list[GtinEntry]) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "count": len(entries),
        "gtins": [{"gtin": e.gtin, "class": e.class_name} for e in entries],
    }
