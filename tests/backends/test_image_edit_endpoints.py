"""The three HTTP image-edit routes against a real server on 127.0.0.1, through the restyle nodes.

The server edits, sometimes shifts the picture, answers 500 once, times out once and returns
a malformed body once. Every ROI that eventually succeeds gets an output aligned with its
mask, the malformed one is listed as failed (and retried alone on the next run), and no
partial file is left anywhere.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest, ImageEditError
from sdg_factory.backends.image_edit.endpoints import _first_image_url, decode_b64_image
from sdg_factory.datasets import (
    ImageDataset,
    PartitionedDataset,
    RegisteredEditsDataset,
    RegistrationRecordsDataset,
)
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.pipelines.pcba_restyle.nodes import registration_records, restyle_and_register_rois
from tests.backends.fake_image_edit_server import SHIFT_FRACTION, FakeImageEditServer
from tests.restyle_fixtures import mask_edge_agreement, roi_loaders, synthetic_roi

ROUTES = ["openai_images", "openai_chat", "nim"]
PLAN = {0: ["ok"], 1: ["shift"], 2: ["500", "ok"], 3: ["timeout", "ok"], 4: ["malformed", "ok"]}
REGISTRATION = {"max_shift_px": 8, "max_rotation_deg": 2.0, "rotation_step_deg": 1.0, "min_score": 0.3}


def _restyle_params(route: str, sleeps: list) -> dict:
    return {
        "cookbook": {"prompt": "OV to SL", "negative_prompt": "moved parts", "steps": 12,
                     "guidance": 3.5, "seed": None},
        "backends": {route: {"timeout_s": 0.5, "max_retries": 2, "backoff_s": 0.01,
                             "min_side": 128, "max_side": 256, "sleep": sleeps.append}},
        "registration": REGISTRATION,
    }


def _folder(tmp_path, name: str) -> PartitionedDataset:
    return PartitionedDataset(path=str(tmp_path / "augment" / name), dataset=ImageDataset,
                              filename_suffix=".png", progress=False)


@pytest.mark.parametrize("route", ROUTES)
def test_route_end_to_end_with_retries_failures_and_registration(tmp_path, route):
    RUN_FAILURES.drain()
    rois = [synthetic_roi(i, cell=f"x{i % 2}_y0") for i in range(5)]
    by_key = {i: roi.partition_id for i, roi in enumerate(rois)}
    loaders = roi_loaders(rois)
    edited = _folder(tmp_path, "edited")
    sleeps: list[float] = []
    params = _restyle_params(route, sleeps)

    with FakeImageEditServer(PLAN, slow_s=1.5) as server:
        _, edits, cookbook = restyle_and_register_rois(loaders, route, server.url, "test-model", params, run_seed=7)
        assert server.log == [("/v1/models", None)]  # health check before the batch
        edited.save(edits)

        # every ROI but the malformed one got through (500 and timeout were retried)
        assert sorted(edited.load()) == sorted(by_key[k] for k in (0, 1, 2, 3))
        assert edited.failed_partitions() == [by_key[4]]
        failures = RUN_FAILURES.drain()
        assert [f.partition for f in failures] == [by_key[4]]
        assert "malformed answer" in failures[0].error
        assert server.attempts == {0: 1, 1: 1, 2: 2, 3: 2, 4: 1}
        assert len(sleeps) == 2  # one backoff per retry
        assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".sdg-tmp")]

        # the crops went up to the model's size; the cookbook and a per-ROI seed went along
        sent = {b["_key"]: b for b in server.bodies}
        assert sent[0]["_shape"] == (128, 160, 3)
        seeds = {int(b["seed"]) for b in sent.values()}
        assert len(seeds) == 5
        if route == "openai_images":
            assert (sent[0]["model"], sent[0]["num_inference_steps"], sent[0]["response_format"]) == (
                "test-model", "12", "b64_json")
        elif route == "openai_chat":
            assert (sent[0]["model"], sent[0]["guidance_scale"]) == ("test-model", 3.5)
        else:
            assert (sent[0]["steps"], sent[0]["cfg_scale"], sent[0]["negative_prompt"]) == (12, 3.5, "moved parts")
        assert cookbook["image_edit_endpoint"] == server.url

        # registration undoes the server's shift; every output is aligned with its cad_mask
        # (the tasks of the ROIs that have an edit: they read it back, as a re-run's tasks do)
        crops = RegisteredEditsDataset(path=str(tmp_path / "augment" / "crop"), progress=False,
                                       edits=str(tmp_path / "augment" / "edited"))
        edited_rois = {pid: loaders[pid] for pid in edited.load()}
        crops.save(restyle_and_register_rois(edited_rois, route, server.url, "test-model",
                                             {**params, "registration": REGISTRATION}, run_seed=7)[0])
        assert crops.failed_partitions() == []
        items = RegistrationRecordsDataset(path=str(tmp_path / "augment" / "crop")).load()
        by_pid = {r["partition"]: r for r in registration_records(crops.load(), items)}
        shifted = by_pid[by_key[1]]
        # the server's shift of the 160 x 128 picture, at half scale
        assert shifted["shift_x"] == pytest.approx(round(SHIFT_FRACTION[0] * 160) / 2, abs=0.5)
        assert shifted["shift_y"] == pytest.approx(round(SHIFT_FRACTION[1] * 128) / 2, abs=0.5)
        assert shifted["score"] > shifted["score_identity"] + 0.1
        raw_agreement = mask_edge_agreement(edited.load()[by_key[1]](), rois[1].cad_mask)
        assert raw_agreement < 0.6
        for key in (0, 1, 2, 3):
            out = crops.load()[by_key[key]]()
            assert out.shape == (64, 80, 3) and out.dtype == np.uint8
            assert mask_edge_agreement(out, rois[key].cad_mask) > 0.95
            if key != 1:
                assert abs(by_pid[by_key[key]]["shift_x"]) < 0.5 and abs(by_pid[by_key[key]]["shift_y"]) < 0.5

        # a re-run retries only the failed ROI and leaves the others untouched
        before = {p: p.stat().st_mtime_ns for p in (tmp_path / "augment" / "edited").rglob("*.png")}
        mark = len(server.log)
        _, edits, _ = restyle_and_register_rois(loaders, route, server.url, "test-model", params, run_seed=7)
        edited.save(edits)
        assert [key for _, key in server.log[mark:] if key is not None] == [4]
        assert edited.failed_partitions() == []
        assert sorted(edited.load()) == sorted(by_key.values())
        assert {p: p.stat().st_mtime_ns for p in before} == before
        assert RUN_FAILURES.drain() == []


def test_unreachable_endpoint_fails_before_the_batch():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    editor = IMAGE_EDITORS.build_from({"backend": "nim", "endpoint": f"http://127.0.0.1:{port}/v1",
                                       "timeout_s": 0.2, "max_retries": 1, "backoff_s": 0.0})
    with pytest.raises(ImageEditError, match="health check.*Is the server running"):
        editor.health_check()


def test_bad_endpoint_parameter_is_named():
    with pytest.raises(ValueError, match="image_edit_endpoint"):
        IMAGE_EDITORS.build_from({"backend": "openai_images", "endpoint": "localhost:8000"})


def test_malformed_answers_are_named():
    with pytest.raises(ImageEditError, match="not valid base64"):
        decode_b64_image("@@not-base64@@", "data[0].b64_json")
    with pytest.raises(ImageEditError, match="does not decode to an image"):
        decode_b64_image("aGVsbG8=", "artifacts[0].base64")
    with pytest.raises(ImageEditError, match="missing"):
        decode_b64_image(None, "data[0].b64_json")
    # the chat route also finds the image in message.images or inline in text content
    url = "data:image/png;base64,AAAA"
    assert _first_image_url({"content": "text", "images": [{"type": "image_url", "image_url": {"url": url}}]}) == url
    assert _first_image_url({"content": f"here: {url}"}) == url
    assert _first_image_url({"content": "no image"}) is None


def test_request_with_background_is_refused_by_nim():
    editor = IMAGE_EDITORS.build_from({"backend": "nim", "endpoint": "http://127.0.0.1:9/v1"})
    image = synthetic_roi(0).normal_img[..., :3]
    with pytest.raises(ImageEditError, match="one image"):
        editor.edit(EditRequest(image=image, prompt="p", task="place_in_scene", background=image))
