"""moto's server for the embedded default, with S3's latency when asked for.

moto answers an S3 call in about a millisecond, where S3 takes tens: code that makes one S3 call per photo looks
fast on moto and times out in AWS. With `s3_latency_seconds`, every request that moto routes to its S3 backend
(by its own dispatch: signed calls, presigned POSTs and URLs alike) waits that long before it is answered, in
its own server thread, as concurrent calls to S3 would; DynamoDB, SQS and the rest answer at once. The server
also counts the S3 requests it served.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

S3_BACKEND = "s3"


class _Dispatcher(DomainDispatcherApplication):
    """moto's own dispatcher, delaying and counting what it hands to the S3 backend."""

    def __init__(self, s3_latency_seconds: float) -> None:
        super().__init__(create_backend_app)
        self.s3_latency_seconds = s3_latency_seconds
        self.s3_requests = 0
        self._count_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        backend_app = self.get_application(environ)
        if backend_app is self.app_instances.get(S3_BACKEND):
            with self._count_lock:
                self.s3_requests += 1
            if self.s3_latency_seconds > 0:
                time.sleep(self.s3_latency_seconds)
        return backend_app(environ, start_response)


class MotoServer:
    """moto's threaded server on `host:port` (what `moto.server.ThreadedMotoServer` runs), in a daemon thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int, s3_latency_seconds: float = 0.0) -> None:
        if s3_latency_seconds < 0:
            raise ValueError(f"s3_latency_seconds must be >= 0, got {s3_latency_seconds}")
        self._dispatcher = _Dispatcher(s3_latency_seconds)
        self._server: BaseWSGIServer = make_server(
            host, port, self._dispatcher, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)

    @property
    def s3_requests(self) -> int:
        """S3 requests served so far."""
        return self._dispatcher.s3_requests

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
