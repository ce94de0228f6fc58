"""docs/openapi.json: current with the code, valid OpenAPI 3.1, one operation per wired route with the wiring's
auth, the errors each route can answer, and examples that match their own schemas."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from authentic import wiring
from authentic.openapi import __main__ as cli
from authentic.openapi.document import build, render
from tests.support.openapi import DOCUMENT


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build()


def operation(document: dict[str, Any], route: wiring.Route) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][route.path][route.method.lower()]
    return found


def test_the_checked_in_document_is_what_the_code_generates() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is out of date: run `make openapi` (python -m authentic.openapi) and commit it"
    )
    assert cli.main(["--check", str(DOCUMENT)]) == 0


def test_the_check_fails_on_a_stale_document(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(render().replace("Verify a shopper's photo", "Verify a photo"), encoding="utf-8")
    assert cli.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_it_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_wired_route_is_documented_with_its_auth(document: dict[str, Any]) -> None:
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert documented == {(r.method, r.path) for r in wiring.ROUTES}
    for route in wiring.ROUTES:
        doc = operation(document, route)
        if route.auth is wiring.Auth.IAM:
            assert doc["security"] == [{"sigv4": []}], route
            assert "403" in doc["responses"], route
        else:
            assert doc["security"] == [], route
            assert "403" not in doc["responses"], route
        assert {"400", "429"} <= set(doc["responses"]), route
    scheme = document["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_each_route_declares_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    def statuses(method: str, path: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert {"200", "400", "413", "415", "429", "503"} == statuses("post", "/verify")
    assert {"200", "201", "409", "422"} <= statuses("post", "/brands/{brandId}/training-jobs")
    assert {"404", "409"} <= statuses("post", "/brands/{brandId}/models/{version}/promote")
    assert "404" in statuses("get", "/brands/{brandId}/training-jobs/{jobId}")
    unavailable = document["paths"]["/verify"]["post"]["responses"]["503"]
    assert unavailable["headers"]["Retry-After"]["required"] is True
    photo = document["paths"]["/verify"]["post"]["requestBody"]["content"]
    assert set(photo) == {"image/jpeg", "image/png", "image/heic", "image/heif"}


def test_every_example_matches_its_own_schema(document: dict[str, Any]) -> None:
    checked = 0
    for path, item in document["paths"].items():
        for method, doc in item.items():
            media = [doc.get("requestBody", {}).get("content", {}).get("application/json")]
            media += [answer["content"]["application/json"] for answer in doc["responses"].values()]
            for entry in filter(None, media):
                validator = Draft202012Validator({**entry["schema"], "components": document["components"]})
                for example in entry.get("examples", {}).values():
                    errors = [e.message for e in validator.iter_errors(example["value"])]
                    assert errors == [], (method, path, errors)
                    checked += 1
            for parameter in doc.get("parameters", []):
                assert Draft202012Validator(parameter["schema"]).is_valid(parameter["example"]), (path, parameter)
    assert checked >= 25
