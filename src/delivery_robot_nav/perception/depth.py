"""Depth image -> obstacle points below (or above) the lidar plane, and the free ground seen.

- Pixels become points in base_link through the camera intrinsics and the URDF's
  base_link -> optical frame transform (REP 103/105; depth along the optical z axis,
  REP 118 32FC1 metres: NaN, 0 and +-inf carry no measurement).
- Ground-plane removal: a least-squares plane through the points near the nominal ground
  (z = 0 in base_link) gives each point its height above the ground actually seen (the
  robot pitching on a ramp tilts it); with too few ground points, the nominal plane is used.
  A point is an obstacle when it stands higher than `min_obstacle_height`, or than
  `noise_sigmas` times the height noise the depth noise (k z^2) causes at its range,
  whichever is larger, and lower than `max_obstacle_height` (what the robot passes under).
- Connected components (OpenCV) of the obstacle pixels; components smaller than
  `min_component_pixels` are noise.
- Components are cut where the depth jumps between neighbouring pixels, so a curb in
  front of a person is not part of the person.
- What the lidar cannot see is the camera's job: only components lying wholly below the
  lidar plane (curbs, planters) are returned, and with `mark_overhangs` those wholly above
  it; whatever reaches the plane the lidar sees and tracks (a person's legs would otherwise
  leave marks where the person hid them from the camera). Overhangs are off by default:
  where the depth range limit cuts through a person (depth grows towards the feet for a
  camera pitched down), the part left lies wholly above the plane.
- Free ground: per image column, the nearest and the farthest ground point before the
  first obstacle: the polygon between them is where the camera saw that nothing low stands.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BELOW, STRADDLE, ABOVE = 0, 1, 2


@dataclass(frozen=True)
class DepthConfig:
    range_min: float = 0.3              # m, nearer depths are not trusted
    range_max: float = 4.0              # m, farther depths are not used
    min_obstacle_height: float = 0.06   # m above the ground plane
    max_obstacle_height: float = 1.2    # m, higher things do not block the robot
    noise_coefficient: float = 0.01     # 1/m: depth stddev = k z^2 (sensor datasheet)
    noise_sigmas: float = 3.0           # obstacle threshold in height-noise sigmas
    ground_tolerance: float = 0.08      # m, |z| of points that may be ground for the fit
    min_ground_points: int = 50
    max_ground_tilt: float = 0.15       # rad, fitted planes steeper than this are refused
    min_component_pixels: int = 4       # smaller obstacle blobs are noise
    plane_height: float = 0.35          # m, the lidar's scan plane (from the URDF)
    plane_margin: float = 0.05          # m, band around the plane counted as straddling
    mark_overhangs: bool = False        # also return components wholly above the lidar plane
    jump_relative: float = 0.2          # depth jump (fraction of depth) that separates objects
    jump_absolute: float = 0.2          # m, plus this


@dataclass(frozen=True)
class CameraModel:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


@dataclass
class DepthObstacles:
    """Obstacle points in base_link and the free ground polygon (base_link, in order)."""
    xy: np.ndarray            # (n, 2)
    height: np.ndarray        # (n,) above the fitted ground
    band: np.ndarray          # (n,) BELOW / STRADDLE / ABOVE the lidar plane
    component: np.ndarray     # (n,) component label (1..)
    components: int           # obstacle components (noise removed)
    low_components: int       # ... of them wholly below or above the lidar plane (kept)
    free_polygon: np.ndarray  # (k, 2), empty when no ground was seen
    ground_fit: bool          # the plane came from the image (else the nominal one)


class DepthObstacleExtractor:
    def __init__(self, cfg: DepthConfig, camera: CameraModel, base_T_optical: np.ndarray):
        self.cfg, self.camera = cfg, camera
        u, v = np.meshgrid(np.arange(camera.width, dtype=float),
                           np.arange(camera.height, dtype=float))
        rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy,
                         np.ones_like(u)], axis=-1)
        R, t = base_T_optical[:3, :3], base_T_optical[:3, 3]
        # a point at depth z along pixel (u, v) is z * dirs[v, u] + t in base_link
        self.dirs = (rays @ R.T).astype(np.float32)
        self.t = t.astype(np.float32)

    def extract(self, depth: np.ndarray) -> DepthObstacles:
        cfg, cam = self.cfg, self.camera
        depth = np.asarray(depth, dtype=np.float32)
        if depth.shape != (cam.height, cam.width):
            raise ValueError(f'depth image is {depth.shape[1]}x{depth.shape[0]}, camera_info '
                             f'says {cam.width}x{cam.height}')
        with np.errstate(invalid='ignore'):
            valid = np.isfinite(depth) & (depth >= cfg.range_min) & (depth <= cfg.range_max)
        z = np.where(valid, depth, 0.0).astype(np.float32)
        pts = z[..., None] * self.dirs + self.t                     # (h, w, 3) base_link
        x, y, zz = pts[..., 0], pts[..., 1], pts[..., 2]
        plane, fitted = self._ground_plane(x, y, zz, valid)
        h = zz - (plane[0] * x + plane[1] * y + plane[2])
        sigma_h = cfg.noise_coefficient * z * z * np.abs(self.dirs[..., 2])
        threshold = np.maximum(cfg.min_obstacle_height, cfg.noise_sigmas * sigma_h)
        obstacle = valid & (h > threshold) & (h < cfg.max_obstacle_height)
        # components of obstacle pixels, cut where the depth jumps between neighbours (a
        # curb in front of a person is not part of the person)
        jump = cfg.jump_relative * z + cfg.jump_absolute
        cut = np.zeros_like(obstacle)
        dz_x = np.abs(np.diff(z, axis=1)) > np.minimum(jump[:, 1:], jump[:, :-1])
        dz_y = np.abs(np.diff(z, axis=0)) > np.minimum(jump[1:, :], jump[:-1, :])
        pair_x = obstacle[:, 1:] & obstacle[:, :-1] & dz_x
        pair_y = obstacle[1:, :] & obstacle[:-1, :] & dz_y
        cut[:, 1:] |= pair_x
        cut[1:, :] |= pair_y
        body = obstacle & ~cut
        count, labels, stats, _ = cv2.connectedComponentsWithStats(body.astype(np.uint8),
                                                                   connectivity=8)
        band = np.full(h.shape, STRADDLE, dtype=np.int8)
        band[h < cfg.plane_height - cfg.plane_margin] = BELOW
        band[h > cfg.plane_height + cfg.plane_margin] = ABOVE
        lab = labels[body]
        per = [np.bincount(lab[band[body] == b], minlength=count) for b in (BELOW, STRADDLE, ABOVE)]
        big = stats[:, cv2.CC_STAT_AREA] >= cfg.min_component_pixels
        # the lidar sees what reaches its plane: the camera's part is what lies wholly
        # below it (curbs, planters), and with mark_overhangs wholly above it
        mine = big & (per[1] == 0) & (per[2] == 0)
        if cfg.mark_overhangs:
            mine |= big & (per[0] == 0) & (per[1] == 0)
        mine[0] = False                                             # background
        keep = mine[labels] & body
        ground = valid & ~obstacle
        free = self._free_polygon(x, y, ground, obstacle)
        return DepthObstacles(np.column_stack([x[keep], y[keep]]).astype(float),
                              h[keep].astype(float), band[keep], labels[keep],
                              int((big[1:]).sum()), int(mine.sum()), free, fitted)

    def _ground_plane(self, x, y, z, valid) -> tuple[np.ndarray, bool]:
        """z = a x + b y + c through the points near the nominal ground (least squares)."""
        cfg = self.cfg
        near = valid & (np.abs(z) < cfg.ground_tolerance)
        if near.sum() < cfg.min_ground_points:
            return np.zeros(3), False
        A = np.column_stack([x[near], y[near], np.ones(int(near.sum()))]).astype(float)
        sol, *_ = np.linalg.lstsq(A, z[near].astype(float), rcond=None)
        tilt = np.arctan(np.hypot(sol[0], sol[1]))
        if not np.all(np.isfinite(sol)) or tilt > cfg.max_ground_tilt or \
                abs(sol[2]) > cfg.ground_tolerance:
            return np.zeros(3), False
        return sol, True

    def _free_polygon(self, x, y, ground, obstacle) -> np.ndarray:
        """Per column: nearest and farthest ground point short of the column's nearest
        obstacle; the polygon runs out along the far ends and back along the near ends."""
        r = np.hypot(x, y)
        big = np.float32(1e9)
        first_obstacle = np.where(obstacle, r, big).min(axis=0)            # (w,)
        usable = ground & (r < first_obstacle[None, :] - 0.05)
        far_r = np.where(usable, r, -1.0)
        near_r = np.where(usable, r, big)
        cols = np.flatnonzero(usable.any(axis=0))
        if len(cols) < 2:
            return np.zeros((0, 2))
        far_row = far_r[:, cols].argmax(axis=0)
        near_row = near_r[:, cols].argmin(axis=0)
        far = np.column_stack([x[far_row, cols], y[far_row, cols]])
        near = np.column_stack([x[near_row, cols], y[near_row, cols]])
        return np.vstack([far, near[::-1]]).astype(float)
