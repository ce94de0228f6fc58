"""The barcode's weight in the verdict, under the brand's `barcode` setting (off, advisory, required).

Calling a genuine product counterfeit is the worst error this service can make, so a barcode turns a genuine
answer into a counterfeit one only on firm evidence, all of it:
- a GTIN with a valid check digit that is not registered to the brand (and is a brand's GTIN, not a shop's
  in-store number or a coupon) while the brand has registered barcodes of the detected product's class (or
  GTINs tied to no class), or that is registered to another class than the product detected;
- read twice, independently, with the same value (zxing-cpp can misread a blurred EAN as another valid one);
- on the detected genuine product: its box inside or touching the product's box;
- and no barcode registered to that product on it as well (an importer's or a retailer's label beside the
  brand's own barcode is not a relabelled product).
Anything less leaves the verdict as it is and says what was read in the reason. A registered GTIN of the
detected class strengthens a genuine answer's reason; with `required`, a genuine answer needs one in the photo,
else it is inconclusive. A counterfeit answer stays counterfeit, an inconclusive one inconclusive; a barcode
whose check digit fails is reported and never used. The README's verdict table lists every case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from authentic.models.policy import BarcodeMode
from authentic.verify.barcodes import BarcodeFinding
from authentic.verify.verdict import Verdict

NO_REGISTERED_BARCODE = "no registered barcode in view"
MAX_NOTES = 3


def combine(verdict: Verdict, barcodes: Sequence[BarcodeFinding], mode: BarcodeMode) -> Verdict:
    """The verdict once the barcodes read in the photo are weighed in."""
    if mode == "off":
        return verdict
    products = [d for d in verdict.detections if d.get("counts")]
    genuine = [d for d in products if d.get("role") == "genuine"]
    if verdict.verdict != "genuine":
        return _noted(verdict, verdict.verdict, (verdict.reason, verdict.shopper_reason), barcodes, products)
    for barcode in barcodes:
        evidence = _evidence(barcode, genuine, barcodes)
        if evidence:
            return Verdict("counterfeit", evidence, verdict.detections)
    names = {str(d.get("name")) for d in genuine}
    matching = [b for b in barcodes if b.usable and b.registered and (b.class_name is None or b.class_name in names)]
    if mode == "required" and not matching:
        reasons = tuple(
            f"{NO_REGISTERED_BARCODE}: the product looks genuine ({text.split(';')[0]}), and this brand "
            "also requires one of its registered barcodes of it in the photo"
            for text in (verdict.reason, verdict.shopper_reason)
        )
        return _noted(verdict, "inconclusive", (reasons[0], reasons[1]), barcodes, genuine)
    return _noted(verdict, "genuine", (verdict.reason, verdict.shopper_reason), barcodes, genuine)


def lies_on(box: Mapping[str, Any], product: Mapping[str, Any]) -> bool:
    """Whether a barcode's box is inside or touches a detected product's box (both left, top, width, height)."""
    b, p = _edges(box), _edges(product)
    return b[0] <= p[2] and b[2] >= p[0] and b[1] <= p[3] and b[3] >= p[1]


def _edges(box: Mapping[str, Any]) -> tuple[float, float, float, float]:
    left, top = float(box["left"]), float(box["top"])
    return left, top, left + float(box["width"]), top + float(box["height"])


def _matches(barcode: BarcodeFinding, product: Mapping[str, Any]) -> bool:
    return barcode.registered and barcode.class_name in (None, product.get("name"))


def _mismatch(barcode: BarcodeFinding, product: Mapping[str, Any]) -> str:
    """Why this barcode does not belong on this product ('' when it may)."""
    if not barcode.usable:
        return ""
    if not barcode.registered:
        if not barcode.trade_item or not barcode.registry.covers(product.get("name")):
            return ""  # a shop's number, or a product whose barcodes the brand has not registered
        return f"barcode {barcode.gtin} is not registered to this brand"
    if barcode.class_name is not None and barcode.class_name != product.get("name"):
        return (
            f"barcode {barcode.gtin} is registered to this brand's '{barcode.class_name}', not to "
            f"'{product.get('name')}' (a relabelled product)"
        )
    return ""


def _evidence(barcode: BarcodeFinding, genuine: list[dict[str, Any]], every: Sequence[BarcodeFinding]) -> str:
    """The reason for a counterfeit verdict when this barcode is firm evidence against a detected product."""
    if not barcode.confirmed:
        return ""
    for product in genuine:
        if not lies_on(barcode.box, product["box"]):
            continue
        why = _mismatch(barcode, product)
        vouched = any(
            _matches(other, product) and lies_on(other.box, product["box"]) for other in every if other.usable
        )
        if why and not vouched:
            return (
                f"{why}, and it is on the detected product ({product.get('role')} class '{product.get('name')}' "
                f"at {float(product['confidence']):.2f})"
            )
    return ""


def _noted(
    verdict: Verdict,
    decision: str,
    reasons: tuple[str, str],
    barcodes: Sequence[BarcodeFinding],
    products: list[dict[str, Any]],
) -> Verdict:
    """The verdict with what the barcodes add; `reasons` is the brand's reason and the shopper's (no thresholds)."""
    notes = [_note(b, decision, products, barcodes) for b in barcodes]
    shown = [n for n in notes if n][:MAX_NOTES]
    extra = len([n for n in notes if n]) - len(shown)
    more = f"; and {extra} more barcode(s)" if extra > 0 else ""
    brand, shopper = ("; ".join([reason, *shown]) + more for reason in reasons)
    return Verdict(decision, brand, verdict.detections, public_reason=shopper)  # type: ignore[arg-type]


def _note(
    barcode: BarcodeFinding, decision: str, products: list[dict[str, Any]], every: Sequence[BarcodeFinding]
) -> str:
    """What one barcode adds to the reason."""
    if barcode.gtin is None:
        return ""  # a QR code with a web address, a DataMatrix without a GTIN: reported in `barcodes`, no more
    if not barcode.check_digit_ok:
        return f"barcode {barcode.gtin}'s check digit fails: not used"
    on = [p for p in products if lies_on(barcode.box, p["box"])]
    if barcode.registered:
        whose = f" for '{barcode.class_name}'" if barcode.class_name else ""
        if decision == "counterfeit":
            return f"its barcode {barcode.gtin} is registered to this brand{whose} (counterfeits copy barcodes)"
        targets = on or products
        mismatched = [_mismatch(barcode, p) for p in targets if _mismatch(barcode, p)]
        if mismatched and decision == "genuine" and not any(_matches(barcode, p) for p in targets):
            return f"{mismatched[0]}, but {_why_not(barcode, on, every)}"
        if decision == "genuine" and on:
            return f"its barcode {barcode.gtin} is registered to this brand{whose}"
        return f"barcode {barcode.gtin} is registered to this brand{whose}" + ("" if on else ", off the product")
    if not barcode.trade_item:
        return f"barcode {barcode.gtin} is a shop's own in-store number or a coupon: not used"
    if decision == "genuine":
        return f"barcode {barcode.gtin} is not registered to this brand, but {_why_not(barcode, on, every)}"
    return f"barcode {barcode.gtin} is not registered to this brand"


def _why_not(barcode: BarcodeFinding, on: list[dict[str, Any]], every: Sequence[BarcodeFinding]) -> str:
    if not on:
        return "it is not on the detected product: not taken as evidence"
    if not barcode.registered and not any(barcode.registry.covers(p.get("name")) for p in on):
        names = ", ".join(sorted({f"'{p.get('name')}'" for p in on}))
        return f"this brand has registered no barcodes of {names}: not taken as evidence"
    if not barcode.confirmed:
        return "it was read only once (not confirmed by a second read): not taken as evidence"
    return "the product also carries one of the brand's registered barcodes: not taken as evidence"
