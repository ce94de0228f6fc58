"""The local gateway serves the shopper's page as CloudFront does: web/ at /, index.html for / and for GS1 Digital
Link paths, the page's security headers on every file, and nothing but the page's own files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from authentic import contracts, keys
from authentic.local import web
from authentic.local.functions import Functions
from authentic.local.gateway import create_gateway
from tests.support.scenes import TestClient

WEB = web.DEFAULT_ROOT


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(create_gateway(Functions())) as test_client:
        yield test_client


def test_the_page_is_the_repositorys_web_folder() -> None:
    assert Path(__file__).resolve().parents[2] / "web" == WEB
    assert {"index.html", "app.js", "style.css", "config.js"} <= {p.name for p in WEB.iterdir()}


@pytest.mark.parametrize("path", ["/", "/?brand=acme", "/01/09506000134352", "/01/09506000134352/10/LOT42?brand=acme"])
def test_the_index_answers_the_root_and_digital_links(client: Any, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.text == (WEB / contracts.PAGE_INDEX).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/config.js", "text/javascript; charset=utf-8"),
    ],
)
def test_every_file_carries_the_pages_headers(client: Any, path: str, content_type: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == content_type
    for name, value in contracts.PAGE_SECURITY_HEADERS.items():
        assert answer.headers[name] == value, name
    assert answer.headers["cache-control"] == contracts.PAGE_CACHE_CONTROL


@pytest.mark.parametrize(
    "path", ["/../pyproject.toml", "/%2e%2e/pyproject.toml", "/web/app.js", "/README.md", "/.gitignore"]
)
def test_nothing_but_the_pages_files_is_served(client: Any, path: str) -> None:
    assert client.get(path).status_code == 404


def test_an_api_path_is_never_answered_with_a_page_file(client: Any) -> None:
    assert client.get("/verify").status_code == 405  # POST only, as wired
    assert client.get("/brands/acme/policy").status_code != 404  # an API route, not a page file


def test_the_page_uses_the_apis_brand_id_rule() -> None:
    found = re.search(r"const BRAND_ID = /(.+)/;", (WEB / "app.js").read_text(encoding="utf-8"))
    assert found is not None and found.group(1) == keys.BRAND_ID_PATTERN


def test_the_page_loads_only_its_own_files_and_no_inline_script() -> None:
    html = (WEB / contracts.PAGE_INDEX).read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert sorted(sources) == ["/app.js", "/config.js", "/style.css", "data:,"]  # root-absolute: works at /01/...
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert 'id="photo"' in html and 'accept="image/*"' in html and 'capture="environment"' in html
    assert 'data-state="idle"' in html and 'aria-live="polite"' in html and "never stored" in html


def test_the_page_asks_for_same_origin_by_default() -> None:
    config = (WEB / "config.js").read_text(encoding="utf-8")
    assert 'apiBase: ""' in config
