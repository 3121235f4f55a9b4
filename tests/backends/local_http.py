"""A scripted HTTP server on 127.0.0.1 for endpoint-backend tests (http.server in a thread)."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def scripted_server(routes: dict[tuple[str, str], list[tuple[int, Any]]]):
    """Serve ``{(method, path): [(status, body), …]}``; each call takes the next answer (the
    last one repeats). Yields ``(base_url, calls)``; ``calls`` records method, path, headers
    and the JSON body of every request."""
    calls: list[dict] = []
    cursor: dict[tuple[str, str], int] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            calls.append({"method": method, "path": self.path, "headers": dict(self.headers), "json": body})
            key = (method, self.path.split("?")[0])
            script = routes.get(key)
            if not script:
                self.send_response(404)
                self.end_headers()
                return
            index = min(cursor.get(key, 0), len(script) - 1)
            cursor[key] = index + 1
            status, payload = script[index]
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes)
                             else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._answer("GET")

        def do_POST(self):  # noqa: N802
            self._answer("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
