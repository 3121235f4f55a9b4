"""pcba_restyle (augment-image-edit): node behaviour on synthetic ROIs, and the real project
configuration end to end (good_image = render + crop + restyle) with the classical backend and
with an HTTP route pointed at a real server by runtime parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sdg_factory.datasets import (
    ImageDataset,
    JSONLinesDataset,
    PartitionedDataset,
    RegisteredEditsDataset,
    RegistrationRecordsDataset,
)
from sdg_factory.datasets.edited_crops import EditedCropsDataset
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.datasets.image import decode_image
from sdg_factory.fingerprints import NodeFingerprint
from sdg_factory.imaging.restyle import RestyleStyle
from sdg_factory.pipelines.pcba_restyle.nodes import registration_records, restyle_and_register_rois
from tests.backends.fake_image_edit_server import FakeImageEditServer
from tests.imaging.test_restyle import srgb_to_lab
from tests.kedro_runner import run_pipeline
from tests.restyle_fixtures import mask_edge_agreement, roi_loaders, synthetic_roi

CLASSICAL = {
    "cookbook": {"prompt": "OV to SL", "negative_prompt": "", "steps": 40, "guidance": 4.0, "seed": None},
    "backends": {"classical": {"style": {"lab_mean": [45.0, 12.0, 25.0]}}},
    "registration": {"max_shift_px": 8, "max_rotation_deg": 2.0, "min_score": 0.3},
}


def _folder(tmp_path, name, **kwargs):
    return PartitionedDataset(path=str(tmp_path / name), dataset=ImageDataset, filename_suffix=".png",
                              progress=False, **kwargs)


def test_classical_restyle_through_a_process_pool_is_seeded_per_roi(tmp_path):
    rois = [synthetic_roi(i, cell=f"x{i}_y0") for i in range(4)]
    _, edits, cookbook = restyle_and_register_rois(roi_loaders(rois), "classical", "", "m", CLASSICAL, run_seed=3)
    assert cookbook["seed"] == 3 and cookbook["image_edit_endpoint"] is None
    pool = _folder(tmp_path, "pool", executor={"type": "processes", "max_workers": 2})
    pool.save(edits)  # the lazy edits pickle to worker processes
    serial = _folder(tmp_path, "serial")
    serial.save(restyle_and_register_rois(roi_loaders(rois[::-1]), "classical", "", "m", CLASSICAL, run_seed=3)[1])
    for pid in edits:
        np.testing.assert_array_equal(pool.load()[pid](), serial.load()[pid]())  # same bytes, any order
    first, second = (pool.load()[r.partition_id]() for r in rois[:2])
    assert np.abs(first[:8, :8].astype(int) - second[:8, :8].astype(int)).max() > 0  # own noise per ROI


def test_an_edit_that_changed_the_geometry_is_rejected_not_written(tmp_path):
    RUN_FAILURES.drain()
    rois = [synthetic_roi(0), synthetic_roi(1)]
    aligned, edits, _ = restyle_and_register_rois(roi_loaders(rois), "classical", "", "m", CLASSICAL, run_seed=3)
    EditedCropsDataset(path=str(tmp_path / "edited"), progress=False).save(edits)
    # a "model" that drew something else for ROI 1: the registration task reads that edit back
    noise = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    _folder(tmp_path, "edited", skip_existing=False).save({rois[1].partition_id: noise})
    crops = RegisteredEditsDataset(path=str(tmp_path / "crop"), edits=str(tmp_path / "edited"), progress=False,
                                   executor={"type": "processes", "max_workers": 2})
    crops.save(aligned)  # registered in the pool
    items = RegistrationRecordsDataset(path=str(tmp_path / "crop")).load()
    records = registration_records(crops.load(), items)
    assert [r["accepted"] for r in records] == [True, False]  # the rejected edit's record is kept with its failure
    assert not (tmp_path / "crop" / ".registration").exists()
    assert sorted(crops.load()) == [rois[0].partition_id]
    assert crops.failed_partitions() == [rois[1].partition_id]
    assert "min_score" in RUN_FAILURES.drain()[0].error


def test_records_come_back_with_the_tasks_and_a_folder_written_with_record_files_still_reads(tmp_path):
    """No file per registration record: each task's record is kept in the folder's manifest (a
    rejected edit's with its failure). A folder written when every record was a file under
    .registration/ still reads, and its files go once their items are recomputed."""
    RUN_FAILURES.drain()
    rois = [synthetic_roi(i, cell=f"x{i % 2}_y0") for i in range(3)]
    crop_dir = tmp_path / "crop"

    def save(version):
        fingerprint = NodeFingerprint("pcba.restyle.augment_image_edit", "s", version, made_by={"fingerprint": version})
        aligned, edits, _ = restyle_and_register_rois(roi_loaders(rois), "classical", "", "m", CLASSICAL, 3)
        for dataset, value in ((RegisteredEditsDataset(path=str(crop_dir), edits=str(tmp_path / "edited"),
                                                       progress=False), aligned),
                               (EditedCropsDataset(path=str(tmp_path / "edited"), progress=False), edits)):
            dataset.bind_fingerprint(fingerprint)
            dataset.save(value)

    save("v1")
    records = RegistrationRecordsDataset(path=str(crop_dir)).load()
    assert sorted(records) == sorted(r.partition_id for r in rois)
    assert all(r["accepted"] and r["partition"] == pid for pid, r in records.items())
    assert not (crop_dir / ".registration").exists()
    manifest_file = crop_dir / ".sdg_manifest.png.json"
    doc = json.loads(manifest_file.read_text())
    assert {pid: item["record"] for pid, item in doc["items"].items()} == records

    # the same folder as an older version wrote it: records as files, listed among the items' files
    from sdg_factory.fingerprints.manifest import Manifest

    items = {}
    for pid, item in doc["items"].items():
        record_file = crop_dir / ".registration" / f"{pid}.json"
        record_file.parent.mkdir(parents=True, exist_ok=True)
        record_file.write_text(json.dumps(item.pop("record")))
        info = record_file.stat()
        item["files"][f".registration/{pid}.json"] = [info.st_size, info.st_mtime]
        items[pid] = item
    legacy = Manifest(items=items, made_by=doc["made_by"], partitions=doc["partitions"], failed=doc["failed"])
    manifest_file.write_bytes(legacy.encode())
    assert RegistrationRecordsDataset(path=str(crop_dir)).load() == records
    save("v1")  # unchanged: kept as they are
    assert len(list((crop_dir / ".registration").rglob("*.json"))) == 3
    assert RegistrationRecordsDataset(path=str(crop_dir)).load() == records
    save("v2")  # recomputed: the records move into the manifest, their files go
    assert list((crop_dir / ".registration").rglob("*.json")) == []
    assert RegistrationRecordsDataset(path=str(crop_dir)).load() == records
    with pytest.raises(Exception, match="read-only"):
        RegistrationRecordsDataset(path=str(crop_dir)).save({})
    assert RUN_FAILURES.drain() == []


def _bound(dataset, fingerprint):
    dataset.bind_fingerprint(fingerprint)
    return dataset


def test_one_task_per_roi_edits_once_registers_and_the_edits_folder_takes_its_files(tmp_path):
    """As a Kedro run saves the node's outputs (fingerprints bound, augmented_crops first)."""
    RUN_FAILURES.drain()
    rois = [synthetic_roi(i, cell=f"x{i % 2}_y0") for i in range(4)]
    fingerprint = NodeFingerprint("pcba.restyle.augment_image_edit", "s", "whole", made_by={"fingerprint": "whole"})
    edited_dir, crop_dir = tmp_path / "edited", tmp_path / "crop"

    def run():
        aligned, edits, _ = restyle_and_register_rois(roi_loaders(rois), "classical", "", "m", CLASSICAL, 3)
        crops = _bound(RegisteredEditsDataset(path=str(crop_dir), edits=str(edited_dir), progress=False,
                                              executor={"type": "processes", "max_workers": 2}), fingerprint)
        edited = _bound(EditedCropsDataset(path=str(edited_dir), progress=False,
                                           executor={"type": "processes", "max_workers": 2}), fingerprint)
        crops.save(aligned)
        written = {p.name: p.stat().st_mtime_ns for p in edited_dir.rglob("*.png")}
        edited.save(edits)
        return crops, edited, written

    def stamps(root):
        return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*.png"))}

    crops, edited, written = run()
    assert len(written) == 4  # the registration tasks wrote the edits …
    assert {p.name: p.stat().st_mtime_ns for p in edited_dir.rglob("*.png")} == written  # … taken as they are
    assert edited.is_fresh(fingerprint) and crops.is_fresh(fingerprint)
    manifest = json.loads((edited_dir / ".sdg_manifest.png.json").read_text())
    assert sorted(manifest["items"]) == sorted(r.partition_id for r in rois) and manifest["failed"] == []
    for roi in rois:  # the classical restyle does not move anything: the aligned edit is the edit
        pid = roi.partition_id
        assert (crop_dir / f"{pid}.png").read_bytes() == (edited_dir / f"{pid}.png").read_bytes()
    first_edits, first_crops = folder_bytes(edited_dir), folder_bytes(crop_dir)

    # a run stopped after the registration tasks, before the edits' manifest: their edits are taken
    (edited_dir / ".sdg_manifest.png.json").unlink()
    edits_before = stamps(edited_dir)
    run()
    assert stamps(edited_dir) == edits_before and edited.is_fresh(fingerprint)

    # an aligned crop deleted: its task reads the edit back (not edited again), the rest is kept
    gone = rois[1].partition_id
    (crop_dir / f"{gone}.png").unlink()
    edits_before, crops_before = stamps(edited_dir), stamps(crop_dir)
    run()
    assert stamps(edited_dir) == edits_before
    changed = {k for k, v in stamps(crop_dir).items() if crops_before.get(k) != v}
    assert changed == {f"{gone}.png"}
    # an edit deleted: the edits folder makes it again, the aligned crop (same fingerprint) stays
    (edited_dir / f"{gone}.png").unlink()
    crops_before = stamps(crop_dir)
    run()
    assert stamps(crop_dir) == crops_before
    assert folder_bytes(edited_dir) == first_edits and folder_bytes(crop_dir) == first_crops
    assert RUN_FAILURES.drain() == []


def folder_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="pcba_restyle.backends.gpt"):
        restyle_and_register_rois({}, "gpt", "", "", CLASSICAL, run_seed=1)


@pytest.fixture(scope="module")
def dig(tmp_path_factory):
    root = tmp_path_factory.mktemp("restyle")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    run_pipeline("good_image", env="smoke", params={"run_name": "classical"}, cwd=root)
    with FakeImageEditServer({}, default="shift") as server:
        RUN_FAILURES.drain()
        run_pipeline("good_image", env="smoke", cwd=root, params={
            "run_name": "http", "image_edit_backend": "openai_images",
            "image_edit_endpoint": server.url, "image_edit_model": "test-model",
            # the server moves content by 3 % of the picture: 11 px on a ~380 px IC ROI, beyond
            # conf/base's 8 px search (sized for passives' ROIs), so this run searches 16 px
            "pcba_restyle": {"registration": {"max_shift_px": 16}}})
        requests = list(server.log)
    return root / "data" / "dig", requests


def _pairs(run):
    crop = run / "usd2roi-components" / "crop"
    for normal in sorted(crop.glob("*/*/normal_img/*.png")):
        material, cell, _, name = normal.relative_to(crop).parts
        stem = name[:-4]
        mask = crop / material / cell / "cad_mask" / f"{stem}_cad_mask.png"
        yield (f"{material}/{cell}/{stem}", decode_image(normal.read_bytes(), "rgba"),
               decode_image(mask.read_bytes(), "rgba"),
               run / "augment" / "crop" / material / cell / f"{stem}.png")


def test_good_image_writes_a_restyled_aligned_roi_for_every_crop(dig):
    run = dig[0] / "runs" / "classical"
    pairs = list(_pairs(run))
    assert len(pairs) >= 4
    records = {r["partition"]: r for r in JSONLinesDataset(
        filepath=str(run / "augment" / "restyle_registration.jsonl")).load()}
    assert sorted(records) == [pid for pid, *_ in pairs]
    target = np.array(RestyleStyle().lab_mean)  # conf/base style = the dataclass defaults
    distances = []
    for pid, normal, mask, out_path in pairs:
        out = decode_image(out_path.read_bytes(), "unchanged")
        assert out.shape == normal.shape[:2] + (3,)
        before = np.linalg.norm(srgb_to_lab(normal).mean(axis=0) - target)
        after = np.linalg.norm(srgb_to_lab(out).mean(axis=0) - target)
        assert after < 0.7 * before, (pid, before, after)
        distances.append((before, after))
        baseline = mask_edge_agreement(normal, mask)
        assert mask_edge_agreement(out, mask) > max(0.7, baseline - 0.12), pid
        assert records[pid]["method"] == "identity"  # the classical restyle never moves anything
    before, after = np.mean(distances, axis=0)
    assert after < 0.4 * before  # on average the colour moved most of the way to the style
    cookbook = (run / "augment" / "augmentation_config_ovsl2sl.yaml").read_text()
    assert "image_edit_backend: classical" in cookbook and "Omniverse render" in cookbook


def test_conf_base_style_matches_the_defaults(project_root):
    import yaml

    conf = yaml.safe_load((project_root / "conf/base/parameters_pcba_restyle.yml").read_text())
    assert RestyleStyle.from_config(conf["pcba_restyle"]["backends"]["classical"]["style"]) == RestyleStyle()


def test_http_route_by_runtime_params_is_registered_back(dig):
    root, requests = dig
    run = root / "runs" / "http"
    assert requests[0] == ("/v1/models", None)
    pairs = list(_pairs(run))
    assert len([r for r in requests if r[1] is not None]) == len(pairs)  # one edit per ROI
    records = {r["partition"]: r for r in JSONLinesDataset(
        filepath=str(run / "augment" / "restyle_registration.jsonl")).load()}
    for pid, normal, mask, out_path in pairs:
        record = records[pid]
        assert record["method"] != "identity" and record["score"] > record["score_identity"]
        raw = decode_image((run / "augment" / "edited" / f"{pid}.png").read_bytes(), "rgb")
        out = decode_image(out_path.read_bytes(), "rgb")
        baseline = mask_edge_agreement(normal, mask)
        assert mask_edge_agreement(raw, mask) < baseline - 0.2, pid  # the server moved it …
        assert mask_edge_agreement(out, mask) > baseline - 0.1, pid  # … registration put it back
    manifest = json.loads(next((run / "augment" / "crop").glob(".sdg_manifest*.json")).read_text())
    assert manifest["failed"] == []
