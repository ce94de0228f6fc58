"""Browser tests of the shopper's page: Debian's Chromium, headless, driven by Playwright, against the embedded
default (the local runtime serves the page and the API on one origin) with a brand trained through the API.

- `make test` installs Chromium (apt, as root) and Playwright (the lock); Playwright's own browser download is
  never used. Without Chromium these tests fail and say how to install it: they never skip.
- Every page a test opens is watched: a script error, a console error, a request to any other origin, a failed
  GET, or a /verify answer that breaks docs/openapi.json fails the test.
- Screenshots of each state go to test-artifacts/web/<test>/ (AUTHENTIC_WEB_ARTIFACTS overrides), cleared when
  a session starts and kept afterwards; a failing test adds failure.png of where it stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from authentic.cli import shapes
from authentic.cli.client import ApiClient
from authentic.local.runtime import LocalRuntime
from tests.support import openapi

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("AUTHENTIC_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("AUTHENTIC_WEB_ARTIFACTS", REPO / "test-artifacts" / "web"))
BRAND = "acme"
# Root has no user-namespace sandbox, so --no-sandbox; the rest keep a headless run quiet and offline.
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]
INSTALL_HINT = (
    "the browser tests need Debian's chromium at {path}: `make test` installs it when run as root "
    "(apt-get install chromium fonts-dejavu-core); otherwise install it yourself, or point AUTHENTIC_CHROMIUM "
    "at a Chromium or Chrome binary"
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass(frozen=True)
class Shop:
    """The embedded default with the brand trained and live: the page and the API on one origin."""

    runtime: LocalRuntime
    client: ApiClient
    job: dict[str, Any]

    @property
    def origin(self) -> str:
        return self.runtime.api_url


# Package scope: the runtime stops when the last test of tests/web has run, before any other test directory
# starts a runtime of its own (a LocalRuntime sets the process's AWS environment; two at once would mix them).
@pytest.fixture(scope="package")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    # No caching of the live model and policy in verify: a test that changes the brand's policy sees it at once.
    with LocalRuntime(tmp_path_factory.mktemp("shop"), overrides={"live_key_cache_seconds": 0}) as runtime:
        client = ApiClient(runtime.api_url)
        job = shapes.upload_and_train(client, BRAND, tmp_path_factory.mktemp("brand"))
        if job.get("state") != "Completed" or not (job.get("gate") or {}).get("passed"):
            pytest.fail(f"the brand's model did not go live: {job}")
        yield Shop(runtime, client, job)
        client.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(INSTALL_HINT.format(path=CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class Tab:
    """One browser tab on the shop's page, watched for problems, with a screenshot per state."""

    page: Any
    shop: Shop
    shots: Path
    problems: list[str] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)  # every /verify answer: (status, JSON body)
    _count: int = 0

    def open(self, query: str = f"?brand={BRAND}", path: str = "/") -> None:
        self.page.goto(f"{self.shop.origin}{path}{query}")
        self.page.wait_for_selector('#verdict[data-state="idle"]', state="attached")

    def choose(self, photo: Path) -> dict[str, str]:
        """Choose a file in the page's input, as a shopper does, and wait for the answer or an error."""
        self.page.set_input_files("#photo", str(photo))
        return self.settle()

    def settle(self, timeout_ms: int = 30000) -> dict[str, str]:
        self.page.wait_for_selector(
            '#verdict[data-state="done"], #verdict[data-state="error"]', state="attached", timeout=timeout_ms
        )
        return self.verdict()

    def press(self, button: str) -> dict[str, str]:
        """Press a button that sends the photo again (retry, "check anyway"), and wait for the answer to that
        upload: the error shown before the press must not be taken for its outcome."""
        with self.page.expect_response(lambda response: re.search(r"/verify(\?|$)", response.url) is not None):
            self.page.click(button)
        return self.settle()

    def verdict(self) -> dict[str, str]:
        data: dict[str, str] = self.page.eval_on_selector("#verdict", "e => ({...e.dataset})")
        return data

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector))

    def shot(self, state: str) -> Path:
        self._count += 1
        path = self.shots / f"{self._count:02d}-{state}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    def marks(self) -> dict[str, float]:
        """The page's User Timing marks of the last photo, in ms since it was chosen."""
        entries = self.page.evaluate(
            "performance.getEntriesByType('mark').filter(m => m.name.startsWith('verify:'))"
            ".map(m => [m.name.slice(7), m.startTime])"
        )
        found = {name: float(at) for name, at in entries}
        start = found.get("chosen", 0.0)
        return {name: round(at - start, 1) for name, at in found.items()}


def _watch(tab: Tab) -> None:
    page, origin = tab.page, tab.shop.origin

    def on_request(request: Any) -> None:
        if not request.url.startswith((origin, "blob:", "data:")):
            tab.problems.append(f"a request to another origin: {request.url}")

    def on_response(response: Any) -> None:
        request = response.request
        if request.method == "GET" and response.status >= 400:
            tab.problems.append(f"GET {response.url} answered {response.status}")
        if request.method == "POST" and re.search(r"/verify(\?|$)", response.url):
            try:
                body = response.json()
            except Exception:  # the network error tests abort requests: no body to check
                return
            tab.answers.append((response.status, body))
            tab.problems.extend(
                f"/verify {response.status}: {p}" for p in openapi.problems("POST", "/verify", response.status, body)
            )

    def on_console(message: Any) -> None:
        # "Failed to load resource" is how Chromium logs the 4xx/5xx answers the tests ask for.
        if message.type == "error" and "Failed to load resource" not in message.text:
            tab.problems.append(f"console error: {message.text}")

    page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    page.on("console", on_console)
    page.on("request", on_request)
    page.on("response", on_response)
    # Playwright turns file-chooser interception on lazily and can lose the race with the key press that opens
    # the chooser; a listener from the start avoids that.
    page.on("filechooser", lambda chooser: None)


def _tab(
    browser: Any, shop: Shop, artifacts: Path, request: pytest.FixtureRequest, viewport: dict[str, int]
) -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30000)
    shots = artifacts / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shots.mkdir(parents=True, exist_ok=True)
    tab = Tab(page, shop, shots)
    _watch(tab)
    try:
        yield tab
        reports = request.node.stash.get(_REPORTS, {})
        if "call" in reports and reports["call"].failed:
            tab.shot("failure")
    finally:
        context.close()
        left = shop.runtime.tap.clear_faults()
    assert not tab.problems, tab.problems
    assert not left, f"faults queued and never used: {left}"


@pytest.fixture
def tab(browser: Any, shop: Shop, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A desktop-sized tab."""
    yield from _tab(browser, shop, artifacts, request, {"width": 900, "height": 1000})


@pytest.fixture
def phone(browser: Any, shop: Shop, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A tab as narrow as a small phone (360 CSS pixels)."""
    yield from _tab(browser, shop, artifacts, request, {"width": 360, "height": 740})


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{check} did not become true within {timeout} s")
        time.sleep(0.05)
