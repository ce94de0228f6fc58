"""SageMaker's multi-model container contract, route by route, against the ASGI app with a real ONNX model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image

from authentic.inference.detector import Detector
from authentic.inference.resident import ResidentModels
from authentic.inference.server import ServerSettings, create_app
from tests.support.scenes import TestClient, encode

MiB = 1024 * 1024
NAME = "acme/v00001.tar.gz"  # SageMaker's model names are opaque; this one holds a slash


def _settings(**overrides: Any) -> ServerSettings:
    return ServerSettings(**{"workers": 2, "memory_budget_bytes": 512 * MiB, **overrides})


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(_settings())) as test_client:
        yield test_client


def _load(client: TestClient, name: str, url: Path) -> Any:
    return client.post("/models", json={"model_name": name, "url": str(url)})


def _invoke(
    client: TestClient,
    name: str,
    body: bytes,
    content_type: str = "image/png",
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> Any:
    quoted = name.replace("/", "%2F")
    headers = {"content-type": content_type, **(headers or {})}
    return client.post(f"/models/{quoted}/invoke", content=body, headers=headers, **kw)


# --------------------------------------------------------------------------------------------------- ping


def test_ping_answers_200(client: TestClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


# ------------------------------------------------------------------------------------------------- load


def test_load_then_409_when_loaded_again(client: TestClient, inference_model_dir: Path) -> None:
    first = _load(client, NAME, inference_model_dir)
    assert first.status_code == 200
    assert first.json()["modelName"] == NAME
    again = _load(client, NAME, inference_model_dir)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "must be JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"url": "/opt/ml/models/x/model"}', "model_name"),
        (b'{"model_name": "x"}', "url"),
        (b'{"model_name": "x", "url": "/no/such/dir"}', "not a directory"),
    ],
)
def test_load_refuses_bad_requests_with_a_reason(client: TestClient, body: bytes, reason: str) -> None:
    response = client.post("/models", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert reason in response.json()["message"]


def test_load_refuses_a_directory_without_a_model(client: TestClient, tmp_path: Path) -> None:
    response = _load(client, "empty", tmp_path)
    assert response.status_code == 400
    assert "model.onnx" in response.json()["message"]
    assert client.get("/models").json() == {"models": []}


# ------------------------------------------------------------------------------------------------- list


def test_list_models_pages_with_limit_and_token(client: TestClient, model_copies: list[Path]) -> None:
    for index, url in enumerate(model_copies):
        assert _load(client, f"brand-{index}", url).status_code == 200
    everything = client.get("/models").json()
    assert "nextPageToken" not in everything
    assert [m["modelName"] for m in everything["models"]] == [f"brand-{i}" for i in range(5)]
    assert everything["models"][0]["modelUrl"] == str(model_copies[0])

    seen: list[str] = []
    query: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = client.get("/models", params=query).json()
        pages += 1
        seen += [m["modelName"] for m in page["models"]]
        if "nextPageToken" not in page:
            break
        query = {"limit": 2, "next_page_token": page["nextPageToken"]}
    assert pages == 3
    assert seen == [f"brand-{i}" for i in range(5)]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "many"}, {"limit": "5000"}, {"next_page_token": "%%"}])
def test_list_models_refuses_bad_paging(client: TestClient, query: dict[str, str]) -> None:
    assert client.get("/models", params=query).status_code == 400


# -------------------------------------------------------------------------------------------- get, delete


def test_get_and_delete_a_model_by_its_encoded_name(client: TestClient, inference_model_dir: Path) -> None:
    assert client.get("/models/acme%2Fv00001.tar.gz").status_code == 404
    _load(client, NAME, inference_model_dir)
    for path in ("/models/acme%2Fv00001.tar.gz", "/models/acme/v00001.tar.gz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"modelName": NAME, "modelUrl": str(inference_model_dir)}
    assert client.delete("/models/acme%2Fv00001.tar.gz").status_code == 200
    assert client.get("/models/acme%2Fv00001.tar.gz").status_code == 404
    assert client.delete("/models/acme%2Fv00001.tar.gz").status_code == 404
    assert _invoke(client, NAME, b"x").status_code == 404
    assert _load(client, NAME, inference_model_dir).status_code == 200  # loadable again after unloading


# ------------------------------------------------------------------------------------------------ invoke


def test_invoke_returns_detections_a_verdict_can_be_computed_from(
    client: TestClient, inference_model_dir: Path, scene: tuple[Image.Image, Any]
) -> None:
    image, shapes = scene
    _load(client, NAME, inference_model_dir)
    response = _invoke(client, NAME, encode(image, "JPEG", quality=95), "image/jpeg")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == NAME
    assert body["image_size"] == {"width": 256, "height": 192}
    assert body["image"]["orientation"] == 1
    assert body["classes"] == [
        {"id": 0, "name": "genuine", "role": "genuine", "threshold": 0.3},
        {"id": 1, "name": "counterfeit", "role": "counterfeit", "threshold": 0.3},
    ]
    assert (body["threshold"], body["threshold_source"]) == (0.3, "metrics")
    assert body["conf"] == 0.25  # the default floor: ultralytics' 0.25, below the class thresholds
    assert set(body["timings_ms"]) == {"queue", "decode", "preprocess", "inference", "postprocess", "total"}
    best: dict[str, Any] = {}
    for detection in body["detections"]:
        assert set(detection) == {"class_id", "name", "role", "confidence", "box", "box_normalized"}
        assert detection["confidence"] >= 0.25
        best.setdefault(detection["class_id"], detection)
    for shape in shapes:  # the top detection of each class sits on the drawn object
        box = best[shape.class_id]["box"]
        assert abs(box["left"] - shape.left) < 12
        assert abs(box["top"] - shape.top) < 12
        assert abs(box["width"] - shape.width) < 16
        normalized = best[shape.class_id]["box_normalized"]
        assert normalized["left"] == pytest.approx(box["left"] / 256, abs=1e-4)
        assert normalized["height"] == pytest.approx(box["height"] / 192, abs=1e-4)


def test_invoke_honours_conf_and_max_det_from_query_or_custom_attributes(
    client: TestClient, inference_model_dir: Path, scene: tuple[Image.Image, Any]
) -> None:
    _load(client, NAME, inference_model_dir)
    photo = encode(scene[0])
    low = _invoke(client, NAME, photo, params={"conf": "0.01"}).json()
    assert low["conf"] == 0.01
    assert len(low["detections"]) > 2
    one = _invoke(client, NAME, photo, params={"conf": "0.01", "max_det": "1"}).json()
    assert len(one["detections"]) == 1
    assert one["detections"][0] == low["detections"][0]
    attributes = {"x-amzn-sagemaker-custom-attributes": "trace=abc, conf=0.02,max_det=2"}
    via_header = _invoke(client, NAME, photo, headers=attributes).json()
    assert (via_header["conf"], len(via_header["detections"])) == (0.02, 2)
    high = _invoke(client, NAME, photo, params={"conf": "0.999"}).json()
    assert high["detections"] == []


@pytest.mark.parametrize("query", [{"conf": "2"}, {"conf": "nan"}, {"max_det": "0"}, {"max_det": "x"}])
def test_invoke_refuses_bad_parameters(client: TestClient, inference_model_dir: Path, query: dict[str, str]) -> None:
    _load(client, NAME, inference_model_dir)
    response = _invoke(client, NAME, encode(Image.new("RGB", (32, 32))), params=query)
    assert response.status_code == 400
    assert next(iter(query)) in response.json()["message"]


def test_invoke_refuses_bad_bodies_with_reasons(client: TestClient, inference_model_dir: Path) -> None:
    _load(client, NAME, inference_model_dir)
    gif = _invoke(client, NAME, b"GIF89a", "image/gif")
    assert gif.status_code == 415
    assert "image/jpeg" in gif.json()["message"]
    assert _invoke(client, NAME, b"x", "").status_code == 415
    garbage = _invoke(client, NAME, b"\xff\xd8\xff garbage", "image/jpeg")
    assert garbage.status_code == 400
    assert garbage.json()["error"] == "invalid_image"
    assert "JPEG" in garbage.json()["message"]
    empty = _invoke(client, NAME, b"", "image/png")
    assert (empty.status_code, "empty" in empty.json()["message"]) == (400, True)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_invoke_refuses_a_decompression_bomb(client: TestClient, inference_model_dir: Path) -> None:
    _load(client, NAME, inference_model_dir)
    bomb = encode(Image.new("L", (10_000, 10_000)), optimize=True)
    response = _invoke(client, NAME, bomb)
    assert response.status_code == 400
    assert "limit" in response.json()["message"]


def test_invoke_refuses_a_body_over_the_limit(inference_model_dir: Path) -> None:
    with TestClient(create_app(_settings(max_body_bytes=1 * MiB))) as small:
        _load(small, NAME, inference_model_dir)
        assert _invoke(small, NAME, b"\0" * (1 * MiB + 1), "image/jpeg").status_code == 413


def test_invoke_of_a_model_not_loaded_is_404(client: TestClient) -> None:
    response = _invoke(client, "never-loaded", b"x")
    assert response.status_code == 404
    assert "never-loaded" in response.json()["message"]
    assert client.post("/models/never-loaded").status_code == 404  # POST without /invoke


# ------------------------------------------------------------------------------------------------ memory


def test_load_answers_507_when_the_budget_is_full(model_copies: list[Path]) -> None:
    registry = ResidentModels(budget_bytes=40 * MiB)  # a 10 MB model costs about 17 MiB: two fit
    with TestClient(create_app(_settings(), registry=registry)) as client:
        assert _load(client, "a", model_copies[0]).status_code == 200
        assert _load(client, "b", model_copies[1]).status_code == 200
        refused = _load(client, "c", model_copies[2])
        assert refused.status_code == 507
        assert refused.json()["error"] == "insufficient_memory"
        assert "unload a model first" in refused.json()["message"]
        assert [m["modelName"] for m in client.get("/models").json()["models"]] == ["a", "b"]
        # SageMaker's answer to a 507: unload an idle model and load again.
        assert client.delete("/models/a").status_code == 200
        assert _load(client, "c", model_copies[2]).status_code == 200
        assert _invoke(client, "c", encode(Image.new("RGB", (64, 64)))).status_code == 200


def test_load_answers_507_for_a_model_bigger_than_the_whole_budget(inference_model_dir: Path) -> None:
    with TestClient(create_app(_settings(memory_budget_bytes=4 * MiB))) as client:
        refused = _load(client, NAME, inference_model_dir)
        assert refused.status_code == 507
        assert "whole budget" in refused.json()["message"]


def test_load_answers_507_when_the_host_is_short_of_memory(inference_model_dir: Path) -> None:
    registry = ResidentModels(budget_bytes=1024 * MiB, free_memory=lambda: 64 * MiB)
    with TestClient(create_app(_settings(), registry=registry)) as client:
        refused = _load(client, NAME, inference_model_dir)
        assert refused.status_code == 507
        assert "the host has 64 MiB free" in refused.json()["message"]


def test_load_answers_507_when_onnx_runtime_runs_out_of_memory(inference_model_dir: Path) -> None:
    def exhausted(model_dir: Path, options: Any) -> Any:
        raise MemoryError("std::bad_alloc")

    registry = ResidentModels(budget_bytes=1024 * MiB, loader=exhausted)
    with TestClient(create_app(_settings(), registry=registry)) as client:
        refused = _load(client, NAME, inference_model_dir)
        assert refused.status_code == 507
        assert client.get("/ping").status_code == 200  # still serving
        assert client.get("/models").json() == {"models": []}


def test_lru_eviction_unloads_the_least_recently_used_idle_model(model_copies: list[Path]) -> None:
    registry = ResidentModels(budget_bytes=40 * MiB, evict_lru=True)
    photo = encode(Image.new("RGB", (64, 64)))
    with TestClient(create_app(_settings(), registry=registry)) as client:
        _load(client, "a", model_copies[0])
        _load(client, "b", model_copies[1])
        assert _invoke(client, "a", photo).status_code == 200  # "a" is now the most recently used
        assert _load(client, "c", model_copies[2]).status_code == 200  # evicts "b"
        assert [m["modelName"] for m in client.get("/models").json()["models"]] == ["a", "c"]
        assert _invoke(client, "b", photo).status_code == 404
        assert registry.stats().evictions == 1


def test_a_model_in_use_is_never_evicted(model_copies: list[Path]) -> None:
    registry = ResidentModels(budget_bytes=40 * MiB, evict_lru=True)
    registry.load("a", str(model_copies[0]))
    registry.load("b", str(model_copies[1]))
    with registry.use("a"), registry.use("b"):
        with pytest.raises(Exception, match="unload a model first") as refused:
            registry.load("c", str(model_copies[2]))
        assert getattr(refused.value, "status", None) == 507
    registry.load("c", str(model_copies[2]))  # once idle, "a" (least recently used) makes room
    assert [m.name for m in registry.page(10, None)[0]] == ["b", "c"]


# ---------------------------------------------------------------------------------------------- settings


def test_settings_for_host_read_the_environment() -> None:
    settings = ServerSettings.for_host(
        {
            "SAGEMAKER_BIND_TO_PORT": "9001",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
            "AUTHENTIC_INTRA_OP_THREADS": "1",
            "AUTHENTIC_MEMORY_BUDGET_MB": "300",
            "AUTHENTIC_EVICT_LRU": "true",
        }
    )
    assert (settings.port, settings.workers, settings.intra_op_threads) == (9001, 3, 1)
    assert (settings.memory_budget_bytes, settings.evict_lru) == (300 * MiB, True)
    defaults = ServerSettings.for_host({})
    assert defaults.port == 8080
    assert defaults.workers >= 1
    assert 1 <= defaults.intra_op_threads <= 2
    assert defaults.memory_budget_bytes >= 64 * MiB
    assert defaults.evict_lru is False


@pytest.mark.parametrize(
    ("name", "value"),
    [("SAGEMAKER_MODEL_SERVER_WORKERS", "0"), ("AUTHENTIC_MEMORY_BUDGET_MB", "lots"), ("AUTHENTIC_EVICT_LRU", "maybe")],
)
def test_settings_refuse_bad_environment_values(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        ServerSettings.for_host({name: value})


def test_eviction_happens_only_when_it_makes_enough_room(model_copies: list[Path]) -> None:
    registry = ResidentModels(budget_bytes=40 * MiB, evict_lru=True)
    registry.load("a", str(model_copies[0]))
    registry.load("b", str(model_copies[1]))
    with registry.use("b"):  # "a" alone is idle: evicting it frees enough for "c"
        registry.load("c", str(model_copies[2]))
    assert [m.name for m in registry.page(10, None)[0]] == ["b", "c"]
    with registry.use("b"), registry.use("c"), pytest.raises(Exception, match="unload a model first"):
        registry.load("d", str(model_copies[3]))  # nothing idle: refused, and nothing was evicted
    assert [m.name for m in registry.page(10, None)[0]] == ["b", "c"]
    assert registry.stats().evictions == 1


def test_no_model_is_evicted_when_evicting_every_idle_one_would_not_make_room(tmp_path: Path) -> None:
    def model_dir(name: str, size_mb: int) -> str:
        directory = tmp_path / name
        directory.mkdir()
        with (directory / "model.onnx").open("wb") as handle:
            handle.truncate(size_mb * MiB)  # only its size matters to the budget
        return str(directory)

    registry = ResidentModels(
        budget_bytes=40 * MiB, evict_lru=True, loader=lambda path, options: cast(Detector, object())
    )
    registry.load("a", model_dir("a", 10))  # 17 MiB each
    registry.load("b", model_dir("b", 10))
    with registry.use("b"), pytest.raises(Exception, match="unload a model first"):
        registry.load("big", model_dir("big", 20))  # 32 MiB: evicting "a" leaves 17 + 32 > 40
    assert [m.name for m in registry.page(10, None)[0]] == ["a", "b"]
