"""A real HTTP image-edit server on 127.0.0.1 for the endpoint tests (stdlib http.server).

It serves the three routes (``/v1/images/edits`` multipart, ``/v1/chat/completions`` and
``/v1/infer``) and ``GET /v1/models``. Its "edit" is a colour change (channel swap and a
brighter gamma) of the uploaded picture. What happens to each ROI is scripted by the ROI's
key — the red level of the image's corner, which the tests set per ROI — and the attempt
number: ``ok``, ``shift`` (content moved by a fraction of the picture), ``500`` (fails once),
``timeout`` (answers too late once), ``malformed`` (a body without an image, once).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from sdg_factory.datasets.image import decode_image, encode_image

# how far ``shift`` moves the content, as a fraction of the picture's width / height (the server sees
# the crop upscaled to the model size): visible on a ~50 px 0402 ROI, and on a ~380 px IC ROI still
# within the registration's search and the crop's padding (11 px, not 19 px as 5 % would be)
SHIFT_FRACTION = (0.03, -0.025)


def server_edit(image: np.ndarray, shift: bool) -> np.ndarray:
    out = image[..., ::-1].astype(np.float32) / 255.0
    out = np.ascontiguousarray(np.clip(255 * out ** 0.8, 0, 255).astype(np.uint8))
    if shift:
        h, w = out.shape[:2]
        m = np.float32([[1, 0, round(SHIFT_FRACTION[0] * w)], [0, 1, round(SHIFT_FRACTION[1] * h)]])
        out = cv2.warpAffine(out, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return out


class FakeImageEditServer:
    def __init__(self, plan: dict[int, list[str]], slow_s: float = 1.0, default: str = "ok"):
        self.plan = plan  # key -> behaviour per attempt (the last one repeats)
        self.default = default  # for keys not in the plan
        self.slow_s = slow_s
        self.attempts: dict[int, int] = {}
        self.log: list[tuple[str, object]] = []  # (path, key or None)
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeImageEditServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def key_of(image: np.ndarray) -> int:
        return int(round((int(image[1, 1, 0]) - 30) / 20))

    def next_behaviour(self, key: int) -> str:
        with self._lock:
            attempt = self.attempts.get(key, 0)
            self.attempts[key] = attempt + 1
        steps = self.plan.get(key, [self.default])
        return steps[min(attempt, len(steps) - 1)]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def do_GET(self):
                server.log.append((self.path, None))
                if self.path == "/v1/models":
                    self._send(200, json.dumps({"data": [{"id": "test-model"}]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                route = self.path.removeprefix("/v1/")
                if route == "images/edits":
                    fields, files = _multipart(self.headers["Content-Type"], raw)
                    image, body = decode_image(files["image"], "rgb"), fields
                elif route == "chat/completions":
                    body = json.loads(raw)
                    url = body["messages"][0]["content"][1]["image_url"]["url"]
                    image = decode_image(base64.b64decode(url.split(",", 1)[1]), "rgb")
                elif route == "infer":
                    body = json.loads(raw)
                    image = decode_image(base64.b64decode(body["image"].split(",", 1)[1]), "rgb")
                else:
                    self._send(404, b'{"error": "not found"}')
                    return
                key = server.key_of(image)
                server.log.append((self.path, key))
                server.bodies.append({**{k: v for k, v in body.items() if k not in ("messages", "image")},
                                     "_key": key, "_shape": image.shape})
                behaviour = server.next_behaviour(key)
                if behaviour == "500":
                    self._send(500, b'{"error": "overloaded"}')
                    return
                if behaviour == "timeout":
                    time.sleep(server.slow_s)
                if behaviour == "malformed":
                    self._send(200, json.dumps({"data": [], "choices": [], "artifacts": [{}]}).encode())
                    return
                edited = server_edit(image, shift=behaviour == "shift")
                b64 = base64.b64encode(encode_image(edited, ".png")).decode()
                if route == "images/edits":
                    answer = {"created": 0, "data": [{"b64_json": b64}]}
                elif route == "chat/completions":
                    answer = {"choices": [{"message": {"role": "assistant", "content": [
                        {"type": "text", "text": "done"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64}}]}}]}
                else:
                    answer = {"artifacts": [{"base64": b64, "finishReason": "SUCCESS", "seed": body.get("seed")}]}
                self._send(200, json.dumps(answer).encode())

        return Handler


def _multipart(content_type: str, raw: bytes) -> tuple[dict, dict]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            files[name] = part.get_payload(decode=True)
        else:
            fields[name] = part.get_payload(decode=True).decode()
    return fields, files
