"""GS1 identifiers: the GTIN check digit, GTIN-14 normalisation, UPC-E expansion, and the GTIN that a scanned
symbol carries (EAN/UPC digits, GS1 element strings in a DataMatrix or QR code, GS1 Digital Link URIs).

Registry input is validated here with messages that say what is wrong and how to fix it; scanned texts are
parsed with `biip` (GS1 element strings and Digital Link URIs), routed by the symbology identifier so that a
short digit string is never taken for an element string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.rcn import Rcn

GS = "\x1d"  # FNC1 as a separator in GS1 element strings (zxing-cpp's plain text)
GTIN_LENGTHS = (8, 12, 13, 14)
UPC_E = "UPC-E"
_EAN_UPC_IDS = ("]E0", "]E3", "]E4")  # EAN/UPC; ]E3 is a symbol with its 2- or 5-digit add-on
_GS1_IDS = ("]C1", "]e0", "]d2", "]Q3", "]J1")  # GS1-128, DataBar, GS1 DataMatrix, GS1 QR, DotCode
_CONVENIENCE_ALPHAS = {"gtin": "01", "cpv": "22", "lot": "10", "ser": "21"}  # Digital Link 1.1 short names
_DL_GTIN = re.compile(r"/(?:01|gtin)/(\d{8,14})(?:/|$)")
_NOT_TRADE_ITEMS = ("coupon", "refund")  # GS1 prefixes 05, 981-984 and 99: coupons; 980: refund receipts


class GtinProblem(ValueError):
    """A value that is not a valid GTIN; the message says why, and how to fix it where it can."""


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of the digits before it (GTIN, GLN, SSCC, ...)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_digit_ok(digits: str) -> bool:
    return _digits(digits) and len(digits) >= 2 and check_digit(digits[:-1]) == int(digits[-1])


def expand_upc_e(value: str) -> str:
    """A UPC-E number (6 digits: number system 0; 7: number system + 6; 8: with its check digit) as the
    12-digit UPC-A it stands for."""
    s = value.strip()
    if not _digits(s) or len(s) not in (6, 7, 8):
        raise GtinProblem(f"{value!r} is not a UPC-E number: it has 6, 7 or 8 digits (0-9)")
    if len(s) == 6:
        s = "0" + s
    system, d, given = s[0], s[1:7], s[7:]
    if system not in "01":
        raise GtinProblem(f"{value!r} is not a UPC-E number: its number system (first digit) is 0 or 1")
    match d[5]:
        case "0" | "1" | "2":
            body = system + d[0:2] + d[5] + "0000" + d[2:5]
        case "3":
            body = system + d[0:3] + "00000" + d[3:5]
        case "4":
            body = system + d[0:4] + "00000" + d[4]
        case _:
            body = system + d[0:5] + "0000" + d[5]
    expected = check_digit(body)
    if given and int(given) != expected:
        raise GtinProblem(f"the UPC-E check digit of {value!r} is {given}; it should be {expected}")
    return body + str(expected)


def normalise(value: str, *, upc_e: bool = False) -> str:
    """A registry entry as its GTIN-14: digits only, GTIN-8/12/13/14 with a verified check digit (UPC-E, when
    `upc_e`, expanded to UPC-A first), not a restricted circulation number."""
    s = value.strip()
    if upc_e:
        s = expand_upc_e(s)
    if not _digits(s):
        raise GtinProblem(f"{value!r} is not a GTIN: a GTIN has digits only (0-9), no spaces or dashes")
    if len(s) not in GTIN_LENGTHS:
        raise GtinProblem(f"{value!r} has {len(s)} digits; a GTIN has 8, 12, 13 or 14 (GTIN-8/12/13/14)")
    expected = check_digit(s[:-1])
    if int(s[-1]) != expected:
        hint = ""
        if len(s) == 8 and not upc_e:
            try:
                hint = f"; as a UPC-E number it would be UPC-A {expand_upc_e(s)}: mark it as UPC-E if it is one"
            except GtinProblem:
                hint = ""
        raise GtinProblem(f"the check digit of {value!r} is {s[-1]}; it should be {expected}{hint}")
    gtin14 = s.zfill(14)
    if restricted(gtin14):
        raise GtinProblem(
            f"{value!r} is a restricted circulation number (GS1 prefixes 02, 04 and 20-29, GTIN-8s from 0 "
            "and 2: in-store and company-internal codes), not a product's GTIN"
        )
    return gtin14


def restricted(gtin14: str) -> bool:
    """Whether a valid GTIN is a GS1 restricted circulation number (in-store, variable measure)."""
    try:
        return isinstance(Gtin.parse(gtin14), Rcn)
    except ParseError:
        return False


def trade_item(gtin14: str) -> bool:
    """Whether a valid GTIN names a trade item of a brand: not an in-store or company-internal (restricted
    circulation) number, nor a coupon or refund receipt, which shops print on labels of their own."""
    if restricted(gtin14):
        return False
    try:
        prefix = Gtin.parse(gtin14).prefix
    except ParseError:
        return False
    usage = (prefix.usage if prefix is not None else "").lower()
    return not any(word in usage for word in _NOT_TRADE_ITEMS)


@dataclass(frozen=True)
class Scanned:
    """The GTIN a scanned symbol carries, as read: `check_digit_ok` False when its check digit fails (then it
    is reported, never used)."""

    gtin: str
    check_digit_ok: bool


def from_scan(text: str, symbology_identifier: str = "", fmt: str = "") -> Scanned | None:
    """The GTIN in a symbol's text (zxing-cpp's plain text mode: FNC1 as GS), or None when it carries none.

    EAN/UPC digits (UPC-E expanded, an add-on dropped), GS1 element strings with AI (01), and GS1 Digital Link
    URIs (`https://{any host}/{any prefix}/01/{gtin}`, upper-case scheme and host and the Digital Link 1.1
    `/gtin/` alias included) yield their GTIN-14.
    """
    t = (text or "").strip().replace("<GS>", GS)
    sid = symbology_identifier or ""
    if not t or not t.isascii():
        return None
    if t[:8].lower().startswith(("http://", "https://")):
        return _from_uri(t)
    if sid in _EAN_UPC_IDS or (not sid and _digits(t) and len(t) <= 14):
        return _from_digits(t, sid, fmt)
    if t.startswith("("):
        return _from_message(lambda: GS1Message.parse_hri(t), t)
    if sid and sid not in _GS1_IDS and not t.startswith("01"):
        return None  # plain text, a URL that is not a Digital Link: no GTIN
    return _from_message(lambda: GS1Message.parse(t.lstrip(GS)), t.lstrip(GS))


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _from_digits(t: str, sid: str, fmt: str) -> Scanned | None:
    if not _digits(t):
        return None
    if sid == "]E3" and len(t) in (15, 18):
        t = t[:13]  # the main symbol; the add-on (an issue number, a price) is not part of the GTIN
    if fmt.upper().replace("-", "") == "UPCE" and len(t) in (6, 7, 8):
        try:
            t = expand_upc_e(t)
        except GtinProblem:
            return None
    if len(t) not in GTIN_LENGTHS:
        return None
    return Scanned(t.zfill(14), check_digit_ok(t))


def _from_message(parse: object, raw: str) -> Scanned | None:
    try:
        message = parse()  # type: ignore[operator]
    except ParseError:
        return _raw_ai01(raw)
    return _element_gtin(message.element_strings)


def _element_gtin(elements: object) -> Scanned | None:
    """AI (01) among parsed element strings: biip keeps a value whose check digit fails, with `gtin` None."""
    for element in elements:  # type: ignore[attr-defined]
        if element.ai.ai != "01":
            continue
        if element.gtin is not None:
            return Scanned(element.gtin.as_gtin_14(), True)
        value = str(element.value)
        return Scanned(value.zfill(14), check_digit_ok(value)) if _digits(value) else None
    return None


def _raw_ai01(raw: str) -> Scanned | None:
    """AI (01) at the start of an element string that biip refused (most often: its check digit fails)."""
    body = raw.removeprefix("(01)") if raw.startswith("(01)") else raw[2:] if raw.startswith("01") else ""
    digits = body[:14]
    if len(digits) == 14 and _digits(digits):
        return Scanned(digits, check_digit_ok(digits))
    return None


def _from_uri(t: str) -> Scanned | None:
    parts = urlsplit(t)
    path = "/".join(_CONVENIENCE_ALPHAS.get(segment, segment) for segment in parts.path.split("/"))
    normal = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment))
    try:
        link = GS1DigitalLinkURI.parse(normal)
    except ParseError:
        raw = _DL_GTIN.search(parts.path)
        return Scanned(raw.group(1).zfill(14), check_digit_ok(raw.group(1))) if raw else None
    return _element_gtin(link.element_strings)
