"""Seeded noise that is a function of position, so every grid sees the same world.

The landscape, the clouds and the aerosol fields are drawn from *lattice value noise*: a random
value at every node of a square lattice of ``cell`` metres, hashed from the node's integer
coordinates and a seed, and interpolated smoothly in between. Because a value depends only on
where it is (not on the array it is computed into), the 10 m bands, the 20 m SCL, the 320 m
preview of the whole tile and the truth computed over the AOI all agree, and a scene's cloud
shadow is just the cloud field looked up at coordinates shifted away from the sun.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hash_uniform", "value_noise", "fbm"]

_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def hash_uniform(ix, iy, seed: int) -> np.ndarray:
    """A uniform value in [0, 1) for each integer pair ``(ix, iy)`` (broadcast), per ``seed``.

    SplitMix64's finaliser over the packed coordinates: fast, vectorised and well mixed.

    Parameters
    ----------
    ix, iy : array_like of int
    seed : int

    Returns
    -------
    numpy.ndarray of float64
    """
    ix = np.asarray(ix, dtype=np.int64).astype(np.uint64)
    iy = np.asarray(iy, dtype=np.int64).astype(np.uint64)
    z = ix * _M2 + iy * _M3 + np.uint64((seed * 0x9E3779B97F4A7C15) % (1 << 64))
    z = (z ^ (z >> np.uint64(30))) * _M2
    z = (z ^ (z >> np.uint64(27))) * _M3
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _axis(coords: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis: the lattice nodes needed, each coordinate's lower node (as an index into
    them) and its smoothstep weight. Only nodes next to a coordinate are listed, so a coarse grid
    over a large area does not hash a fine lattice it never samples."""
    pos = np.asarray(coords, dtype=np.float64) / cell
    lo = np.floor(pos)
    t = pos - lo
    lo = lo.astype(np.int64)
    nodes = np.unique(np.concatenate([lo, lo + 1]))
    return nodes, np.searchsorted(nodes, lo), t * t * (3 - 2 * t)


def value_noise(xs, ys, cell: float, seed: int) -> np.ndarray:
    """Smooth noise in [-1, 1] on the grid ``ys x xs`` (1-D coordinate arrays, metres).

    Parameters
    ----------
    xs, ys : array_like
        Pixel-centre coordinates along x (columns) and y (rows).
    cell : float
        Lattice spacing in metres: the size of the features.
    seed : int

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ys), len(xs))``.
    """
    nx, cx, fx = _axis(xs, cell)
    ny, cy, fy = _axis(ys, cell)
    lattice = 2 * hash_uniform(nx[None, :], ny[:, None], seed) - 1
    # the node after a coordinate's lower node is the next listed one (both were listed)
    cy, fx, fy = cy[:, None], fx[None, :], fy[:, None]
    top = lattice[cy, cx] * (1 - fx) + lattice[cy, cx + 1] * fx
    bottom = lattice[cy + 1, cx] * (1 - fx) + lattice[cy + 1, cx + 1] * fx
    return top * (1 - fy) + bottom * fy


def fbm(xs, ys, cell: float, seed: int, octaves: int = 3, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of :func:`value_noise` octaves (cell, cell/2, ...), scaled back to about [-1, 1].

    Parameters
    ----------
    xs, ys : array_like
        Pixel-centre coordinates (metres).
    cell : float
        Lattice spacing of the first, largest octave.
    seed : int
    octaves : int
    gain : float
        Amplitude ratio between successive octaves.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ys), len(xs))``.
    """
    total, norm, amp = 0.0, 0.0, 1.0
    for k in range(octaves):
        total = total + amp * value_noise(xs, ys, cell / 2**k, seed + 7919 * k)
        norm += amp
        amp *= gain
    return total / norm
