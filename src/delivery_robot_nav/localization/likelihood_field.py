"""Likelihood field of an occupancy map (Thrun, Burgard & Fox, Probabilistic Robotics 6.4).

For every cell: the distance to the nearest occupied cell (scipy's Euclidean distance
transform), and the log-likelihood of a lidar endpoint landing there under the mixture
z_hit * N(d; 0, sigma_hit) + z_rand. Lookups are vectorized; `distance_gradient` gives
bilinearly interpolated distances and gradients for scan matching.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from delivery_robot_nav.common.maps import OccupancyMap, distance_to_occupied


@dataclass(frozen=True)
class FieldConfig:
    sigma_hit: float = 0.15        # m, endpoint spread around obstacles
    z_hit: float = 0.9             # weight of the hit model
    z_rand: float = 0.1            # weight of the uniform (unexplained) model
    max_distance: float = 2.0      # m, distances are clipped here


class LikelihoodField:
    def __init__(self, occ: OccupancyMap, cfg: FieldConfig):
        self.cfg = cfg
        self.resolution = occ.resolution
        self.origin = np.array(occ.origin, dtype=float)
        self.shape = occ.shape
        # distances to obstacle edges: endpoints on an obstacle's boundary score as hits
        self.distance = distance_to_occupied(occ, cfg.max_distance)
        hit = np.exp(-0.5 * (self.distance / cfg.sigma_hit) ** 2)
        self.log_p = np.log(cfg.z_hit * hit + cfg.z_rand).astype(np.float32)
        self.log_p_outside = float(np.log(cfg.z_rand))
        # the table again with a one-cell border holding the outside value: lookups clip
        # their indices into it instead of masking
        self._log_p_padded = np.pad(self.log_p, 1, constant_values=self.log_p_outside).ravel()
        self.free = occ.grid == 0
        gy, gx = np.gradient(self.distance.astype(float), occ.resolution)
        # distance, d/dx, d/dy side by side: one gather per corner serves all three
        self._field = np.stack([self.distance, gx.astype(np.float32), gy.astype(np.float32)],
                               axis=-1).reshape(-1, 3)
        self.distance = self._field[:, 0].reshape(self.shape)

    def log_likelihood(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Per-endpoint log-likelihood (any shape); outside the map: the random floor."""
        h, w = self.shape
        inv = 1.0 / self.resolution
        col = np.clip(np.floor((xs - self.origin[0]) * inv), -1, w).astype(np.int64) + 1
        row = np.clip(np.floor((ys - self.origin[1]) * inv), -1, h).astype(np.int64) + 1
        return self._log_p_padded[row * (w + 2) + col]

    def distance_gradient(self, xs: np.ndarray, ys: np.ndarray):
        """Bilinear distance (m) and its gradient at points; outside: max distance, 0."""
        fx = (xs - self.origin[0]) / self.resolution - 0.5
        fy = (ys - self.origin[1]) / self.resolution - 0.5
        c0 = np.floor(fx).astype(np.int64)
        r0 = np.floor(fy).astype(np.int64)
        ax, ay = fx - c0, fy - r0
        h, w = self.shape
        # the usual case, every point inside the map, needs no masking
        inside = None if xs.size and r0.min() >= 0 and r0.max() < h - 1 and \
            c0.min() >= 0 and c0.max() < w - 1 else \
            (r0 >= 0) & (r0 < h - 1) & (c0 >= 0) & (c0 < w - 1)
        i, a, b = r0 * w + c0, ax, ay
        if inside is not None:
            i, a, b = i[inside], a[inside], b[inside]
        a, b, f = a[..., None], b[..., None], self._field
        values = ((1 - a) * (1 - b) * f[i] + a * (1 - b) * f[i + 1]
                  + (1 - a) * b * f[i + w] + a * b * f[i + w + 1])
        if inside is None:
            return values[..., 0], values[..., 1], values[..., 2]
        out = np.zeros(xs.shape + (3,))
        out[..., 0] = self.cfg.max_distance
        out[inside] = values
        return out[..., 0], out[..., 1], out[..., 2]

    def sample_free(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n uniformly random points (n, 2) on free cells (rejection sampling)."""
        h, w = self.shape
        out = np.zeros((0, 2))
        for _ in range(100):
            rows = rng.integers(0, h, 2 * n)
            cols = rng.integers(0, w, 2 * n)
            keep = self.free[rows, cols]
            xy = np.column_stack([self.origin[0] + (cols[keep] + rng.random(keep.sum())) * self.resolution,
                                  self.origin[1] + (rows[keep] + rng.random(keep.sum())) * self.resolution])
            out = np.vstack([out, xy])
            if len(out) >= n:
                return out[:n]
        raise ValueError('the map has (almost) no free cells to sample')
