#!/usr/bin/env python3
"""Benchmarks `pf_update_1000x90`, `ekf_step` and the particle-count scale curve.

- pf_update_1000x90: one particle-filter cycle on the campus map (motion update, 90-beam
  likelihood-field weighting, resampling when due) with 1000 particles; reference in the
  same run: the bare likelihood-table lookup of the same 90 000 endpoints.
- ekf_step: one EKF prediction + odometry-twist update; reference in the same run: one
  state-sized (8x8) numpy matrix product (the floor of per-call numpy overhead).
- pf_update_<n>x90 for n in 250..8000: the scale curve.

    python bench/bench_localization.py [--json] [--only KEY ...]
"""
import os

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

KEYS = ('pf_update_1000x90', 'ekf_step')

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from delivery_robot_nav.common.maps import load_map  # noqa: E402
from delivery_robot_nav.common.paths import share_path  # noqa: E402
from delivery_robot_nav.localization.ekf import EkfConfig, PlanarEkf  # noqa: E402
from delivery_robot_nav.localization.likelihood_field import FieldConfig, LikelihoodField  # noqa: E402
from delivery_robot_nav.localization.particle_filter import ParticleFilter, PfConfig  # noqa: E402
from delivery_robot_nav.sim.core import Simulator  # noqa: E402


def timed(fn, repeats: int) -> np.ndarray:
    out = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out * 1e3


def stats(samples_ms: np.ndarray, **extra) -> dict:
    return {'median_ms': round(float(np.median(samples_ms)), 4),
            'p99_ms': round(float(np.percentile(samples_ms, 99)), 4), **extra}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--only', nargs='+', default=None, metavar='KEY', choices=KEYS,
                        help='measure only these keys (default: all, with extras)')
    args = parser.parse_args()
    wanted = set(args.only or KEYS)
    occ = load_map(share_path('worlds', 'campus_map.yaml'))
    field = LikelihoodField(occ, FieldConfig())
    sim = Simulator.from_files(overrides={'depth_camera.enabled': False})
    scan = sim.lidar.measure(0.0, sim.state, sim.scene)
    angles = scan.angle_min + scan.angle_increment * np.arange(len(scan.ranges))
    ranges, beams = ParticleFilter.select_beams(scan.ranges, angles, 90, 30.0)
    truth = np.array([sim.state.x, sim.state.y, sim.state.yaw])
    results = {}

    def pf_cycle(n: int):
        cfg = PfConfig(min_particles=n, max_particles=n)
        pf = ParticleFilter(field, cfg, np.random.default_rng(0))
        pf.initialize_gaussian(truth, np.diag([0.04, 0.04, 0.003]), n)

        def cycle():
            pf.predict((0.1, 0.0, 0.01))
            pf.update(ranges, beams)
        return timed(cycle, 200 if n <= 2000 else 60)

    if 'pf_update_1000x90' in wanted:
        results.update(pf_bench(pf_cycle, field, truth, ranges, beams,
                                (250, 500, 1000, 2000, 4000, 8000) if args.only is None
                                else (1000,)))
    if 'ekf_step' in wanted:
        results['ekf_step'] = ekf_bench(truth)
    print(json.dumps(results, indent=None if args.json else 2))


def pf_bench(pf_cycle, field, truth, ranges, beams, counts) -> dict:
    results = {}
    for n in counts:
        results[f'pf_update_{n}x90'] = stats(pf_cycle(n), particles=n, beams=len(ranges))
    pf = ParticleFilter(field, PfConfig(), np.random.default_rng(0))
    pf.initialize_gaussian(truth, np.diag([0.04, 0.04, 0.003]), 1000)
    ex, ey = pf.endpoints(pf.particles, ranges, beams)
    lookup = timed(lambda: field.log_likelihood(ex, ey), 200)
    results['pf_update_1000x90']['reference_lookup_median_ms'] = round(float(np.median(lookup)), 4)
    results['pf_update_1000x90']['ratio_to_lookup'] = round(
        results['pf_update_1000x90']['median_ms'] / float(np.median(lookup)), 2)
    return results


def ekf_bench(truth) -> dict:
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, truth, np.eye(3) * 0.01)
    clock = [0.0]

    def ekf_step():
        clock[0] += 0.02
        ekf.update_twist(clock[0], 1.0, 0.1, 1e-4, 1e-4)
    ekf_ms = timed(ekf_step, 5000)
    a = np.eye(len(ekf.x))
    matmul = timed(lambda: a @ a, 5000)
    return stats(ekf_ms, reference_matmul_median_ms=round(
        float(np.median(matmul)), 5), ratio_to_matmul=round(
        float(np.median(ekf_ms) / np.median(matmul)), 1))


if __name__ == '__main__':
    main()
