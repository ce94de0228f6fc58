"""DynamoDB: the brand's registered GTINs. Implements `ports.GtinRecords`.

Items (same table as the brand's other records, so the list survives redeploys with them):
    BRAND#{brand} / GTIN#{gtin14}      one registered GTIN: the class it is tied to, when it is
    BRAND#{brand} / GTINS              the list's coverage: the classes with a GTIN, and whether any is untied

One item per GTIN, so no item nears DynamoDB's 400 KB however many a brand registers, and the verify function
reads exactly the GTINs it saw with GetItem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from authentic.aws.clients import client
from authentic.aws.clients import table as table_resource
from authentic.aws.items import now, query_prefix
from authentic.aws.ports import GtinChanges, GtinCoverage, GtinEntry

PREFIX = "GTIN#"
COVERAGE_SK = "GTINS"  # not under PREFIX: a query of the list never returns it


def _pk(brand_id: str) -> str:
    return f"BRAND#{brand_id}"


class DynamoGtinRecords:
    def __init__(self, table_name: str, dynamodb: Any | None = None, table: Any | None = None) -> None:
        self._table_name = table_name
        self._ddb = dynamodb if dynamodb is not None else client("dynamodb")  # thread-safe: verify reads aside
        self._table = table if table is not None else table_resource(table_name)

    def replace(self, brand_id: str, entries: Sequence[GtinEntry]) -> GtinChanges:
        before = {e.gtin: e for e in self.entries(brand_id)}
        wanted = {e.gtin: e for e in entries}
        writes = [e for gtin, e in wanted.items() if before.get(gtin) != e]
        removals = [gtin for gtin in before if gtin not in wanted]
        stamp = now()
        with self._table.batch_writer() as batch:  # resends unprocessed items
            for entry in writes:
                item: dict[str, Any] = {
                    "pk": _pk(brand_id),
                    "sk": PREFIX + entry.gtin,
                    "gtin": entry.gtin,
                    "brand_id": brand_id,
                    "updated_at": stamp,
                }
                if entry.class_name:
                    item["class_name"] = entry.class_name
                batch.put_item(Item=item)
        # The coverage after the entries it names exist, before any removal: an unregistered barcode is held
        # against a class only once that class's GTINs are readable.
        coverage = GtinCoverage.of(wanted.values())
        self._table.put_item(
            Item={
                "pk": _pk(brand_id),
                "sk": COVERAGE_SK,
                "brand_id": brand_id,
                "classes": sorted(coverage.classes),
                "untied": coverage.untied,
                "updated_at": stamp,
            }
        )
        with self._table.batch_writer() as batch:  # only after every write: a kept GTIN is never missing
            for gtin in removals:
                batch.delete_item(Key={"pk": _pk(brand_id), "sk": PREFIX + gtin})
        added = sum(gtin not in before for gtin in wanted)
        return GtinChanges(added=added, changed=len(writes) - added, removed=len(removals))

    def entries(self, brand_id: str) -> list[GtinEntry]:
        items = query_prefix(self._table, _pk(brand_id), PREFIX)
        return sorted((_entry(item) for item in items), key=lambda e: e.gtin)

    def lookup(self, brand_id: str, gtins: Sequence[str]) -> dict[str, GtinEntry]:
        found: dict[str, GtinEntry] = {}
        for gtin in dict.fromkeys(gtins):
            out = self._ddb.get_item(
                TableName=self._table_name,
                Key={"pk": {"S": _pk(brand_id)}, "sk": {"S": PREFIX + gtin}},
                ProjectionExpression="gtin, class_name",
            )
            item = out.get("Item")
            if item:
                found[gtin] = GtinEntry(gtin, item["class_name"]["S"] if "class_name" in item else None)
        return found

    def coverage(self, brand_id: str) -> GtinCoverage:
        out = self._ddb.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": _pk(brand_id)}, "sk": {"S": COVERAGE_SK}},
            ProjectionExpression="classes, untied",
        )
        item = out.get("Item")
        if not item:
            return GtinCoverage()
        classes = frozenset(c["S"] for c in item.get("classes", {}).get("L", []))
        return GtinCoverage(classes, bool(item.get("untied", {}).get("BOOL", False)))


def _entry(item: dict[str, Any]) -> GtinEntry:
    name = item.get("class_name")
    return GtinEntry(str(item["gtin"]), str(name) if name else None)
