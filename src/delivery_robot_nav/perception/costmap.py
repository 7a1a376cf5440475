"""Rolling local costmap around the robot: obstacle layers, ray-traced clearing, inflation.

- The window (`size` m square, `resolution` m cells) is aligned to multiples of the
  resolution in the world frame and follows the robot by whole-cell shifts, so a cell keeps
  its place in the world while it stays in the window.
- Three obstacle layers, each cell holding the time it was last marked:
  `lidar` (hits of the planar lidar on large or mapped things), `objects` (replaced every
  scan: the points of the small unmapped objects the tracker follows, and a disc for each
  track hidden this scan, where it is predicted to be; a person who walked off behind its
  own shadow leaves no mark) and `depth` (obstacles below or above the lidar plane, from
  the depth camera). Each sensor clears only its own layer: the lidar beams pass over a
  curb the camera marked.
- Clearing: the free space a sensor saw is one polygon (the scan's endpoints around the
  sensor, each pulled back by `clearing_margin`; for the camera, the farthest free ground
  per image column), filled with OpenCV's fillPoly: one C call instead of ray marching.
- Marks older than `obstacle_persistence` fade (cells nothing has looked at for that long).
- Inflation: OpenCV's distance transform of the obstacle cells; cost as Nav2's inflation
  layer: 100 on obstacles (LETHAL), 99 within the inscribed radius (INSCRIBED), then
  1 + 97 exp(-cost_scaling_factor (d - inscribed)) out to `inflation_radius`, 0 beyond.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LETHAL, INSCRIBED = 100, 99
_NEVER = -np.inf


@dataclass(frozen=True)
class CostmapConfig:
    size: float = 12.0                  # m, square window side
    resolution: float = 0.05            # m per cell
    inscribed_radius: float = 0.30      # m, from the footprint
    inflation_radius: float = 0.9       # m
    cost_scaling_factor: float = 5.0    # 1/m, exponential decay of the inflated cost
    clearing_margin: float = 0.1        # m, free space stops this short of a hit
    obstacle_persistence: float = 10.0  # s, marks not seen again for this long fade


class RollingCostmap:
    LAYERS = ('lidar', 'objects', 'depth')

    def __init__(self, cfg: CostmapConfig):
        if cfg.size <= 0 or cfg.resolution <= 0 or cfg.size / cfg.resolution > 4000:
            raise ValueError(f'costmap size {cfg.size} m at {cfg.resolution} m: expected '
                             'positive numbers and at most 4000 cells a side')
        self.cfg = cfg
        self.n = int(round(cfg.size / cfg.resolution))
        self.origin = np.zeros(2)           # world (x, y) of cell (0, 0)'s lower-left corner
        self.t = 0.0
        self.layers = {name: np.full((self.n, self.n), _NEVER, dtype=np.float64)
                       for name in self.LAYERS}
        self._centered = False

    # ------------------------------------------------------------------ window
    def recenter(self, x: float, y: float):
        """Move the window so (x, y) is in its middle cell, keeping cells' contents."""
        res = self.cfg.resolution
        new = np.floor(np.array([x, y]) / res - self.n / 2.0) * res
        if not self._centered:
            self.origin, self._centered = new, True
            return
        shift = np.round((new - self.origin) / res).astype(int)      # cells (dx, dy)
        if not shift.any():
            return
        for name, grid in self.layers.items():
            self.layers[name] = _shifted(grid, shift[1], shift[0])
        self.origin = self.origin + shift * res

    def world_to_cell(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, inside) of world points (n, 2)."""
        f = (np.asarray(xy, dtype=float) - self.origin) / self.cfg.resolution
        col = np.floor(f[:, 0]).astype(np.intp)
        row = np.floor(f[:, 1]).astype(np.intp)
        inside = (row >= 0) & (row < self.n) & (col >= 0) & (col < self.n)
        return row, col, inside

    def _pixels(self, xy: np.ndarray) -> np.ndarray:
        """World points as OpenCV polygon vertices (x = col, y = row), fixed point 8 bits."""
        f = (np.asarray(xy, dtype=float) - self.origin) / self.cfg.resolution
        return np.round(f * 256.0).astype(np.int32)

    # ------------------------------------------------------------------ layers
    def clear_polygon(self, layer: str, polygon_xy: np.ndarray):
        """Free every cell whose centre lies in the polygon (world vertices, in order)."""
        if len(polygon_xy) < 3:
            return
        mask = np.zeros((self.n, self.n), dtype=np.uint8)
        # cell (r, c) is pixel (x=c, y=r) with its centre at c + 0.5: shift by half a cell
        pts = self._pixels(polygon_xy) - 128
        cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=8)
        self.layers[layer][mask.astype(bool)] = _NEVER

    def discs(self, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
        """World points, one per cell, covering discs (centres (k, 2), radii (k,))."""
        if not len(centres):
            return np.zeros((0, 2))
        res = self.cfg.resolution
        cells = np.maximum(np.ceil(np.asarray(radii) / res), 1).astype(int)
        return np.vstack([c + self._disc_offsets(int(k)) for c, k in zip(centres, cells)])

    def _disc_offsets(self, k: int) -> np.ndarray:
        """Cell-spaced offsets (m) within k cells of the centre (cached per k)."""
        cache = self.__dict__.setdefault('_discs', {})
        if k not in cache:
            g = np.arange(-k, k + 1)
            gx, gy = np.meshgrid(g, g)
            keep = np.hypot(gx, gy) <= k
            cache[k] = np.column_stack([gx[keep], gy[keep]]) * self.cfg.resolution
        return cache[k]

    def mark(self, layer: str, xy: np.ndarray, t: float):
        row, col, inside = self.world_to_cell(xy)
        self.layers[layer][row[inside], col[inside]] = t

    def replace(self, layer: str, xy: np.ndarray, t: float):
        """The layer holds exactly these points now (the objects layer)."""
        self.layers[layer].fill(_NEVER)
        self.mark(layer, xy, t)

    # ------------------------------------------------------------------ output
    def obstacles(self, t: float) -> np.ndarray:
        """bool grid: cells marked in any layer and not yet faded."""
        horizon = t - self.cfg.obstacle_persistence
        out = self.layers['objects'] >= t - 1e-9
        out |= self.layers['lidar'] >= horizon
        out |= self.layers['depth'] >= horizon
        return out

    def costs(self, t: float) -> np.ndarray:
        """int8 grid (row 0 at origin y) of OccupancyGrid costs 0..100, inflated."""
        occupied = self.obstacles(t)
        cfg = self.cfg
        if not occupied.any():
            return np.zeros((self.n, self.n), dtype=np.int8)
        # distance (cells) from each free cell's centre to the nearest obstacle cell's
        # centre; obstacle cells are 0
        dist = cv2.distanceTransform((~occupied).astype(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE) * cfg.resolution
        cost = np.zeros((self.n, self.n), dtype=np.float32)
        ramp = (dist > cfg.inscribed_radius) & (dist <= cfg.inflation_radius)
        cost[ramp] = 1.0 + 97.0 * np.exp(-cfg.cost_scaling_factor
                                         * (dist[ramp] - cfg.inscribed_radius))
        cost[dist <= cfg.inscribed_radius] = INSCRIBED
        cost[occupied] = LETHAL
        return cost.astype(np.int8)


def _shifted(grid: np.ndarray, drow: int, dcol: int) -> np.ndarray:
    """grid moved so that new[r, c] = old[r + drow, c + dcol]; uncovered cells: never."""
    n_r, n_c = grid.shape
    out = np.full_like(grid, _NEVER)
    if abs(drow) >= n_r or abs(dcol) >= n_c:
        return out
    src_r = slice(max(drow, 0), n_r + min(drow, 0))
    dst_r = slice(max(-drow, 0), n_r + min(-drow, 0))
    src_c = slice(max(dcol, 0), n_c + min(dcol, 0))
    dst_c = slice(max(-dcol, 0), n_c + min(-dcol, 0))
    out[dst_r, dst_c] = grid[src_r, src_c]
    return out
