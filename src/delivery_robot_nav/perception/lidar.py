"""Lidar scan -> points -> clusters (segments), vectorized.

Two segmentations, chosen by `SegmentationConfig.method` (compared in
bench/bench_perception.py and `delivery-nav evaluate-perception`):
- `scan_order`: neighbouring beams belong to one segment when their endpoints are closer
  than the adaptive breakpoint distance of Borges & Aldon (2004),
  r * sin(dphi) / sin(lambda - dphi) + 3 sigma_r: the gap two points on a surface seen at
  the grazing angle `lambda` would have. One pass over the beams; a 360-degree scan wraps.
- `kdtree`: single-linkage (DBSCAN with min_samples 1) with a fixed radius: scipy's KD-tree
  pairs within `kdtree_radius`, then connected components of that graph. Order-free, so
  it also merges the two sides of an object a closer one splits in the scan.

Clusters are summarized by centroid, width (across the line of sight), depth (along it)
and point count. For small round objects (people, poles) the points lie on the near half
of the outline, evenly spaced in bearing, so their centroid is pi r / 4 nearer to the
sensor than the object's centre; `centers` moves it back. A cluster whose edge beam has a
nearer return beside it is partly hidden behind that nearer object (`partly_hidden`): its
width is not the object's, and its centre is uncertain by what is hidden.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class SegmentationConfig:
    method: str = 'scan_order'          # 'scan_order' or 'kdtree'
    breakpoint_angle: float = 0.17      # rad (lambda, ~10 deg): grazing angle still one surface
    range_noise_stddev: float = 0.015   # m, the lidar's (sigma_r)
    min_gap: float = 0.1                # m, floor of the breakpoint distance
    kdtree_radius: float = 0.3          # m, linking distance of the kdtree method
    min_points: int = 3                 # smaller clusters are dropped as noise
    max_missing_beams: int = 2          # more beams without a return between points: a break


@dataclass
class ScanPoints:
    """Valid endpoints of one scan: base frame, world frame, and their beam index."""
    beam: np.ndarray            # (n,) int, index into the scan
    ranges: np.ndarray          # (n,)
    base: np.ndarray            # (n, 2) in base_link
    world: np.ndarray           # (n, 2) in the pose's frame (map)
    sensor_world: np.ndarray    # (2,) the laser's origin in the world frame


def scan_points(ranges: np.ndarray, angles: np.ndarray, laser_pose, robot_pose,
                range_min: float, range_max: float) -> ScanPoints:
    """Finite returns within [range_min, range_max] as points; laser_pose (x, y, yaw) in
    base_link (from the URDF), robot_pose (x, y, yaw) in the world frame."""
    ranges = np.asarray(ranges, dtype=float)
    ok = np.isfinite(ranges) & (ranges >= range_min) & (ranges <= range_max)
    beam = np.flatnonzero(ok)
    r = ranges[beam]
    a = np.asarray(angles, dtype=float)[beam] + laser_pose[2]
    base = np.column_stack([laser_pose[0] + r * np.cos(a), laser_pose[1] + r * np.sin(a)])
    c, s = math.cos(robot_pose[2]), math.sin(robot_pose[2])
    world = np.column_stack([robot_pose[0] + c * base[:, 0] - s * base[:, 1],
                             robot_pose[1] + s * base[:, 0] + c * base[:, 1]])
    sensor = np.array([robot_pose[0] + c * laser_pose[0] - s * laser_pose[1],
                       robot_pose[1] + s * laser_pose[0] + c * laser_pose[1]])
    return ScanPoints(beam, r, base, world, sensor)


def segment_scan_order(points: ScanPoints, angle_increment: float, beams: int,
                       cfg: SegmentationConfig) -> np.ndarray:
    """Segment label per point (0..k-1); consecutive valid beams only (a missing beam
    between two points breaks the segment unless the gap is within the breakpoint)."""
    n = len(points.ranges)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    xy = points.base
    step = np.diff(points.beam)                       # beams between neighbours (>= 1)
    dphi = step * angle_increment
    r_prev = np.minimum(points.ranges[:-1], points.ranges[1:])
    gap = np.hypot(*np.diff(xy, axis=0).T)
    # beams without a return between two points saw through: separate objects
    new = np.concatenate([[True], (gap > _breakpoint(r_prev, dphi, cfg))
                          | (step > cfg.max_missing_beams + 1)])
    labels = np.cumsum(new) - 1
    # a full circle: the last and the first point may be one segment
    if is_full_circle(beams, angle_increment) and labels[-1] > 0:
        wrap_step = points.beam[0] + beams - points.beam[-1]
        r = min(points.ranges[0], points.ranges[-1])
        limit = _breakpoint(np.array([r]), np.array([wrap_step * angle_increment]), cfg)[0]
        if wrap_step <= cfg.max_missing_beams + 1 and np.hypot(*(xy[0] - xy[-1])) <= limit:
            labels[labels == labels[-1]] = 0
    return labels


def is_full_circle(beams: int, angle_increment: float) -> bool:
    """The beams go all the way round: from the last one, one increment (within half of
    one) leads back to the first. A field of view given to a few digits (6.2832 rad for
    360 degrees) is one: until 2026-12-02 only an exact 2 pi was, and every person
    straight behind the robot was split at the scan's seam into two clusters, two tracks
    and a phantom velocity."""
    step = abs(float(angle_increment))
    return beams > 1 and abs(beams * step - 2.0 * math.pi) <= 0.5 * step


def _breakpoint(r: np.ndarray, dphi: np.ndarray, cfg: SegmentationConfig) -> np.ndarray:
    """Largest gap between points dphi apart (nearer one at range r) on one surface; -1
    (always a break) when dphi reaches the grazing angle (missing beams between them)."""
    lam = cfg.breakpoint_angle
    with np.errstate(divide='ignore', invalid='ignore'):
        limit = r * np.sin(dphi) / np.sin(lam - dphi) + 3.0 * cfg.range_noise_stddev
    return np.where(dphi < lam, np.maximum(limit, cfg.min_gap), -1.0)


def segment_kdtree(points: ScanPoints, cfg: SegmentationConfig) -> np.ndarray:
    """Connected components of the points-within-`kdtree_radius` graph."""
    n = len(points.ranges)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(points.base).query_pairs(cfg.kdtree_radius, output_type='ndarray')
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def segment(points: ScanPoints, angle_increment: float, beams: int,
            cfg: SegmentationConfig) -> np.ndarray:
    if cfg.method == 'scan_order':
        return segment_scan_order(points, angle_increment, beams, cfg)
    if cfg.method == 'kdtree':
        return segment_kdtree(points, cfg)
    raise ValueError(f'segmentation method must be "scan_order" or "kdtree", got {cfg.method!r}')


@dataclass
class Clusters:
    """Per-cluster summaries (k clusters) and the cluster of every point (-1: dropped).

    width: spread across the line of sight (for a round object, its diameter); depth:
    spread along it; extent = max(width, depth)."""
    point_cluster: np.ndarray   # (n,) int
    count: np.ndarray           # (k,)
    centroid: np.ndarray        # (k, 2) world
    width: np.ndarray           # (k,) m
    depth: np.ndarray           # (k,) m

    def __len__(self) -> int:
        return len(self.count)

    @property
    def extent(self) -> np.ndarray:
        return np.maximum(self.width, self.depth)

    def select(self, keep: np.ndarray) -> Clusters:
        """The clusters where keep is True, renumbered; their points keep their membership."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.full(len(keep) + 1, -1)
        new_index[:-1][keep] = np.arange(int(keep.sum()))
        return Clusters(new_index[self.point_cluster], self.count[keep], self.centroid[keep],
                        self.width[keep], self.depth[keep])


def summarize(points: ScanPoints, labels: np.ndarray, min_points: int) -> Clusters:
    """Cluster statistics from labels; clusters with fewer than min_points are dropped."""
    if len(labels) == 0:
        return Clusters(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                        np.zeros((0, 2)), np.zeros(0), np.zeros(0))
    _, labels = np.unique(labels, return_inverse=True)
    count = np.bincount(labels)
    centroid = np.column_stack([np.bincount(labels, points.world[:, 0]),
                                np.bincount(labels, points.world[:, 1])]) / count[:, None]
    # line-of-sight frame of each cluster: along = unit(centroid - sensor), across = normal
    along = centroid - points.sensor_world
    along /= np.maximum(np.hypot(along[:, 0], along[:, 1]), 1e-9)[:, None]
    rel = points.world - points.sensor_world
    u = np.einsum('ij,ij->i', rel, along[labels])
    v = rel[:, 1] * along[labels, 0] - rel[:, 0] * along[labels, 1]
    order = np.argsort(labels, kind='stable')
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    uv = np.column_stack([u, v])[order]
    spread = np.maximum.reduceat(uv, starts, axis=0) - np.minimum.reduceat(uv, starts, axis=0)
    clusters = Clusters(labels, count, centroid, spread[:, 1], spread[:, 0])
    return clusters.select(count >= min_points)


def centers(clusters: Clusters, sensor_xy: np.ndarray, max_round_width: float) -> np.ndarray:
    """Object centres: the centroid of a small cluster's points lies pi r / 4 nearer to the
    sensor than the centre of a round object of radius r = width / 2 (points evenly spaced
    in bearing: the mean of sqrt(r^2 - y^2) over y in [-r, r]); it is moved back. Wider
    clusters keep their centroid."""
    out = clusters.centroid.copy()
    if len(out) == 0:
        return out
    away = out - sensor_xy
    dist = np.maximum(np.hypot(away[:, 0], away[:, 1]), 1e-6)
    shift = np.where(clusters.width <= max_round_width, clusters.width * (math.pi / 8.0), 0.0)
    return out + away / dist[:, None] * shift[:, None]


def partly_hidden(clusters: Clusters, points: ScanPoints, ranges: np.ndarray,
                  range_min: float, margin: float, full_circle: bool) -> np.ndarray:
    """(k,) bool: a cluster whose first or last beam has a neighbouring beam with a return
    more than `margin` nearer (or too near to measure: below range_min) is partly hidden
    behind something in front of it (a person walking between the lidar and another),
    so its points show only part of the object. A neighbour with no return, or a farther
    one, is the object's own outline. full_circle: the scan's last beam neighbours its
    first (a cluster may wrap round the seam)."""
    k = len(clusters)
    if k == 0:
        return np.zeros(0, dtype=bool)
    ranges = np.asarray(ranges, dtype=float)
    beams = len(ranges)
    member = clusters.point_cluster >= 0
    label, beam = clusters.point_cluster[member], points.beam[member]
    seen = np.full(beams, np.nan)               # each beam's range, if it is a point
    seen[points.beam] = points.ranges
    groups = np.arange(k) * beams

    def extremes(b):                            # (k,) first and last beam of each cluster
        key = np.sort(label * beams + b)
        return (key[np.searchsorted(key, groups)] - groups,
                key[np.searchsorted(key, groups + beams) - 1] - groups)

    lo, hi = extremes(beam)
    # a cluster over the seam of a full circle spans (nearly) all beams by index: its
    # edges are found with the beams counted from the opposite side
    shift = np.where(full_circle & (hi - lo > beams // 2), beams // 2, 0)
    if shift.any():
        lo, hi = extremes((beam + shift[label]) % beams)
    hidden = np.zeros(k, dtype=bool)
    for edge, step in (((lo - shift) % beams, -1), ((hi - shift) % beams, 1)):
        neighbour = edge + step
        inside = (neighbour >= 0) & (neighbour < beams)
        beside = np.where(inside | full_circle, ranges[neighbour % beams], np.inf)
        hidden |= (np.isfinite(beside) & (beside < seen[edge] - margin)) | (beside < range_min)
    return hidden
