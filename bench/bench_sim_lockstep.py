#!/usr/bin/env python3
"""Benchmark `sim_lockstep`: the lockstep simulator on the campus, one core.

Lidar 720 beams at 10 Hz, odometry 50 Hz, IMU 100 Hz, GNSS 5 Hz, all campus pedestrians
(24 actors) moving, collision checks at 50 Hz; the robot drives the demo loop with the
scripted route driver (its own time is not counted). Reference measured in the same run:
MuJoCo's raw `mj_multiRay` throughput for the same 720-beam scan in the same scene, i.e. the
real-time factor a simulator that did nothing but cast the lidar at 10 Hz would reach.

Prints one JSON object: {key: {"median_ms", "p99_ms", "real_time_factor", ...}}, where the
*_ms numbers are wall milliseconds per simulated second. The drive is repeated (`--repeats`,
fresh simulator each time) and `real_time_factor` is the median repeat, with the slowest
and fastest beside it: this machine's speed drifts between runs. `sim_lockstep_depth` adds
the 64 x 48 depth camera at 10 Hz. `sensor_ray_model`: each sensor's cast in the ray model
against the collision model (scene.py), same scene and rays, same run.

    python bench/bench_sim_lockstep.py [--json] [--sim-seconds 60] [--repeats 3] [--only sim_lockstep]
"""
import os

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

KEYS = ('sim_lockstep',)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from delivery_robot_nav.demo.config import driver_config, load_driver_params, route_points  # noqa: E402
from delivery_robot_nav.demo.route_driver import LockstepRouteController, RouteDriver  # noqa: E402
from delivery_robot_nav.sim.core import Simulator  # noqa: E402


def run(sim_seconds: float, depth: bool) -> dict:
    sim = Simulator.from_files(overrides={'depth_camera.enabled': depth})
    values = load_driver_params()
    driver = RouteDriver(route_points(values), driver_config(
        values, sim.robot.footprint[2], float(sim.robot.frame('laser_link')[0, 3])))
    controller = LockstepRouteController(driver, values['control_rate_hz'], sim.cfg.step_rate_hz)
    steps_per_second = int(round(sim.cfg.step_rate_hz))
    per_second, step_times, cmd = [], [], None
    for _ in range(int(sim_seconds)):
        chunk = 0.0
        for _ in range(steps_per_second):
            t0 = time.perf_counter()
            step = sim.step(cmd)
            dt = time.perf_counter() - t0
            chunk += dt
            step_times.append(dt)
            cmd = controller(step)
        per_second.append(chunk)
    per_second = np.array(per_second) * 1e3
    total = per_second.sum() / 1e3
    return {
        'median_ms': round(float(np.median(per_second)), 3),
        'p99_ms': round(float(np.percentile(per_second, 99)), 3),
        'mean_ms': round(float(per_second.mean()), 3),
        'step_median_us': round(float(np.median(step_times)) * 1e6, 2),
        'step_p99_us': round(float(np.percentile(step_times, 99)) * 1e6, 2),
        'real_time_factor': round(sim_seconds / total, 1),
        'sim_seconds': sim_seconds,
        'actors': len(sim.actors),
        'distance_m': round(float(driver.progress), 1),
        'lidar_beams': sim.cfg.lidar.beams,
        'geoms': int(sim.scene.model.ngeom),
    }, sim


def raw_raycast(sim: Simulator, repeats: int = 2000) -> dict:
    """MuJoCo mj_multiRay alone: the same scene, the same 720 beams, from the demo start."""
    origin, rot = sim.lidar.base_T_laser[:3, 3] + [sim.state.x, sim.state.y, 0.0], np.eye(3)
    dirs = np.ascontiguousarray(sim.lidar._local_dirs @ rot.T)
    cutoff = sim.cfg.lidar.range_max + 1.0
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sim.scene.cast(origin, dirs, cutoff, sim.scene.lidar_groups)
        samples.append(time.perf_counter() - t0)
    scan_s = float(np.median(samples))
    return {'median_ms': round(scan_s * 1e3, 4),
            'p99_ms': round(float(np.percentile(samples, 99)) * 1e3, 4),
            'scans_per_s': round(1.0 / scan_s, 1),
            'real_time_factor_at_10hz': round(1.0 / (scan_s * sim.cfg.lidar.rate_hz), 1)}


def ray_models(sim: Simulator, repeats: int = 300) -> dict:
    """The sensors' casts in the ray model against the same casts in the collision model
    (where each pedestrian is a body of its own, as the simulator cast before the ray
    model), same scene, same rays; and whether the two agree hit for hit."""
    import mujoco
    from delivery_robot_nav.sim.sensors import _planar_pose
    scene, out = sim.scene, {}
    sensors = [('lidar', sim.lidar, sim.lidar.base_T_laser, scene.lidar_groups,
                sim.cfg.lidar.range_max + 1.0)]
    if sim.camera is not None:
        sensors.append(('depth_camera', sim.camera, sim.camera.base_T_optical,
                        scene.camera_groups, sim.cfg.depth_camera.range_max * 1.5))
    for name, sensor, base_T, groups, cutoff in sensors:
        origin, rot = _planar_pose(sim.state, base_T)
        dirs = np.ascontiguousarray(sensor._local_dirs @ rot.T).ravel()
        n = len(sensor._local_dirs)
        row = {'rays': n}
        hits = {}
        for label, model, data in (('ray_model', scene.ray_model, scene.ray_data),
                                   ('collision_model', scene.model, scene.data)):
            geom, dist = np.zeros(n, np.int32), np.zeros(n)
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                mujoco.mj_multiRay(model, data, origin, dirs, groups, 1, -1, geom, dist, None,
                                   n, cutoff)
                samples.append(time.perf_counter() - t0)
            row[f'{label}_median_ms'] = round(float(np.median(samples)) * 1e3, 4)
            hits[label] = (geom.copy(), dist.copy())
        row['ratio'] = round(row['ray_model_median_ms'] / row['collision_model_median_ms'], 3)
        row['same_hits'] = bool(all(np.array_equal(a, b) for a, b in
                                    zip(hits['ray_model'], hits['collision_model'])))
        out[name] = row
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true', help='print one JSON line only')
    parser.add_argument('--sim-seconds', type=float, default=60.0)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--only', nargs='+', default=None, metavar='KEY', choices=KEYS,
                        help='measure only these keys (default: all, with extras)')
    args = parser.parse_args()
    results = {}
    repeats = [run(args.sim_seconds, depth=False) for _ in range(max(1, args.repeats))]
    factors = [r['real_time_factor'] for r, _ in repeats]
    lockstep, sim = sorted(repeats, key=lambda item: item[0]['real_time_factor'])[len(repeats) // 2]
    lockstep['real_time_factor_min'], lockstep['real_time_factor_max'] = min(factors), max(factors)
    lockstep['repeats'] = len(repeats)
    raw = raw_raycast(sim)
    lockstep['raw_raycast_real_time_factor'] = raw['real_time_factor_at_10hz']
    lockstep['ratio_to_raw_raycast'] = round(
        lockstep['real_time_factor'] / raw['real_time_factor_at_10hz'], 3)
    results['sim_lockstep'] = lockstep
    if args.only is None:
        results['mujoco_raw_raycast_720'] = raw
        depth, depth_sim = run(args.sim_seconds / 4, depth=True)
        results['sim_lockstep_depth'] = depth
        results['sensor_ray_model'] = ray_models(depth_sim)
    text = json.dumps(results)
    if not args.json:
        text = json.dumps(results, indent=2)
    print(text)


if __name__ == '__main__':
    main()
