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
