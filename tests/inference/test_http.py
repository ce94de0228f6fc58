"""The server over real HTTP: in a thread (as the local runtime hosts it) and as the container's program
(the image shim `serve.py serve`, what SageMaker runs), on free ports of 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from authentic.inference.server import ServerSettings, create_app, main
from authentic.local.background import BackgroundServer
from tests.support.scenes import encode

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "containers" / "inference" / "serve.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_background_server_serves_ping_load_and_concurrent_invokes(
    inference_model_dir: Path, scene: tuple[Image.Image, Any]
) -> None:
    settings = ServerSettings(workers=2, memory_budget_bytes=256 * 1024 * 1024)
    photo = encode(scene[0], "JPEG", quality=95)
    with BackgroundServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert server.port > 0
        assert http.get("/ping").status_code == 200
        loaded = http.post("/models", json={"model_name": "acme/v00001.tar.gz", "url": str(inference_model_dir)})
        assert loaded.status_code == 200
        headers = {"content-type": "image/jpeg", "x-amzn-sagemaker-target-model": "acme/v00001.tar.gz"}

        def invoke(_: int) -> dict[str, Any]:
            response = http.post("/models/acme%2Fv00001.tar.gz/invoke", content=photo, headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(invoke, range(8)))
        assert all(a["detections"] == answers[0]["detections"] for a in answers)
        assert answers[0]["target_model"] == "acme/v00001.tar.gz"
        assert answers[0]["image_size"] == {"width": 256, "height": 192}


def test_main_requires_the_serve_command() -> None:
    with pytest.raises(SystemExit) as missing:
        main([])
    assert missing.value.code == 2
    with pytest.raises(SystemExit) as train:
        main(["train"])
    assert train.value.code == 2


def test_the_container_program_serves_and_stops_on_sigterm(inference_model_dir: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "AUTHENTIC_MEMORY_BUDGET_MB": "256",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not answer /ping within 30 s"
            time.sleep(0.1)
        loaded = httpx.post(f"{url}/models", json={"model_name": "m", "url": str(inference_model_dir)}, timeout=30)
        assert loaded.status_code == 200, loaded.text
        photo = encode(Image.new("RGB", (300, 200), (30, 30, 30)))
        answer = httpx.post(f"{url}/models/m/invoke", content=photo, headers={"content-type": "image/png"}, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["image_size"] == {"width": 300, "height": 200}
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "serving on 127.0.0.1" in output
    assert "model loaded: m" in output
    assert "stopped on SIGTERM" in output


def test_background_server_answers_without_a_delayed_ack_stall() -> None:
    """Responses go out at once (TCP_NODELAY): no ~40 ms wait on the client's delayed ACK per request."""
    settings = ServerSettings(workers=1, memory_budget_bytes=64 * 1024 * 1024)
    with BackgroundServer(create_app(settings)) as server, httpx.Client(base_url=server.url) as http:
        http.get("/ping")
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            http.get("/ping")
            timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.02
