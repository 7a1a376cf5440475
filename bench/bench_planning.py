#!/usr/bin/env python3
"""Benchmarks `route_query_10k`, `collision_monitor_720`, `controller_cycle` and
`local_plan_240`.

route_query_10k: one route query on a 10,000-node route graph. The graph: a 100 x 100 street lattice, 10 m apart, with every edge two-way and random
speed limits (0.5-1.5 m/s); start and goal are random positions off the nodes (snapped onto
edges, as the robot's and the goal's positions are). Reference in the same run: networkx's
A* (Euclidean heuristic at the top speed) between the same nodes.

collision_monitor_720: CollisionMonitor.check for one 720-beam scan and a 1.2 m/s,
0.3 rad/s command: zones plus the 1.5 s swept footprint. The worst case: every return
within the swept reach (720 points 0.6-2.5 m around, a crowd or a narrow passage); also the
campus scan at the depot (`collision_monitor_720_campus`, most points out of reach).
Reference in the same run: shapely's contains_xy of the 720 points in the footprint.

controller_cycle: PathController.compute (Regulated Pure Pursuit with pedestrian yielding)
following the depot -> dorm_east route on the campus graph (densified to 0.1 m, ~3000
points) with 20 people walking within 8 m; reference: the progress search alone.

local_plan_240: GridPlanner.plan on the obstacle detector's 12 m x 12 m, 0.05 m costmap
(240 x 240 cells, inflated as published) around the robot: 30 random boxes and 300
scattered returns, a goal 5.5 m away in a random direction (the detour horizon), varied per
query; `local_plan_240_outside`: the goal 10 m away, outside the window (full search, as
in BARN). Reference in the same run: networkx's A* (Euclidean heuristic) over the same
8-connected grid graph with the same edge weights, between the same cells.

    python bench/bench_planning.py [--json] [--only KEY ...]
"""
import os

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

KEYS = ('route_query_10k', 'collision_monitor_720', 'controller_cycle', 'local_plan_240')

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from delivery_robot_nav.common.paths import share_path  # noqa: E402
from delivery_robot_nav.planning.controller import (ControllerConfig, Obstacles,  # noqa: E402
                                                    PathController)
from delivery_robot_nav.planning.collision_monitor import (CollisionMonitor,  # noqa: E402
                                                           CollisionMonitorConfig,
                                                           rectangle_footprint)
from delivery_robot_nav.planning.local_planner import GridPlanner  # noqa: E402
from delivery_robot_nav.planning.route_graph import RouteGraph  # noqa: E402


def lattice(n: int, spacing: float, rng) -> dict:
    feats = []
    for i in range(n):
        for j in range(n):
            feats.append({'type': 'Feature', 'geometry': {
                'type': 'Point', 'coordinates': [i * spacing, j * spacing]},
                'properties': {'id': i * n + j, 'frame': 'map'}})
    k = n * n
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = i * n + j, (i + di) * n + j + dj
                    speed = float(rng.uniform(0.5, 1.5))
                    for u, v in ((a, b), (b, a)):
                        feats.append({'type': 'Feature', 'geometry': {'type': 'MultiLineString'},
                                      'properties': {'id': k, 'startid': u, 'endid': v,
                                                     'metadata': {'speed_limit': speed}}})
                        k += 1
    return {'type': 'FeatureCollection', 'features': feats}


def stats(samples_ms, **extra) -> dict:
    s = np.asarray(samples_ms)
    return {'median_ms': round(float(np.median(s)), 4),
            'p99_ms': round(float(np.percentile(s, 99)), 4), **extra}


def monitor_bench() -> dict:
    """collision_monitor_720 (worst case) and collision_monitor_720_campus."""
    import shapely

    from delivery_robot_nav.sim.core import Simulator
    sim = Simulator.from_files(overrides={'depth_camera.enabled': False})
    monitor = CollisionMonitor(CollisionMonitorConfig(), rectangle_footprint(*sim.robot.footprint))
    scans = []
    for _ in range(300):
        step = sim.step((0.0, 0.0))
        scans += [r for r in step.readings if hasattr(r, 'angle_increment')]
    clouds = []
    for r in scans:
        a = r.angle_min + r.angle_increment * np.arange(len(r.ranges))
        ok = np.isfinite(r.ranges)
        clouds.append(np.column_stack([r.ranges[ok] * np.cos(a[ok]), r.ranges[ok] * np.sin(a[ok])]))
    rng = np.random.default_rng(1)
    angles = np.linspace(-np.pi, np.pi, 720, endpoint=False)
    crowded = [np.column_stack([r * np.cos(angles), r * np.sin(angles)])
               for r in rng.uniform(0.6, 2.5, (len(clouds), 720))]

    def timed(sets):
        ours, ref = [], []
        for _ in range(20):
            for pts in sets:
                t0 = time.perf_counter()
                monitor.check(1.2, 0.3, pts)
                ours.append((time.perf_counter() - t0) * 1e3)
                t0 = time.perf_counter()
                shapely.contains_xy(monitor.footprint, pts[:, 0], pts[:, 1])
                ref.append((time.perf_counter() - t0) * 1e3)
        return ours, ref

    out = {}
    for key, sets in (('collision_monitor_720', crowded), ('collision_monitor_720_campus', clouds)):
        ours, ref = timed(sets)
        out[key] = stats(ours, beams=720,
                         reference_contains_xy_median_ms=round(float(np.median(ref)), 4),
                         ratio_to_contains_xy=round(float(np.median(ours) / np.median(ref)), 2))
    return out


def controller_bench() -> dict:
    graph = RouteGraph.from_file(share_path('config', 'campus_route_graph.geojson'))
    route = graph.plan(graph.station('depot'), 'dorm_east')
    pts, speeds = [], []
    for a, b, v in zip(route.points[:-1], route.points[1:], route.speed_limits):
        n = max(1, int(np.hypot(*(b - a)) / 0.1))
        pts += list(a + np.linspace(0, 1, n, endpoint=False)[:, None] * (b - a))
        speeds += [v] * n
    pts.append(route.points[-1])
    path = np.array(pts)
    # the campus configuration's controller (walkers turning onto the path ahead and
    # crossing the graph's junctions, passing people with room) and robot
    from delivery_robot_nav.planning.config import load_path_following_params, navigator_config
    from delivery_robot_nav.sim.robot_model import load_robot_model
    robot = load_robot_model(share_path('urdf', 'delivery_robot.urdf'))
    ctrl = PathController(navigator_config(load_path_following_params(), robot).controller)
    ctrl.set_junctions(graph.junctions())
    ctrl.set_path(path, np.array(speeds))
    rng = np.random.default_rng(2)
    ours, ref = [], []
    pose = np.array([*path[0], 1.5708])
    for k in range(0, len(path) - 50, 7):
        p = path[k]
        pose = np.array([p[0], p[1], float(np.arctan2(*(path[k + 5] - p)[::-1]))])
        people = Obstacles(p + rng.uniform(-8, 8, (20, 2)), rng.uniform(-1.4, 1.4, (20, 2)),
                           np.full(20, 0.3))
        ctrl.reset_motion(1.0, 0.0)
        t0 = time.perf_counter()
        ctrl.compute(pose, 0.05, people)
        ours.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        ctrl._update_progress(pose[:2])
        ref.append((time.perf_counter() - t0) * 1e3)
    return stats(ours, path_points=len(path), people=20,
                 reference_progress_search_median_ms=round(float(np.median(ref)), 4),
                 ratio_to_progress_search=round(float(np.median(ours) / np.median(ref)), 2))


def local_plan_bench() -> dict:
    from delivery_robot_nav.perception.costmap import CostmapConfig, RollingCostmap
    rng = np.random.default_rng(3)
    planner = GridPlanner()
    cfg = planner.cfg
    out = {}
    for key, distance in (('local_plan_240', 5.5), ('local_plan_240_outside', 10.0)):
        ours, ref, n = [], [], 0
        for q in range(12):
            cm = RollingCostmap(CostmapConfig(size=12.0, resolution=0.05))
            cm.recenter(0.0, 0.0)
            pts = [rng.uniform(-6, 6, (300, 2))]
            for _ in range(30):
                c, half = rng.uniform(-5.5, 5.5, 2), rng.uniform(0.1, 0.6, 2)
                g = np.stack(np.meshgrid(np.arange(-half[0], half[0], 0.05),
                                         np.arange(-half[1], half[1], 0.05)), -1).reshape(-1, 2)
                pts.append(c + g)
            pts = np.concatenate(pts)
            pts = pts[np.hypot(*pts.T) > 1.3]
            cm.mark('lidar', pts, 0.0)
            costs = cm.costs(0.0)
            n = costs.shape[0]
            a = rng.uniform(-np.pi, np.pi)
            goal = distance * np.array([math.cos(a), math.sin(a)])
            t0 = time.perf_counter()
            plan = planner.plan(costs, cm.origin, 0.05, (0.0, 0.0), goal)
            ours.append((time.perf_counter() - t0) * 1e3)
            if q < 4 and len(plan.points) > 1:    # the reference is slow: 4 queries
                ref.append(_networkx_grid_astar(costs, cfg, (n // 2, n // 2),
                                                 np.floor((plan.points[-1] - cm.origin) / 0.05)
                                                 .astype(int)[::-1]))
        out[key] = stats(ours, cells=f'{n}x{n}', goal_distance_m=distance,
                         reference_networkx_astar_median_ms=round(float(np.median(ref)), 2),
                         ratio_to_networkx_astar=round(float(np.median(ours) / np.median(ref)), 3))
    return out


def _networkx_grid_astar(costs, cfg, start, goal) -> float:
    """ms for networkx A* over the same 8-connected grid and weights (graph built
    outside the timing)."""
    h, w = costs.shape
    factor = 1.0 + cfg.cost_weight / 100.0 * costs.astype(float)
    free = costs < cfg.blocked_cost
    free[tuple(start)] = True
    g = nx.DiGraph()
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1), (-1, 1)):
        step = math.hypot(dr, dc)
        r0, r1, c0, c1 = max(0, -dr), h - max(0, dr), max(0, -dc), w - max(0, dc)
        rr, cc = np.nonzero(free[r0:r1, c0:c1] & free[r0 + dr:r1 + dr, c0 + dc:c1 + dc])
        rr, cc = rr + r0, cc + c0
        wts = step * factor[rr + dr, cc + dc]
        g.add_weighted_edges_from(zip(zip(rr.tolist(), cc.tolist()),
                                      zip((rr + dr).tolist(), (cc + dc).tolist()), wts.tolist()))
    t0 = time.perf_counter()
    nx.astar_path(g, tuple(int(v) for v in start), tuple(int(v) for v in goal),
                  heuristic=lambda a, b: math.hypot(a[0] - b[0], a[1] - b[1]))
    return (time.perf_counter() - t0) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--only', nargs='+', default=None, metavar='KEY', choices=KEYS,
                        help='measure only these keys (default: all, with extras)')
    args = parser.parse_args()
    wanted = set(args.only or KEYS)
    results = {}
    if 'route_query_10k' in wanted:
        results.update(route_bench())
    if 'collision_monitor_720' in wanted:
        results.update(monitor_bench())
    if 'controller_cycle' in wanted:
        results['controller_cycle'] = controller_bench()
    if 'local_plan_240' in wanted:
        results.update(local_plan_bench())
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(key, value)


def route_bench() -> dict:
    rng = np.random.default_rng(0)
    n, spacing = 100, 10.0
    graph = RouteGraph.from_geojson(lattice(n, spacing, rng), 'lattice')
    g = graph.graph
    for _, _, d in g.edges(data=True):
        d['time'] = d['length'] / d['speed']
    top = max(d['speed'] for _, _, d in g.edges(data=True))

    def h(a, b):
        pa, pb = g.nodes[a]['xy'], g.nodes[b]['xy']
        return math.hypot(*(pa - pb)) / top

    ours, ref = [], []
    for _ in range(60):
        start = rng.uniform(0, (n - 1) * spacing, 2)
        goal = rng.uniform(0, (n - 1) * spacing, 2)
        t0 = time.perf_counter()
        graph.plan(start, goal)
        ours.append((time.perf_counter() - t0) * 1e3)
        a = graph._nodes[int(np.argmin(np.hypot(*(graph._xy - start).T)))]
        b = graph._nodes[int(np.argmin(np.hypot(*(graph._xy - goal).T)))]
        t0 = time.perf_counter()
        nx.astar_path(g, a, b, heuristic=h, weight='time')
        ref.append((time.perf_counter() - t0) * 1e3)
    return {'route_query_10k': stats(
        ours, nodes=g.number_of_nodes(), edges=g.number_of_edges(),
        reference_networkx_astar_median_ms=round(float(np.median(ref)), 4),
        ratio_to_networkx_astar=round(float(np.median(ours) / np.median(ref)), 3))}


if __name__ == '__main__':
    main()
