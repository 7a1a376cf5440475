"""Path following in the lockstep simulator (no DDS): the obstacle detector and the
navigator the nodes run, on simulated sensors with noise, against ground truth.

Scenarios:
- `barn`: the BARN benchmark (../shared/benchmarks/barn/PROTOCOL.md). Each world is loaded
  unmodified; the Jackal-sized robot of config/barn_jackal.yaml (URDF footprint, 270 deg
  lidar, 2 m/s) starts at (-2.25, 3.0, 1.57) with a goal 10 m ahead and nothing but its
  lidar: the costmap comes from the obstacle detector on the scans (no map), the path
  from the navigator (straight line to the goal, detours planned in the costmap). Success:
  within 1 m of the goal, no collision, within 100 s; score as the challenge computes it.
- `campus`: random station-to-station trips on the campus route graph among the world's
  pedestrians plus `pedestrians` more walking along the trip's route (keeping right, never
  through each other). Reports success, collisions, speed against the edges' speed
  limits, cross-track error where the way is free, and the closest approach to a person.

Robot pose: ground truth (the localization is measured on its own, evaluate-localization);
every other input is what the nodes get.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path

import numpy as np

from delivery_robot_nav.common.maps import OccupancyMap, load_map
from delivery_robot_nav.common.params import ParamError, flatten
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.world import load_world
from delivery_robot_nav.evaluation.batch import run_seeds
from delivery_robot_nav.perception.config import detector_config, load_detection_params
from delivery_robot_nav.evaluation.perception_eval import (TruthPoses, crowd_actors,
                                                          feed_localizer)
from delivery_robot_nav.perception.detector import ObstacleDetector
from delivery_robot_nav.perception.lidar import scan_points
from delivery_robot_nav.perception.depth import CameraModel
from delivery_robot_nav.planning.config import load_path_following_params, navigator_config
from delivery_robot_nav.planning.controller import Obstacles
from delivery_robot_nav.planning.navigator import ACTIVE, FAILED, SUCCEEDED, Navigator
from delivery_robot_nav.planning.route_graph import RouteGraph
from delivery_robot_nav.sim.config import load_sim_config
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.robot_model import load_robot_model
from delivery_robot_nav.sim.sensors import DepthReading, OdomReading, ScanReading

BARN_START = (-2.25, 3.0, 1.57)
BARN_GOAL_OFFSET = (0.0, 10.0)
BARN_TIME_LIMIT = 100.0
BARN_SUCCESS_RADIUS = 1.0


def _share_file(value: str) -> str:
    p = Path(value)
    return str(p if p.is_absolute() else share_path(*p.parts))


def _section(path: Path, node: str) -> dict:
    import yaml
    doc = yaml.safe_load(Path(path).read_text())
    try:
        return flatten(doc[node]['ros__parameters'])
    except (KeyError, TypeError):
        raise ParamError(f'{path}: expected "{node}: ros__parameters: ..."') from None


# ---------------------------------------------------------------------- the loop
class NavigationLoop:
    """Simulator + obstacle detector + navigator, stepped together."""

    def __init__(self, sim: Simulator, detector: ObstacleDetector, navigator: Navigator,
                 control_rate_hz: float = 20.0, localizer=None, observer=None):
        """localizer: a Localizer fed every reading; its estimate then places the scans and
        depth frames and is the navigator's pose (None: ground truth). observer: called
        with the loop after every control cycle (tools/trace_run.py prints them)."""
        self.sim, self.det, self.nav, self.loc = sim, detector, navigator, localizer
        self.observer = observer
        self.twist = (0.0, 0.0)         # the last wheel odometry twist (with a localizer)
        self.period = max(1, int(round(sim.cfg.step_rate_hz / control_rate_hz)))
        self.cam_T = (sim.robot.frame('camera_depth_optical_frame')
                      if sim.camera is not None else None)
        self.poses = TruthPoses()
        self.costmap = None
        self.costmap_stamp = None
        self.scan_points = None
        self.scan_stamp = None
        self.tracks = None
        self.cmd = None
        self.out = None
        self.compute = {'scan': [], 'nav': [], 'localization': []}
        self.pose = None                # the navigator's last pose

    def step(self):
        sim = self.sim
        step = sim.step(self.cmd)
        gt = step.ground_truth
        self.poses.add(gt.time, (gt.x, gt.y, gt.yaw))
        loc = self.loc
        for r in step.readings:
            if loc is not None:
                if isinstance(r, OdomReading):
                    self.twist = (r.v, r.w)
                if isinstance(r, ScanReading):
                    t0 = time.perf_counter()
                    loc.on_scan(r.stamp, r.ranges,
                                r.angle_min + r.angle_increment * np.arange(len(r.ranges)))
                    self.compute['localization'].append(time.perf_counter() - t0)
                elif not isinstance(r, DepthReading):
                    t0 = time.perf_counter()
                    feed_localizer(loc, r)
                    self.compute['localization'].append(time.perf_counter() - t0)
                    continue                # (odometry, IMU, GNSS: the localizer's only)
                pose = tuple(loc.pose_at(r.stamp)[0])
            else:
                pose = self.poses.at(r.stamp)
            if pose is None:
                continue
            if isinstance(r, ScanReading):
                angles = r.angle_min + r.angle_increment * np.arange(len(r.ranges))
                t0 = time.perf_counter()
                res = self.det.on_scan(r.stamp, r.ranges, angles, pose, r.angle_increment,
                                       r.range_min, r.range_max)
                self.costmap = self.det.costmap_grid(r.stamp)
                self.compute['scan'].append(time.perf_counter() - t0)
                self.costmap_stamp = r.stamp
                self.scan_points = scan_points(r.ranges, angles, self.det.cfg.laser_pose,
                                               (0.0, 0.0, 0.0), r.range_min, r.range_max).base
                self.scan_stamp = r.stamp
                self.tracks = res.tracks
            elif isinstance(r, DepthReading) and self.cam_T is not None:
                cam = CameraModel(r.depth.shape[1], r.depth.shape[0], r.fx, r.fy, r.cx, r.cy)
                self.det.on_depth(r.stamp, r.depth, cam, self.cam_T, pose)
        if sim.steps % self.period == 0:
            t0 = time.perf_counter()
            obstacles = None
            if self.tracks is not None and len(self.tracks.ids):
                tr = self.tracks
                obstacles = Obstacles(tr.xy.copy(), tr.velocity.copy(),
                                      np.maximum(tr.size.max(axis=1), 0.3) / 2.0)
            if loc is not None:
                self.pose = tuple(loc.pose_at(gt.time)[0])
                velocity = self.twist
            else:
                self.pose, velocity = (gt.x, gt.y, gt.yaw), (gt.v, gt.w)
            self.out = self.nav.step(gt.time, self.pose, velocity,
                                     self.costmap, self.costmap_stamp, obstacles,
                                     self.scan_points, self.scan_stamp,
                                     dt=self.period / sim.cfg.step_rate_hz)
            self.compute['nav'].append(time.perf_counter() - t0)
            self.cmd = (self.out.v, self.out.w)
            if self.observer is not None:
                self.observer(self)
        return step

    def contact(self, step) -> tuple[str, str] | None:
        """(outcome, event) for a collision in this step, None without one. Scripted people
        do not avoid the robot: one walking into the robot while it stands still
        ('struck_while_stopped') is counted apart from the robot driving into something
        ('collision')."""
        if not step.collisions:
            return None
        c = step.collisions[0]
        return ('struck_while_stopped' if c.speed < 0.05 else 'collision',
                f'{self.sim.time:.1f}: collision with {c.other} at {c.speed:.2f} m/s')

    def people_clearance(self, step) -> float:
        """True distance (m) from the footprint to the nearest person after this step (inf
        when the people did not move this step, or there are none)."""
        sim = self.sim
        if step.actor_positions is None or not len(sim.actor_xy):
            return math.inf
        s = sim.state
        return float(footprint_clearance((s.x, s.y, s.yaw), sim.robot.footprint, sim.actor_xy,
                                         sim.cfg.actors.radius).min())


def footprint_clearance(pose, footprint, xy: np.ndarray, radius: float) -> np.ndarray:
    """Distance (m) from the footprint box at `pose` to discs at xy with `radius`."""
    xmin, ymin, xmax, ymax = footprint
    c, s = math.cos(pose[2]), math.sin(pose[2])
    d = xy - np.asarray(pose[:2])
    lx, ly = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    dx = np.maximum(np.maximum(xmin - lx, lx - xmax), 0.0)
    dy = np.maximum(np.maximum(ymin - ly, ly - ymax), 0.0)
    return np.hypot(dx, dy) - radius


# ---------------------------------------------------------------------- BARN
def barn_reference_length(path_file: Path) -> float:
    cells = np.load(path_file)
    pts = np.column_stack([0.15 * cells[:, 0] - 4.575, 0.15 * cells[:, 1] + 5.075])
    start = np.array(BARN_START[:2])
    goal = start + np.array(BARN_GOAL_OFFSET)
    poly = np.vstack([start, pts, goal])
    return float(np.hypot(*np.diff(poly, axis=0).T).sum())


def barn_score(success: bool, time_s: float, length: float) -> float:
    optimal = length / 2.0
    return float(success) * optimal / float(np.clip(time_s, 2 * optimal, 8 * optimal))


def run_barn_world(world_file: str, config_file: str | None = None, seed: int = 0) -> dict:
    world_file = Path(world_file)
    cfg_path = Path(config_file) if config_file else share_path('config', 'barn_jackal.yaml')
    sim_over = _section(cfg_path, 'sim_node')
    if 'robot_description_file' in sim_over:
        sim_over['robot_description_file'] = _share_file(sim_over['robot_description_file'])
    if 'gnss.outage_regions' in sim_over and not sim_over['gnss.outage_regions']:
        sim_over['gnss.outage_regions'] = []
    sim_over['seed'] = seed
    sim_cfg = load_sim_config(None, sim_over)
    robot = load_robot_model(sim_cfg.robot_description_file)
    world = load_world(world_file)
    sim = Simulator(world, robot, sim_cfg, seed=seed, start=BARN_START)
    det_over = _section(cfg_path, 'obstacle_detection')
    det_over.pop('robot_description_file', None)
    det = ObstacleDetector(detector_config(load_detection_params(None, det_over), robot), None)
    nav_values = load_path_following_params(cfg_path)
    nav = Navigator(navigator_config(nav_values, robot))
    start = np.array(BARN_START[:2])
    goal = start + np.array(BARN_GOAL_OFFSET)
    nav.set_goal(np.vstack([start, goal]))
    loop = NavigationLoop(sim, det, nav, nav_values['control_rate_hz'])
    outcome, events = 'timeout', []
    wall0 = time.perf_counter()
    while sim.time < BARN_TIME_LIMIT:
        step = loop.step()
        if loop.out is not None and loop.out.events and sim.steps % loop.period == 0:
            events += [f'{sim.time:.1f}: {e}' for e in loop.out.events]
        if step.collisions:
            outcome = 'collision'
            events.append(f'{sim.time:.1f}: collision with {step.collisions[0].other}')
            break
        s = sim.state
        if math.hypot(s.x - goal[0], s.y - goal[1]) <= BARN_SUCCESS_RADIUS:
            outcome = 'success'
            break
        if nav.state == FAILED:
            outcome = 'failed'
            events.append(f'{sim.time:.1f}: {nav.reason}')
            break
    index = int(world_file.stem.split('_')[-1])
    path_file = world_file.parent.parent / 'paths' / f'path_{index}.npy'
    length = barn_reference_length(path_file) if path_file.exists() else math.nan
    nav_ms = np.array(loop.compute['nav']) * 1e3
    return {'world': world_file.name, 'index': index, 'outcome': outcome,
            'success': outcome == 'success', 'time_s': round(sim.time, 2),
            'reference_length_m': round(length, 3),
            'score': round(barn_score(outcome == 'success', sim.time, length), 4),
            'wall_s': round(time.perf_counter() - wall0, 2),
            'nav_cycle_ms_median': round(float(np.median(nav_ms)), 3) if len(nav_ms) else None,
            'nav_cycle_ms_max': round(float(nav_ms.max()), 2) if len(nav_ms) else None,
            'events': events[-12:]}


def evaluate_barn(worlds_dir: str, config_file: str | None = None, workers: int = 1,
                  seed: int = 0, limit: int | None = None, progress=None) -> dict:
    files = sorted(Path(worlds_dir).glob('world_*.world'),
                   key=lambda p: int(p.stem.split('_')[-1]))
    if limit:
        files = files[:limit]
    if not files:
        raise FileNotFoundError(f'{worlds_dir}: no world_*.world files')
    rows = run_seeds(functools.partial(run_barn_world, config_file=config_file, seed=seed),
                     [str(f) for f in files], workers, progress)
    n = len(rows)
    ok = [r for r in rows if r['success']]
    return {'scenario': 'barn', 'worlds': n,
            'success_rate': round(len(ok) / n, 4),
            'collision_rate': round(sum(r['outcome'] == 'collision' for r in rows) / n, 4),
            'timeout_rate': round(sum(r['outcome'] == 'timeout' for r in rows) / n, 4),
            'failure_rate': round(sum(r['outcome'] == 'failed' for r in rows) / n, 4),
            'mean_time_s': round(float(np.mean([r['time_s'] for r in ok])), 3) if ok else None,
            'mean_score': round(float(np.mean([r['score'] for r in rows])), 4),
            'seed': seed, 'rows': rows}


# ---------------------------------------------------------------------- campus
def run_campus_trip(seed: int, pedestrians: int = 10, max_time: float = 400.0,
                    occ: OccupancyMap | None = None, observer=None) -> dict:
    """One station-to-station trip drawn from `seed` (ground-truth pose); observer: see
    NavigationLoop."""
    rng = np.random.default_rng(seed)
    graph = RouteGraph.from_file(share_path('config', 'campus_route_graph.geojson'))
    names = sorted(graph.stations)
    a, b = rng.choice(len(names), 2, replace=False)
    start_name, goal_name = names[a], names[b]
    route = graph.plan(graph.station(start_name), goal_name)
    d = route.points[1] - route.points[0]
    start = (float(route.points[0][0]), float(route.points[0][1]), math.atan2(d[1], d[0]))
    base = Simulator.from_files(overrides={'seed': seed})
    crowd = trip_crowd(route.points, pedestrians, rng, base.world.actors, max_time)
    world = dataclasses.replace(base.world, actors=base.world.actors + crowd)
    sim = Simulator(world, base.robot, base.cfg, seed=seed, start=start)
    if occ is None:
        occ = load_map(share_path('worlds', 'campus_map.yaml'))
    det = ObstacleDetector(detector_config(load_detection_params(), sim.robot), occ)
    values = load_path_following_params()
    nav = Navigator(navigator_config(values, sim.robot))

    nav.set_goal(route.points, route.speed_limits, route.edge_ids, graph.rerouter(goal_name),
                 junctions=graph.junctions())
    loop = NavigationLoop(sim, det, nav, values['control_rate_hz'], observer=observer)
    outcome, events = 'timeout', []
    cte, min_clear = [], math.inf
    wall0 = time.perf_counter()
    while sim.time < max_time:
        step = loop.step()
        out = loop.out
        if out is not None and out.events and sim.steps % loop.period == 0:
            events += [f'{sim.time:.1f}: {e}' for e in out.events]
        hit = loop.contact(step)
        if hit is not None:
            outcome = hit[0]
            events.append(hit[1])
            break
        min_clear = min(min_clear, loop.people_clearance(step))
        s = sim.state
        if out is not None and sim.steps % loop.period == 0 and out.state == ACTIVE:
            free = (not out.on_detour and out.reason in ('speed limit', 'speed limit ahead',
                                                         'curvature', 'turn ahead'))
            if free and len(sim.actor_xy):
                near = np.hypot(sim.actor_xy[:, 0] - s.x, sim.actor_xy[:, 1] - s.y).min()
                free = near > 3.0
            if free:
                cte.append(out.cross_track_error)
        if nav.state == SUCCEEDED:
            outcome = 'success'
            break
        if nav.state == FAILED:
            outcome = 'failed'
            events.append(f'{sim.time:.1f}: {nav.reason}')
            break
    cte = np.asarray(cte)
    return {'seed': seed, 'from': start_name, 'to': goal_name, 'outcome': outcome,
            'success': outcome == 'success', 'time_s': round(sim.time, 2),
            'route_length_m': round(route.length, 2),
            'route_time_at_limits_s': round(route.time, 2),
            'speed_ratio': round(route.time / sim.time, 4) if outcome == 'success' else None,
            'cross_track_rms_m': round(float(np.sqrt(np.mean(cte ** 2))), 4) if len(cte) else None,
            'cross_track_samples': int(len(cte)),
            'min_clearance_to_people_m': round(min_clear, 3),
            'pedestrians': len(world.actors),
            'wall_s': round(time.perf_counter() - wall0, 2), 'events': events[-12:]}


def trip_crowd(route_points: np.ndarray, n: int, rng: np.random.Generator, others,
               horizon: float) -> list:
    """Up to n people walking to and fro along a trip's walkways.

    They keep to lanes 1.1 or 2.5 m off the walkway centre (the world's own walkers use
    1.8 m) and turn round in them: the scripted crowd cannot step aside for the robot, so
    it does not walk across the robot's centre line (the world's own walkers still cross
    at the ends of their routes); a robot on the centre line passes them at >= 0.5 m.
    At the route's corners their walks stop 3 m (half a walkway) short of the corner:
    until 2026-11-30 a walk could run up to it, and the lane 1.1 m off a segment then
    ended on the next segment's centre line, where the robot turns (people walked into the
    side of a robot crawling round a corner).
    Only on the walkways: the spurs to the stations (the route's first and last edges,
    slower) are the robot's, and a route of two spurs meeting at a junction has no
    walkway, so no crowd (until 2026-11-30 such routes, 4 of the 210 station pairs, had
    the crowd put on their spurs). They turn round 8 m from the walkway's ends, away from
    where the robot joins it; a short walkway holds fewer."""
    walkway = route_points[1:-1]
    if len(walkway) < 2:
        return []
    walkway = _trim(walkway, 8.0)
    for k in range(n, 0, -1):
        try:
            return crowd_actors(walkway, k, rng, lanes=(1.1, 2.5), cross_lanes=False,
                                others=others, horizon=horizon, corner_margin=3.0)
        except ValueError:
            continue
    return []


def _trim(pts: np.ndarray, margin: float) -> np.ndarray:
    """The polyline without `margin` m at either end (unchanged if too short)."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    if cum[-1] <= 2 * margin + 1.0:
        return pts
    s = np.concatenate([[margin], cum[(cum > margin) & (cum < cum[-1] - margin)],
                        [cum[-1] - margin]])
    return np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])


def evaluate_campus_trips(trips: int, seed: int = 0, pedestrians: int = 10, workers: int = 1,
                          progress=None, checkpoint: str | None = None) -> dict:
    """`trips` trips (seeds seed * 100003 + i); checkpoint: as for evaluate_missions."""
    seeds = [seed * 100003 + i for i in range(trips)]
    rows = run_seeds(functools.partial(run_campus_trip, pedestrians=pedestrians), seeds,
                     workers, progress, checkpoint, 'campus_trips',
                     {'seed': seed, 'pedestrians': pedestrians})
    ok = [r for r in rows if r['success']]
    cte = [r['cross_track_rms_m'] ** 2 * r['cross_track_samples'] for r in rows
           if r['cross_track_rms_m'] is not None]
    n_cte = sum(r['cross_track_samples'] for r in rows if r['cross_track_rms_m'] is not None)
    return {'scenario': 'campus_trips', 'trips': len(rows),
            'success_rate': round(len(ok) / len(rows), 4),
            'collisions': sum(r['outcome'] == 'collision' for r in rows),
            'struck_while_stopped': sum(r['outcome'] == 'struck_while_stopped' for r in rows),
            'timeouts': sum(r['outcome'] == 'timeout' for r in rows),
            'failures': sum(r['outcome'] == 'failed' for r in rows),
            'mean_speed_ratio': round(float(np.mean([r['speed_ratio'] for r in ok])), 4)
            if ok else None,
            'cross_track_rms_m': round(math.sqrt(sum(cte) / n_cte), 4) if n_cte else None,
            'min_clearance_to_people_m': round(min(r['min_clearance_to_people_m'] for r in rows), 3),
            'seed': seed, 'rows': rows}
