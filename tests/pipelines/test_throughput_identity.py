"""The throughput work (issue 18) changes where things are computed, never the bytes written.

Each test runs the code path as it was before an optimisation (kept here as a reference
function) and the new one side by side, and compares every file they write byte for byte.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from sdg_factory.datasets import (
    EditedCropsDataset,
    ImageDataset,
    JSONLinesDataset,
    PartitionedDataset,
    RegisteredEditsDataset,
    RegistrationRecordsDataset,
)
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.fingerprints import NodeFingerprint
from sdg_factory.imaging import rooms
from sdg_factory.imaging.registration import RegistrationError, register, warp_to_reference
from sdg_factory.pipelines.pcba_restyle.nodes import registration_records, restyle_and_register_rois
from tests.restyle_fixtures import roi_loaders, synthetic_roi

PARAMS = {
    "cookbook": {"prompt": "OV to SL", "negative_prompt": "", "steps": 40, "guidance": 4.0, "seed": None},
    "backends": {"classical": {"style": {"lab_mean": [45.0, 12.0, 25.0]}}},
    "registration": {"max_shift_px": 8, "max_rotation_deg": 2.0, "min_score": 0.3},
}


# --- the registration pass as it was: serial, in the node's process, edit decoded twice -------
def _reference_register_edits(edited_crops, roi_crops, registration):
    options = dict(registration)
    min_score = float(options.pop("min_score", 0.0))
    outputs, records = {}, []
    for pid in sorted(edited_crops):
        roi = roi_crops[pid]()
        _, found = register(edited_crops[pid](), roi.normal_img[..., :3], **options)
        accepted = found.score >= min_score
        records.append({"partition": pid, "material": roi.material, "cell": roi.cell, "stem": roi.stem,
                        "class_name": roi.class_name, "accepted": accepted, **found.to_record()})
        outputs[pid] = functools.partial(_reference_aligned_edit, edited_crops[pid], found.matrix, found.method,
                                         None if accepted else "rejected")
    return outputs, records


def _reference_aligned_edit(load_edit, matrix, method, rejected):
    if rejected:
        raise RegistrationError(rejected)
    edited = load_edit()
    if method == "identity":
        return edited
    return warp_to_reference(edited, np.asarray(matrix, np.float32), (edited.shape[1], edited.shape[0]))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def _registered(tmp_path, name, loaders, edits_from=None):
    """The stage as it is now: one pool task per ROI (edit made, or read back from ``edits_from``'s
    copy, then registered), the edits folder saved after it, records gathered from what they wrote."""
    edited_dir = tmp_path / f"{name}_edited"
    if edits_from is not None:
        PartitionedDataset(path=str(edited_dir), dataset=ImageDataset, filename_suffix=".png",
                           progress=False).save(edits_from.load())
    fingerprint = None if edits_from is not None else NodeFingerprint("n", "s", "w", made_by={"fingerprint": "w"})
    aligned, edits, _ = restyle_and_register_rois(loaders, "classical", "", "m", PARAMS, run_seed=5)
    crops = RegisteredEditsDataset(path=str(tmp_path / name), edits=str(edited_dir), progress=False,
                                   executor={"type": "processes", "max_workers": 2})
    edited = EditedCropsDataset(path=str(edited_dir), progress=False)
    for dataset in (crops, edited):
        dataset.bind_fingerprint(fingerprint)
    crops.save(aligned)
    edited.save(edits)
    items = RegistrationRecordsDataset(path=str(tmp_path / name)).load()
    JSONLinesDataset(filepath=str(tmp_path / f"{name}.jsonl")).save(registration_records(crops.load(), items))
    return crops, edited_dir


def test_edit_and_registration_in_one_pool_task_write_the_bytes_of_the_two_passes(tmp_path):
    RUN_FAILURES.drain()
    rois = [synthetic_roi(i, size=(72, 96), cell=f"x{i % 2}_y0") for i in range(6)]
    loaders = roi_loaders(rois)
    edited = PartitionedDataset(path=str(tmp_path / "edited"), dataset=ImageDataset, filename_suffix=".png",
                                progress=False)
    edited.save(restyle_and_register_rois(loaders, "classical", "", "m", PARAMS, run_seed=5)[1])
    plain = _files(tmp_path / "edited")
    # before: edits written, then the serial registration pass reading them back
    outputs, records = _reference_register_edits(edited.load(), loaders, PARAMS["registration"])
    PartitionedDataset(path=str(tmp_path / "before"), dataset=ImageDataset, filename_suffix=".png",
                       progress=False).save(outputs)
    JSONLinesDataset(filepath=str(tmp_path / "before.jsonl")).save(records)
    # now: each task makes its edit, writes it, registers it in memory (nothing read back)
    _registered(tmp_path, "after", loaders)
    assert _files(tmp_path / "after_edited") == plain and len(plain) == 6
    assert _files(tmp_path / "before") == _files(tmp_path / "after")
    assert (tmp_path / "before.jsonl").read_bytes() == (tmp_path / "after.jsonl").read_bytes()

    # make the "model" move two parts (a shift, a small turn) and redraw one: every registration path,
    # taken by tasks that read these edits back (a re-run whose edits are already made)
    moved = {}
    for k, angle, dx in ((1, 0.0, 3.0), (3, 1.2, -2.0)):
        image = edited.load()[rois[k].partition_id]()
        matrix = cv2.getRotationMatrix2D((48, 36), angle, 1.0)
        matrix[0, 2] += dx
        moved[rois[k].partition_id] = cv2.warpAffine(image, matrix, (96, 72), borderMode=cv2.BORDER_REFLECT)
    moved[rois[4].partition_id] = np.random.default_rng(0).integers(0, 255, (72, 96, 3), dtype=np.uint8)
    PartitionedDataset(path=str(tmp_path / "edited"), dataset=ImageDataset, filename_suffix=".png",
                       progress=False, skip_existing=False).save(moved)
    outputs, records = _reference_register_edits(edited.load(), loaders, PARAMS["registration"])
    PartitionedDataset(path=str(tmp_path / "moved_before"), dataset=ImageDataset, filename_suffix=".png",
                       progress=False).save(outputs)
    JSONLinesDataset(filepath=str(tmp_path / "moved_before.jsonl")).save(records)
    after, _ = _registered(tmp_path, "moved_after", loaders, edits_from=edited)

    assert {r["method"] for r in records} >= {"identity", "ecc"}  # both paths of the warp were taken
    assert [r["accepted"] for r in records].count(False) == 1
    before_files, after_files = _files(tmp_path / "moved_before"), _files(tmp_path / "moved_after")
    assert len(before_files) == 5 and before_files == after_files
    assert (tmp_path / "moved_before.jsonl").read_bytes() == (tmp_path / "moved_after.jsonl").read_bytes()
    assert after.failed_partitions() == [rois[4].partition_id]
    RUN_FAILURES.drain()


# --- step 6 annotation as it was: eager, batched in the node's process ------------------------
def _reference_annotate(source, annotator, min_area, splits):
    from sdg_factory.imaging.yolo_labels import yolo_label_lines
    from sdg_factory.pipelines.reference_object.nodes import _yolo_item

    stems, labels = sorted(source), {}
    for start in range(0, len(stems), annotator.batch_size):
        chunk = stems[start:start + annotator.batch_size]
        for stem, mask in zip(chunk, annotator.annotate([source[s]()["image"] for s in chunk]), strict=False):
            labels[stem] = "\n".join(yolo_label_lines(mask, 0, min_area=min_area))
    return {f"{splits[s]}/{s}": functools.partial(_yolo_item, source[s], labels[s]) for s in stems}


def _scene(k: int, size: int = 96) -> dict:
    rng = np.random.default_rng(k)
    image = rng.integers(60, 200, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (30 + 7 * k, 40 + 5 * (k % 3)), 14, 255, -1)
    image[mask > 0] = (200, 30, 40)
    return {"image": image, "mask": mask if k % 2 == 0 else None}


def test_annotation_in_the_pool_tasks_writes_the_bytes_of_the_batched_node(tmp_path):
    from sdg_factory.backends.annotation import build_annotator
    from sdg_factory.datasets.masked_images import MaskedImageFolder
    from sdg_factory.datasets.yolo import YoloItems, YoloSegDataset
    from sdg_factory.pipelines.reference_object.nodes import annotate_dataset

    reference = np.full((64, 64, 3), 255, np.uint8)
    reference_mask = np.zeros((64, 64), np.uint8)
    cv2.circle(reference_mask, (32, 32), 16, 255, -1)
    reference[reference_mask > 0] = (200, 30, 40)
    scenes = MaskedImageFolder(path=str(tmp_path / "scenes"), progress=False)
    scenes.save({f"scene_{k}": _scene(k) for k in range(10)})
    params = {"object_name": "part", "enable_annotation": True, "enable_qwen_augmentation": False,
              "split_ratio": 0.7, "annotation": {"backend": "classical", "batch_size": 4, "min_part_area": 12}}
    now = annotate_dataset(scenes.load(), {}, reference, reference_mask, params, seed=3)
    assert all(isinstance(v, functools.partial) and v.func.__name__ == "_annotated_item" for v in now.items.values())
    splits = dict(pid.split("/")[::-1] for pid in now.items)
    annotator = build_annotator({"backend": "classical", "batch_size": 4}, reference, reference_mask)
    before = YoloItems(["part"], _reference_annotate(scenes.load(), annotator, 12.0, splits))
    YoloSegDataset(path=str(tmp_path / "before"), progress=False).save(before)
    YoloSegDataset(path=str(tmp_path / "after"), progress=False,
                   executor={"type": "processes", "max_workers": 2}).save(now)

    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and not p.name.startswith(".")}

    labelled = [v for k, v in tree(tmp_path / "before").items() if k.endswith(".txt") and v]
    assert len(labelled) >= 8  # the annotator found the part in most scenes
    assert tree(tmp_path / "before") == tree(tmp_path / "after")


def test_an_annotated_item_writes_its_sources_png_file_where_re_encoding_would_write_it(tmp_path, monkeypatch):
    """``image_from``: the YOLO image is the source's file when that is what encoding the decoded
    pixels writes (an 8-bit RGB PNG), and a fresh encoding otherwise (an RGBA source)."""
    import sdg_factory.datasets.yolo as yolo_module
    from sdg_factory.datasets.masked_images import MaskedImageFolder
    from sdg_factory.datasets.yolo import YoloItems, YoloSegDataset

    source = MaskedImageFolder(path=str(tmp_path / "src"), progress=False)
    rgba = np.dstack([_scene(5)["image"], np.full((96, 96), 200, np.uint8)])
    source.save({"s0": _scene(0), "rgba": {"image": rgba, "mask": None}})
    loaders = source.load()
    encoded, encode = [], yolo_module.encode_image
    monkeypatch.setattr(yolo_module, "encode_image", lambda image, ext: encoded.append(ext) or encode(image, ext))
    items = {f"train/{k}": {"image": loaders[k]()["image"], "label": "0 0.1 0.1 0.2 0.2", "image_from": loaders[k]}
             for k in ("s0", "rgba")}
    YoloSegDataset(path=str(tmp_path / "yolo"), progress=False).save(YoloItems(["part"], items))
    assert (tmp_path / "yolo/train/images/s0.png").read_bytes() == (tmp_path / "src/s0.png").read_bytes()
    assert encoded == [".png"]  # only the RGBA source was encoded again
    again = cv2.imread(str(tmp_path / "yolo/train/images/rgba.png"), cv2.IMREAD_UNCHANGED)
    assert again.shape == (96, 96, 3) and np.array_equal(again[..., ::-1], rgba[..., :3])


# --- the combine steps as they were: every item decoded and re-encoded ------------------------
def test_combined_folders_copy_the_bytes_that_re_encoding_wrote(tmp_path):
    from sdg_factory.datasets.masked_images import MaskedImageFolder
    from sdg_factory.datasets.yolo import YoloItems, YoloSegDataset

    items = {f"s{k}": _scene(k) for k in range(4)}
    items["rgba"] = {"image": np.dstack([_scene(5)["image"], np.full((96, 96), 200, np.uint8)]), "mask": None}
    items["gray"] = {"image": _scene(6)["image"][..., 0], "mask": _scene(6)["mask"]}
    source = MaskedImageFolder(path=str(tmp_path / "src"), progress=False)
    source.save(items)
    copied = MaskedImageFolder(path=str(tmp_path / "copied"), progress=False,
                               executor={"type": "processes", "max_workers": 2})
    copied.save(source.load())
    decoded = MaskedImageFolder(path=str(tmp_path / "decoded"), progress=False)
    decoded._copy_item = None  # the old path: load (decode) then save (encode)
    decoded.save(source.load())

    yolo = YoloSegDataset(path=str(tmp_path / "ysrc"), progress=False)
    yolo.save(YoloItems(["part"], {"train/a": {"image": items["s0"]["image"], "label": "0 0.1 0.1 0.2 0.2"},
                                   "val/b": {"image": items["s1"]["image"], "label": ""}}))
    ycopied, ydecoded = (YoloSegDataset(path=str(tmp_path / n), progress=False) for n in ("ycopied", "ydecoded"))
    ydecoded._copy_item = None
    ycopied.save(yolo.load())
    ydecoded.save(yolo.load())

    for a, b in (("copied", "decoded"), ("ycopied", "ydecoded")):
        left = {str(p.relative_to(tmp_path / a)): p.read_bytes() for p in sorted((tmp_path / a).rglob("*"))
                if p.is_file() and not p.name.startswith(".")}
        right = {str(p.relative_to(tmp_path / b)): p.read_bytes() for p in sorted((tmp_path / b).rglob("*"))
                 if p.is_file() and not p.name.startswith(".")}
        assert left and left == right, a
    # the copy was taken where it is exact, and only there
    assert (tmp_path / "copied" / "s0.png").read_bytes() == (tmp_path / "src" / "s0.png").read_bytes()
    assert (tmp_path / "copied" / "rgba.png").read_bytes() != (tmp_path / "src" / "rgba.png").read_bytes()


# --- the classical annotator's posterior as it was: evaluated per pixel -----------------------
def _reference_object_posterior(model, image):
    from sdg_factory.imaging.segmentation import _features, _histogram

    def blob_score(post, index, hist):
        likely = (post > 0.5).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(likely, connectivity=8)
        if n <= 1:
            return 0.0
        sums = np.bincount(labels.ravel(), weights=post.ravel(), minlength=n)[1:]
        blob = labels == 1 + int(np.argmax(sums))
        return float(np.sqrt(_histogram(index[blob]) * hist).sum() * np.log1p(sums.max()))

    index = _features(image)
    image_hist = _histogram(index)[index]
    p = model.prior
    best, best_score, light = None, -1.0, 0
    for k, hist in enumerate(model.object_hists):
        obj = hist[index] * p
        post = obj / (obj + image_hist * (1 - p) + 1e-9)
        score = blob_score(post, index, hist)
        if score > best_score:
            best, best_score, light = post, score, k
    return best, light


def _textured_scene(k: int, size=(120, 160)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + k)
    image = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (0, 0), 3)
    image = cv2.addWeighted(image, 0.6, np.full_like(image, (90, 120, 150)), 0.4, 0)
    mask = np.zeros(size, np.uint8)
    cv2.ellipse(mask, (50 + 9 * k, 60), (22, 30), 15 * k, 0, 360, 255, -1)
    part = np.dstack([np.full(size, c, np.uint8) for c in (210, 50, 30)])
    part = cv2.add(part, rng.integers(0, 25, (*size, 3), dtype=np.uint8))
    image[mask > 0] = part[mask > 0]
    return image, mask


def test_the_posterior_per_bin_is_the_posterior_per_pixel_bit_for_bit():
    from sdg_factory.imaging.segmentation import ReferenceModel, annotate_with_reference, object_posterior

    reference, reference_mask = _textured_scene(0)
    model = ReferenceModel.fit(reference, reference_mask)
    found = 0
    for k in range(1, 6):
        image, truth = _textured_scene(k)
        before, light_before = _reference_object_posterior(model, image)
        now, light_now, _ = object_posterior(model, image, return_light=True)
        assert light_now == light_before and now.dtype == before.dtype and np.array_equal(now, before)
        mask = annotate_with_reference(model, image)
        assert np.array_equal(mask, annotate_with_reference(model, image, grabcut_margin=None))
        found += ((mask > 0) & (truth > 0)).sum() / max(1, ((mask > 0) | (truth > 0)).sum()) > 0.7
        # the opt-in window: GrabCut on the grown box, a mask close to (not always equal to) the default's
        windowed = annotate_with_reference(model, image, grabcut_margin=1.0) > 0
        assert (windowed & (mask > 0)).sum() / max(1, (windowed | (mask > 0)).sum()) > 0.9
    assert found >= 4  # the posterior found the part: the comparison was about real masks


# --- the scene renderer's point lights as they were: dot products over (n, 3) arrays, a -------
# --- highlight computed on every pixel -----------------------------------------------------------
def _reference_add_point_lights(room, p, d, normals, spec, ao, light, emission):
    for source in room.lights:
        to_light = np.asarray(source.position, np.float32)[None, :] - p
        dist2 = np.einsum("ij,ij->i", to_light, to_light)
        to_light /= np.sqrt(dist2)[:, None] + 1e-6
        lam = np.clip(np.einsum("ij,ij->i", normals, to_light), 0, None)
        falloff = source.power / (dist2 + 1.0)
        light += (lam * falloff * (0.55 + 0.45 * ao))[:, None] * np.asarray(source.color, np.float32)[None, :]
        half = to_light - d
        half /= np.linalg.norm(half, axis=1, keepdims=True) + 1e-6
        highlight = np.clip(np.einsum("ij,ij->i", normals, half), 0, None) ** 24
        emission += (spec * highlight * falloff * 0.8)[:, None] * np.asarray(source.color, np.float32)[None, :]


def test_point_lights_per_coordinate_and_highlights_on_specular_pixels_only_render_the_same_scenes(monkeypatch):
    shiny = []
    real = rooms._add_point_lights

    def counting(room, p, d, normals, spec, *rest):
        shiny.append(int((spec > 0).sum()))
        return real(room, p, d, normals, spec, *rest)

    tags = {"lighting": "fluorescent_overhead", "time_of_day": "night", "occupancy": "busy",
            "clutter": "heavy_clutter", "layout": "standard"}
    for k, archetype in enumerate(("kitchen", "lab", "grocery")):
        monkeypatch.setattr(rooms, "_add_point_lights", counting)
        now = rooms.render_scene(archetype, tags, 256, 144, seed=k)
        monkeypatch.setattr(rooms, "_add_point_lights", _reference_add_point_lights)
        before = rooms.render_scene(archetype, tags, 256, 144, seed=k)
        assert now.tobytes() == before.tobytes(), archetype
    assert sum(shiny) > 0 and min(shiny) < 256 * 144  # highlights were drawn, on some pixels only


# --- the scene renderer's intersection and shading as they were: a reduction over the 3 axes, ----
# --- a whole-chunk mask per surface, fixture and window ------------------------------------------
def _reference_intersect(room, origin: np.ndarray, d: np.ndarray, bounds_of):
    H, W, _ = d.shape
    o = origin.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        tx = np.where(d[..., 0] > 0, (room.width - o[0]) * inv[..., 0], -o[0] * inv[..., 0])
        ty = np.where(d[..., 1] > 0, (room.height - o[1]) * inv[..., 1], -o[1] * inv[..., 1])
        tz = np.where(d[..., 2] > 0, (room.depth - o[2]) * inv[..., 2], -o[2] * inv[..., 2])
    stack = np.stack([np.nan_to_num(tx, nan=np.inf, posinf=np.inf),
                      np.nan_to_num(ty, nan=np.inf, posinf=np.inf),
                      np.nan_to_num(tz, nan=np.inf, posinf=np.inf)])
    axis = np.argmin(stack, axis=0)
    t = np.take_along_axis(stack, axis[None], 0)[0]
    surface = np.where(axis == 0, np.where(d[..., 0] > 0, rooms.WALL_X1, rooms.WALL_X0),
                       np.where(axis == 1, np.where(d[..., 1] > 0, rooms.CEILING, rooms.FLOOR),
                                np.where(d[..., 2] > 0, rooms.WALL_Z1, rooms.WALL_Z0))).astype(np.int32)
    normal_code = surface.copy()  # shell surfaces use their own inward normals
    for index, box in enumerate(room.boxes):
        y0, y1, x0, x1 = bounds_of(box)
        if y1 <= y0 or x1 <= x0:
            continue
        sub_inv = inv[y0:y1, x0:x1]
        lo = (np.asarray(box.lo, np.float32) - o) * sub_inv
        hi = (np.asarray(box.hi, np.float32) - o) * sub_inv
        tmin = np.minimum(lo, hi)
        tmax = np.maximum(lo, hi)
        tmin = np.nan_to_num(tmin, nan=-np.inf)
        tmax = np.nan_to_num(tmax, nan=np.inf)
        t_enter = tmin.max(axis=2)
        t_exit = tmax.min(axis=2)
        hit = (t_exit >= np.maximum(t_enter, 1e-3)) & (t_enter > 1e-3) & (t_enter < t[y0:y1, x0:x1])
        if not hit.any():
            continue
        enter_axis = tmin.argmax(axis=2)
        sign = np.take_along_axis(d[y0:y1, x0:x1], enter_axis[..., None], 2)[..., 0] > 0
        # the face met first faces back toward the ray: normal = -sign(d) along the entry axis
        code = np.where(enter_axis == 0, np.where(sign, 3, 2),
                        np.where(enter_axis == 1, np.where(sign, 1, 0), np.where(sign, 5, 4)))
        t[y0:y1, x0:x1] = np.where(hit, t_enter, t[y0:y1, x0:x1])
        surface[y0:y1, x0:x1] = np.where(hit, rooms.BOX0 + index, surface[y0:y1, x0:x1])
        normal_code[y0:y1, x0:x1] = np.where(hit, code, normal_code[y0:y1, x0:x1])
    return t, surface, normal_code



def _reference_shade(room, origin, d, t, surface, code, rng: np.random.Generator) -> np.ndarray:
    H, W, _ = d.shape
    p = (origin[None, None, :] + d * t[..., None]).reshape(-1, 3).astype(np.float32)
    surface = surface.reshape(-1)
    code = code.reshape(-1)
    normals = rooms._NORMALS[code]
    albedo = np.zeros((H * W, 3), np.float32)
    emission = np.zeros((H * W, 3), np.float32)
    spec = np.zeros(H * W, np.float32)

    m = surface == rooms.FLOOR
    albedo[m] = rooms._floor_albedo(room, p[m, 0], p[m, 2])
    m = surface == rooms.CEILING
    albedo[m] = rooms._ceiling_albedo(room, p[m, 0], p[m, 2])
    for x0, x1, z0, z1 in room.panels:
        lit = m & (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 2] >= z0) & (p[:, 2] <= z1)
        emission[lit] = np.asarray(room.lights[0].color if room.lights else (1, 1, 1)) * 1.6
    walls = {rooms.WALL_X0: (2, 1), rooms.WALL_X1: (2, 1), rooms.WALL_Z0: (0, 1), rooms.WALL_Z1: (0, 1)}
    for wall, (ua, va) in walls.items():
        m = surface == wall
        albedo[m] = rooms._wall_albedo(room, p[m, ua], p[m, va])
    for feature in room.features:
        ua = 2 if feature.wall in (rooms.WALL_X0, rooms.WALL_X1) else 0
        m = ((surface == feature.wall) & (p[:, ua] >= feature.u0) & (p[:, ua] <= feature.u1)
             & (p[:, 1] >= feature.v0) & (p[:, 1] <= feature.v1))
        if feature.kind == "window":
            frame = (rooms._lines(p[:, ua] - feature.u0, (feature.u1 - feature.u0) / 2, 0.03)
                     | rooms._lines(p[:, 1] - feature.v0, (feature.v1 - feature.v0), 0.03))
            glass = m & ~frame
            emission[glass] = np.asarray(room.sky) * (1.2 + 0.3 * (p[glass, 1] - feature.v0))[:, None]
            albedo[glass] = 0.0
            albedo[m & frame] = (0.85, 0.85, 0.85)
        elif feature.kind == "door":
            ribs = np.mod(p[:, 1], 0.15) < 0.03
            albedo[m] = np.asarray(feature.color) * np.where(ribs[m], 0.6, 1.0)[:, None]
            edge = m & ((p[:, ua] - feature.u0 < 0.18) | (feature.u1 - p[:, ua] < 0.18)
                        | (feature.v1 - p[:, 1] < 0.25))
            albedo[edge] = (0.08, 0.08, 0.08)
        else:
            albedo[m] = feature.color

    phase = float(rng.uniform(0, 1))
    for index, box in enumerate(room.boxes):
        m = surface == rooms.BOX0 + index
        if not m.any():
            continue
        albedo[m] = rooms._box_albedo(box, p[m], code[m], phase + index * 0.13)
        if box.material == "metal":
            spec[m] = 0.35
        elif box.material in ("glass", "screen"):
            spec[m] = 0.6
            if box.material == "glass":
                emission[m] += np.asarray(box.color) * 0.35
        if box.material == "screen" and rng.random() < 0.7:
            front = m & (code == 4)
            emission[front] = rooms._jitter(rng, (0.35, 0.5, 0.7), 0.2)

    # lighting: ambient + point lights (Lambert, inverse square) + sun patches through windows
    light = np.repeat(np.asarray(room.ambient, np.float32)[None, :], H * W, 0)
    ao = rooms._contact_shadow(room, p, np.flatnonzero(surface == rooms.FLOOR))
    light *= ao[:, None]
    rooms._add_point_lights(room, p, d.reshape(-1, 3), normals, spec, ao, light, emission)
    light += rooms._sun_patches(room, p, np.flatnonzero(surface == rooms.FLOOR), normals)

    color = albedo * light + emission
    # atmospheric depth cue for big halls
    fog = 1 - np.exp(-t.reshape(-1) / (room.width * 6))
    color = color * (1 - fog[:, None]) + fog[:, None] * np.asarray(room.ambient) * 2.0
    return color.reshape(H, W, 3)


def test_shading_by_surface_index_and_elementwise_axis_extrema_render_the_same_scenes(monkeypatch):
    tag_sets = [{}, {"lighting": "fluorescent_overhead", "time_of_day": "night", "occupancy": "busy",
                     "clutter": "heavy_clutter", "layout": "standard"},
                {"time_of_day": "day", "lighting": "natural"}]
    for k, archetype in enumerate(rooms.ARCHETYPES):
        for j, tags in enumerate(tag_sets):
            now = rooms.render_scene(archetype, tags, 320, 180, seed=7 * k + j)
            with monkeypatch.context() as patch:
                patch.setattr(rooms, "_intersect", _reference_intersect)
                patch.setattr(rooms, "_shade", _reference_shade)
                before = rooms.render_scene(archetype, tags, 320, 180, seed=7 * k + j)
            assert now.tobytes() == before.tobytes(), (archetype, tags)


# --- the restyle and registration maths as they were: copies, and a search always run ----------
def _reference_camera(rgb01, blur_sigma, noise_sigma, rng):
    out = rgb01 * 255.0
    if blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=blur_sigma, borderType=cv2.BORDER_REFLECT)
    if noise_sigma > 0:
        out = out + rng.standard_normal(out.shape, dtype=np.float32) * np.float32(noise_sigma)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _reference_transfer(rgb, target_mean, target_std, strength=1.0, max_std_ratio=2.5):
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    mean, std = (v.reshape(3).astype(np.float32) for v in cv2.meanStdDev(lab))
    ratio = np.clip(np.asarray(target_std, np.float32) / np.maximum(std, 1e-3), 1.0 / max_std_ratio, max_std_ratio)
    scale = 1.0 + strength * (ratio - 1.0)
    shift = mean + strength * (np.asarray(target_mean, np.float32) - mean)
    return np.clip(cv2.cvtColor((lab * scale + (shift - mean * scale)).astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)


def _reference_tone_curve(rgb01, gamma=1.0, s_curve=0.0):
    x = np.linspace(0.0, 1.0, 4096, dtype=np.float32) ** np.float32(gamma)
    table = (1.0 - s_curve) * x + s_curve * (x * x * (3.0 - 2.0 * x))
    index = (np.clip(rgb01, 0.0, 1.0) * np.float32(4095) + np.float32(0.5)).astype(np.int32)
    return table.astype(np.float32)[index]


def _reference_gradient_map(image, blur_sigma=1.0):
    gray = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), blur_sigma)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), max(blur_sigma, 0.5))
    return ((mag - mag.mean()) / max(float(mag.std()), 1e-6)).astype(np.float32)


def test_the_cheaper_restyle_and_registration_maths_give_the_same_bits(monkeypatch):
    from sdg_factory.imaging import registration, restyle

    style = {"lab_mean": [58.0, 4.0, 14.0], "noise_sigma": 1.5, "blur_sigma": 0.6}
    rng = np.random.default_rng(7)
    cases = [synthetic_roi(i, size=(72 + 8 * i, 96)).normal_img for i in range(4)]
    cases += [cv2.GaussianBlur(rng.integers(0, 255, (90, 120, 4), dtype=np.uint8), (0, 0), 2) for _ in range(2)]
    now, before = [], []
    for k, image in enumerate(cases):
        edit = restyle.restyle_image(image, style, seed=k)
        if k % 3 == 1:  # an edit that moved the picture: the search runs and finds it
            matrix = cv2.getRotationMatrix2D((40, 30), 0.8 * k, 1.0)
            matrix[0, 2] += 2.0
            edit = cv2.warpAffine(edit, matrix, edit.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        if k == 5:  # a redrawn one: nothing aligns
            edit = rng.integers(0, 255, edit.shape, dtype=np.uint8)
        now.append((edit, *registration.register(edit[..., :3], image[..., :3], max_shift_px=8, max_rotation_deg=3.0)))
    with monkeypatch.context() as patch:
        for name, ref in (("camera", _reference_camera), ("transfer_colour_statistics", _reference_transfer),
                          ("tone_curve", _reference_tone_curve)):
            patch.setattr(restyle, name, ref)
        patch.setattr(registration, "gradient_map", _reference_gradient_map)
        patch.setattr(registration, "NCC_ROUNDING", np.inf)  # the search always runs
        for k, image in enumerate(cases):
            edit = restyle.restyle_image(image, style, seed=k)
            if k % 3 == 1:
                matrix = cv2.getRotationMatrix2D((40, 30), 0.8 * k, 1.0)
                matrix[0, 2] += 2.0
                edit = cv2.warpAffine(edit, matrix, edit.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
            if k == 5:
                edit = now[5][0]
            before.append((edit, *registration.register(edit[..., :3], image[..., :3], max_shift_px=8,
                                                        max_rotation_deg=3.0)))
    for (edit_now, aligned_now, found_now), (edit_then, aligned_then, found_then) in zip(now, before, strict=True):
        assert edit_now.tobytes() == edit_then.tobytes()
        assert aligned_now.tobytes() == aligned_then.tobytes() and found_now == found_then
    methods = [found.method for _, _, found in now]
    assert "identity" in methods and {"ecc", "coarse"} & set(methods)  # both the shortcut and the search
    assert max(found.score_identity for _, _, found in now) > 0.991  # the shortcut was taken


# --- the crop's image decoded alone (its cad_mask never read by the restyle task) --------------
def _whole_roi(loader):
    return loader()  # a loader without image_only: the task decodes normal_img and cad_mask


def test_tasks_that_skip_the_cad_mask_decode_write_the_same_bytes(tmp_path):
    import pickle

    from sdg_factory.datasets import RoiCropDataset

    RUN_FAILURES.drain()
    rois = [synthetic_roi(i, size=(72, 96), cell=f"x{i % 2}_y0") for i in range(4)]
    crop = RoiCropDataset(path=str(tmp_path / "crop"), progress=False)
    crop.save({cell: [r for r in rois if r.cell == cell] for cell in ("x0_y0", "x1_y0")})
    loaders = crop.load()
    pid = rois[0].partition_id
    image_only, whole = loaders[pid].image_only(), loaders[pid]()
    assert image_only.cad_mask is None and whole.cad_mask is not None
    assert np.array_equal(image_only.normal_img, whole.normal_img)
    assert (image_only.class_name, image_only.bbox_xyxy) == (whole.class_name, whole.bbox_xyxy)

    _registered(tmp_path, "image_only", loaders)
    _registered(tmp_path, "whole", {p: functools.partial(_whole_roi, loader) for p, loader in loaders.items()})
    assert len(_files(tmp_path / "whole")) == 4
    assert _files(tmp_path / "image_only") == _files(tmp_path / "whole")
    assert _files(tmp_path / "image_only_edited") == _files(tmp_path / "whole_edited")
    assert (tmp_path / "image_only.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()

    # a pool task's job pickles its loaders' dataset without that dataset's manifest cache
    assert loaders[pid].item_fingerprint  # fills the cache (what the fingerprint hook does in a run)
    assert crop._manifest_cache is not None
    copy = pickle.loads(pickle.dumps(loaders[pid]))
    assert copy.source._manifest_cache is None and crop._manifest_cache is not None
    assert np.array_equal(copy().cad_mask, whole.cad_mask)
    RUN_FAILURES.drain()
