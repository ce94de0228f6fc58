"""The shopper's page on the local gateway, served as CloudFront serves it in AWS: the files of `web/` at `/`
(`index.html` for `/`), `index.html` again for GS1 Digital Link paths (`/01/{gtin}/...`), and the same security
headers (`authentic.contracts.PAGE_*`). Files are read on each request, so an edit shows on the next reload (a new file
needs a restart)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

import authentic
from authentic import contracts

# web/ beside src/ in the repository (an editable install, as `make` does, finds it).
DEFAULT_ROOT = Path(authentic.__file__).resolve().parents[2] / "web"
ROUTE_PREFIX = "page "  # the page's routes are named "page /...": they are not API routes of the wiring

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def page_routes(root: Path = DEFAULT_ROOT) -> list[Route]:
    """The routes that serve the page from `root`: one per file it holds, so a path that is not the page's (an
    API path with another method, say) is never answered with a page file; none when the folder is missing (a
    non-editable install)."""
    if not (root / contracts.PAGE_INDEX).is_file():
        return []
    headers = {**contracts.PAGE_SECURITY_HEADERS, "Cache-Control": contracts.PAGE_CACHE_CONTROL}

    def serving(name: str) -> Callable[[Request], Awaitable[Response]]:
        path = root / name

        async def serve(request: Request) -> Response:
            if not path.is_file():  # removed since the gateway started
                return PlainTextResponse("Not Found", status_code=404, headers=headers)
            return FileResponse(path, media_type=_CONTENT_TYPES[path.suffix], headers=headers)

        return serve

    index = serving(contracts.PAGE_INDEX)
    routes = [Route("/", index, methods=["GET"], name=f"{ROUTE_PREFIX}/")]
    routes += [
        Route(f"{prefix}{{rest:path}}", index, methods=["GET"], name=f"{ROUTE_PREFIX}{prefix}")
        for prefix in contracts.PAGE_DEEP_LINK_PREFIXES
    ]
    files = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix in _CONTENT_TYPES)
    routes += [Route(f"/{name}", serving(name), methods=["GET"], name=f"{ROUTE_PREFIX}/{name}") for name in files]
    return routes
