"""Model backends through their production paths: SAM2 (hiera_t from the package's config, random
weights) for the reference mask and the PerSAM-style annotator; the classical annotator's accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdg_factory.backends.annotation import build_annotator, make_reference_mask
from sdg_factory.backends.annotation.persam_sam2 import location_prior
from sdg_factory.backends.perspectives import PERSPECTIVE_GENERATORS
from sdg_factory.imaging.views import ViewSpec

SAM2 = {"config": "configs/sam2.1/sam2.1_hiera_t.yaml", "checkpoint": None, "device": "cpu", "image_size": 256}


def test_location_prior_points_and_box():
    sim = np.zeros((60, 80), np.float32)
    sim[20:40, 30:50] = 1.0
    sim[25, 35] = 1.5
    sim[5, 70] = -1.0
    pos, neg, box = location_prior(sim)
    assert tuple(pos) == (35, 25) and tuple(neg) == (70, 5)
    assert tuple(box) == (30, 20, 50, 40)


def test_persam_sam2_annotator_batches_through_sam2(sample_image, sample_mask):
    torch.manual_seed(0)
    annotator = build_annotator({"backend": "persam_sam2", "batch_size": 2, "sam2": SAM2}, sample_image, sample_mask)
    images = [sample_image, sample_image[::-1].copy(), sample_image[:200, :240].copy()]
    masks = annotator.annotate(images)
    assert [m.shape for m in masks] == [(320, 320), (320, 320), (200, 240)]
    assert all(m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255} for m in masks)
    assert annotator.batches_encoded == 2  # 3 images in batches of 2: set_image_batch twice
    sim = annotator.similarity(0, (200, 240))
    assert sim.shape == (200, 240) and np.isfinite(sim).all()


def test_sam2_reference_mask_with_a_point(sample_image):
    torch.manual_seed(0)
    mask = make_reference_mask(sample_image, "sam2", point=[160, 170], sam2=SAM2)
    assert mask.shape == sample_image.shape[:2] and mask.dtype == np.uint8


def test_missing_sam2_checkpoint_names_the_parameter(sample_image, tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation.sam2.checkpoint"):
        make_reference_mask(sample_image, "sam2", sam2={**SAM2, "checkpoint": str(tmp_path / "no.pt")})


def test_classical_annotator_finds_the_object_in_relit_composites(sample_image, sample_mask):
    from sdg_factory.imaging.backdrop import render_backdrop
    from sdg_factory.imaging.masks import mask_iou
    from sdg_factory.imaging.placement import cutout_on_white, place_in_scene
    from sdg_factory.imaging.weather import augment_scene

    annotator = build_annotator({"backend": "classical"}, sample_image, sample_mask)
    white = cutout_on_white(sample_image, sample_mask)
    images, truths = [], []
    for seed, (prompt, edit) in enumerate([("on a grey carpet in a living room, cool light", None),
                                           ("on a kitchen counter, bright daylight, close-up", "warm golden light"),
                                           ("on a wooden shelf next to some books, wide shot", "light fog")]):
        rng = np.random.default_rng(seed)
        scene, style = render_backdrop(prompt, (320, 240), rng)
        image, mask, _ = place_in_scene(white, sample_mask, scene, rng, style.horizon, style.scale)
        images.append(augment_scene(image, edit, rng)[0] if edit else image)
        truths.append(mask)
    ious = [mask_iou(m, t) for m, t in zip(annotator.annotate(images), truths, strict=False)]
    # close-ups under a strong colour cast are the classical annotator's weak case (see the docs)
    assert np.mean(ious) > 0.8 and min(ious) > 0.5, ious


def test_generative_perspective_backends_need_local_folders(tmp_path, sample_image, sample_mask):
    for name, key in (("qwen_multicamera", "perspectives.qwen_multicamera.model_path"),
                      ("zero123", "perspectives.zero123.model_path")):
        gen = PERSPECTIVE_GENERATORS.build(name, {"model_path": str(tmp_path / "absent")})
        views = gen.views([ViewSpec()])
        with pytest.raises(FileNotFoundError, match=key):
            gen.generate(sample_image, sample_mask, views[0], 0, seed=1)
    zero = PERSPECTIVE_GENERATORS.build("zero123", {})
    assert [v.name(i) for i, v in enumerate(zero.views([]))][:2] == [
        "perspective_00_front_right__elevated", "perspective_01_side_right__low_angle"]
    with pytest.raises(ValueError, match="perspective_generator"):
        PERSPECTIVE_GENERATORS.build("nerf", {})
