"""The CLI's surface: help everywhere, clear errors for bad input, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authentic.cli import main as cli

COMMANDS = [
    ["local", "up"],
    ["demo"],
    ["import"],
    ["uploads"],
    ["train"],
    ["job"],
    ["verify"],
    ["models"],
    ["promote"],
    ["policy"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([*command, "--help"])
    assert done.value.code == 0
    assert "usage: authentic" in capsys.readouterr().out


def test_no_api_to_talk_to_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTHENTIC_API_URL", raising=False)
    assert cli.main(["models", "--brand", "acme"]) == 2
    assert "authentic local up" in capsys.readouterr().err


def test_an_unreachable_api_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models", "--brand", "acme", "--api", "http://127.0.0.1:9"]) == 2
    assert "cannot reach the API at http://127.0.0.1:9" in capsys.readouterr().err


def test_bad_arguments_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = ["--api", "http://127.0.0.1:9", "--brand", "acme"]
    assert cli.main(["verify", str(tmp_path / "missing.jpg"), *api]) == 2
    assert "missing.jpg is not a file" in capsys.readouterr().err
    assert cli.main(["train", "--set", "epochs", *api]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["policy", "--set", "shoe:role", *api]) == 2
    assert "unknown setting" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "nope"), *api]) == 2
    assert "is not a folder" in capsys.readouterr().err
    photo = tmp_path / "notes.txt"
    photo.write_text("hi")
    assert cli.main(["verify", str(photo), *api]) == 2
    assert "not a photo" in capsys.readouterr().err


def _recording_client(seen: list[tuple[str, str, dict[str, str]]], answer: dict[str, object]) -> object:
    import httpx

    from authentic.cli.client import ApiClient

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, dict(request.url.params)))
        return httpx.Response(200, json=answer)

    client = ApiClient("http://api.test")
    client._http = httpx.Client(transport=httpx.MockTransport(respond))
    return client


BRAND_ANSWER = {
    "brand_id": "acme",
    "model_version": 1,
    "verdict": "inconclusive",
    "reason": "nothing recognised: the best detection, genuine class 'shoe' at 0.41, is below its threshold 0.50",
    "detections": [
        {
            "class_id": 0,
            "name": "shoe",
            "role": "genuine",
            "confidence": 0.41234,
            "threshold": 0.5,
            "counts": False,
            "box": {"left": 1, "top": 2, "width": 30, "height": 40},
        }
    ],
    "image_size": {"width": 64, "height": 64},
}


def test_verify_asks_the_brand_route_and_shows_near_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a photo and an API that records what it is asked
    photo = tmp_path / "shoe.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")
    seen: list[tuple[str, str, dict[str, str]]] = []
    monkeypatch.setattr(cli, "_client", lambda args: _recording_client(seen, BRAND_ANSWER))

    # When the brand verifies it
    assert cli.main(["verify", str(photo), "--brand", "acme"]) == 0

    # Then the brand route is asked, and the near miss is shown with its threshold
    assert seen == [("POST", "/brands/acme/verify", {})]
    out = capsys.readouterr().out
    assert "below its threshold 0.50" in out
    assert "shoe (genuine) 0.41 (threshold 0.50)" in out


def test_verify_public_asks_the_shoppers_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "shoe.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")
    seen: list[tuple[str, str, dict[str, str]]] = []
    public = {**BRAND_ANSWER, "reason": "nothing recognised", "detections": []}
    monkeypatch.setattr(cli, "_client", lambda args: _recording_client(seen, public))

    assert cli.main(["verify", str(photo), "--brand", "acme", "--public"]) == 0

    assert seen == [("POST", "/verify", {"brand": "acme"})]
    assert "INCONCLUSIVE: nothing recognised" in capsys.readouterr().out


def test_an_upload_that_fails_is_named_at_once_not_waited_for(tmp_path: Path) -> None:
    """A presigned POST that S3 refuses leaves its pair without an outcome for ever: the import says which photo
    failed (to import again) instead of waiting for it and calling it pending."""
    import httpx

    from authentic.cli import flows
    from authentic.cli.client import ApiClient
    from authentic.cli.synthetic import generate_brand

    generate_brand(tmp_path / "brand", n_images=3, seed=5, image_size=96)
    posted: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host == "s3.test":  # the presigned forms: the second photo's is refused
            key = request.url.path.strip("/")
            posted.append(key)
            if key == "pair-1/image":
                return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
            return httpx.Response(204)
        if request.method == "POST":  # the upload forms, one pair each
            pairs = json.loads(request.content)["pairs"]
            forms = [
                {
                    "pair_id": f"pair-{n}",
                    "image": {"url": f"http://s3.test/pair-{n}/image", "fields": {}},
                    "annotation": {"url": f"http://s3.test/pair-{n}/annotation.json", "fields": {}},
                }
                for n in range(len(pairs))
            ]
            return httpx.Response(200, json={"pairs": forms})
        asked = request.url.params["pairs"].split(",")
        return httpx.Response(200, json={"pairs": [{"pair_id": p, "status": "accepted"} for p in asked]})

    client = ApiClient("http://api.test")
    client._http = httpx.Client(transport=httpx.MockTransport(respond))

    report = flows.import_folder(client, "acme", tmp_path / "brand", "seed", wait_seconds=60, workers=1)

    (failed,) = report.failed
    assert failed[1].startswith("the upload failed: HTTP 403")
    assert len(report.accepted) == 2 and report.pending == [] and report.uploaded == 2
    assert "pair-1/annotation.json" not in posted  # the pair's other half is not sent after its photo failed
    assert f"  failed    {failed[0]}: the upload failed: HTTP 403" in cli._import_text(report)
