"""Collision monitor: the last line of defence, on the raw scan and the footprint polygon.

Independent of the costmap, the tracker and the planner (as Nav2's collision_monitor): it
takes the velocity command about to be sent and the newest scan points in base_link and
returns the command it allows, with the reason.

- stop: a point inside the footprint grown by `stop_margin` -> no forward or backward
  motion (turning in place stays allowed unless the turn itself would hit: see approach);
- slowdown: a point inside the footprint grown by `slowdown_margin` that the commanded
  motion brings the footprint nearer to -> speed scaled by `slowdown_ratio`. Slowing down
  only helps against what the robot moves towards: a walker behind it, beside it, or
  beside a corner that the turn swings away from them, would be kept in the robot's way
  by it (the role of Nav2's velocity-dependent slow-down polygons; until 2026-11-30 the
  zone went all round, then all round but what the motion takes the footprint away
  from; until 2026-12-01 it held points beside the robot, whose distance going straight
  does not change: trip seed 91, a walker turning across the walkway into the side of
  the robot overtaking it, slowed it down in their way);
- approach: the footprint swept along the commanded (v, w) for `time_horizon` seconds (in
  `time_step` steps, each a transform of all points at once): if it would touch a point
  after t seconds, the command is scaled by t / time_horizon, so the robot always keeps at
  least `time_horizon` of travel between itself and the obstacle and stops at the margin.

Polygon tests are shapely's vectorized `contains_xy` (C); a zone that is an axis-aligned
rectangle (a box footprint, buffered with mitred corners) is tested by comparing with its
own corner coordinates instead: the same answers (strictly inside), at a fraction of the
cost for the 15 x 720 points of a sweep. Everything else is numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

CLEAR, SLOWDOWN, APPROACH, STOP = 'clear', 'slowdown', 'approach', 'stop'


@dataclass(frozen=True)
class CollisionMonitorConfig:
    stop_margin: float = 0.05           # m around the footprint: nothing may be closer
    slowdown_margin: float = 0.4        # m around the footprint: slow down
    slowdown_ratio: float = 0.5         # speed factor inside the slowdown zone
    time_horizon: float = 1.5           # s of commanded motion checked ahead
    time_step: float = 0.1              # s between swept footprints
    min_points: int = 1                 # points needed to trigger a zone (noise)


@dataclass
class MonitorResult:
    v: float
    w: float
    state: str                          # CLEAR, SLOWDOWN, APPROACH or STOP
    reason: str
    time_to_collision: float = math.inf


class CollisionMonitor:
    def __init__(self, cfg: CollisionMonitorConfig, footprint: np.ndarray):
        """footprint: (k, 2) polygon in base_link (counter-clockwise or not)."""
        footprint = np.asarray(footprint, dtype=float)
        if footprint.ndim != 2 or footprint.shape[1] != 2 or len(footprint) < 3 or \
                not np.all(np.isfinite(footprint)):
            raise ValueError(f'footprint must be at least 3 finite (x, y) points, got '
                             f'{footprint.tolist()}')
        self.cfg = cfg
        base = shapely.Polygon(footprint)
        if not base.is_valid or base.area <= 0:
            raise ValueError('footprint polygon is not valid (self-intersecting or empty)')
        self.footprint = base
        shapely.prepare(self.footprint)
        self.stop_zone = base.buffer(cfg.stop_margin, join_style='mitre')
        self.slow_zone = base.buffer(cfg.slowdown_margin, join_style='mitre')
        shapely.prepare(self.stop_zone)
        shapely.prepare(self.slow_zone)
        self._boxes = {id(z): _axis_box(z) for z in (self.footprint, self.stop_zone,
                                                       self.slow_zone)}
        self._reach = float(np.max(np.hypot(*footprint.T))) + cfg.slowdown_margin
        self._rear, self._front = float(footprint[:, 0].min()), float(footprint[:, 0].max())
        self._right, self._left = float(footprint[:, 1].min()), float(footprint[:, 1].max())
        n = max(1, int(round(cfg.time_horizon / cfg.time_step)))
        self._times = np.arange(1, n + 1) * (cfg.time_horizon / n)

    def check(self, v: float, w: float, points: np.ndarray) -> MonitorResult:
        """The command allowed for (v, w) given scan points (n, 2) in base_link."""
        cfg = self.cfg
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if not (math.isfinite(v) and math.isfinite(w)):
            return MonitorResult(0.0, 0.0, STOP, 'non-finite velocity command')
        # only points the swept footprint could reach matter
        reach = self._reach + abs(v) * cfg.time_horizon
        pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= reach]
        if not len(pts):
            return MonitorResult(v, w, CLEAR, 'clear')
        in_stop = self._contains(self.stop_zone, pts[:, 0], pts[:, 1])
        if in_stop.sum() >= cfg.min_points:
            close = pts[in_stop]
            nearest = close[np.argmin(np.hypot(*close.T))]
            why = (f'obstacle at ({nearest[0]:.2f}, {nearest[1]:.2f}) within '
                   f'{cfg.stop_margin} m of the footprint')
            # a motion that takes the footprint away from every point already this close
            # (and hits nothing else) is allowed, so the robot can always back out; so
            # is the turn in place alone when it does
            others = pts[~in_stop]
            for v_try, w_try in ((v, w), (0.0, w)):
                if (v_try or w_try) and self._moves_away(v_try, w_try, close) and \
                        self._sweep_time(v_try, w_try, close, self.footprint) == math.inf and \
                        self._sweep_time(v_try, w_try, others) == math.inf:
                    return MonitorResult(v_try, w_try, STOP, why + ': moving away', 0.0)
            return MonitorResult(0.0, 0.0, STOP, why, 0.0)
        ttc = self._sweep_time(v, w, pts)
        state, reason, scale = CLEAR, 'clear', 1.0
        if ttc < math.inf:
            scale = ttc / cfg.time_horizon
            state, reason = APPROACH, f'collision in {ttc:.1f} s at the commanded velocity'
        in_slow = self._contains(self.slow_zone, pts[:, 0], pts[:, 1])
        if in_slow.any():
            # slowing down only helps against what the motion brings nearer: what is
            # behind, beside, or beside a corner that the turn swings the other way is
            # left out
            in_slow[in_slow] = self.approaching(v, w, pts[in_slow])
        if in_slow.sum() >= cfg.min_points and cfg.slowdown_ratio < scale:
            scale = cfg.slowdown_ratio
            state, reason = SLOWDOWN, (f'obstacle within {cfg.slowdown_margin} m of the '
                                       'footprint')
        return MonitorResult(v * scale, w * scale, state, reason, ttc)

    def _contains(self, zone, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Which points (x, y: arrays of one shape) lie strictly inside the zone."""
        box = self._boxes.get(id(zone))
        if box is None:
            return shapely.contains_xy(zone, x, y)
        x0, y0, x1, y1 = box
        return (x > x0) & (x < x1) & (y > y0) & (y < y1)

    def approaching(self, v: float, w: float, points: np.ndarray, dt: float = 0.1) -> np.ndarray:
        """Which points (n, 2) moving at (v, w) for dt brings the footprint nearer to (by
        more than a millimetre): standing still, none."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if not len(pts) or (abs(v) < 1e-6 and abs(w) < 1e-6):
            return np.zeros(len(pts), dtype=bool)
        d0, d1 = self._distances_before_after(v, w, pts, dt)
        return d1 < d0 - 1e-3

    def _distances_before_after(self, v, w, pts, dt):
        """Distances from the footprint to the points now and after moving at (v, w)
        for dt (points inside it: 0)."""
        x, y, th = (float(a[0]) for a in arc_poses(v, w, np.array([dt])))
        c, s = math.cos(th), math.sin(th)
        dx, dy = pts[:, 0] - x, pts[:, 1] - y
        moved = np.column_stack([c * dx + s * dy, -s * dx + c * dy])
        return self._distance(pts), self._distance(moved)

    def _distance(self, pts: np.ndarray) -> np.ndarray:
        """Distance from the footprint to points (n, 2) (0 inside): for a box footprint
        from its corner coordinates, else shapely's."""
        box = self._boxes.get(id(self.footprint))
        if box is None:
            return shapely.distance(self.footprint, shapely.points(pts))
        x0, y0, x1, y1 = box
        ex = np.maximum(np.maximum(x0 - pts[:, 0], pts[:, 0] - x1), 0.0)
        ey = np.maximum(np.maximum(y0 - pts[:, 1], pts[:, 1] - y1), 0.0)
        return np.sqrt(ex * ex + ey * ey)

    def _moves_away(self, v: float, w: float, pts: np.ndarray, dt: float = 0.1) -> bool:
        """True when moving at (v, w) for dt brings no point nearer the footprint (and
        none inside it): backing out, or sliding along an obstacle beside the robot."""
        d0, d1 = self._distances_before_after(v, w, pts, dt)
        return bool(np.all(d1 > 0.0) and np.all(d1 >= d0 - 1e-4))

    def _sweep_time(self, v: float, w: float, pts: np.ndarray, zone=None) -> float:
        """First time (s) at which the stop zone (or `zone`) moving at (v, w) from the
        origin contains a point; inf when none within the horizon."""
        zone = self.stop_zone if zone is None else zone
        if abs(v) < 1e-6 and abs(w) < 1e-6:
            return math.inf
        t = self._times
        x, y, th = arc_poses(v, w, t)
        c, s = np.cos(th), np.sin(th)
        dx = pts[None, :, 0] - x[:, None]
        dy = pts[None, :, 1] - y[:, None]
        # points in the moved robot frame, (steps, n)
        px = c[:, None] * dx + s[:, None] * dy
        py = -s[:, None] * dx + c[:, None] * dy
        hit = self._contains(zone, px, py)
        rows = np.flatnonzero(hit.sum(axis=1) >= self.cfg.min_points)
        return float(t[rows[0]]) if len(rows) else math.inf


def _axis_box(polygon) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of a polygon that is an axis-aligned rectangle (its own
    coordinates, exactly), else None."""
    xy = np.asarray(polygon.exterior.coords)[:-1]
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    on_corner = np.isin(xy[:, 0], (x0, x1)) & np.isin(xy[:, 1], (y0, y1))
    if len(polygon.interiors) or not on_corner.all() or \
            len({(float(a), float(b)) for a, b in xy}) != 4:
        return None
    return float(x0), float(y0), float(x1), float(y1)


def arc_poses(v: float, w: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, yaw) after moving at constant (v, w) for times t, in the frame of the start
    pose (exact: a circular arc, or a straight line when w is ~0)."""
    th = w * t
    if abs(w) > 1e-6:
        return v / w * np.sin(th), v / w * (1.0 - np.cos(th)), th
    return v * t, np.zeros_like(t), th


def rectangle_footprint(xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
    return np.array([[xmax, ymax], [xmin, ymax], [xmin, ymin], [xmax, ymin]], dtype=float)
