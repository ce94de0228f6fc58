"""The CLI's surface: help everywhere, clear errors for bad input, never a traceback."""

from __future__ import annotations

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
