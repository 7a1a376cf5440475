"""Obstacle detection against simulator ground truth, in the lockstep simulator (no DDS).

Scenarios:
- `crowd`: the robot drives the demo loop (scripted driver on ground truth) while the
  campus pedestrians and `pedestrians` more walk back and forth along the route (random
  lanes, speeds and directions, seeded). Every scan (and depth frame) goes through the
  same ObstacleDetector the node runs, placed with the ground-truth pose (`pose='truth'`) or
  with the localizer's estimate running on the simulated sensors (`pose='estimate'`).
  Per scan: pedestrians within `radius` of the lidar and hit by at least
  `min_visible_beams` beams (simulator truth) are matched to confirmed tracks (optimal
  assignment, <= `match_distance`). Reports recall, precision (a track within `radius`
  that is not within `match_distance` of any pedestrian is a false positive), velocity
  error of tracks at least 1 s old, identity switches per 100 track-seconds, and ghosts:
  of the costmap cells a pedestrian's disc covered at time t, those still marked at t + 1 s
  although no pedestrian covers them then.
- `low_obstacles`: for every obstacle on the campus lower than the lidar plane, the robot
  drives straight at each face it can reach (from 6 m out, stopping 0.5 m short); at every
  depth frame where the obstacle is within 3 m ahead of the robot's front, is it in the
  costmap (a marked cell on its footprint)?
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import deque

import numpy as np
from scipy.optimize import linear_sum_assignment
from shapely.geometry import Point, Polygon

from delivery_robot_nav.common.maps import OccupancyMap
from delivery_robot_nav.common.world import Actor, World, footprint_corners
from delivery_robot_nav.demo.config import driver_config, load_driver_params, route_points
from delivery_robot_nav.demo.route_driver import LockstepRouteController, RouteDriver
from delivery_robot_nav.perception.config import detector_config, load_detection_params
from delivery_robot_nav.perception.depth import CameraModel
from delivery_robot_nav.perception.detector import DetectorConfig, ObstacleDetector
from delivery_robot_nav.perception.static_map import StaticMap
from delivery_robot_nav.perception.tracker import CLASS_PEDESTRIAN
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.sensors import (DepthReading, GnssReading, ImuReading, OdomReading,
                                            ScanReading)


def crowd_actors(route: np.ndarray, n: int, rng: np.random.Generator,
                 lanes: tuple = (0.7, 1.5), turn_time: float = 1.0,
                 others: list[Actor] = (), horizon: float = 600.0,
                 min_separation: float = 0.7, cross_lanes: bool = True,
                 corner_margin: float = 0.0) -> list[Actor]:
    """n pedestrians walking to and fro along stretches of the route polyline.

    Everyone keeps to the right: a lane `lanes` m to the right of the walking direction,
    there and back, so people walking in opposite directions pass at least 2 x the
    smallest lane apart, and neighbouring lanes are 0.8 m apart (people are 0.6 m wide).
    Speed 0.8-1.6 m/s. At each end they slow down over `turn_time` (steps of a quarter of
    their speed: about 1 m/s^2, as people stop), cross to the other lane at walking pace
    and speed up again. Waypoints are linear in time, as the simulator interpolates them.
    People do not walk through each other: a candidate that would come closer than
    `min_separation` (centre to centre; they are 0.6 m wide) to anyone already placed (or
    to `others`) within `horizon` s is drawn again. cross_lanes false: they turn round in
    their lane and walk back in it (nobody crosses the walkway's centre line).
    corner_margin: the walks keep this far (along their segment) from the route's interior
    vertices, so that they stay out of the walkway round the corner (a lane 1.1 m off a
    segment that ran up to a right-angled corner would end on the next segment's centre
    line); segments too short for a 5 m walk hold nobody."""
    seg = np.diff(route, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    # the stretch of each segment people may walk: [start, start + usable]
    start = np.where(np.arange(len(seg)) > 0, corner_margin, 0.0)
    usable = lengths - start - np.where(np.arange(len(seg)) < len(seg) - 1, corner_margin, 0.0)
    usable = np.where(usable >= 5.0, usable, 0.0) if corner_margin > 0.0 else lengths
    if not usable.sum() > 0.0:
        raise ValueError(f'no segment of the route is long enough for a walk '
                         f'{corner_margin} m from its corners')
    times_grid = np.arange(0.0, horizon, 0.05)
    # Walks whose bounding boxes (of their waypoints: positions interpolate between them)
    # are further apart than the separation cannot come closer: only walks with boxes
    # that near each other are compared sample by sample (paths made when first needed),
    # every 10th sample first: a walk too close there is too close (most that are, are).
    walks = list(others)
    lows = [a.poses[:, :2].min(axis=0) for a in walks]
    highs = [a.poses[:, :2].max(axis=0) for a in walks]
    grids = (times_grid[::10], times_grid)
    paths: tuple[dict, dict] = ({}, {})

    def path_of(j: int, fine: int) -> np.ndarray:
        if j not in paths[fine]:
            paths[fine][j] = walks[j].positions_at(grids[fine])
        return paths[fine][j]

    candidate: dict[int, np.ndarray] = {}      # the paths made for the walk being drawn

    def too_close(actor: Actor, near: np.ndarray, fine: int) -> bool:
        path = candidate[fine] = actor.positions_at(grids[fine])
        return any(np.min(np.hypot(*(path - path_of(j, fine)).T)) < min_separation
                   for j in near)

    actors = []
    attempts = 0
    while len(actors) < n:
        attempts += 1
        if attempts > 100 * n:
            raise ValueError(f'cannot place {n} pedestrians {min_separation} m apart along the '
                             f'route (placed {len(actors)})')
        i = len(actors)
        k = int(rng.choice(len(seg), p=usable / usable.sum()))
        d, length = seg[k] / lengths[k], usable[k]
        a = route[k] + d * start[k]
        span = min(length, rng.uniform(15.0, 60.0))
        s0 = rng.uniform(0.0, length - span)
        if rng.random() < 0.5:                            # walk against the route direction
            a, d = a + d * (2 * s0 + span), -d
        normal = np.array([-d[1], d[0]])
        offset = -float(rng.choice(lanes))                # right of the walking direction
        speed = rng.uniform(0.8, 1.6)
        times, points = [0.0], [a + d * s0 + normal * offset]
        ramp = 0.5 * speed * turn_time               # distance covered speeding up
        cruise = max(span - 2.0 * ramp, 0.0)
        pos = points[0].copy()
        for direction, lane in ((d, offset), (-d, -offset)):
            t = times[-1]
            steps = [(speed * f, turn_time / 3.0) for f in (0.25, 0.5, 0.75)]
            steps += [(speed, cruise / speed)]
            steps += [(speed * f, turn_time / 3.0) for f in (0.75, 0.5, 0.25)]
            for v, dt in steps:
                pos = pos + direction * v * dt
                t += dt
                times.append(t)
                points.append(pos.copy())
            if cross_lanes:
                pos = pos - 2.0 * lane * normal          # cross to the other lane, slowly
                t += abs(2.0 * lane) / 0.5
            else:
                t += turn_time                           # turn round where they stand
            times.append(t)
            points.append(pos.copy())
        times, points = np.array(times), np.array(points)
        heading = np.arctan2(*np.diff(points, axis=0).T[::-1])
        yaw = np.concatenate([heading, heading[-1:]])
        poses = np.column_stack([points, np.ones(len(points)), yaw])
        actor = Actor(f'crowd_{i}', times, poses, loop=True,
                      delay_start=float(rng.uniform(0.0, 5.0)))
        lo, hi = poses[:, :2].min(axis=0), poses[:, :2].max(axis=0)
        if walks:
            near = np.flatnonzero(np.all(lo - min_separation < np.array(highs), axis=1)
                                  & np.all(np.array(lows) < hi + min_separation, axis=1))
            candidate.clear()
            if len(near) and (too_close(actor, near, 0) or too_close(actor, near, 1)):
                continue
            for fine, path in candidate.items():      # (a rejected walk's are dropped)
                paths[fine][len(walks)] = path
        walks.append(actor)
        lows.append(lo)
        highs.append(hi)
        actors.append(actor)
    return actors


def _detector_for(sim: Simulator, occ: OccupancyMap | None, **overrides) -> ObstacleDetector:
    cfg = detector_config(load_detection_params(), sim.robot)
    det_fields = {k: v for k, v in overrides.items() if k in DetectorConfig.__dataclass_fields__}
    return ObstacleDetector(dataclasses.replace(cfg, **det_fields), occ)


class TruthPoses:
    """Ground-truth poses by step time, for readings stamped at a past step."""

    def __init__(self):
        self.by_time: dict[int, tuple[float, float, float]] = {}

    def add(self, t: float, pose):
        self.by_time[int(round(t * 1000))] = tuple(pose)
        if len(self.by_time) > 400:
            for key in sorted(self.by_time)[:200]:
                del self.by_time[key]

    def at(self, t: float):
        return self.by_time.get(int(round(t * 1000)))


def run_crowd(seed: int = 0, duration: float = 300.0, pedestrians: int = 40,
              occ: OccupancyMap | None = None, pose: str = 'truth', radius: float = 8.0,
              min_visible_beams: int = 3, match_distance: float = 0.5,
              method: str | None = None, depth: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    base = Simulator.from_files(overrides={'seed': seed, 'depth_camera.enabled': depth})
    values = load_driver_params()
    loop = route_points(values)
    crowd = crowd_actors(loop, pedestrians, rng, others=base.world.actors, horizon=duration)
    world = dataclasses.replace(base.world, actors=base.world.actors + crowd)
    sim = Simulator(world, base.robot, base.cfg, seed=seed)
    overrides = {}
    if method is not None:
        cfg = detector_config(load_detection_params(), sim.robot)
        overrides['segmentation'] = dataclasses.replace(cfg.segmentation, method=method)
    det = _detector_for(sim, occ, **overrides)
    static_map = StaticMap(occ) if occ is not None else None
    laps = np.vstack([loop] + [loop[1:]] * 3)
    lx = float(sim.robot.frame('laser_link')[0, 3])
    driver = RouteDriver(laps, driver_config(values, sim.robot.footprint[2], lx))
    controller = LockstepRouteController(driver, values['control_rate_hz'], sim.cfg.step_rate_hz)
    loc = None
    if pose == 'estimate':
        from delivery_robot_nav.evaluation.localization_eval import localizer_config_for
        from delivery_robot_nav.localization.estimator import Localizer
        loc = Localizer(localizer_config_for(sim), occ, np.random.default_rng(seed))
        s = sim.state
        loc.initialize(0.0, (s.x, s.y, s.yaw))
    elif pose != 'truth':
        raise ValueError(f'pose must be "truth" or "estimate", got {pose!r}')
    truth = TruthPoses()
    radius_actor = sim.cfg.actors.radius
    m = _TrackingMetrics(radius, min_visible_beams, match_distance)
    ghosts = _GhostMeter(radius_actor, static_map)
    compute = {'scan': [], 'depth': [], 'localization': 0.0}
    cam_T = sim.robot.frame('camera_depth_optical_frame')
    cmd = None
    n_steps = int(duration * sim.cfg.step_rate_hz)
    for _ in range(n_steps):
        step = sim.step(cmd)
        gt = step.ground_truth
        truth.add(gt.time, (gt.x, gt.y, gt.yaw))
        for r in step.readings:
            if loc is not None and not isinstance(r, (ScanReading, DepthReading)):
                t0 = time.perf_counter()
                feed_localizer(loc, r)
                compute['localization'] += time.perf_counter() - t0
            if isinstance(r, DepthReading):
                robot_pose = tuple(loc.pose_at(r.stamp)[0]) if loc is not None else \
                    truth.at(r.stamp)
                cam = CameraModel(r.depth.shape[1], r.depth.shape[0], r.fx, r.fy, r.cx, r.cy)
                t0 = time.perf_counter()
                det.on_depth(r.stamp, r.depth, cam, cam_T, robot_pose)
                compute['depth'].append(time.perf_counter() - t0)
            if not isinstance(r, ScanReading):
                continue
            angles = r.angle_min + r.angle_increment * np.arange(len(r.ranges))
            if loc is not None:
                t0 = time.perf_counter()
                loc.on_scan(r.stamp, r.ranges, angles)
                compute['localization'] += time.perf_counter() - t0
                robot_pose = tuple(loc.pose_at(r.stamp)[0])
            else:
                robot_pose = truth.at(r.stamp)
            true_pose = truth.at(r.stamp)
            t0 = time.perf_counter()
            res = det.on_scan(r.stamp, r.ranges, angles, robot_pose, r.angle_increment,
                              r.range_min, r.range_max)
            compute['scan'].append(time.perf_counter() - t0)
            actors_xy = sim.actors.positions(r.stamp)
            actors_v = sim.actors.velocities(r.stamp)
            sensor = np.array(true_pose[:2])
            hits = np.bincount(r.hit_actor[r.hit_actor >= 0], minlength=len(actors_xy))
            m.add(r.stamp, sensor, actors_xy, actors_v, hits, res.tracks)
            ghosts.add(r.stamp, det, actors_xy)
        cmd = controller(step)
        if driver.done:
            break
    scan_ms = np.array(compute['scan']) * 1e3
    sim_time = sim.time
    out = {'scenario': 'crowd', 'seed': seed, 'pose': pose,
           'segmentation': det.cfg.segmentation.method, 'sim_time_s': round(sim_time, 1),
           'pedestrians': len(world.actors), **m.summary(), **ghosts.summary(),
           'scan_ms_median': round(float(np.median(scan_ms)), 3),
           'scan_ms_p99': round(float(np.percentile(scan_ms, 99)), 3),
           'depth_camera': depth}
    if compute['depth']:
        out['depth_frame_ms_median'] = round(float(np.median(compute['depth'])) * 1e3, 3)
    if loc is not None:
        out['localization_ms_per_sim_s'] = round(compute['localization'] * 1e3 / sim_time, 2)
    return out


def feed_localizer(loc, r):
    """Give a Localizer one odometry, IMU or GNSS reading of the simulator."""
    if isinstance(r, OdomReading):
        loc.on_odometry(r.stamp, (r.x, r.y, r.yaw), r.v, r.w, *r.twist_variance)
    elif isinstance(r, ImuReading):
        loc.on_imu(r.stamp, float(r.angular_velocity[2]), r.angular_velocity_variance)
    elif isinstance(r, GnssReading):
        loc.on_gnss(r.stamp, r.status, r.latitude, r.longitude, r.altitude,
                    np.diag(r.position_variance), 2)
        if r.status >= 0:
            loc.on_gnss_velocity(r.stamp, *r.velocity, np.eye(2) * r.velocity_variance)


class _TrackingMetrics:
    """Per-scan detection and tracking scores. An identity switch: a pedestrian matched to
    a different track than at its previous match, when that was at most `memory` s ago
    (after longer out of sight a new track is a new encounter, not a switch). Switches of
    a pedestrian that overlapped another one (centres closer than `overlap`: people walking
    through each other, as some of the world's scripted actors do) within `memory` s are
    counted apart: no sensor can tell who is who then."""

    def __init__(self, radius: float, min_beams: int, match_distance: float,
                 memory: float = 2.0, overlap: float = 0.7):
        self.radius, self.min_beams, self.match = radius, min_beams, match_distance
        self.visible = self.detected = 0
        self.tracks_near = self.false_tracks = 0
        self.velocity_errors: list[float] = []
        self.last_id: dict[int, tuple[int, float]] = {}
        self.memory = memory
        self.switches = 0
        self.switches_overlapping = 0
        self.overlap = overlap
        self.last_overlap: dict[int, float] = {}
        self.encounters = 0
        self.track_seconds = 0.0
        self.pedestrian_class = 0
        self.last_t: float | None = None

    def add(self, t, sensor, actors_xy, actors_v, hits, tracks):
        dt = 0.1 if self.last_t is None else min(t - self.last_t, 0.5)
        self.last_t = t
        dist = np.hypot(*(actors_xy - sensor).T) if len(actors_xy) else np.zeros(0)
        vis = np.flatnonzero((dist <= self.radius) & (hits >= self.min_beams))
        if len(vis) and len(actors_xy) > 1:
            gap = np.hypot(*(actors_xy[vis, None, :] - actors_xy[None, :, :]).transpose(2, 0, 1))
            gap[np.arange(len(vis)), vis] = np.inf
            for a in vis[gap.min(axis=1) < self.overlap]:
                self.last_overlap[int(a)] = t
        self.visible += len(vis)
        tdist = np.hypot(*(tracks.xy - sensor).T) if len(tracks.ids) else np.zeros(0)
        near = np.flatnonzero(tdist <= self.radius)
        if len(near):
            to_any = np.hypot(*(tracks.xy[near, None, :] - actors_xy[None, :, :]).transpose(
                2, 0, 1)).min(axis=1) if len(actors_xy) else np.full(len(near), np.inf)
            self.tracks_near += len(near)
            self.false_tracks += int(np.sum(to_any > self.match))
        if not len(vis) or not len(tracks.ids):
            return
        cost = np.hypot(*(actors_xy[vis, None, :] - tracks.xy[None, :, :]).transpose(2, 0, 1))
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] <= self.match
        for a, j in zip(vis[rows[ok]], cols[ok]):
            self.detected += 1
            self.track_seconds += dt
            tid = int(tracks.ids[j])
            previous = self.last_id.get(int(a))
            if previous is None or t - previous[1] > self.memory:
                self.encounters += 1
            elif previous[0] != tid:
                if t - self.last_overlap.get(int(a), -np.inf) <= self.memory:
                    self.switches_overlapping += 1
                else:
                    self.switches += 1
            self.last_id[int(a)] = (tid, t)
            if tracks.classification[j] == CLASS_PEDESTRIAN:
                self.pedestrian_class += 1
            if tracks.age[j] >= 1.0:
                self.velocity_errors.append(float(np.hypot(*(tracks.velocity[j] - actors_v[a]))))

    def summary(self) -> dict:
        v = np.array(self.velocity_errors)
        return {
            'pedestrian_scans_visible': self.visible,
            'recall': round(self.detected / self.visible, 4) if self.visible else None,
            'tracks_within_radius': self.tracks_near,
            'precision': (round(1.0 - self.false_tracks / self.tracks_near, 4)
                          if self.tracks_near else None),
            'velocity_error_rms_mps': round(float(np.sqrt(np.mean(v ** 2))), 4) if len(v) else None,
            'velocity_samples': len(v),
            'identity_switches': self.switches,
            'identity_switches_while_overlapping': self.switches_overlapping,
            'encounters': self.encounters,
            'track_seconds': round(self.track_seconds, 1),
            'switches_per_100_track_s': (round(100.0 * self.switches / self.track_seconds, 3)
                                         if self.track_seconds else None),
            'classified_pedestrian_fraction': (round(self.pedestrian_class / self.detected, 3)
                                               if self.detected else None)}


class _GhostMeter:
    """Cells under a pedestrian at t that are still marked at t + delay with nobody there."""

    def __init__(self, actor_radius: float, static_map: StaticMap | None, delay: float = 1.0):
        self.r, self.static_map, self.delay = actor_radius, static_map, delay
        self.pending: deque = deque()
        self.cells = self.marked_then = self.ghost = self.ghost_of_marked = 0

    def add(self, t, det: ObstacleDetector, actors_xy):
        cm = det.costmap
        occupied = cm.obstacles(t)
        res = cm.cfg.resolution
        lo = cm.origin
        hi = cm.origin + cm.n * res
        inside = np.all((actors_xy > lo + self.r) & (actors_xy < hi - self.r), axis=1)
        k = int(math.ceil(self.r / res)) + 1
        offsets = np.array([(i, j) for i in range(-k, k + 1) for j in range(-k, k + 1)]) * res
        for a in np.flatnonzero(inside):
            # cell centres under the pedestrian's disc
            centre = (np.floor((actors_xy[a] - lo) / res) + 0.5) * res + lo
            pts = centre + offsets
            pts = pts[np.hypot(*(pts - actors_xy[a]).T) <= self.r + res / 2]
            row, col, ok = cm.world_to_cell(pts)
            marked = np.zeros(len(pts), dtype=bool)
            marked[ok] = occupied[row[ok], col[ok]]
            self.pending.append((t, pts, marked))
        while self.pending and self.pending[0][0] <= t - self.delay + 1e-9:
            _, pts, marked_then = self.pending.popleft()
            free_now = np.hypot(*(pts[:, None, :] - actors_xy[None, :, :]).transpose(
                2, 0, 1)).min(axis=1) > self.r + res if len(actors_xy) else np.ones(len(pts), bool)
            if self.static_map is not None:
                free_now &= self.static_map.distance(pts) > 0.3
            row, col, ok = cm.world_to_cell(pts)
            eligible = free_now & ok
            still = np.zeros(len(pts), dtype=bool)
            still[eligible] = occupied[row[eligible], col[eligible]]
            self.cells += int(eligible.sum())
            self.marked_then += int((eligible & marked_then).sum())
            self.ghost += int(still.sum())
            self.ghost_of_marked += int((still & marked_then).sum())

    def summary(self) -> dict:
        return {'ghost_cells_checked': self.cells,
                'ghost_fraction': round(self.ghost / self.cells, 5) if self.cells else None,
                'ghost_fraction_of_marked': (round(self.ghost_of_marked / self.marked_then, 5)
                                             if self.marked_then else None)}


# ------------------------------------------------------------------ low obstacles

def low_obstacles(world: World, plane_height: float) -> list:
    """Static boxes whose top is below the lidar plane."""
    out = []
    for s in world.obstacles:
        if s.kind == 'box' and s.xyz[2] + s.size[2] / 2.0 < plane_height:
            out.append(s)
    return out


def run_low_obstacles(seed: int = 0, occ: OccupancyMap | None = None, speed: float = 0.8,
                      start_distance: float = 6.0, window: float = 3.0) -> dict:
    base = Simulator.from_files(overrides={'seed': seed, 'depth_camera.enabled': True})
    plane = float(base.robot.frame('laser_link')[2, 3])
    front = base.robot.footprint[2]
    cam_T = base.robot.frame('camera_depth_optical_frame')
    per_obstacle, approaches, skipped = {}, 0, 0
    depth_ms = []
    clearance_map = StaticMap(occ, max_distance=1.0) if occ is not None else None
    empty = dataclasses.replace(base.world, actors=[])      # nobody in the way
    shapes = low_obstacles(base.world, plane)
    # every low obstacle grown by 0.2 m: depth marks outside these (and off the map's
    # obstacles) are false
    allowed = [Polygon(_hull(footprint_corners(s))).buffer(0.2) for s in shapes]
    false_cells, depth_frames = 0, 0
    for shape in shapes:
        poly = Polygon(_hull(footprint_corners(shape)))
        c = np.array(poly.centroid.coords[0])
        frames = marked_frames = 0
        for normal in _face_normals(shape):
            extent = _half_extent_along(poly, c, normal)
            start = c + normal * (extent + front + start_distance)
            yaw = math.atan2(-normal[1], -normal[0])
            if not _path_clear(clearance_map, start, c + normal * (extent + 0.3), 0.45):
                skipped += 1
                continue
            approaches += 1
            sim = Simulator(empty, base.robot, base.cfg, seed=seed,
                            start=(float(start[0]), float(start[1]), yaw))
            det = _detector_for(sim, occ)
            truth = TruthPoses()
            for _ in range(int((start_distance + 2.0) / speed * sim.cfg.step_rate_hz)):
                s = sim.state
                ahead = poly.distance(Point(s.x + front * math.cos(s.yaw),
                                            s.y + front * math.sin(s.yaw)))
                step = sim.step((speed if ahead > 0.5 else 0.0, 0.0))
                gt = step.ground_truth
                truth.add(gt.time, (gt.x, gt.y, gt.yaw))
                for r in step.readings:
                    if not isinstance(r, DepthReading):
                        continue
                    pose = truth.at(r.stamp)
                    cam = CameraModel(r.depth.shape[1], r.depth.shape[0], r.fx, r.fy, r.cx, r.cy)
                    info = det.on_depth(r.stamp, r.depth, cam, cam_T, pose)
                    depth_ms.append(info['seconds'] * 1e3)
                    depth_frames += 1
                    false_cells += _false_depth_cells(det, allowed, clearance_map)
                    fx, fy = pose[0] + front * math.cos(pose[2]), pose[1] + front * math.sin(pose[2])
                    if poly.distance(Point(fx, fy)) > window:
                        continue
                    frames += 1
                    marked_frames += int(_marked_on(det, poly, r.stamp))
                if ahead <= 0.5 and sim.state.v == 0.0:
                    break
        per_obstacle[shape.name] = {'frames_within_3m': frames,
                                    'marked_fraction': round(marked_frames / frames, 4)
                                    if frames else None}
    fractions = [v['marked_fraction'] for v in per_obstacle.values()
                 if v['marked_fraction'] is not None]
    return {'scenario': 'low_obstacles', 'seed': seed, 'obstacles': len(per_obstacle),
            'approaches': approaches, 'approaches_skipped_blocked': skipped,
            'min_marked_fraction': min(fractions) if fractions else None,
            'false_depth_cells_per_frame': round(false_cells / max(depth_frames, 1), 3),
            'all_marked_within_3m': bool(fractions) and min(fractions) == 1.0,
            'depth_ms_median': round(float(np.median(depth_ms)), 3) if depth_ms else None,
            'per_obstacle': per_obstacle}


def _hull(points: np.ndarray) -> np.ndarray:
    from scipy.spatial import ConvexHull
    pts = np.unique(np.round(points, 9), axis=0)
    return pts[ConvexHull(pts).vertices]


def _face_normals(shape) -> list[np.ndarray]:
    yaw = math.atan2(shape.pose[1, 0], shape.pose[0, 0])
    return [np.array([math.cos(yaw + k * math.pi / 2), math.sin(yaw + k * math.pi / 2)])
            for k in range(4)]


def _half_extent_along(poly: Polygon, centre: np.ndarray, direction: np.ndarray) -> float:
    pts = np.array(poly.exterior.coords)
    return float(np.max((pts - centre) @ direction))


def _path_clear(static_map: StaticMap | None, a: np.ndarray, b: np.ndarray,
                clearance: float) -> bool:
    """No mapped obstacle within `clearance` of the segment a-b."""
    if static_map is None:
        return True
    n = int(np.hypot(*(b - a)) / 0.1) + 2
    pts = a + np.linspace(0.0, 1.0, n)[:, None] * (b - a)
    return bool(np.all(static_map.distance(pts) > clearance))


def _false_depth_cells(det: ObstacleDetector, allowed: list, static_map) -> int:
    cm = det.costmap
    rows, cols = np.nonzero(np.isfinite(cm.layers['depth']))
    if not len(rows):
        return 0
    xy = cm.origin + (np.column_stack([cols, rows]) + 0.5) * cm.cfg.resolution
    ok = np.zeros(len(xy), dtype=bool)
    if static_map is not None:
        ok |= static_map.distance(xy) <= 0.2
    for poly in allowed:
        minx, miny, maxx, maxy = poly.bounds
        sel = np.flatnonzero(~ok & (xy[:, 0] >= minx) & (xy[:, 0] <= maxx)
                             & (xy[:, 1] >= miny) & (xy[:, 1] <= maxy))
        ok[sel] = [poly.contains(Point(p)) for p in xy[sel]]
    return int((~ok).sum())


def _marked_on(det: ObstacleDetector, poly: Polygon, t: float) -> bool:
    """Whether a costmap obstacle cell lies on the footprint (one cell of tolerance)."""
    cm = det.costmap
    occupied = cm.obstacles(t)
    rows, cols = np.nonzero(occupied)
    if not len(rows):
        return False
    res = cm.cfg.resolution
    xy = cm.origin + (np.column_stack([cols, rows]) + 0.5) * res
    grown = poly.buffer(res * 1.5)
    minx, miny, maxx, maxy = grown.bounds
    sel = (xy[:, 0] >= minx) & (xy[:, 0] <= maxx) & (xy[:, 1] >= miny) & (xy[:, 1] <= maxy)
    return any(grown.contains(Point(p)) for p in xy[sel])


def evaluate(scenario: str, seed: int, occ: OccupancyMap, duration: float = 300.0,
             pedestrians: int = 40, pose: str = 'truth', method: str | None = None,
             depth: bool = True) -> dict:
    if scenario == 'crowd':
        return run_crowd(seed, duration, pedestrians, occ, pose, method=method, depth=depth)
    if scenario == 'low_obstacles':
        return run_low_obstacles(seed, occ)
    raise ValueError(f'unknown scenario {scenario!r}: crowd or low_obstacles')
