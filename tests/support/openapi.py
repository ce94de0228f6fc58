"""Check a real answer of the API against docs/openapi.json: the response schema the document gives for that
route and status (an undocumented status fails too)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Why `body` (a parsed JSON answer of `method path` with `status`) breaks the document; [] when it does not."""
    operation = document()["paths"][path][method.lower()]
    answer = operation["responses"].get(str(status))
    if answer is None:
        return [f"{method} {path} answered {status}, which the document does not declare"]
    schema = answer["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document()["components"]})
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]
