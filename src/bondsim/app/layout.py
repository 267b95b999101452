"""Where the people of the network are drawn: a force-directed layout, computed once per network and seed."""

from __future__ import annotations

import math

import numpy as np

_LAYOUTS: dict[tuple, np.ndarray] = {}


def spring_layout(network, seed: int, iterations: int = 60) -> np.ndarray:
    """Positions in [0, 1]^2 by Fruchterman-Reingold force-directed placement (cached per network and seed).

    A dense NumPy version (float32): about a tenth of a second for 200 people, under a second for 1,000.
    """
    key = (network.n, hash(network.indptr.tobytes()), hash(network.indices.tobytes()), seed, iterations)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    n = network.n
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2)).astype(np.float32)
    k2 = np.float32(1.0 / n)
    k = np.float32(math.sqrt(1.0 / n))
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    src, dst = network.row, network.indices
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist2 = np.einsum("ijk,ijk->ij", delta, delta)
        np.maximum(dist2, np.float32(1e-6), out=dist2)
        disp = np.einsum("ijk,ij->ik", delta, k2 / dist2)
        pull = pos[src] - pos[dst]
        length = np.sqrt((pull * pull).sum(axis=1))[:, None]
        np.add.at(disp, src, -pull * length / k)
        size = np.sqrt((disp * disp).sum(axis=1))[:, None]
        np.maximum(size, np.float32(1e-9), out=size)
        pos += disp / size * np.minimum(size, np.float32(temperature))
        temperature -= cooling
    pos -= pos.min(axis=0)
    pos /= max(float(pos.max()), 1e-9)
    if len(_LAYOUTS) > 32:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[key] = pos.astype(np.float64)
    return _LAYOUTS[key]
