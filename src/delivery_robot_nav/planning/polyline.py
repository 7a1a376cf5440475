"""Polylines (paths) as (n, 2) arrays: arc lengths, points at arc lengths, projection."""
from __future__ import annotations

import math

import numpy as np


def arc_lengths(pts: np.ndarray) -> np.ndarray:
    """Cumulative length at each vertex, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])


def locate(cum: np.ndarray, s) -> tuple[np.ndarray, np.ndarray]:
    """(segment index, fraction along it) of arc lengths s (any shape), clamped to the
    polyline whose arc_lengths are cum."""
    s = np.asarray(s, dtype=float)
    i = np.minimum(np.maximum(np.searchsorted(cum, s, side='right') - 1, 0), len(cum) - 2)
    f = np.minimum(np.maximum((s - cum[i]) / np.maximum(cum[i + 1] - cum[i], 1e-12), 0.0), 1.0)
    return i, f


def points_at(pts: np.ndarray, cum: np.ndarray, s) -> np.ndarray:
    """Points at arc lengths s (any shape; result shape s.shape + (2,)), clamped to the
    polyline; cum = arc_lengths(pts)."""
    i, f = locate(cum, s)
    return pts[i] + f[..., None] * (pts[i + 1] - pts[i])


def project(pts: np.ndarray, xy) -> tuple[float, int, np.ndarray]:
    """(arc length, segment index, foot point) of the point of the polyline nearest xy."""
    a, b = pts[:-1], pts[1:]
    d = b - a
    L2 = np.maximum(np.einsum('ij,ij->i', d, d), 1e-12)
    f = np.clip(np.einsum('ij,ij->i', np.asarray(xy) - a, d) / L2, 0.0, 1.0)
    q = a + f[:, None] * d
    k = int(np.argmin(np.hypot(*(q - xy).T)))
    cum = np.concatenate([[0.0], np.cumsum(np.sqrt(L2))])
    return float(cum[k] + f[k] * math.sqrt(L2[k])), k, q[k]
