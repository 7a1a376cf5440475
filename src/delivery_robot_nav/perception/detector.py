"""The obstacle-detection pipeline: what the node runs per scan and per depth frame.

Per scan: endpoints -> segments -> clusters the static map does not explain -> tracker ->
costmap (clear the seen free space; points of tracked objects and discs of hidden tracks
on the objects layer, which holds only the latest scan; everything else on the lidar
layer). Per depth frame: obstacle points below the lidar plane, except those on objects
the lidar tracks -> depth layer (clear the free ground seen, mark). Plain arrays in and
out; no ROS.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from delivery_robot_nav.common.maps import OccupancyMap
from delivery_robot_nav.perception.costmap import CostmapConfig, RollingCostmap
from delivery_robot_nav.perception.depth import CameraModel, DepthConfig, DepthObstacleExtractor
from delivery_robot_nav.perception.lidar import (Clusters, SegmentationConfig, centers,
                                                 is_full_circle, partly_hidden, scan_points,
                                                 segment, summarize)
from delivery_robot_nav.perception.static_map import StaticMap, static_fraction
from delivery_robot_nav.perception.tracker import Detection, Tracker, TrackerConfig, TrackSet


@dataclass(frozen=True)
class DetectorConfig:
    segmentation: SegmentationConfig = SegmentationConfig()
    tracker: TrackerConfig = TrackerConfig()
    costmap: CostmapConfig = CostmapConfig()
    depth: DepthConfig = DepthConfig()
    laser_pose: tuple[float, float, float] = (0.0, 0.0, 0.0)   # in base_link (URDF)
    range_min: float = 0.1              # m, lidar returns nearer are ignored
    range_max: float = 30.0             # m
    static_tolerance: float = 0.25      # m, points this close to a mapped obstacle are static
    static_min_fraction: float = 0.5    # clusters with more explained points are static
    max_object_width: float = 2.5       # m, wider unexplained clusters are not tracked
    max_round_width: float = 1.0        # m, centroid correction up to this width
    track_range: float = 15.0           # m, clusters farther than this are not tracked
    hidden_margin: float = 0.2          # m, a return this much nearer beside a cluster's
                                        # edge hides part of it
    depth_track_margin: float = 0.2     # m, depth points this near a tracked object are its


@dataclass
class ScanResult:
    tracks: TrackSet
    clusters: Clusters
    centers: np.ndarray          # (k, 2) world, of `clusters`
    static: np.ndarray           # (k,) bool
    tracked: np.ndarray          # (k,) bool: given to the tracker
    seconds: dict = field(default_factory=dict)
    _costmap_input: tuple | None = field(default=None, repr=False)   # for update_costmap


class ObstacleDetector:
    def __init__(self, cfg: DetectorConfig, occ: OccupancyMap | None):
        self.cfg = cfg
        self.static_map = StaticMap(occ, max_distance=1.0) if occ is not None else None
        self.tracker = Tracker(cfg.tracker)
        self.costmap = RollingCostmap(cfg.costmap)
        self._extractor: DepthObstacleExtractor | None = None
        self._extractor_key = None
        self.t: float | None = None

    def reset(self):
        """Time jumped backwards: forget tracks and marks."""
        self.tracker.reset()
        self.costmap = RollingCostmap(self.cfg.costmap)
        self.t = None

    def _advance(self, t: float):
        if self.t is not None and t < self.t - 1.0:
            self.reset()
        self.t = t if self.t is None else max(self.t, t)

    # ------------------------------------------------------------------ lidar
    def on_scan(self, t: float, ranges: np.ndarray, angles: np.ndarray, pose,
                angle_increment: float, range_min: float | None = None,
                range_max: float | None = None) -> ScanResult:
        """Tracks and costmap from one scan: `track` then `update_costmap`."""
        result = self.track(t, ranges, angles, pose, angle_increment, range_min, range_max)
        self.update_costmap(result)
        return result

    def track(self, t: float, ranges: np.ndarray, angles: np.ndarray, pose,
              angle_increment: float, range_min: float | None = None,
              range_max: float | None = None) -> ScanResult:
        """The tracker's step for one scan; the costmap waits for `update_costmap(result)`
        (a node publishes the tracks in between: they are what its consumers wait for)."""
        cfg = self.cfg
        clock = time.perf_counter
        t0 = clock()
        self._advance(t)
        rmin = max(cfg.range_min, range_min or 0.0)
        rmax = min(cfg.range_max, range_max if range_max is not None else math.inf)
        pts = scan_points(ranges, angles, cfg.laser_pose, pose, rmin, rmax)
        labels = segment(pts, angle_increment, len(ranges), cfg.segmentation)
        clusters = summarize(pts, labels, cfg.segmentation.min_points)
        ctr = centers(clusters, pts.sensor_world, cfg.max_round_width)
        k = len(clusters)
        if self.static_map is not None and k:
            explained = self.static_map.explained(pts.world, cfg.static_tolerance)
            static = static_fraction(clusters.point_cluster, explained, k) > \
                cfg.static_min_fraction
        else:
            static = np.zeros(k, dtype=bool)
        near = np.hypot(*(ctr - pts.sensor_world).T) <= cfg.track_range if k else \
            np.zeros(0, dtype=bool)
        tracked = ~static & (clusters.width <= cfg.max_object_width) & near
        t1 = clock()
        idx = np.flatnonzero(tracked)
        partial = partly_hidden(clusters, pts, ranges, rmin, cfg.hidden_margin,
                                is_full_circle(len(ranges), angle_increment))
        tracks = self.tracker.update(t, Detection(ctr[idx], clusters.width[idx],
                                                  clusters.depth[idx], partial[idx]))
        t2 = clock()
        # points of objects that move (or are too new to tell) go to the objects layer
        # (this scan only), with a disc for every confirmed track hidden this scan; the
        # rest, still objects included, to the persistent layer: what stands still is
        # remembered when it leaves the lidar's view, as walls are
        moving = tracked.copy()
        moving[idx[self._still_detections(len(idx))]] = False
        on_object = np.concatenate([moving, [False]])[clusters.point_cluster]
        result = ScanResult(tracks, clusters, ctr, static, tracked,
                            {'clustering': t1 - t0, 'tracking': clock() - t1})
        result._costmap_input = (t, pose, ranges, angles, rmin, rmax, pts.world, on_object)
        return result

    def update_costmap(self, result: ScanResult) -> None:
        """The costmap from the scan `track` returned `result` for."""
        t0 = time.perf_counter()
        t, pose, ranges, angles, rmin, rmax, world, on_object = result._costmap_input
        tracks = result.tracks
        hidden = tracks.time_since_update > 0.0
        discs = self.costmap.discs(tracks.xy[hidden], np.maximum(tracks.size[hidden, 0], 0.2) / 2)
        self._update_costmap_lidar(t, pose, ranges, angles, rmin, rmax, world, on_object, discs)
        result.seconds['costmap'] = time.perf_counter() - t0

    def _still_detections(self, m: int) -> np.ndarray:
        """Per detection of the last tracker update: its track is confirmed and slower
        than the tracker's `moving_speed`."""
        still = np.zeros(m, dtype=bool)
        tr = self.tracker.tracks
        if not m or not len(tr):
            return still
        x, _ = tr.combined()
        slow = tr.confirmed & (np.hypot(x[:, 2], x[:, 3]) < self.cfg.tracker.moving_speed)
        row = {int(k): i for i, k in enumerate(tr.ids)}
        for j, k in self.tracker.last_assignment.items():
            i = row.get(k)
            if i is not None and slow[i]:
                still[j] = True
        return still

    def _update_costmap_lidar(self, t, pose, ranges, angles, rmin, rmax, world_pts,
                              on_object, discs):
        cm, cfg = self.costmap, self.cfg
        cm.recenter(pose[0], pose[1])
        c, s = math.cos(pose[2]), math.sin(pose[2])
        lx, ly, lyaw = cfg.laser_pose
        sensor = np.array([pose[0] + c * lx - s * ly, pose[1] + s * lx + c * ly])
        ranges = np.asarray(ranges, dtype=float)
        reach = cfg.costmap.size * 0.75                            # past every window corner
        free = np.where(np.isfinite(ranges) & (ranges >= rmin),
                        np.minimum(ranges - cfg.costmap.clearing_margin, rmax), 0.0)
        free = np.where(ranges == np.inf, min(rmax, reach), free)
        free = np.clip(free, 0.0, reach)
        a = np.asarray(angles, dtype=float) + lyaw + pose[2]
        polygon = sensor + free[:, None] * np.column_stack([np.cos(a), np.sin(a)])
        if len(a) > 1 and not is_full_circle(len(a), a[1] - a[0]):
            # a fan narrower than the full circle closes through the sensor, not along the
            # chord from its last beam to its first (which would cut behind the sensor and
            # clear cells it never saw)
            polygon = np.vstack([sensor, polygon])
        cm.clear_polygon('lidar', polygon)
        cm.mark('lidar', world_pts[~on_object], t)
        cm.replace('objects', np.vstack([world_pts[on_object], discs]), t)

    # ------------------------------------------------------------------ depth camera
    def on_depth(self, t: float, depth: np.ndarray, camera: CameraModel,
                 base_T_optical: np.ndarray, pose) -> dict:
        """Low obstacles from one depth frame into the costmap; returns a summary."""
        t0 = time.perf_counter()
        self._advance(t)
        key = (camera, base_T_optical.tobytes())
        if self._extractor is None or self._extractor_key != key:
            self._extractor = DepthObstacleExtractor(self.cfg.depth, camera, base_T_optical)
            self._extractor_key = key
        obs = self._extractor.extract(depth)
        cm = self.costmap
        cm.recenter(pose[0], pose[1])
        c, s = math.cos(pose[2]), math.sin(pose[2])

        def to_world(xy):
            return np.column_stack([pose[0] + c * xy[:, 0] - s * xy[:, 1],
                                    pose[1] + s * xy[:, 0] + c * xy[:, 1]])
        if len(obs.free_polygon):
            cm.clear_polygon('depth', to_world(obs.free_polygon))
        world = to_world(obs.xy)
        world = world[~self._on_tracked_objects(world, t)]
        cm.mark('depth', world, t)
        return {'points': len(world), 'components': obs.components,
                'low_components': obs.low_components, 'ground_fit': obs.ground_fit,
                'seconds': time.perf_counter() - t0}

    def _on_tracked_objects(self, xy: np.ndarray, t: float) -> np.ndarray:
        """Points within `depth_track_margin` of an object the lidar tracks (predicted to
        t): a person's legs at the edge of the camera's view are that person, not a curb,
        and the objects layer already holds them."""
        tr = self.tracker.tracks
        if not len(tr) or not len(xy):
            return np.zeros(len(xy), dtype=bool)
        x, _ = tr.combined()
        dt = t - (self.tracker.t if self.tracker.t is not None else t)
        centres = x[:, :2] + x[:, 2:] * dt
        radius = np.maximum(tr.size[:, 0], 0.2) / 2.0 + self.cfg.depth_track_margin
        d = np.hypot(*(xy[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
        return np.any(d <= radius[None, :], axis=1)

    # ------------------------------------------------------------------ output
    def costmap_grid(self, t: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """(int8 costs, origin xy, resolution) of the rolling window at t."""
        t = self.t if t is None else t
        return self.costmap.costs(t if t is not None else 0.0), self.costmap.origin.copy(), \
            self.cfg.costmap.resolution
