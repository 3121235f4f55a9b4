"""The image maths of the reference-object pipeline, checked against independent computations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sdg_factory.imaging import cv_augment as cva
from sdg_factory.imaging.backdrop import render_backdrop
from sdg_factory.imaging.masks import mask_iou
from sdg_factory.imaging.placement import cutout_on_white, place_in_scene
from sdg_factory.imaging.segmentation import reference_mask_classical, segment_on_white
from sdg_factory.imaging.views import ViewSpec, parse_views, render_view
from sdg_factory.imaging.weather import augment_scene
from sdg_factory.imaging.yolo_labels import rasterize_label, yolo_label_lines
from sdg_factory.pipelines.reference_object.scene_prompts import ProjectInfoError, template_prompts


def _photo(seed=0, size=(120, 160)):
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur((rng.random((*size, 3)) * 255).astype(np.uint8), (0, 0), 2)
    return np.clip(image.astype(int) + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [10, 25, 40, 75])
@pytest.mark.parametrize("iterations", [1, 2, 10, 23])
def test_repeated_jpeg_early_stop_is_byte_identical_to_every_pass(quality, iterations):
    for seed in range(2):
        image = _photo(seed)
        fast, passes = cva.repeated_jpeg(image, quality, iterations)
        assert passes <= iterations
        assert np.array_equal(fast, cva.repeated_jpeg_every_pass(image, quality, iterations))


@pytest.mark.parametrize("kernel,angle", [(21, 0.0), (21, 90.0), (33, 30.0), (33, 45.0), (55, 123.4), (25, 300.0)])
def test_motion_blur_equals_dense_line_kernel_convolution(kernel, angle):
    image = _photo(3)
    ours = cva.motion_blur(image, kernel, angle)
    dense = cv2.filter2D(image, -1, cva.motion_kernel(kernel, angle))  # border reflect-101, as ours
    assert np.abs(ours.astype(int) - dense).max() <= 1


@pytest.mark.parametrize("kernel,angle", [(21, 17.0), (41, 75.5), (55, 200.0), (25, 300.0)])
def test_motion_kernel_is_a_connected_centred_line(kernel, angle):
    dense = cva.motion_kernel(kernel, angle)
    assert dense.sum() == pytest.approx(1.0)
    rows, cols = np.nonzero(dense)
    centre = kernel // 2
    assert dense[centre, centre] > 0
    # every tap lies on the line through the centre at `angle` (within the rounding of one pixel)
    rad = np.deg2rad(angle)
    distance = np.abs((cols - centre) * np.sin(rad) - (rows - centre) * np.cos(rad))
    assert distance.max() <= np.sqrt(2) / 2 + 1e-6
    # and the line is one 8-connected stroke of length kernel - 1 through the centre
    count, _ = cv2.connectedComponents((dense > 0).astype(np.uint8), connectivity=8)
    assert count - 1 == 1
    span = max(cols.max() - cols.min(), rows.max() - rows.min())
    assert abs(span - (kernel - 1) * max(abs(np.cos(rad)), abs(np.sin(rad)))) <= 1


def test_motion_kernel_is_albumentations_line():
    pytest.importorskip("albumentations", reason="the peer check needs the bench extra (make bench)")
    import random

    from albumentations.augmentations.blur.functional import create_motion_kernel

    for k, a in ((21, 17.0), (41, 75.5), (55, 200.0)):
        theirs = create_motion_kernel(k, a, 0.0, False, random.Random(0))
        assert np.array_equal(cva.motion_kernel(k, a) > 0, theirs > 0)


def test_sample_ops_follow_probabilities_and_ranges():
    config = cva.CvAugmentConfig.from_params({"bw_probability": 0.0, "motion_blur_probability": 1.0,
                                              "brightness_probability": 1.0, "brightness_range": [0.5, 0.6]})
    for seed in range(20):
        ops = {op["op"]: op for op in cva.sample_ops(config, np.random.default_rng(seed))}
        assert "black_white" not in ops and "jpeg" in ops and "motion_blur" in ops
        assert 0.5 <= ops["brightness"]["factor"] <= 0.6
        assert ops["motion_blur"]["kernel"] % 2 == 1 and 21 <= ops["motion_blur"]["kernel"] <= 55
        assert 10 <= ops["jpeg"]["iterations"] <= 30 and 10 <= ops["jpeg"]["quality"] <= 40
    with pytest.raises(ValueError, match="bw_probability"):
        cva.CvAugmentConfig.from_params({"bw_probability": 1.5})
    with pytest.raises(ValueError, match="saturation_range"):
        cva.CvAugmentConfig.from_params({"saturation_range": [2.0, 1.0]})


def test_colour_ops_match_their_definitions():
    image = _photo(4)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)
    mean = gray.mean()
    expected = np.clip(np.rint(image * 0.5 + mean * 0.5), 0, 255)
    assert np.abs(cva.contrast(image, 0.5).astype(int) - expected).max() <= 1
    assert np.abs(cva.brightness(image, 1.3).astype(int) - np.clip(np.rint(image * 1.3), 0, 255)).max() <= 1
    bw = cva.black_white(image)
    assert (bw[..., 0] == bw[..., 1]).all() and (bw[..., 1] == bw[..., 2]).all()
    assert np.array_equal(cva.saturation(bw, 2.0), bw)


def test_one_polygon_per_connected_part_round_trips():
    mask = np.zeros((100, 200), np.uint8)
    cv2.rectangle(mask, (10, 10), (60, 80), 255, -1)
    cv2.circle(mask, (120, 50), 20, 255, -1)
    cv2.rectangle(mask, (170, 20), (185, 40), 255, -1)
    mask[0:2, 198:200] = 255  # a 4-pixel speck: below min_area, dropped
    lines = yolo_label_lines(mask, 0, min_area=12)
    assert len(lines) == 3 and all(line.startswith("0 ") for line in lines)
    assert mask_iou(rasterize_label("\n".join(lines), mask.shape), mask) > 0.95


def test_template_prompts_cover_values_without_duplicates():
    info = "Some context.\nplace: kitchen | office | garage\nlight: warm light | cold light\n" \
           "template: the {object} in a {place}, {light}\n"
    prompts = template_prompts(info, "mug", 6, np.random.default_rng(0))
    assert len(set(prompts)) == 6 and all(p.startswith("the mug in a ") for p in prompts)
    first_three = prompts[:3]
    assert {p.split("in a ")[1].split(",")[0] for p in first_three} == {"kitchen", "office", "garage"}
    with pytest.raises(ProjectInfoError, match="only make 6"):
        template_prompts(info, "mug", 7, np.random.default_rng(0))
    with pytest.raises(ProjectInfoError, match="slot '{colour}'"):
        template_prompts("template: a {colour} {object}\n", "mug", 1, np.random.default_rng(0))


def test_reference_mask_maker_finds_the_sample_object(sample_image, sample_mask):
    made = reference_mask_classical(sample_image)
    assert mask_iou(made, sample_mask) > 0.95


def test_views_are_named_and_masks_exact(sample_image, sample_mask):
    white = cutout_on_white(sample_image, sample_mask)
    assert (white[sample_mask == 0] == 255).all()
    specs = parse_views(["front/eye_level", "back_left/elevated/close_up", {"view": "side_right"}])
    assert [s.name(i) for i, s in enumerate(specs)] == [
        "perspective_00_front__eye_level", "perspective_01_back_left__elevated__close_up",
        "perspective_02_side_right__eye_level"]
    for spec in specs:
        view, mask = render_view(white, sample_mask, spec)
        assert (view[mask == 0] == 255).all() and (mask > 0).mean() > 0.05
        assert mask_iou(segment_on_white(view), mask) > 0.95
    with pytest.raises(ValueError, match="perspective view"):
        ViewSpec("upside_down")


def test_place_in_scene_mask_is_the_placed_object(sample_image, sample_mask):
    rng = np.random.default_rng(5)
    prompt = "the toy robot on a wooden floor in a kitchen, warm light"
    scene, style = render_backdrop(prompt, (320, 240), rng)
    white = cutout_on_white(sample_image, sample_mask)
    composite, mask, place = place_in_scene(white, sample_mask, scene, rng, style.horizon, style.scale)
    assert composite.shape == scene.shape and mask.shape == scene.shape[:2]
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min()) == (place.x, place.y)
    # the mask is the object's mask resized into its box (area scales with the box)
    area = (sample_mask > 0).sum() * place.height * place.width / np.prod(
        np.ptp(np.nonzero(sample_mask), axis=1) + 1)
    assert abs((mask > 0).sum() / area - 1) < 0.05
    # inside the mask the object's colours (the blue body) are present; the scene has none there
    blue = (composite[..., 2].astype(int) - composite[..., 0]) > 60
    assert blue[mask > 0].mean() > 0.2 and blue[mask == 0].mean() < 0.01
    augmented, effects = augment_scene(composite, "Add light fog to the scene", rng)
    assert effects == ["fog"] and augmented.shape == composite.shape and not np.array_equal(augmented, composite)
