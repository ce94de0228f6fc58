"""A Lambda handler module for the local Lambda and API Gateway tests: what it does is in the request body
(`{"sleep": s}`, `{"raise": "..."}`, `{"answer_bytes": n}`, `{"not_proxy": true}`), and it answers what it
saw (body length, remaining time, the base64 flag)."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

RUNNING = threading.Semaphore(0)  # released once per invocation that starts
FINISHED: list[str] = []  # request ids of invocations that ran to their end


def create_handler() -> Any:
    def handler(event: dict[str, Any], context: Any) -> Any:
        RUNNING.release()
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        try:
            asked = json.loads(body) if body.startswith(b"{") else {}
        except ValueError:
            asked = {}
        time.sleep(float(asked.get("sleep", 0)))
        if "raise" in asked:
            raise RuntimeError(asked["raise"])
        FINISHED.append(context.aws_request_id)
        if asked.get("not_proxy"):
            return "not a proxy response"
        seen = {
            "body_bytes": len(body),
            "base64": bool(event.get("isBase64Encoded")),
            "remaining_ms": context.get_remaining_time_in_millis(),
            "caller": event["requestContext"]["identity"]["userArn"],
            "padding": "x" * int(asked.get("answer_bytes", 0)),
        }
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(seen)}

    return handler
