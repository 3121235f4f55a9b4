"""The classical restyle moves colour statistics toward the style and keeps the geometry."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest
from sdg_factory.imaging.restyle import RestyleStyle, restyle_image, specular_mask
from tests.restyle_fixtures import edge_f1, mask_edge_agreement, synthetic_roi

STYLE = {"lab_mean": [45.0, 12.0, 25.0], "lab_std": [24.0, 8.0, 14.0]}


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) from sRGB, written out here independently of OpenCV."""
    c = rgb[..., :3].astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)
    return lab.reshape(-1, 3)


def test_pure_transfer_lands_on_the_target_statistics():
    image = synthetic_roi(0).normal_img
    plain = {**STYLE, "transfer_strength": 1.0, "gamma": 1.0, "s_curve": 0.0, "specular_gain": 0.0,
             "blur_sigma": 0.0, "noise_sigma": 0.0, "mean_jitter": 0.0}
    lab = srgb_to_lab(restyle_image(image, plain, seed=1))
    np.testing.assert_allclose(lab.mean(axis=0), STYLE["lab_mean"], atol=1.5)
    # spreads as far as the sRGB gamut allows (saturated a* is clipped)
    np.testing.assert_allclose(lab.std(axis=0), STYLE["lab_std"], rtol=0.3)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_full_restyle_moves_colour_toward_the_style_and_keeps_edges(index):
    roi = synthetic_roi(index)
    out = restyle_image(roi.normal_img, STYLE, seed=index)
    target = np.array(STYLE["lab_mean"])
    before = np.linalg.norm(srgb_to_lab(roi.normal_img).mean(axis=0) - target)
    after = np.linalg.norm(srgb_to_lab(out).mean(axis=0) - target)
    assert before > 15  # the render is far from the style to begin with
    assert after < 0.35 * before, (before, after)
    # geometry: the output's edge map matches the input's, and the part outline is still there
    assert edge_f1(roi.normal_img, out) > 0.8
    assert mask_edge_agreement(out, roi.cad_mask) > 0.95
    # the check can fail: the same output moved by three pixels no longer matches
    assert edge_f1(roi.normal_img, np.roll(out, (3, 3), axis=(0, 1))) < 0.4
    assert out.shape == roi.normal_img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 3], roi.normal_img[..., 3])


def test_seeded_and_specular_on_metal_only():
    image = synthetic_roi(0).normal_img
    a, b, c = (restyle_image(image, STYLE, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 0.3
    mask = specular_mask(image[..., :3].astype(np.float32) / 255, 0.72, 0.3)
    assert mask[30, 20] > 0.3 and mask[2, 2] == 0.0  # termination vs board
    dark = {"lab_mean": [35.0, 5.0, 10.0], "noise_sigma": 0.0, "mean_jitter": 0.0}
    boosted = restyle_image(image, dark, seed=0)
    flat = restyle_image(image, {**dark, "specular_gain": 0.0}, seed=0)
    assert boosted[30, 20, :3].mean() > flat[30, 20, :3].mean() + 3
    np.testing.assert_array_equal(boosted[2, 2], flat[2, 2])


def test_classical_backend_serves_the_restyle_task():
    editor = IMAGE_EDITORS.build_from({"backend": "classical", "style": STYLE})
    image = synthetic_roi(1).normal_img[..., :3]
    out = editor.edit(EditRequest(image=image, prompt="SL look", task="restyle", seed=3,
                                  options={"steps": 40, "guidance": 4.0}))
    np.testing.assert_array_equal(out, restyle_image(image, STYLE, seed=3))


def test_unknown_style_key_is_named():
    with pytest.raises(ValueError, match="lab_meen"):
        RestyleStyle.from_config({"lab_meen": [1, 2, 3]})
