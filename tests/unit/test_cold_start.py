"""Every handler module can be started cold, so the local runtime never runs with another configuration's
cached settings or clients (as a test or an earlier runtime in the same process would leave them)."""

from __future__ import annotations

import importlib

from authentic import wiring


def test_every_handler_module_has_a_reset() -> None:
    for function in wiring.FUNCTIONS:
        module = importlib.import_module(function.handler.rsplit(".", 1)[0])
        assert callable(getattr(module, "reset", None)), function.handler
