"""The handlers' real answers, with a trained brand behind them, keep docs/openapi.json: every brand route's answer
validated against the response schema the document gives it (the property-based test covers the empty platform;
the page's tests check every /verify answer)."""

from __future__ import annotations

import pytest

from authentic.cli import shapes
from tests.support import openapi
from tests.web.conftest import BRAND, Shop

pytestmark = pytest.mark.slow


def test_the_brand_routes_answer_as_documented_for_a_trained_brand(shop: Shop) -> None:
    job = shop.job["job_name"]
    version = shop.job["version"]
    calls = [
        ("POST", "/brands/{brandId}/uploads", f"/brands/{BRAND}/uploads", {"count": 2}),
        ("GET", "/brands/{brandId}/uploads", f"/brands/{BRAND}/uploads", None),
        ("GET", "/brands/{brandId}/uploads", f"/brands/{BRAND}/uploads?pairs={'0' * 32}", None),
        ("POST", "/brands/{brandId}/training-jobs", f"/brands/{BRAND}/training-jobs", {}),  # the same dataset: 200
        ("GET", "/brands/{brandId}/training-jobs/{jobId}", f"/brands/{BRAND}/training-jobs/{job}", None),
        ("GET", "/brands/{brandId}/models", f"/brands/{BRAND}/models", None),
        ("POST", "/brands/{brandId}/models/{version}/promote", f"/brands/{BRAND}/models/{version}/promote", {}),
        ("GET", "/brands/{brandId}/policy", f"/brands/{BRAND}/policy", None),
        # The model's own role for the class, so the verdicts the page tests expect do not change.
        ("PUT", "/brands/{brandId}/policy", f"/brands/{BRAND}/policy", {"classes": {"acme-box": {"role": "genuine"}}}),
    ]
    for method, route, path, body in calls:
        answer = shop.client.request(method, path, json_body=body, expect=(200, 201))
        assert openapi.problems(method, route, 200, answer) == [], (method, path, answer)
    answer = shop.client.request("GET", f"/brands/{BRAND}/training-jobs/{job}")
    assert answer["state"] == "Completed" and answer["version"] == version and answer["gate"]["passed"]


def test_a_verify_answer_with_detections_keeps_the_document(shop: Shop) -> None:
    image, _ = shapes.one_product("genuine", 800, 600, seed=40)
    photo = shapes.jpeg(image)
    answer = shop.client.verify(BRAND, photo, "image/jpeg")
    assert answer["verdict"] == "genuine" and answer["detections"]
    assert openapi.problems("POST", "/brands/{brandId}/verify", 200, answer) == []
    public = shop.client.verify(BRAND, photo, "image/jpeg", public=True)
    assert public["verdict"] == "genuine" and public["detections"]
    assert openapi.problems("POST", "/verify", 200, public) == []
    assert openapi.problems("POST", "/verify", 200, answer) != []  # the brand's answer is not the shopper's
