"""HTTP limits of the endpoint backends against a hostile server on 127.0.0.1 (docs/security.md).

A trickling server is cut at ``timeout_s`` (connect to last byte); a 1.5 GB body and a
20000x20000 PNG are refused with the peak memory of the refusing process (a subprocess, so
this one's history does not count) under 1 GB; an answer image on another host, or of the
wrong size, is refused; refused answers are per-ROI failures that the next run retries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sdg_factory.backends.http import DEFAULT_MAX_BODY_BYTES, AnswerRejected, EndpointError, HttpClient
from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest, ImageEditError
from sdg_factory.backends.image_edit.sizing import model_size
from sdg_factory.backends.text_to_image import TEXT_TO_IMAGE, TextToImageError, TextToImageRequest
from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.datasets.image import encode_image
from sdg_factory.pipelines.pcba_restyle.nodes import restyle_and_register_rois
from tests.backends.hostile_server import HostileServer, png_bomb
from tests.restyle_fixtures import roi_loaders, synthetic_roi

SRC = Path(__file__).resolve().parents[2] / "src"
GB = 2**30
MARGIN_S = 1.0  # thread start-up and scheduling on a loaded machine; the trickle would take 60 s


def _png(width: int, height: int) -> bytes:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (200, 40, 40)
    return encode_image(image, ".png")


def _crop(width: int = 80, height: int = 64) -> np.ndarray:
    return np.full((height, width, 3), 90, np.uint8)


def _editor(server: HostileServer, route: str = "openai_images", **settings) -> object:
    return IMAGE_EDITORS.build_from({"backend": route, "endpoint": server.url, "max_retries": 0,
                                     "min_side": 128, "max_side": 256, **settings})


# --- the deadline -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers"])
def test_a_trickling_server_is_cut_at_the_deadline(mode):
    with HostileServer(mode, interval_s=0.3, max_bytes=200) as server:
        client = HttpClient(server.url, timeout_s=1.5, max_retries=0)
        start = time.monotonic()
        with pytest.raises(EndpointError, match=r"no complete answer within timeout_s=1.5 s"):
            client.post_json("images/generations", {})
        elapsed = time.monotonic() - start
    assert elapsed < 1.5 + MARGIN_S, elapsed
    assert 0 < server.sent_bytes < 200  # it was still trickling when the client gave up


def test_each_retry_has_its_own_deadline_and_the_backend_fails_the_item():
    with HostileServer("trickle_body", interval_s=0.3, max_bytes=200) as server:
        editor = _editor(server, timeout_s=1.0, max_retries=1, backoff_s=0.0)
        start = time.monotonic()
        with pytest.raises(ImageEditError, match="failed after 2 attempt"):
            editor.edit(EditRequest(image=_crop(), prompt="p"))
        elapsed = time.monotonic() - start
    assert elapsed < 2 * 1.0 + MARGIN_S, elapsed
    assert len([r for r in server.requests if r["method"] == "POST"]) == 2


# --- body and pixel caps, measured in a fresh process -----------------------------------------

LAUNCHER = """
import json, resource, subprocess, sys
done = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True, timeout=120)
out = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {"stderr": done.stderr[-2000:]}
out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps(out))
"""


def _peak_rss_of(code: str) -> dict:
    """Run ``code`` (it prints a JSON dict) in a fresh interpreter with this worktree's src first,
    and add its peak resident memory. Linux keeps ``ru_maxrss`` across exec, so a child forked
    from this (large) test process would inherit its size: a small launcher process runs the
    code as its own child and reports that child's ``getrusage(RUSAGE_CHILDREN)``."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", LAUNCHER, textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=150, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "stderr" not in out, out["stderr"]
    return out


@pytest.mark.parametrize("mode", ["huge_stream", "huge_declared"])
def test_a_huge_body_is_refused_while_it_streams_in_bounded_memory(mode):
    with HostileServer(mode, huge_bytes=1536 * 2**20) as server:
        out = _peak_rss_of(f"""
            import json
            from sdg_factory.backends.http import HttpClient, AnswerRejected
            client = HttpClient({server.url!r}, max_retries=0, timeout_s=60)  # default max_body_bytes
            out = {{}}
            try:
                client.post_json("images/generations", {{"prompt": "p"}})
                out["error"] = None
            except AnswerRejected as exc:
                out["error"] = str(exc)
            print(json.dumps(out))
        """)
    assert out["error"] and f"max_body_bytes={DEFAULT_MAX_BODY_BYTES}" in out["error"]
    assert out["peak_rss_bytes"] < 1 * GB, out
    assert server.sent_bytes < 1536 * 2**20  # the client hung up long before the end
    if mode == "huge_declared":
        assert "was not read" in out["error"]


def test_a_png_bomb_is_refused_from_its_header_in_bounded_memory(tmp_path):
    bomb = png_bomb(20000, 20000)
    assert len(bomb) < 2 * 2**20  # small on the wire, 400 Mpx decoded
    with HostileServer("image", image=bomb) as server:
        out = _peak_rss_of(f"""
            import json
            import numpy as np
            from sdg_factory.backends.image_edit import EditRequest, ImageEditError, IMAGE_EDITORS
            editor = IMAGE_EDITORS.build_from({{"backend": "openai_images", "endpoint": {server.url!r},
                                               "max_retries": 0}})
            out = {{}}
            try:
                editor.edit(EditRequest(image=np.full((64, 80, 3), 90, np.uint8), prompt="p"))
                out["error"] = None
            except ImageEditError as exc:
                out["error"] = str(exc)
            print(json.dumps(out))
        """)
    assert out["error"] and "max_image_pixels" in out["error"] and "not decoded" in out["error"]
    assert out["peak_rss_bytes"] < 1 * GB, out


def test_the_pixel_cap_is_a_setting():
    with HostileServer("image", image=_png(160, 128)) as server:
        with pytest.raises(ImageEditError, match=r"160x128 = 20480 pixels, more than max_image_pixels=10000"):
            _editor(server, max_image_pixels=10000).edit(EditRequest(image=_crop(), prompt="p"))
        assert _editor(server).edit(EditRequest(image=_crop(), prompt="p")).shape == (64, 80, 3)


# --- answers of the wrong size -------------------------------------------------------------------

@pytest.mark.parametrize("route", ["openai_images", "openai_chat"])
def test_an_answer_of_another_aspect_ratio_is_refused(route):
    sent = model_size(80, 64, min_side=128, max_side=256)
    assert sent == (160, 128)
    with HostileServer("image", image=_png(256, 128)) as server:  # 2:1 for a 5:4 request
        with pytest.raises(ImageEditError, match=r"256x128 for a 160x128 request: another aspect ratio"):
            _editor(server, route).edit(EditRequest(image=_crop(), prompt="p"))
        server.image = _png(320, 256)  # the same shape at twice the size is fine (resized back)
        assert _editor(server, route).edit(EditRequest(image=_crop(), prompt="p")).shape == (64, 80, 3)


def test_a_fixed_size_setting_is_the_size_expected():
    with HostileServer("image", image=_png(256, 256)) as server:
        assert _editor(server, size="256x256").edit(EditRequest(image=_crop(), prompt="p")).shape == (64, 80, 3)
        with pytest.raises(ImageEditError, match="another aspect ratio"):
            _editor(server).edit(EditRequest(image=_crop(), prompt="p"))


def test_a_text_to_image_answer_of_another_aspect_ratio_is_refused():
    with HostileServer("image", image=_png(64, 64)) as server:
        backend = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": server.url, "max_retries": 0})
        with pytest.raises(TextToImageError, match=r"64x64 for a 2048x1152 request: another aspect ratio"):
            backend.generate(TextToImageRequest("p"))


# --- image URLs: the endpoint's own host only ----------------------------------------------------

def test_an_image_url_on_another_host_is_not_fetched():
    with HostileServer("image", image=_png(32, 18)) as elsewhere:
        target = f"{elsewhere.origin}/x.png"
        with HostileServer("url", image_url=target) as server:
            backend = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": server.url, "max_retries": 0})
            with pytest.raises(TextToImageError, match="not the endpoint's own host.*allowed_hosts"):
                backend.generate(TextToImageRequest("p"))
            with pytest.raises(ImageEditError, match="not the endpoint's own host"):
                _editor(server, "openai_chat").edit(EditRequest(image=_crop(), prompt="p"))
            assert elsewhere.requests == []  # nothing was even asked of the other host

            allowed = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": server.url,
                                                "allowed_hosts": [f"127.0.0.1:{elsewhere.httpd.server_address[1]}"]})
            assert allowed.generate(TextToImageRequest("p")).shape == (18, 32, 3)
            assert "Authorization" not in elsewhere.requests[0]["headers"]


def test_a_redirect_to_another_host_is_not_followed():
    with HostileServer("image", image=_png(32, 18)) as elsewhere:
        with HostileServer("redirect", image_url=f"{elsewhere.origin}/x.png") as server:
            client = HttpClient(server.url, max_retries=0)
            with pytest.raises(AnswerRejected, match="not the endpoint's own host"):
                client.fetch(f"{server.origin}/files/x.png", "data[0].url")  # its own host, redirecting away
            assert [r["path"] for r in server.requests] == ["/files/x.png"]
            assert elsewhere.requests == []


def test_file_and_other_schemes_are_never_fetched():
    client = HttpClient("http://127.0.0.1:9/v1", max_retries=0, allowed_hosts=("*",))
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x.png", "gopher://127.0.0.1:9/x"):
        with pytest.raises(AnswerRejected, match="not the endpoint's own host"):
            client.fetch(url, "data[0].url")


# --- refused answers are per-ROI failures, retried on the next run -------------------------------

def test_refused_answers_fail_their_rois_and_the_next_run_retries_them(tmp_path):
    RUN_FAILURES.drain()
    rois = [synthetic_roi(i) for i in range(3)]
    loaders = roi_loaders(rois)
    edited = PartitionedDataset(path=str(tmp_path / "edited"), dataset=ImageDataset, filename_suffix=".png",
                                progress=False)
    params = {"cookbook": {"prompt": "OV to SL", "seed": None},
              "backends": {"openai_images": {"max_retries": 0, "min_side": 128, "max_side": 256}},
              "registration": {}}
    with HostileServer("image", image=png_bomb(20000, 20000)) as server:
        edited.save(restyle_and_register_rois(loaders, "openai_images", server.url, "m", params, run_seed=1)[1])
        assert sorted(edited.failed_partitions()) == sorted(r.partition_id for r in rois)
        assert not list((tmp_path / "edited").rglob("*.png"))
        failures = RUN_FAILURES.drain()
        assert len(failures) == 3 and all("max_image_pixels" in f.error for f in failures)
        manifest = json.loads(next((tmp_path / "edited").glob(".sdg_manifest*.json")).read_text())
        assert len(manifest["failed"]) == 3

        server.image = _png(160, 128)  # the server is fixed: the next run writes every ROI
        edited.save(restyle_and_register_rois(loaders, "openai_images", server.url, "m", params, run_seed=1)[1])
        assert edited.failed_partitions() == []
        assert sorted(edited.load()) == sorted(r.partition_id for r in rois)
    assert RUN_FAILURES.drain() == []
