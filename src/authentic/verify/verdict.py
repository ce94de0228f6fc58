"""The verdict policy as the verify route applies it. It lives in `authentic.verdict.policy`, so the training program
measures its error rates with the very same rules (the program may not import the verify capability)."""

from __future__ import annotations

from authentic.verdict.policy import (
    NO_LIVE_MODEL,
    NOTHING_RECOGNISED,
    PHOTO_UNREADABLE,
    Decision,
    Verdict,
    decide,
    inconclusive,
)

__all__ = ["NOTHING_RECOGNISED", "NO_LIVE_MODEL", "PHOTO_UNREADABLE", "Decision", "Verdict", "decide", "inconclusive"]
