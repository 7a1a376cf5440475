"""Polylines (paths) as (n, 2) arrays: arc lengths, points at arc lengths, projection."""
from __future__ import annotations

import math

import numpy as np


def arc_lengths(pts: np.ndarray) -> np.ndarray:
    """Cumulative length at each vertex, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])


def locate(cum: np.ndarray, s, lengths: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """(segment index, fraction along it) of arc lengths s (any shape), clamped to the
    polyline whose arc_lengths are cum; lengths: segment_lengths(cum), when kept."""
    s = np.asarray(s, dtype=float)
    i = np.minimum(np.maximum(cum.searchsorted(s, 'right') - 1, 0), len(cum) - 2)
    seg = np.maximum(cum[i + 1] - cum[i], 1e-12) if lengths is None else lengths[i]
    f = np.minimum(np.maximum((s - cum[i]) / seg, 0.0), 1.0)
    return i, f


def segment_lengths(cum: np.ndarray) -> np.ndarray:
    """Each segment's length from the arc lengths (at least 1e-12: locate divides)."""
    return np.maximum(cum[1:] - cum[:-1], 1e-12)


def points_at(pts: np.ndarray, cum: np.ndarray, s) -> np.ndarray:
    """Points at arc lengths s (any shape; result shape s.shape + (2,)), clamped to the
    polyline; cum = arc_lengths(pts)."""
    i, f = locate(cum, s)
    return pts[i] + f[..., None] * (pts[i + 1] - pts[i])


class Polyline:
    """A path (n, 2) with what looking points up on it needs, computed once: the same
    results as `locate` / `points_at`, for a controller that looks up several sets of
    points on one path every cycle."""

    def __init__(self, pts: np.ndarray):
        self.points = pts
        self.cum = arc_lengths(pts)
        self._len = segment_lengths(self.cum)
        self._vec = pts[1:] - pts[:-1]                             # (n-1, 2) per segment
        self.directions = self._vec / np.hypot(self._vec[:, 0], self._vec[:, 1])[:, None]

    def locate(self, s) -> tuple[np.ndarray, np.ndarray]:
        """(segment index, fraction along it) of arc lengths s (any shape), clamped."""
        return locate(self.cum, s, self._len)

    def points_at(self, s) -> np.ndarray:
        """Points at arc lengths s (any shape; result s.shape + (2,)), clamped."""
        i, f = self.locate(s)
        return self.points[i] + f[..., None] * self._vec[i]

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For points xy (m, 2): the arc length (m, n-1) of the point of each segment
        nearest to each, and the distance (m, n-1) to it."""
        a, v = self.points[:-1], self._vec
        L2 = np.maximum(np.einsum('ij,ij->i', v, v), 1e-12)
        rel = xy[:, None, :] - a[None, :, :]                                     # (m, n-1, 2)
        f = np.clip(np.einsum('mnj,nj->mn', rel, v) / L2, 0.0, 1.0)
        miss = np.hypot(*(rel - f[..., None] * v[None]).transpose(2, 0, 1))
        return self.cum[:-1][None, :] + f * np.sqrt(L2)[None, :], miss

    def frames_at(self, s) -> tuple[np.ndarray, np.ndarray]:
        """Points at arc lengths s and the path's unit directions there."""
        i, f = self.locate(s)
        return self.points[i] + f[..., None] * self._vec[i], self.directions[i]


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
