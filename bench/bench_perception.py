#!/usr/bin/env python3
"""Benchmarks `lidar_pipeline_720`, `depth_frame_160x120` and `costmap_update`.

- lidar_pipeline_720: ObstacleDetector.on_scan on a simulated 720-beam scan at the campus
  depot with 20 people walking within 8 m (segmentation, static-map filter, tracker with
  ~20 tracks, costmap clearing and marking); reference in the same run: turning the same
  scan into world points (`scan_points`, the floor of any per-scan work). Also the
  segmentation alone, scan-order vs KD-tree, and the whole pipeline with the KD-tree.
- depth_frame_160x120: DepthObstacleExtractor + depth-layer update for a 160 x 120 frame
  facing a low planter (reference: projecting the frame to points only).
- costmap_update: one lidar update of the 12 m / 0.05 m rolling costmap (clear the seen
  polygon, mark, replace the objects layer) plus computing the inflated cost grid.

    python bench/bench_perception.py [--json] [--only KEY ...]
"""
import os

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

KEYS = ('lidar_pipeline_720', 'depth_frame_160x120', 'costmap_update')

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from delivery_robot_nav.common.maps import load_map  # noqa: E402
from delivery_robot_nav.common.paths import share_path  # noqa: E402
from delivery_robot_nav.common.world import Actor  # noqa: E402
from delivery_robot_nav.perception.config import detector_config, load_detection_params  # noqa: E402
from delivery_robot_nav.perception.depth import CameraModel, DepthObstacleExtractor  # noqa: E402
from delivery_robot_nav.perception.detector import ObstacleDetector  # noqa: E402
from delivery_robot_nav.perception.lidar import scan_points, segment  # noqa: E402
from delivery_robot_nav.sim.core import Simulator  # noqa: E402
from delivery_robot_nav.sim.sensors import DepthReading, ScanReading  # noqa: E402


def stats(samples_ms, **extra) -> dict:
    s = np.asarray(samples_ms)
    return {'median_ms': round(float(np.median(s)), 4),
            'p99_ms': round(float(np.percentile(s, 99)), 4), **extra}


def people_around(centre, n: int, rng) -> list[Actor]:
    """n people 1.5-8 m around `centre`, each walking a short straight line to and fro."""
    out = []
    for i in range(n):
        r, a = rng.uniform(1.5, 7.5), 2 * math.pi * i / n + rng.uniform(-0.1, 0.1)
        p0 = np.array(centre) + r * np.array([math.cos(a), math.sin(a)])
        heading = rng.uniform(-math.pi, math.pi)
        p1 = p0 + 3.0 * np.array([math.cos(heading), math.sin(heading)])
        t1 = 3.0 / rng.uniform(0.8, 1.4)
        poses = np.array([[*p0, 1.0, heading], [*p1, 1.0, heading], [*p0, 1.0, heading]])
        out.append(Actor(f'p{i}', np.array([0.0, t1, 2 * t1]), poses, loop=True))
    return out


def record_scans(n_people: int, seconds: float):
    base = Simulator.from_files(overrides={'depth_camera.enabled': False})
    s = base.state
    world = dataclasses.replace(base.world, actors=people_around(
        (s.x, s.y), n_people, np.random.default_rng(0)))
    sim = Simulator(world, base.robot, base.cfg)
    scans = []
    for _ in range(int(seconds * sim.cfg.step_rate_hz)):
        step = sim.step((0.0, 0.0))
        scans += [r for r in step.readings if isinstance(r, ScanReading)]
    pose = (s.x, s.y, s.yaw)
    return sim, scans, pose


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--only', nargs='+', default=None, metavar='KEY', choices=KEYS,
                        help='measure only these keys (default: all, with extras)')
    args = parser.parse_args()
    wanted = set(args.only or KEYS)
    extras = args.only is None
    occ = load_map(share_path('worlds', 'campus_map.yaml'))
    values = load_detection_params()
    sim, scans, pose = record_scans(20, 12.0)
    cfg = detector_config(values, sim.robot)
    angles = scans[0].angle_min + scans[0].angle_increment * np.arange(len(scans[0].ranges))
    inc = scans[0].angle_increment
    results = {}

    def pipeline(config):
        times, costmap_times, tracks = [], [], []
        for _ in range(3):
            det = ObstacleDetector(config, occ)
            for k, r in enumerate(scans):
                t0 = time.perf_counter()
                res = det.on_scan(r.stamp, r.ranges, angles, pose, inc, r.range_min, r.range_max)
                dt = time.perf_counter() - t0
                if k >= 20:                               # tracks established
                    times.append(dt * 1e3)
                    tracks.append(len(res.tracks.ids))
                    t1 = time.perf_counter()
                    det.costmap.costs(r.stamp)
                    costmap_times.append((res.seconds['costmap']
                                          + time.perf_counter() - t1) * 1e3)
        return times, costmap_times, tracks

    if wanted & {'lidar_pipeline_720', 'costmap_update'}:
        results.update(lidar_bench(pipeline, cfg, scans, angles, inc, pose, wanted, extras))
    if 'depth_frame_160x120' in wanted:
        results['depth_frame_160x120'] = depth_bench(cfg, occ)
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(key, value)


def lidar_bench(pipeline, cfg, scans, angles, inc, pose, wanted, extras) -> dict:
    results = {}
    times, costmap_times, tracks = pipeline(cfg)
    floor = []
    for r in scans:
        t0 = time.perf_counter()
        scan_points(r.ranges, angles, cfg.laser_pose, pose, 0.1, 30.0)
        floor.append((time.perf_counter() - t0) * 1e3)
    if 'lidar_pipeline_720' in wanted:
        results['lidar_pipeline_720'] = stats(
            times, beams=len(angles), people=20,
            confirmed_tracks_median=float(np.median(tracks)),
            segmentation=cfg.segmentation.method,
            reference_scan_points_median_ms=round(float(np.median(floor)), 4),
            ratio_to_scan_points=round(float(np.median(times) / np.median(floor)), 1))
    if 'costmap_update' in wanted:
        results['costmap_update'] = stats(
            costmap_times, size_cells=int(round(cfg.costmap.size / cfg.costmap.resolution)),
            includes='clear + mark + objects layer + inflated cost grid')
    if not extras:
        return results
    kd_cfg = dataclasses.replace(cfg, segmentation=dataclasses.replace(cfg.segmentation,
                                                                       method='kdtree'))
    kd_times, _, kd_tracks = pipeline(kd_cfg)
    results['lidar_pipeline_720_kdtree'] = stats(
        kd_times, confirmed_tracks_median=float(np.median(kd_tracks)))
    for method, c in (('scan_order', cfg), ('kdtree', kd_cfg)):
        seg = []
        for r in scans:
            pts = scan_points(r.ranges, angles, cfg.laser_pose, pose, 0.1, 30.0)
            t0 = time.perf_counter()
            segment(pts, inc, len(angles), c.segmentation)
            seg.append((time.perf_counter() - t0) * 1e3)
        results[f'segmentation_{method}_720'] = stats(seg)
    return results


def depth_bench(cfg, occ) -> dict:
    # depth: a 160 x 120 frame facing the low planter at (-90, 2.6) from 2.5 m
    sim_d = Simulator.from_files(overrides={'depth_camera.width': 160,
                                            'depth_camera.height': 120},
                                 start=(-90.0, 0.0, math.pi / 2))
    frames = []
    for _ in range(100):
        step = sim_d.step((0.0, 0.0))
        frames += [r for r in step.readings if isinstance(r, DepthReading)]
    r0 = frames[0]
    camera = CameraModel(160, 120, r0.fx, r0.fy, r0.cx, r0.cy)
    cam_T = sim_d.robot.frame('camera_depth_optical_frame')
    det = ObstacleDetector(cfg, occ)
    s = sim_d.state
    depth_ms, cells = [], []
    for _ in range(20):
        for r in frames:
            t0 = time.perf_counter()
            info = det.on_depth(r.stamp, r.depth, camera, cam_T, (s.x, s.y, s.yaw))
            depth_ms.append((time.perf_counter() - t0) * 1e3)
            cells.append(info['points'])
    extractor = DepthObstacleExtractor(cfg.depth, camera, cam_T)
    proj = []
    for _ in range(20):
        for r in frames:
            t0 = time.perf_counter()
            z = np.where(np.isfinite(r.depth), r.depth, 0.0)
            z[..., None] * extractor.dirs + extractor.t
            proj.append((time.perf_counter() - t0) * 1e3)
    return stats(
        depth_ms, obstacle_points_median=float(np.median(cells)),
        reference_projection_median_ms=round(float(np.median(proj)), 4),
        ratio_to_projection=round(float(np.median(depth_ms) / np.median(proj)), 1))


if __name__ == '__main__':
    main()
