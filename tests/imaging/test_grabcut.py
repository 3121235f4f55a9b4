"""imaging.grabcut gives cv2.grabCut's mask, pixel for pixel, cutting only where it can change."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sdg_factory.imaging.grabcut import SingularColourModel, _cut, _n_links, grabcut


def _opencv(bgr: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    mask = seeds.copy()
    cv2.setRNGSeed(0)
    cv2.grabCut(bgr, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), iterations, cv2.GC_INIT_WITH_MASK)
    return mask


def _ours(bgr: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    cv2.setRNGSeed(0)
    out = grabcut(bgr, seeds, iterations)
    return out


def _scene(seed: int, h: int = 120, w: int = 160, noise: float = 12.0, flat: bool = False):
    """A textured object (two colours, soft edge) on a textured two-tone backdrop, and the
    annotator's kind of seeds: BGD outside a box, PR_BGD in it, PR_FGD where the object
    probably is, FGD in its core."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.integers(h // 4, 3 * h // 4), rng.integers(w // 4, 3 * w // 4)
    ry, rx = rng.integers(h // 8, h // 4), rng.integers(w // 8, w // 4)
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    backdrop = np.where((xx + yy) % 40 < 20, 1.0, 0.0)[..., None] * rng.uniform(0, 255, 3) \
        + (1 - np.where((xx + yy) % 40 < 20, 1.0, 0.0))[..., None] * rng.uniform(0, 255, 3)
    body = np.where(yy < cy, 1.0, 0.0)[..., None] * rng.uniform(0, 255, 3) \
        + np.where(yy >= cy, 1.0, 0.0)[..., None] * rng.uniform(0, 255, 3)
    alpha = np.clip(1.5 - inside, 0, 1)[..., None]
    image = alpha * body + (1 - alpha) * backdrop
    if not flat:
        image = image + rng.normal(0, noise, image.shape)
    bgr = np.clip(image, 0, 255).astype(np.uint8)
    seeds = np.full((h, w), cv2.GC_BGD, np.uint8)
    y0, y1 = max(0, cy - 2 * ry), min(h, cy + 2 * ry)
    x0, x1 = max(0, cx - 2 * rx), min(w, cx + 2 * rx)
    seeds[y0:y1, x0:x1] = cv2.GC_PR_BGD
    seeds[(inside < 1.2) & (seeds == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    seeds[inside < 0.3] = cv2.GC_FGD
    return bgr, seeds


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("iterations", [1, 4])
def test_the_same_mask_as_opencv_on_textured_scenes(seed, iterations):
    bgr, seeds = _scene(seed)
    expected = _opencv(bgr, seeds, iterations)
    got = _ours(bgr, seeds, iterations)
    assert np.array_equal(got, expected)
    changed = (seeds == cv2.GC_PR_BGD) != (got == cv2.GC_PR_BGD)
    assert changed.any()  # the iterations did move pixels: the comparison says something
    assert np.array_equal(seeds == cv2.GC_BGD, got == cv2.GC_BGD)  # hard seeds untouched
    assert np.array_equal(seeds == cv2.GC_FGD, got == cv2.GC_FGD)


def test_the_same_mask_with_the_box_on_the_image_border_and_no_definite_background():
    bgr, seeds = _scene(11)
    border = seeds.copy()
    border[:40, :50] = cv2.GC_PR_FGD  # the window reaches the image's corner
    assert np.array_equal(_ours(bgr, border, 3), _opencv(bgr, border, 3))
    everywhere = np.where(seeds == cv2.GC_BGD, cv2.GC_PR_BGD, seeds).astype(np.uint8)  # the window is the image
    assert np.array_equal(_ours(bgr, everywhere, 2), _opencv(bgr, everywhere, 2))


def _same_or_both_fail(bgr, seeds, iterations) -> bool:
    try:
        expected = _opencv(bgr, seeds, iterations)
    except cv2.error:
        with pytest.raises((cv2.error, SingularColourModel)):
            _ours(bgr, seeds, iterations)
        return False
    assert np.array_equal(_ours(bgr, seeds, iterations), expected)
    return True


def test_the_same_mask_on_nearly_flat_colours_where_densities_underflow():
    """Almost flat colours: tight covariances (OpenCV's white noise on the singular ones) whose
    densities underflow to 0 far from their mean, an infinite t-link; where OpenCV gives up
    (a covariance still singular), so do we."""
    compared = 0
    for seed in range(4):
        for noise in (0.6, 2.0):
            bgr, seeds = _scene(20 + seed, noise=noise)
            compared += _same_or_both_fail(bgr, seeds, 4)
        bgr, seeds = _scene(20 + seed, flat=True)
        compared += _same_or_both_fail(bgr, seeds, 4)
    assert compared >= 4


def test_zero_iterations_is_opencvs_start_and_a_start_opencv_refuses_is_refused():
    bgr, seeds = _scene(3)
    assert np.array_equal(_ours(bgr, seeds, 0), seeds)
    no_background = np.full(seeds.shape, cv2.GC_PR_FGD, np.uint8)
    with pytest.raises(cv2.error):
        _opencv(bgr, no_background, 2)
    with pytest.raises(cv2.error):
        _ours(bgr, no_background, 2)


@pytest.mark.parametrize("seed", range(6))
def test_a_cut_updated_with_new_t_links_labels_as_a_graph_built_anew(seed):
    """Iterations after the first resume the solved graph (a dynamic cut); t-links that change,
    turn infinite or stay infinite give the labels of a fresh graph with those t-links."""
    rng = np.random.default_rng(seed)
    window = rng.integers(0, 256, (40, 50, 3)).astype(np.int32)
    links = _n_links(window, 1 / 2000)
    probable = rng.random((40, 50)) < 0.8
    cut, first, infinite = None, None, np.zeros((40, 50), bool)
    for step in range(5):
        source = np.where(probable, rng.exponential(20, (40, 50)), 0.0)
        sink = np.where(probable, rng.exponential(20, (40, 50)), 0.0)
        if step >= 2:  # colours of density 0 on one side: infinite t-links, kept or new
            infinite |= probable & (rng.random((40, 50)) < 0.05)
            source[infinite] = np.inf
        fresh = _cut(None, links, source.copy(), sink.copy(), probable)
        cut = _cut(cut, links, source, sink, probable)
        first = first or cut
        np.testing.assert_array_equal(cut.on_sink(), fresh.on_sink())
    assert cut is first  # every later step updated the first graph


def test_distinct_colours_are_numpys_unique():
    from sdg_factory.imaging.grabcut import _distinct

    rng = np.random.default_rng(3)
    for colours in (rng.integers(0, 1 << 24, 5000), rng.integers(0, 40, 5000) << 14, np.array([7]), np.zeros(0, int)):
        colours = colours.astype(np.int32)
        distinct, index = _distinct(colours)
        expected, inverse = np.unique(colours, return_inverse=True)
        np.testing.assert_array_equal(distinct, expected)
        np.testing.assert_array_equal(index, inverse.reshape(-1))
