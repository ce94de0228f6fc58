"""The barcodes in a shopper's photo, checked against the brand's registered GTINs, read beside the model call.

`BarcodeCheck.start` reads the photo as it came (full resolution, before any shrinking for the endpoint) in a
worker thread, and looks the GTINs it finds up in the brand's list; zxing-cpp, Pillow's decoder and NumPy
release the GIL, so the reading runs while the endpoint computes. `Pending.result` then waits a little past the
model's answer (at most a tenth of the time the answer took, and 10 ms; up to 1 s when the brand requires a
barcode), cuts the reading's budget, and takes what was read by then: the symbols the reader has published so
far (found in a few ms, confirmed later), looked up in the caller's thread, when it is not done.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authentic.aws.ports import GtinCoverage, GtinEntry, GtinRecords
from authentic.barcodes import gtin
from authentic.barcodes.reader import Budget, Reading, Symbol, read_photo
from authentic.models.policy import BarcodeMode
from authentic.settings import Settings

NOTHING_LISTED = GtinCoverage()  # a brand that registered no GTINs: an unlisted barcode says nothing
MAX_TEXT = 200  # characters of a symbol's text reported (a QR code can carry 4,000)
# How often a thread holding the GIL hands it over (Python's default: 5 ms). The endpoint call sends the photo
# in chunks and each chunk needs the GIL back: behind a reading thread, each waited up to 5 ms.
SWITCH_INTERVAL_SECONDS = 0.0005


READER_NICENESS = 19  # the reading thread yields the core to the endpoint call's whenever that one can run


def _yield_the_core() -> None:
    """Lower this thread's scheduling priority (Linux: niceness is per thread; raising it needs no privilege).
    On one vCPU, the endpoint call's thread otherwise waits for the reading's time slice at every socket wake-up."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the scheduler decides alone
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


def share_the_core() -> None:
    """Let the endpoint call's thread take the GIL back quickly while the reading runs (the verify process)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


@dataclass(frozen=True)
class BarcodeFinding:
    """One symbol read in the photo, and what the brand's list says of its GTIN."""

    format: str
    text: str
    gtin: str | None  # GTIN-14, also when its check digit fails (then it is never used)
    check_digit_ok: bool
    registered: bool
    class_name: str | None  # the class the GTIN is registered to, if any
    box: Mapping[str, float]  # upright photo pixels, as the detections' boxes
    confirmed: bool  # read twice, independently, with the same value (QR, DataMatrix: error-corrected)
    trade_item: bool  # a brand's GTIN, not a shop's in-store number, a coupon or a refund receipt
    registry: GtinCoverage = NOTHING_LISTED  # the products the brand's list speaks for

    @property
    def usable(self) -> bool:
        return self.gtin is not None and self.check_digit_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "text": self.text,
            "gtin": self.gtin,
            "check_digit_ok": self.check_digit_ok,
            "registered": self.registered,
            "class": self.class_name,
            "box": dict(self.box),
            "confirmed": self.confirmed,
        }


def findings(
    reading: Reading,
    registered: Mapping[str, GtinEntry],
    symbols: list[Symbol] | None = None,
    coverage: GtinCoverage = NOTHING_LISTED,
) -> list[BarcodeFinding]:
    every = reading.symbols if symbols is None else symbols
    return [_finding(reading, symbol, registered, coverage) for symbol in every]


def _finding(
    reading: Reading, symbol: Symbol, registered: Mapping[str, GtinEntry], coverage: GtinCoverage
) -> BarcodeFinding:
    scanned = symbol.scanned
    entry = registered.get(scanned.gtin) if scanned and scanned.check_digit_ok else None
    usable = scanned is not None and scanned.check_digit_ok
    return BarcodeFinding(
        format=symbol.format,
        text=symbol.text.replace(gtin.GS, "<GS>")[:MAX_TEXT],
        gtin=scanned.gtin if scanned else None,
        check_digit_ok=bool(scanned and scanned.check_digit_ok),
        registered=entry is not None,
        class_name=entry.class_name if entry else None,
        box=reading.box(symbol),
        confirmed=symbol.confirmed,
        trade_item=bool(usable and scanned and gtin.trade_item(scanned.gtin)),
        registry=coverage,
    )


_DEFAULTS = Settings.model_fields


@dataclass(frozen=True)
class Timing:
    """How long the reading may run: from the request's start, and past the model's answer (the deployment's
    `Settings.barcode_*`)."""

    budget_seconds: float = _DEFAULTS["barcode_budget_seconds"].default
    grace_seconds: float = _DEFAULTS["barcode_grace_seconds"].default
    required_grace_seconds: float = _DEFAULTS["barcode_required_grace_seconds"].default
    grace_share: float = _DEFAULTS["barcode_grace_share"].default  # advisory: at most this share of the answer's time

    @classmethod
    def from_settings(cls, config: Settings) -> Timing:
        return cls(
            config.barcode_budget_seconds,
            config.barcode_grace_seconds,
            config.barcode_required_grace_seconds,
            config.barcode_grace_share,
        )

    def grace(self, mode: BarcodeMode, answered_after: float) -> float:
        """How long past the model's answer the verdict waits for the reading. Advisory: a share of the time the
        answer took, so reading barcodes adds at most that share to a shopper's wait; required: a barcode is
        what the answer needs, so it waits for one."""
        if mode == "required":
            return self.required_grace_seconds
        return min(self.grace_seconds, self.grace_share * max(0.0, answered_after))


@dataclass(frozen=True)
class Pending:
    """A reading under way."""

    future: concurrent.futures.Future[list[BarcodeFinding]]
    budget: Budget
    mode: BarcodeMode
    timing: Timing
    reading: Reading
    look_up: Callable[[list[Symbol]], list[BarcodeFinding]]
    started: float = field(default_factory=time.monotonic)

    def result(self, *, after_answer: bool = True) -> list[BarcodeFinding]:
        """What was read: once the model has answered (`after_answer`), within the mode's grace; otherwise (no
        model to wait for) within the reading's own budget. A reading still under way then gives what it has
        published (its search stops at its next stage)."""
        if after_answer:
            self.budget.cut(self.timing.grace(self.mode, time.monotonic() - self.started))
        try:
            return self.future.result(timeout=max(0.0, self.budget.left()))
        except concurrent.futures.TimeoutError:
            self.reading.abandoned = True
            return self.look_up(list(self.reading.symbols))


@dataclass
class BarcodeCheck:
    records: GtinRecords
    read: Callable[[bytes, Budget, Reading], Reading] = read_photo
    timing: Timing = field(default_factory=Timing)
    _pool: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix="barcodes", initializer=_yield_the_core
        )
    )

    def start(self, brand_id: str, body: bytes, mode: BarcodeMode) -> Pending | None:
        """Start reading `body` (None when the brand turned barcodes off)."""
        if mode == "off":
            return None
        budget = Budget(self.timing.budget_seconds)
        reading = Reading()
        context = contextvars.copy_context()  # the caller's AWS principal (the embedded default scopes it)
        future = self._pool.submit(context.run, self._work, brand_id, body, budget, reading)
        return Pending(
            future, budget, mode, self.timing, reading, lambda symbols: self._look_up(brand_id, reading, symbols)
        )

    def _work(self, brand_id: str, body: bytes, budget: Budget, reading: Reading) -> list[BarcodeFinding]:
        self.read(body, budget, reading)
        if reading.abandoned:
            return []  # the caller took what was published
        return self._look_up(brand_id, reading, list(reading.symbols))

    def _look_up(self, brand_id: str, reading: Reading, symbols: list[Symbol]) -> list[BarcodeFinding]:
        """The symbols with what the brand's list says of them: one read per GTIN, and the list's coverage only
        when a GTIN is not on it (whether that says anything depends on which products the list covers)."""
        gtins = _gtins(symbols)
        registered = self.records.lookup(brand_id, gtins) if gtins else {}
        unlisted = any(g not in registered and gtin.trade_item(g) for g in gtins)
        coverage = self.records.coverage(brand_id) if unlisted else NOTHING_LISTED
        return findings(reading, registered, symbols, coverage)


def _gtins(symbols: list[Symbol]) -> list[str]:
    return [s.scanned.gtin for s in symbols if s.scanned and s.scanned.check_digit_ok]
