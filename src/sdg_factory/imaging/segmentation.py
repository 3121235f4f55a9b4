"""Classical object segmentation: the reference-mask maker and the reference-guided annotator.

* :func:`reference_mask_classical` — the document's mask-labeler utility without a model: the
  backdrop's colours are learnt from the image border (k-means in Lab), every pixel's distance
  to them is a saliency map, Otsu's threshold on it seeds GrabCut, and the result is cleaned
  (small specks dropped, holes filled).
* :func:`segment_on_white` — the object of an image shot on white (perspective views).
* :class:`ReferenceModel` / :func:`annotate_with_reference` — the classical annotation backend:
  a joint colour/texture histogram of the reference object against the target image's own
  histogram gives each pixel a posterior of being the object; its strongest blob gives the box
  and seeds, and GrabCut (which learns the target image's colour models) cuts the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sdg_factory.imaging.grabcut import SingularColourModel, grabcut


def clean_mask(mask: np.ndarray, min_fraction: float = 0.02, fill_holes: bool = True) -> np.ndarray:
    """Keep components of at least ``min_fraction`` of the largest; fill holes. Returns bool."""
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return binary.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = areas >= max(1, min_fraction * areas.max())
    out = keep[labels]
    if fill_holes:
        contours, _ = cv2.findContours(out.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        filled = np.zeros_like(binary)
        cv2.drawContours(filled, contours, -1, 1, -1)
        out = filled.astype(bool)
    return out


def _grabcut(image: np.ndarray, seeds: np.ndarray, iterations: int = 4) -> np.ndarray:
    """GrabCut from a GC_* seed map; returns the bool foreground (seeds kept if GrabCut cannot run)."""
    gc = seeds.astype(np.uint8).copy()
    has_fg = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).any()
    has_bg = np.isin(gc, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()
    if not (has_fg and has_bg):
        return np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
    bgr = np.ascontiguousarray(image[..., :3][..., ::-1])
    try:
        gc = grabcut(bgr, gc, iterations)  # cv2.grabCut's answer, cut only where it can change
    except (cv2.error, SingularColourModel):
        return np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD))
    return np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _grabcut_in_window(image: np.ndarray, seeds: np.ndarray, iterations: int, box: tuple[int, int, int, int],
                       margin: float) -> np.ndarray:
    """:func:`_grabcut` on ``box`` (y0, y1, x0, x1) grown by ``margin`` of its size on each side;
    the rest of the image is background."""
    h, w = seeds.shape
    y0, y1, x0, x1 = box
    my, mx = int((y1 - y0) * margin) + 1, int((x1 - x0) * margin) + 1
    y0, y1, x0, x1 = max(0, y0 - my), min(h, y1 + my), max(0, x0 - mx), min(w, x1 + mx)
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = _grabcut(np.ascontiguousarray(image[y0:y1, x0:x1]),
                                  np.ascontiguousarray(seeds[y0:y1, x0:x1]), iterations)
    return mask


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)


def backdrop_distance(image: np.ndarray, border: float = 0.06, clusters: int = 6) -> np.ndarray:
    """Per-pixel Lab distance to the nearest backdrop colour (learnt from the image border).

    Lightness counts half as much as chroma, so soft shadows on the backdrop stay backdrop.
    """
    h, w = image.shape[:2]
    lab = _lab(image) * np.array([0.5, 1.0, 1.0], np.float32)
    b = max(2, int(border * min(h, w)))
    ring = np.concatenate([lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3),
                           lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)])
    step = max(1, len(ring) // 4000)
    samples = ring[::step]
    k = min(clusters, len(samples))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, _, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    flat = lab.reshape(-1, 3)
    dist = np.full(len(flat), np.inf, np.float32)
    for c in centres:
        dist = np.minimum(dist, np.linalg.norm(flat - c, axis=1))
    return dist.reshape(h, w)


def reference_mask_classical(image: np.ndarray, border: float = 0.06) -> np.ndarray:
    """The object's mask in a reference photo (object roughly central, backdrop at the border).

    Returns ``uint8`` 0/255.
    """
    h, w = image.shape[:2]
    dist = backdrop_distance(image, border)
    d8 = np.clip(dist / max(dist.max(), 1e-6) * 255, 0, 255).astype(np.uint8)
    thresh, _ = cv2.threshold(d8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    thresh = max(thresh, 12)
    salient = clean_mask(d8 > thresh, min_fraction=0.05)
    seeds = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    seeds[salient] = cv2.GC_PR_FGD
    core = cv2.erode(salient.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    seeds[core & (d8 > min(255, 2 * thresh))] = cv2.GC_FGD
    b = max(2, int(border * min(h, w)))
    ring = np.zeros((h, w), bool)
    ring[:b], ring[-b:], ring[:, :b], ring[:, -b:] = True, True, True, True
    seeds[ring & ~salient] = cv2.GC_BGD
    seeds[d8 < thresh * 0.35] = cv2.GC_BGD
    mask = clean_mask(_grabcut(image, seeds), min_fraction=0.02)
    return (mask * 255).astype(np.uint8)


def segment_on_white(image: np.ndarray, tolerance: float = 18.0) -> np.ndarray:
    """The object of an image on a white background: far-from-white pixels, refined by GrabCut."""
    rgb = image[..., :3].astype(np.float32)
    if image.ndim == 3 and image.shape[2] == 4:
        return ((image[..., 3] > 127) * 255).astype(np.uint8)
    dist = np.linalg.norm(255.0 - rgb, axis=2)
    fg = clean_mask(dist > tolerance, min_fraction=0.01)
    if not fg.any():
        return np.zeros(image.shape[:2], np.uint8)
    seeds = np.full(fg.shape, cv2.GC_BGD, np.uint8)
    near = cv2.dilate(fg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    seeds[near] = cv2.GC_PR_BGD
    seeds[fg] = cv2.GC_PR_FGD
    seeds[cv2.erode(fg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = cv2.GC_FGD
    mask = clean_mask(_grabcut(image, seeds, 2) | (dist > 3 * tolerance), min_fraction=0.01)
    return (mask * 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# reference colour/texture model + GrabCut (the classical annotation backend)
# --------------------------------------------------------------------------------------

_CHROMA_BINS = 24
_LIGHT_BINS = 6
_TEXTURE_BINS = 3


def _features(image: np.ndarray) -> np.ndarray:
    """Per-pixel histogram bin index: Lab chroma (a, b), coarse lightness and edge strength."""
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB)
    a = (lab[..., 1].astype(np.int32) * _CHROMA_BINS) >> 8
    b = (lab[..., 2].astype(np.int32) * _CHROMA_BINS) >> 8
    light = (lab[..., 0].astype(np.int32) * _LIGHT_BINS) >> 8
    gray = lab[..., 0].astype(np.float32)
    grad = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    grad = cv2.GaussianBlur(grad, (0, 0), 1.5)
    texture = np.digitize(grad, [12.0, 40.0]).astype(np.int32)
    return ((a * _CHROMA_BINS + b) * _LIGHT_BINS + light) * _TEXTURE_BINS + texture


_NBINS = _CHROMA_BINS * _CHROMA_BINS * _LIGHT_BINS * _TEXTURE_BINS


def _histogram(index: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    hist = np.bincount(index.ravel(), weights=None if weights is None else weights.ravel(), minlength=_NBINS)
    hist = hist.astype(np.float32).reshape(_CHROMA_BINS, _CHROMA_BINS, _LIGHT_BINS, _TEXTURE_BINS)
    # tolerate illumination changes: spread each bin to its chroma and lightness neighbours
    hist = cv2.GaussianBlur(hist.reshape(_CHROMA_BINS, _CHROMA_BINS, -1), (3, 3), 0.8).reshape(hist.shape)
    hist = hist + 0.5 * np.roll(hist, 1, axis=2) + 0.5 * np.roll(hist, -1, axis=2)
    hist = hist + 0.3 * np.roll(hist, 1, axis=3) + 0.3 * np.roll(hist, -1, axis=3)
    return (hist / max(hist.sum(), 1e-6)).ravel()


# illumination changes the reference is also modelled under (gain RGB, brightness, haze)
_LIGHTS = [(g, b, f) for g in ((1.0, 1.0, 1.0), (1.12, 0.98, 0.8), (0.88, 0.98, 1.12))
           for b in (1.0, 0.7, 0.45, 1.25) for f in (0.0, 0.4)]


def _relight(pixels: np.ndarray, gain, brightness: float, haze: float) -> np.ndarray:
    out = pixels.astype(np.float32) * np.asarray(gain, np.float32) * brightness
    out = out * (1 - haze) + 215.0 * haze
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass
class ReferenceModel:
    """The reference object's colour/texture histograms, one per modelled illumination.

    A target image is explained by the illumination whose histogram makes the object stand out
    as one compact blob (see :func:`object_posterior`), so relit, hazy or night-time versions
    of a scene are still found.
    """

    object_hists: np.ndarray          # (n_lights, bins)
    prior: float = 0.15

    @classmethod
    def fit(cls, image: np.ndarray, mask: np.ndarray) -> ReferenceModel:
        binary = np.asarray(mask) > 0
        if not binary.any():
            raise ValueError("the reference mask is empty: the annotator has nothing to learn from")
        ys, xs = np.nonzero(binary)
        pad = 4
        crop = image[max(0, ys.min() - pad):ys.max() + 1 + pad, max(0, xs.min() - pad):xs.max() + 1 + pad, :3]
        inside = binary[max(0, ys.min() - pad):ys.max() + 1 + pad, max(0, xs.min() - pad):xs.max() + 1 + pad]
        hists = [_histogram(_features(_relight(crop, *light))[inside]) for light in _LIGHTS]
        return cls(np.stack(hists))


def object_posterior(model: ReferenceModel, image: np.ndarray, prior: float | None = None,
                     return_light: bool = False):
    """P(object | colour, texture) per pixel under the best-explaining illumination.

    The image's own histogram is the evidence; the illumination kept is the one under which the
    posterior's strongest blob looks most like the object (see :func:`_blob_score`).
    """
    index = _features(image)
    # the posterior is a function of the bin: computed per bin (10k) and looked up per pixel, the
    # same float32 operations on the same values as per pixel, so the same bits
    p = model.prior if prior is None else prior
    evidence = _histogram(index) * (1 - p)
    best, best_score, light = None, -1.0, 0
    for k, hist in enumerate(model.object_hists):
        obj = hist * p
        table = obj / (obj + evidence + 1e-9)
        score = _blob_score(table, index, hist)
        if score > best_score:
            best, best_score, light = table, score, k
    best = best[index]  # per pixel only for the illumination kept
    return (best, light, index) if return_light else best


def _blob_score(table: np.ndarray, index: np.ndarray, hist: np.ndarray) -> float:
    """How well the strongest blob of the posterior (``table[index]``, per bin) looks like the
    object under this light: the Bhattacharyya coefficient of the blob's colour/texture histogram
    and the object's.

    The posterior is looked up only on the likely pixels: each blob's posterior sum adds the same
    values in the same pixel order as over the whole image (bincount sums a bin in array order),
    so the same bits."""
    likely = (table > 0.5)[index].view(np.uint8)
    n, labels = cv2.connectedComponents(likely, connectivity=8)
    if n <= 1:
        return 0.0
    member = likely.view(bool)
    sums = np.bincount(labels[member], weights=table[index[member]], minlength=n)[1:]
    blob = labels == 1 + int(np.argmax(sums))
    return float(np.sqrt(_histogram(index[blob]) * hist).sum() * np.log1p(sums.max()))


def _locate(post: np.ndarray, threshold: float, box_margin: float):
    """The object's blob (strongest component and its neighbours) and its padded box, or None."""
    h, w = post.shape
    likely = cv2.morphologyEx((post > threshold).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(likely, connectivity=8)
    if n <= 1:
        return None
    sums = np.bincount(labels.ravel(), weights=post.ravel(), minlength=n)[1:]
    best = 1 + int(np.argmax(sums))
    bx, by, bw, bh = stats[best, :4]
    grow = 0.6 * max(bw, bh)
    x0, y0 = max(0, int(bx - grow)), max(0, int(by - grow))
    x1, y1 = min(w, int(bx + bw + grow)), min(h, int(by + bh + grow))
    members = np.zeros(n, bool)
    for i in range(1, n):
        cx, cy = centroids[i]
        if x0 <= cx < x1 and y0 <= cy < y1 and stats[i, cv2.CC_STAT_AREA] >= 0.02 * stats[best, cv2.CC_STAT_AREA]:
            members[i] = True
    blob = members[labels]
    ys, xs = np.nonzero(blob)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    my, mx = int((y1 - y0) * box_margin) + 2, int((x1 - x0) * box_margin) + 2
    return blob, (max(0, y0 - my), min(h, y1 + my), max(0, x0 - mx), min(w, x1 + mx))


def annotate_with_reference(model: ReferenceModel, image: np.ndarray, iterations: int = 4,
                            box_margin: float = 0.3, threshold: float = 0.4,
                            grabcut_margin: float | None = None) -> np.ndarray:
    """The object's mask in ``image`` (uint8 0/255); empty when nothing resembles the reference.

    The posterior's strongest blob gives a box; then the background's own histogram (pixels
    outside the box) replaces the whole image's as the evidence and the box is found again, until
    it settles — so an object that fills much of the frame is not diluted by its own share of the
    image histogram. GrabCut cuts the final mask from seeds inside the box.

    ``grabcut_margin``: None runs GrabCut on the whole image (its background colour model learns
    every pixel outside the box; :mod:`imaging.grabcut` cuts the graph only where a label can
    change, with cv2.grabCut's masks); a number runs it on the box grown by that fraction of its
    size on each side — a background model of the box alone, so slightly different masks.
    """
    h, w = image.shape[:2]
    post, light, index = object_posterior(model, image, return_light=True)
    post = cv2.GaussianBlur(post.astype(np.float32), (0, 0), 2.0)
    found = _locate(post, threshold, box_margin)
    if found is None:
        return np.zeros((h, w), np.uint8)
    obj = model.object_hists[light]  # per bin, looked up per pixel (see object_posterior)
    for _ in range(3):
        y0, y1, x0, x1 = found[1]
        outside = np.ones((h, w), bool)
        outside[y0:y1, x0:x1] = False
        if outside.mean() <= 0.05:
            break
        background = _histogram(index[outside])
        post = cv2.GaussianBlur((obj / (obj + background + 1e-9))[index].astype(np.float32), (0, 0), 2.0)
        again = _locate(post, threshold, box_margin)
        if again is None:
            break
        settled = again[1] == found[1]
        found = again
        if settled:
            break
    blob, (y0, y1, x0, x1) = found
    seeds = np.full((h, w), cv2.GC_BGD, np.uint8)
    seeds[y0:y1, x0:x1] = cv2.GC_PR_BGD
    seeds[(post > threshold) & (seeds == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    core = cv2.erode(blob.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    seeds[core & (post > 0.8)] = cv2.GC_FGD
    # GrabCut seeds its colour models from OpenCV's per-thread RNG: without this, a mask depended
    # on what the process had drawn before (the images annotated before it, which pool worker)
    cv2.setRNGSeed(0)
    if grabcut_margin is None:
        mask = _grabcut(image, seeds, iterations)
    else:
        mask = _grabcut_in_window(image, seeds, iterations, (y0, y1, x0, x1), grabcut_margin)
    mask = clean_mask(mask, min_fraction=0.03)
    return (mask * 255).astype(np.uint8)
