"""GrabCut with OpenCV's answer, cut only where the answer can change.

``cv2.grabCut(image, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)`` costs about
0.1 s per iteration on a 640×480 image: each iteration builds and cuts a graph of every pixel.
When the seed map marks most of the image definite background (``GC_BGD``: the classical
annotator's seeds outside the object's box), most of that graph cannot change its answer:

* a ``GC_BGD`` pixel is tied to the sink with λ = 9γ = 450, more than all its eight n-links
  together can carry (≤ 4·γ + 4·γ/√2 ≈ 341), so every minimum cut leaves it on the sink side —
  the graph of the pixels that are not ``GC_BGD``, with one ring of background around them, has
  the same minimum cut;
* what is global is computed over the whole image, exactly as OpenCV does: β from every
  neighbour pair, and each iteration's two colour models learnt from every pixel of their side.
  Their sums are sums of small integers (exact in float64 in any order) and the rest is the
  same float64 operations in the same order as ``modules/imgproc/src/grabcut.cpp``, with each
  distinct colour evaluated once.

Each iteration after the first resumes the previous iteration's solved graph with the new
t-links (:class:`_Cut`) instead of building and solving it anew: the labels are the same.

:func:`grabcut` returns the mask ``cv2.grabCut`` leaves: its k-means start is OpenCV's own (the
call with zero iterations), and ``tests/imaging/test_grabcut.py`` compares the two on images
made for it and on the classical annotator's seeds. Only ``exp``/``log`` are numpy's (vectorised;
the last bit can differ from the C library's), which could move a pixel only where two cuts
cost the same to 1e-16.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import maxflow
import numpy as np

COMPONENTS = 5
GAMMA = 50.0
LAMBDA = 9 * GAMMA
# OpenCV: gamma / std::sqrt(2.0f), the square root in float32
GAMMA_DIAGONAL = GAMMA / float(np.sqrt(np.float32(2.0)))
_NEIGHBOURS = ((0, -1, GAMMA), (-1, -1, GAMMA_DIAGONAL), (-1, 0, GAMMA), (-1, 1, GAMMA_DIAGONAL))


class SingularColourModel(ValueError):
    """A component's covariance stays singular after OpenCV's white-noise fix (cv2.grabCut fails too)."""


def _determinant(c) -> float:
    return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6])


@dataclass
class ColourModel:
    """One side's Gaussian mixture, OpenCV's ``GMM``: weights, means and 3×3 covariances (row-major)."""

    weights: np.ndarray  # (5,)
    means: np.ndarray    # (5, 3)
    covs: np.ndarray     # (5, 9)

    def __post_init__(self) -> None:
        self.inverse = np.zeros((COMPONENTS, 3, 3))
        self.determinants = np.zeros(COMPONENTS)
        for k in range(COMPONENTS):
            if self.weights[k] > 0:
                c = self.covs[k]
                d = _determinant(c)
                if not d > np.finfo(np.float64).eps:  # OpenCV's CV_Assert
                    raise SingularColourModel(f"colour model component {k} is singular (determinant {d})")
                self.determinants[k] = d
                i = 1.0 / d
                v = self.inverse[k]
                v[0, 0] = (c[4] * c[8] - c[5] * c[7]) * i
                v[1, 0] = -(c[3] * c[8] - c[5] * c[6]) * i
                v[2, 0] = (c[3] * c[7] - c[4] * c[6]) * i
                v[0, 1] = -(c[1] * c[8] - c[2] * c[7]) * i
                v[1, 1] = (c[0] * c[8] - c[2] * c[6]) * i
                v[2, 1] = -(c[0] * c[7] - c[1] * c[6]) * i
                v[0, 2] = (c[1] * c[5] - c[2] * c[4]) * i
                v[1, 2] = -(c[0] * c[5] - c[2] * c[3]) * i
                v[2, 2] = (c[0] * c[4] - c[1] * c[3]) * i

    @classmethod
    def from_opencv(cls, model: np.ndarray) -> ColourModel:
        """The 1×65 model array ``cv2.grabCut`` fills (weights, then means, then covariances)."""
        flat = np.asarray(model, np.float64).reshape(-1)
        return cls(flat[:COMPONENTS].copy(), flat[COMPONENTS:4 * COMPONENTS].reshape(COMPONENTS, 3).copy(),
                   flat[4 * COMPONENTS:].reshape(COMPONENTS, 9).copy())

    @classmethod
    def learn(cls, component: np.ndarray, counts: np.ndarray, moments: np.ndarray) -> ColourModel:
        """``learnGMMs`` + ``endLearning`` from per-colour counts: ``component`` and ``counts`` per
        distinct colour, ``moments`` its (b, g, r, bb, bg, br, gg, gr, rr)."""
        n = np.bincount(component, weights=counts, minlength=COMPONENTS)
        sums = [np.bincount(component, weights=moments[:, j] * counts, minlength=COMPONENTS) for j in range(9)]
        total = n.sum()
        weights, means, covs = np.zeros(COMPONENTS), np.zeros((COMPONENTS, 3)), np.zeros((COMPONENTS, 9))
        product = ((3, 4, 5), (4, 6, 7), (5, 7, 8))  # moments' column of colour[a] * colour[b]
        for k in range(COMPONENTS):
            if n[k] == 0:
                continue
            inv_n = 1.0 / n[k]
            weights[k] = n[k] / total
            m = [sums[a][k] * inv_n for a in range(3)]
            c = [sums[product[a][b]][k] * inv_n - m[a] * m[b] for a in range(3) for b in range(3)]
            if _determinant(c) <= 1e-6:  # OpenCV's white noise on a singular covariance
                c[0] += 0.01
                c[4] += 0.01
                c[8] += 0.01
            means[k], covs[k] = m, c
        return cls(weights, means, covs)

    def component_densities(self, colours: np.ndarray) -> np.ndarray:
        """Each component's density at each colour (n, 3), (5, n): 0 for an empty component."""
        out = np.zeros((COMPONENTS, len(colours)))
        for k in range(COMPONENTS):
            if self.weights[k] > 0:
                d0, d1, d2 = (colours[:, a] - self.means[k, a] for a in range(3))
                v = self.inverse[k]
                mult = (d0 * (d0 * v[0, 0] + d1 * v[1, 0] + d2 * v[2, 0])
                        + d1 * (d0 * v[0, 1] + d1 * v[1, 1] + d2 * v[2, 1])
                        + d2 * (d0 * v[0, 2] + d1 * v[1, 2] + d2 * v[2, 2]))
                out[k] = 1.0 / np.sqrt(self.determinants[k]) * np.exp(-0.5 * mult)
        return out

    def density(self, densities: np.ndarray) -> np.ndarray:
        """The mixture's density from :meth:`component_densities`, summed as OpenCV sums it."""
        total = np.zeros(densities.shape[1])
        for k in range(COMPONENTS):
            total = total + self.weights[k] * densities[k]
        return total


def most_likely(densities: np.ndarray) -> np.ndarray:
    """``whichComponent``: the first component of the highest density (0 when all are 0)."""
    best, value = np.zeros(densities.shape[1], np.intp), np.zeros(densities.shape[1])
    for k in range(COMPONENTS):
        higher = densities[k] > value
        best[higher], value[higher] = k, densities[k][higher]
    return best


def _distinct(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(packed, return_inverse=True)`` for 24-bit colours, from two stable radix sorts
    (16-bit halves) instead of a comparison sort: the same ascending values and indices."""
    low = np.argsort((packed & 0xFFFF).astype(np.uint16), kind="stable")
    order = low[np.argsort((packed[low] >> 16).astype(np.uint16), kind="stable")]
    ranked = packed[order]
    starts = np.empty(ranked.size, bool)
    starts[:1] = True
    np.not_equal(ranked[1:], ranked[:-1], out=starts[1:])
    index = np.empty(ranked.size, np.intp)
    index[order] = np.cumsum(starts) - 1
    return ranked[starts], index


def _beta(image: np.ndarray) -> float:
    """``calcBeta``: 1 / (2 · the mean squared colour difference of all neighbour pairs)."""
    h, w = image.shape[:2]
    total = 0
    for dy, dx, _ in _NEIGHBOURS:
        a = image[-dy:, max(0, -dx):w - max(0, dx)]
        b = image[:h + dy, max(0, dx):w - max(0, -dx)]
        total += int(np.square(a - b).sum(dtype=np.int64))
    if total <= np.finfo(np.float64).eps:
        return 0.0
    return 1.0 / (2 * float(total) / (4 * w * h - 3 * w - 3 * h + 2))


def _n_links(window: np.ndarray, beta: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each neighbour direction's weight per pixel of ``window`` (0 where the neighbour is outside)."""
    h, w = window.shape[:2]
    links = []
    for dy, dx, gamma in _NEIGHBOURS:
        weight = np.zeros((h, w))
        ys, xs = slice(-dy, h), slice(max(0, -dx), w - max(0, dx))
        diff = window[ys, xs] - window[:h + dy, max(0, dx):w - max(0, -dx)]
        weight[ys, xs] = gamma * np.exp(-beta * np.square(diff).sum(-1).astype(np.float64))
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1
        links.append((weight, structure))
    return links


def grabcut(bgr: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """The mask ``cv2.grabCut(bgr, seeds, None, …, iterations, cv2.GC_INIT_WITH_MASK)`` leaves.

    ``bgr``: uint8 (h, w, 3); ``seeds``: uint8 GC_* map with both sides present. Seeds the
    colour models from OpenCV's RNG as cv2.grabCut does (``cv2.setRNGSeed`` before the call).
    Raises ``cv2.error`` where OpenCV's start fails, :class:`SingularColourModel` where its
    iterations would.
    """
    mask = np.array(seeds, np.uint8, copy=True)
    bgd_model, fgd_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(bgr, mask, None, bgd_model, fgd_model, 0, cv2.GC_INIT_WITH_MASK)  # k-means start only
    if iterations <= 0:
        return mask
    background, foreground = ColourModel.from_opencv(bgd_model), ColourModel.from_opencv(fgd_model)
    image = bgr.astype(np.int32)
    h, w = mask.shape
    ys, xs = np.nonzero(mask != cv2.GC_BGD)
    y0, y1, x0, x1 = max(ys.min() - 1, 0), min(ys.max() + 2, h), max(xs.min() - 1, 0), min(xs.max() + 2, w)

    # every distinct colour once: its per-pixel index, counts outside the window (always background)
    packed = (image[..., 0] << 16) | (image[..., 1] << 8) | image[..., 2]
    distinct, index = _distinct(packed.reshape(-1))
    index = index.reshape(h, w)
    colours = np.stack([(distinct >> 16) & 255, (distinct >> 8) & 255, distinct & 255], 1).astype(np.float64)
    moments = np.concatenate([colours, colours[:, [0, 0, 0, 1, 1, 2]] * colours[:, [0, 1, 2, 1, 2, 2]]], 1)
    in_window = index[y0:y1, x0:x1].reshape(-1)
    outside = (np.bincount(index.reshape(-1), minlength=len(distinct))
               - np.bincount(in_window, minlength=len(distinct))).astype(np.float64)

    window = mask[y0:y1, x0:x1]  # a view: the cut writes the caller's mask
    links = _n_links(image[y0:y1, x0:x1], _beta(image))
    hard_source = np.where(window == cv2.GC_FGD, LAMBDA, 0.0)
    hard_sink = np.where(window == cv2.GC_BGD, LAMBDA, 0.0)
    probable = (window == cv2.GC_PR_BGD) | (window == cv2.GC_PR_FGD)
    probable_index = index[y0:y1, x0:x1][probable]
    # each model's densities at every distinct colour: its t-links, then the next iteration's components
    background_densities = background.component_densities(colours)
    foreground_densities = foreground.component_densities(colours)
    cut = None
    for _ in range(iterations):
        labels = window.reshape(-1)
        is_background = (labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)
        background = ColourModel.learn(most_likely(background_densities), outside + np.bincount(
            in_window[is_background], minlength=len(distinct)), moments)
        foreground = ColourModel.learn(most_likely(foreground_densities), np.bincount(
            in_window[~is_background], minlength=len(distinct)).astype(np.float64), moments)
        background_densities = background.component_densities(colours)
        foreground_densities = foreground.component_densities(colours)
        source, sink = hard_source.copy(), hard_sink.copy()
        with np.errstate(divide="ignore"):  # a density of 0 is an infinite t-link, as in OpenCV
            source[probable] = -np.log(background.density(background_densities))[probable_index]
            sink[probable] = -np.log(foreground.density(foreground_densities))[probable_index]
        cut = _cut(cut, links, source, sink, probable)
        on_sink = cut.on_sink()
        window[probable & ~on_sink] = cv2.GC_PR_FGD
        window[probable & on_sink] = cv2.GC_PR_BGD
    return mask


class _Cut:
    """The window's graph and its maximum flow, kept from one iteration to the next.

    The n-links never change; the t-links of the probable pixels do. The next iteration adds
    each t-link's change to the solved graph and lets the Boykov–Kolmogorov search resume from
    its trees (Kohli & Torr's dynamic graph cut; a capacity that falls below its flow is a
    constant added to both t-links of the pixel, which every cut pays alike). The labels are the
    pixels that can reach the sink in the residual graph of a maximum flow: the same set for
    every maximum flow, so they are the ones a graph built anew gives.

    An infinite t-link (a colour of density 0) stays infinite whatever flow it carries: one that
    is infinite in both iterations changes by nothing. A pixel whose t-link turns infinite or
    finite has no finite change: the graph is built anew.
    """

    def __init__(self, links: list, source: np.ndarray, sink: np.ndarray) -> None:
        self.graph = maxflow.Graph[float]()
        self.nodes = self.graph.add_grid_nodes(source.shape)
        for weight, structure in links:
            self.graph.add_grid_edges(self.nodes, weights=weight, structure=structure, symmetric=True)
        self.graph.add_grid_tedges(self.nodes, source, sink)
        self.graph.maxflow()
        self.source, self.sink = source, sink

    def can_update(self, source: np.ndarray, sink: np.ndarray) -> bool:
        """No t-link turns finite (its flow is unknown: infinity less it is infinity) and none
        is infinite on both sides (as for a graph built anew, its residual is not a number)."""
        infinite_source, infinite_sink = np.isinf(source), np.isinf(sink)
        return not ((np.isinf(self.source) & ~infinite_source).any() or (np.isinf(self.sink) & ~infinite_sink).any()
                    or (infinite_source & infinite_sink).any())

    def update(self, source: np.ndarray, sink: np.ndarray, changed: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):  # inf - inf: an infinite t-link that stays infinite
            delta_source = np.where(np.isinf(self.source), 0.0, source - self.source)
            delta_sink = np.where(np.isinf(self.sink), 0.0, sink - self.sink)
        self.graph.add_grid_tedges(self.nodes, delta_source, delta_sink)
        self.graph.mark_grid_nodes(self.nodes[changed])
        self.graph.maxflow(reuse_trees=True)
        self.source, self.sink = source, sink

    def on_sink(self) -> np.ndarray:
        return self.graph.get_grid_segments(self.nodes)


def _cut(cut: _Cut | None, links: list, source: np.ndarray, sink: np.ndarray, probable: np.ndarray) -> _Cut:
    """This iteration's cut: the previous one updated, or (the first iteration, or a t-link that
    turned infinite or finite) a graph built anew."""
    if cut is None or not cut.can_update(source, sink):
        return _Cut(links, source, sink)
    cut.update(source, sink, probable)
    return cut
