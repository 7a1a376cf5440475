"""A scripted route driver: pure pursuit along a fixed polyline with a lidar safety stop.

The stand-in controller of the foundation demo, until localization, obstacle detection and
path following take over. It follows the route with a pure-pursuit law (Coulter 1992),
slows in sharp turns, and stops while the lidar sees anything inside a corridor ahead of the
footprint. It steers by whatever pose it is given (the demo gives it the simulator's ground
truth), so it measures the simulator and the DDS plumbing, not navigation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RouteDriverConfig:
    cruise_speed: float = 1.2           # m/s
    lookahead: float = 1.5              # m, pure-pursuit lookahead distance
    max_angular_velocity: float = 1.2   # rad/s
    goal_tolerance: float = 0.5         # m, distance to the final point that ends the route
    stop_distance: float = 0.8          # m, free space kept ahead of the front bumper
    slow_distance: float = 3.0          # m, speed scales down to zero over this distance
    corridor_half_width: float = 0.45   # m, half width of the checked corridor
    front_extent: float = 0.35          # m, base_link to front bumper
    laser_x: float = 0.0                # m, laser origin ahead of base_link


@dataclass
class DriveCommand:
    v: float
    w: float
    blocked: bool       # stopped or slowed by something in the corridor
    done: bool


class RouteDriver:
    def __init__(self, waypoints, cfg: RouteDriverConfig):
        pts = np.asarray(waypoints, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
            raise ValueError(f'route needs at least two (x, y) waypoints, got shape {pts.shape}')
        if not np.all(np.isfinite(pts)):
            raise ValueError('route waypoints must be finite')
        self.points = pts
        self.cfg = cfg
        seg = np.diff(pts, axis=0)
        self.seg_len = np.hypot(seg[:, 0], seg[:, 1])
        self.cum = np.concatenate([[0.0], np.cumsum(self.seg_len)])
        self.length = float(self.cum[-1])
        self.progress = 0.0     # arc length reached along the route, never decreases
        self.done = False

    def _point_at(self, s: float) -> np.ndarray:
        s = min(max(s, 0.0), self.length)
        i = min(int(np.searchsorted(self.cum, s, side='right')) - 1, len(self.seg_len) - 1)
        a = (s - self.cum[i]) / self.seg_len[i] if self.seg_len[i] > 0 else 0.0
        return self.points[i] + a * (self.points[i + 1] - self.points[i])

    def _project(self, x: float, y: float) -> float:
        """Arc length of the closest route point, searched a little ahead of progress."""
        # segments overlapping [progress, progress + 10 m]: no jumping to a later pass
        # of the same place on a looping route
        segments = np.nonzero((self.cum[1:] >= self.progress) &
                              (self.cum[:-1] <= self.progress + 10.0))[0]
        best_s, best_d = self.progress, math.inf
        p = np.array([x, y])
        for i in segments:
            a, b = self.points[i], self.points[i + 1]
            ab = b - a
            t = float(np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0))
            d = float(np.hypot(*(a + t * ab - p)))
            if d < best_d:
                best_d, best_s = d, self.cum[i] + t * self.seg_len[i]
        return max(best_s, self.progress)

    def clearance_ahead(self, ranges: np.ndarray, angles: np.ndarray) -> float:
        """Free distance ahead of the front bumper inside the corridor (inf if clear)."""
        finite = np.isfinite(ranges)
        xs = self.cfg.laser_x + ranges[finite] * np.cos(angles[finite])
        ys = ranges[finite] * np.sin(angles[finite])
        ahead = (xs > self.cfg.front_extent) & (np.abs(ys) <= self.cfg.corridor_half_width)
        if not np.any(ahead):
            return math.inf
        return float(xs[ahead].min() - self.cfg.front_extent)

    def command(self, x: float, y: float, yaw: float,
                scan: tuple[np.ndarray, np.ndarray] | None = None) -> DriveCommand:
        c = self.cfg
        if self.done:
            return DriveCommand(0.0, 0.0, False, True)
        self.progress = self._project(x, y)
        end = self.points[-1]
        if self.length - self.progress < c.lookahead and math.hypot(end[0] - x, end[1] - y) < c.goal_tolerance:
            self.done = True
            return DriveCommand(0.0, 0.0, False, True)
        target = self._point_at(self.progress + c.lookahead)
        dx, dy = target[0] - x, target[1] - y
        local_x = math.cos(yaw) * dx + math.sin(yaw) * dy
        local_y = -math.sin(yaw) * dx + math.cos(yaw) * dy
        heading_error = math.atan2(local_y, local_x)
        if abs(heading_error) > math.pi / 3:          # turn in place toward the route
            w = math.copysign(c.max_angular_velocity, heading_error)
            return DriveCommand(0.0, w, False, False)
        curvature = 2.0 * local_y / max(local_x * local_x + local_y * local_y, 1e-6)
        v = c.cruise_speed * max(0.3, math.cos(heading_error))
        v = min(v, c.max_angular_velocity / max(abs(curvature), 1e-6))
        remaining = self.length - self.progress
        v = min(v, max(0.2, remaining))                # arrive gently
        blocked = False
        if scan is not None:
            free = self.clearance_ahead(*scan)
            if free < c.stop_distance + c.slow_distance:
                blocked = True
                v *= max(0.0, (free - c.stop_distance) / c.slow_distance)
        w = float(np.clip(v * curvature, -c.max_angular_velocity, c.max_angular_velocity))
        if blocked and v == 0.0:
            w = 0.0
        return DriveCommand(float(v), w, blocked, False)



class LockstepRouteController:
    """Scenario-runner controller: the route driver on ground truth and the latest scan,
    commanding at `control_rate_hz` (as the ROS driver node does over DDS)."""

    def __init__(self, driver: RouteDriver, control_rate_hz: float, step_rate_hz: float):
        self.driver = driver
        self.period = max(1, int(round(step_rate_hz / control_rate_hz)))
        self.scan = None
        self.steps = 0
        self.blocked_steps = 0

    def __call__(self, step):
        for r in step.readings:
            if hasattr(r, 'ranges'):
                self.scan = (np.asarray(r.ranges, dtype=float),
                             r.angle_min + r.angle_increment * np.arange(len(r.ranges)))
        self.steps += 1
        if self.steps % self.period:
            return None
        gt = step.ground_truth
        cmd = self.driver.command(gt.x, gt.y, gt.yaw, self.scan)
        self.blocked_steps += cmd.blocked
        return cmd.v, cmd.w
