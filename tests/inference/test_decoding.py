"""Decoding memory: estimated from the header before any pixel is decoded, reserved from a budget apart from the
models', so crafted photos sent at once (a flat 25 MP PNG of a few hundred KB, a 25 MP progressive JPEG) wait
or are answered 503, and the server goes on serving."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from authentic.errors import InvalidImage, ServiceUnavailable
from authentic.inference.decoding import DecodeBudget, decode_cost
from authentic.inference.server import ServerSettings, create_app
from authentic.local.background import BackgroundServer
from tests.support.scenes import encode

MiB = 1024 * 1024
FIT = (640, 640)


def flat(width: int, height: int, fmt: str, **options: object) -> bytes:
    """A photo of one colour: tiny on the wire, as large as its pixels once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    return flat(5000, 5000, "PNG")  # 25 MP, under the route's pixel limit


def test_a_baseline_jpeg_costs_what_its_reduced_decode_holds() -> None:
    cost = decode_cost(flat(4000, 3000, "JPEG"), "JPEG", FIT)
    # 1/4 scale (1000x750) is the smallest DCT scale that keeps 640 px: its RGB pixels twice, and the strips
    assert 4 * MiB < cost < 4 * MiB + 1000 * 750 * 3 * 2 + 1


def test_a_progressive_jpeg_costs_its_whole_coefficient_buffer() -> None:
    baseline = decode_cost(flat(4000, 3000, "JPEG"), "JPEG", FIT)
    progressive = decode_cost(flat(4000, 3000, "JPEG", progressive=True), "JPEG", FIT)
    assert progressive >= 4000 * 3000 * 3 * 2
    assert progressive > 5 * baseline


def test_a_png_costs_its_full_size_samples(bomb_png: bytes) -> None:
    assert len(bomb_png) < 1 * MiB
    assert decode_cost(bomb_png, "PNG", FIT) >= 5000 * 5000 * 6


def test_an_unreadable_header_costs_nothing_and_the_decoder_refuses_it() -> None:
    assert decode_cost(b"\x89PNG\r\n\x1a\n truncated", "PNG", FIT) == 0


def test_a_photo_over_the_whole_budget_is_refused_at_once() -> None:
    budget = DecodeBudget(64 * MiB, wait_seconds=5)
    started = time.monotonic()
    with pytest.raises(InvalidImage, match="send a smaller photo"), budget.reserve(65 * MiB):
        pass
    assert time.monotonic() - started < 1
    assert budget.in_use == 0


def test_a_photo_that_does_not_fit_now_waits_then_gets_503() -> None:
    budget = DecodeBudget(100 * MiB, wait_seconds=0.2)
    with budget.reserve(80 * MiB), pytest.raises(ServiceUnavailable) as refused, budget.reserve(30 * MiB):
        pass
    assert refused.value.retry_after == 2
    assert (budget.in_use, budget.refused, budget.peak) == (0, 1, 80 * MiB)


def test_a_waiting_photo_goes_ahead_when_the_memory_is_freed() -> None:
    budget = DecodeBudget(100 * MiB, wait_seconds=5)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with budget.reserve(80 * MiB):
            holding.set()
            release.wait(5)

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold)
        assert holding.wait(5)
        threading.Timer(0.2, release.set).start()
        with budget.reserve(30 * MiB):
            assert budget.in_use == 30 * MiB
        held.result()
    assert (budget.refused, budget.peak) == (0, 80 * MiB)


def test_crafted_photos_at_once_stay_within_the_budget_and_the_server_keeps_serving(
    inference_model_dir: Path, bomb_png: bytes
) -> None:
    progressive = flat(5000, 5000, "JPEG", progressive=True, quality=50)
    one_bomb = max(decode_cost(bomb_png, "PNG", FIT), decode_cost(progressive, "JPEG", FIT))
    settings = ServerSettings(
        workers=4,
        memory_budget_bytes=256 * MiB,
        decode_budget_bytes=one_bomb + 8 * MiB,  # room for one crafted photo at a time
        decode_wait_seconds=0.05,
    )
    app = create_app(settings)
    target = "acme/v00001.tar.gz"
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.post("/models", json={"model_name": target, "url": str(inference_model_dir)}).status_code == 200

        def invoke(photo: tuple[bytes, str]) -> httpx.Response:
            body, content_type = photo
            return http.post(
                f"/models/{target.replace('/', '%2F')}/invoke",
                content=body,
                headers={"content-type": content_type, "x-amzn-sagemaker-target-model": target},
            )

        crafted = [(bomb_png, "image/png"), (progressive, "image/jpeg")] * 3
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(invoke, crafted))

        assert {a.status_code for a in answers} <= {200, 503}, [a.text for a in answers]
        assert all(a.headers["retry-after"] == "2" for a in answers if a.status_code == 503)
        assert any(a.status_code == 200 for a in answers)
        budget: DecodeBudget = app.state.decode_budget
        assert 0 < budget.peak <= settings.decode_budget_bytes
        assert budget.in_use == 0
        assert budget.refused == sum(a.status_code == 503 for a in answers)
        ordinary = encode(Image.new("RGB", (256, 192), (200, 200, 200)), "JPEG")
        assert invoke((ordinary, "image/jpeg")).status_code == 200
