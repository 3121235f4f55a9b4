"""usd_scene._orient_outward flips the solids of one size together with the bits of one at a time."""

from __future__ import annotations

import numpy as np

from sdg_factory.pcb.usd_scene import _CUBE_CORNERS, _CUBE_FACES, _orient_outward


def _one_solid(tris: np.ndarray) -> np.ndarray:  # as it was: one solid at a time
    center = tris.reshape(-1, 3).mean(axis=0)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    flip = np.einsum("ij,ij->i", normals, tris.mean(axis=1) - center) < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris


def test_stacked_solids_are_flipped_exactly_as_one_by_one():
    rng = np.random.default_rng(7)
    solids = []
    for k in range(200):
        scale, shift = rng.uniform(0.01, 3.0, 3), rng.uniform(-50, 50, 3)
        tris = (_CUBE_CORNERS * scale + shift)[_CUBE_FACES]
        if k % 3 == 0:  # some faces wound inward, and meshes of other triangle counts
            tris = np.concatenate([tris, tris[: int(rng.integers(1, 6)), :, ::-1]])
        tris = tris[rng.permutation(len(tris))]
        solids.append(np.ascontiguousarray(tris[:, rng.permutation(3)]))
    expected = [_one_solid(t.copy()) for t in solids]
    got = _orient_outward([t.copy() for t in solids])
    assert sum(not np.array_equal(e, t) for e, t in zip(expected, solids, strict=True)) > 50  # flips happened
    for e, g in zip(expected, got, strict=True):
        assert e.shape == g.shape and e.tobytes() == g.tobytes()
