"""A hostile HTTP server on 127.0.0.1 for the HTTP-limit and secret tests (stdlib http.server).

``GET /v1/models`` always answers (so health checks pass); every other request gets what
``mode`` says. Every loop is bounded and stops by itself when the client hangs up:

- ``trickle_body`` / ``trickle_headers``: one byte every ``interval_s`` (at most ``max_bytes``);
- ``huge_stream``: a JSON body of ``huge_bytes`` without a length, 1 MiB at a time from a
  generator (never held in memory); ``huge_declared``: the same with a ``Content-Length``;
- ``image``: ``{"data": [{"b64_json": <image>}]}`` (images routes) or a chat message with a
  data URL, ``image`` being PNG bytes set by the test (a bomb, a wrong-sized picture…);
- ``url``: ``{"data": [{"url": <image_url>}]}`` (and a chat message with that URL);
- ``redirect``: ``302`` to ``image_url``;
- ``echo``: ``500`` then ``401`` (alternating) with a body that echoes the request's
  ``Authorization`` header (decoded too when it is Basic), the path with its query string and
  every header — what a careless proxy does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MIB = 2**20


@lru_cache(maxsize=2)
def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A one-colour 1-bit PNG of ``width`` x ``height``, a few tens of kB, built row by row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class HostileServer:
    def __init__(self, mode: str = "image", *, image: bytes = b"", image_url: str = "",
                 interval_s: float = 0.3, max_bytes: int = 200, huge_bytes: int = 1536 * MIB):
        self.mode, self.image, self.image_url = mode, image, image_url
        self.interval_s, self.max_bytes, self.huge_bytes = interval_s, max_bytes, huge_bytes
        self.requests: list[dict] = []  # method, path (with query), headers
        self.sent_bytes = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.origin}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer_body(self, path: str) -> bytes:
        b64 = base64.b64encode(self.image).decode()
        if "chat/completions" in path:
            url = self.image_url if self.mode == "url" else "data:image/png;base64," + b64
            return json.dumps({"choices": [{"message": {"role": "assistant", "content": [
                {"type": "image_url", "image_url": {"url": url}}]}}]}).encode()
        if self.mode == "url":
            return json.dumps({"data": [{"url": self.image_url}]}).encode()
        return json.dumps({"data": [{"b64_json": b64}]}).encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server._lock:
                    server.requests.append({"method": method, "path": self.path, "headers": dict(self.headers)})

            def _send(self, status: int, body: bytes, ctype: str = "application/json", extra: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                self._record("GET")
                if self.path.split("?")[0].endswith("/models"):
                    self._send(200, json.dumps({"data": [{"id": "test-model"}]}).encode())
                elif server.mode == "redirect":
                    self._send(302, b"", extra={"Location": server.image_url})
                else:
                    self._send(200, server.image, "image/png")

            def do_POST(self):  # noqa: N802
                self._record("POST")
                try:
                    getattr(self, "_" + server.mode)()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: that is the point

            def _image(self):
                self._send(200, server.answer_body(self.path))

            _url = _image

            def _redirect(self):
                self._send(302, b"", extra={"Location": server.image_url})

            def _trickle(self, data: bytes):
                for byte in data[: server.max_bytes]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    server.sent_bytes += 1
                    time.sleep(server.interval_s)

            def _trickle_body(self):
                body = b'{"data": [' + b" " * server.max_bytes + b"]}"
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 + f"Content-Length: {len(body)}\r\n\r\n".encode())
                self._trickle(body)

            def _trickle_headers(self):
                self._trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * server.max_bytes + b"\r\n\r\n{}")

            def _huge(self, declared: bool):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n")
                if declared:
                    self.wfile.write(f"Content-Length: {server.huge_bytes}\r\n".encode())
                self.wfile.write(b"\r\n")
                block = b"A" * MIB
                self.wfile.write(b'{"data": [{"b64_json": "')
                for _ in range(server.huge_bytes // MIB):
                    self.wfile.write(block)
                    server.sent_bytes += MIB
                self.close_connection = True

            def _huge_stream(self):
                self._huge(declared=False)

            def _huge_declared(self):
                self._huge(declared=True)

            def _echo(self):
                with server._lock:
                    count = sum(1 for r in server.requests if r["method"] == "POST")
                auth = self.headers.get("Authorization", "")
                decoded = ""
                if auth.lower().startswith("basic "):
                    decoded = base64.b64decode(auth.split(" ", 1)[1]).decode(errors="replace")
                body = json.dumps({"error": {
                    "message": f"invalid credentials: Authorization: {auth} ({decoded}) for {self.path}",
                    "authorization": auth, "basic": decoded, "path": self.path,
                    "headers": dict(self.headers)}})
                body += f"\nAuthorization: {auth}\nuser-info {decoded} on GET {self.path}"
                self._send(500 if count % 2 else 401, body.encode())

        return Handler
