"""Scenario runner: drive the lockstep simulator with a controller callback and record.

A controller is any callable `controller(step: StepResult) -> (v, w) | None`, called after
every simulator step with the readings delivered in it; it returns a velocity command or
None (no new command). The runner records ground truth, commands, collisions and sensor
statistics (residuals against ground truth), so later capabilities are measured against the
same instrument.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from delivery_robot_nav.common.geodesy import geodetic_to_enu
from delivery_robot_nav.common.geometry import se2_compose, wrap_angle
from delivery_robot_nav.sim.core import Simulator, StepResult
from delivery_robot_nav.sim.sensors import (DepthReading, GnssReading, ImuReading, OdomReading,
                                            ScanReading)

Controller = Callable[[StepResult], 'tuple[float, float] | None']



@dataclass
class _Stat:
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, values):
        v = np.asarray(values, dtype=float).ravel()
        self.n += v.size
        self.total += float(v.sum())
        self.total_sq += float((v * v).sum())

    def summary(self) -> dict:
        if not self.n:
            return {'n': 0, 'mean': None, 'std': None}
        mean = self.total / self.n
        return {'n': self.n, 'mean': mean, 'std': math.sqrt(max(self.total_sq / self.n - mean * mean, 0.0))}


@dataclass
class ScenarioLog:
    """What a scenario run recorded. Arrays are sampled at every simulator step."""
    world: str
    seed: int
    time: np.ndarray = field(repr=False, default=None)
    truth: np.ndarray = field(repr=False, default=None)     # (n, 5) x, y, yaw, v, w
    command: np.ndarray = field(repr=False, default=None)   # (n, 2) last command v, w
    odom: np.ndarray = field(repr=False, default=None)      # (m, 4) t, x, y, yaw (odom frame)
    actor_time: np.ndarray = field(repr=False, default=None)
    actors: np.ndarray = field(repr=False, default=None)    # (k, n_actors, 2), sampled at 2 Hz
    collisions: list = field(default_factory=list)
    sensors: dict = field(default_factory=dict)
    wall_time: float = 0.0
    outcome: str = ''

    @property
    def duration(self) -> float:
        return float(self.time[-1]) if len(self.time) else 0.0

    def summary(self) -> dict:
        xy = self.truth[:, :2]
        distance = float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0
        return {
            'world': self.world, 'seed': self.seed, 'outcome': self.outcome,
            'sim_time_s': round(self.duration, 3), 'wall_time_s': round(self.wall_time, 3),
            'real_time_factor': round(self.duration / self.wall_time, 2) if self.wall_time else None,
            'distance_m': round(distance, 2),
            'mean_speed_mps': round(distance / self.duration, 3) if self.duration else 0.0,
            'collisions': len(self.collisions),
            'collision_events': [
                {'time': round(c.time, 3), 'other': c.other, 'x': round(c.x, 2),
                 'y': round(c.y, 2), 'speed': round(c.speed, 3)} for c in self.collisions],
            'sensors': self.sensors,
        }

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / 'log.npz', time=self.time, truth=self.truth,
                            command=self.command, odom=self.odom, actor_time=self.actor_time,
                            actors=self.actors)
        path = directory / 'summary.json'
        path.write_text(json.dumps(self.summary(), indent=2))
        return path


class SensorStatistics:
    """Counts, rates and residuals against ground truth of every reading delivered."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.counts: dict[str, int] = {}
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.latency = _Stat()
        self.gyro_z_error = _Stat()
        self.accel_z = _Stat()
        self.scan_finite = _Stat()
        self.gnss_error_e = _Stat()
        self.gnss_error_n = _Stat()
        self.gnss_no_fix = 0
        self.depth_finite = _Stat()
        self.start_pose = np.array([sim.state.x, sim.state.y, sim.state.yaw])
        self.odom_last: OdomReading | None = None

    def add(self, step: StepResult, history: _History):
        for r in step.readings:
            name = type(r).__name__.replace('Reading', '').lower()
            self.counts[name] = self.counts.get(name, 0) + 1
            self.first.setdefault(name, r.stamp)
            self.last[name] = r.stamp
            if isinstance(r, ImuReading):
                self.gyro_z_error.add(r.angular_velocity[2] - history.yaw_rate_at(r.stamp))
                self.accel_z.add(r.linear_acceleration[2])
            elif isinstance(r, ScanReading):
                self.scan_finite.add(np.isfinite(r.ranges).mean())
            elif isinstance(r, DepthReading):
                self.depth_finite.add(np.isfinite(r.depth).mean())
            elif isinstance(r, GnssReading):
                if r.status < 0:
                    self.gnss_no_fix += 1
                else:
                    e, n, _ = geodetic_to_enu(r.latitude, r.longitude, r.altitude,
                                              *self.sim.world.geodetic_origin)
                    antenna = self.sim.robot.frame('gps_link')[:3, 3]
                    truth = se2_compose(history.pose_at(r.stamp), [antenna[0], antenna[1], 0.0])
                    self.gnss_error_e.add(float(e) - truth[0])
                    self.gnss_error_n.add(float(n) - truth[1])
            elif isinstance(r, OdomReading):
                self.odom_last = r
            self.latency.add(step.time - r.stamp)

    def summary(self, final_truth) -> dict:
        rates = {n: round((self.counts[n] - 1) / (self.last[n] - self.first[n]), 3)
                 for n in self.counts if self.counts[n] > 1 and self.last[n] > self.first[n]}
        out = {'counts': self.counts, 'rates_hz': rates,
               'imu_gyro_z_error': self.gyro_z_error.summary(),
               'imu_accel_z': self.accel_z.summary(),
               'scan_finite_fraction': self.scan_finite.summary()['mean'],
               'depth_finite_fraction': self.depth_finite.summary()['mean'],
               'gnss_no_fix': self.gnss_no_fix,
               'gnss_error_east': self.gnss_error_e.summary(),
               'gnss_error_north': self.gnss_error_n.summary()}
        if self.odom_last is not None:
            # odometry drift: odom pose mapped into the world through the start pose
            o = self.odom_last
            est = se2_compose(self.start_pose, [o.x, o.y, o.yaw])
            truth = np.array([final_truth.x, final_truth.y, final_truth.yaw])
            out['odom_final_position_error_m'] = round(float(np.hypot(*(est[:2] - truth[:2]))), 4)
            out['odom_final_yaw_error_rad'] = round(float(wrap_angle(est[2] - truth[2])), 5)
        return out


class _History:
    """Ground truth recorded so far, looked up at reading stamps (which lag by latency)."""

    def __init__(self, n_max: int):
        self.time = np.zeros(n_max)
        self.truth = np.zeros((n_max, 5))      # x, y, yaw, v, w
        self.n = 0

    def append(self, gt):
        self.time[self.n] = gt.time
        self.truth[self.n] = (gt.x, gt.y, gt.yaw, gt.v, gt.w)
        self.n += 1

    def yaw_rate_at(self, t: float) -> float:
        return float(np.interp(t, self.time[:self.n], self.truth[:self.n, 4]))

    def pose_at(self, t: float) -> np.ndarray:
        """Planar pose at time t, linear between recorded steps."""
        times, truth = self.time[:self.n], self.truth[:self.n]
        j = int(np.clip(np.searchsorted(times, t), 1, max(self.n - 1, 1)))
        if self.n < 2:
            return truth[0, :3].copy()
        t0, t1 = times[j - 1], times[j]
        a = 0.0 if t1 == t0 else float(np.clip((t - t0) / (t1 - t0), 0.0, 1.0))
        p0, p1 = truth[j - 1, :3], truth[j, :3]
        return np.array([p0[0] + a * (p1[0] - p0[0]), p0[1] + a * (p1[1] - p0[1]),
                         float(wrap_angle(p0[2] + a * float(wrap_angle(p1[2] - p0[2]))))])


def run_scenario(sim: Simulator, controller: Controller, max_time: float,
                 done: Callable[[], bool] | None = None, stop_on_collision: bool = False,
                 progress: Callable[[float], None] | None = None) -> ScenarioLog:
    """Step `sim` until `done()` is true or `max_time` simulated seconds pass."""
    n_max = int(math.ceil(max_time * sim.cfg.step_rate_hz))
    history = _History(n_max)
    command = np.zeros((n_max, 2))
    odom, actor_t, actor_xy, collisions = [], [], [], []
    stats = SensorStatistics(sim)
    actor_period = int(round(sim.cfg.step_rate_hz / 2.0))
    report_period = int(round(sim.cfg.step_rate_hz * 10.0))
    wall0 = time.perf_counter()
    outcome = 'timeout'
    cmd = None
    for i in range(n_max):
        step = sim.step(cmd)
        gt = step.ground_truth
        history.append(gt)
        stats.add(step, history)
        odom.extend((r.stamp, r.x, r.y, r.yaw) for r in step.readings
                    if isinstance(r, OdomReading))
        collisions.extend(step.collisions)
        if i % actor_period == 0:
            actor_t.append(gt.time)
            actor_xy.append(sim.actor_xy.copy())
        cmd = controller(step)
        command[i] = sim.cmd
        if progress is not None and i % report_period == 0:
            progress(gt.time)
        if stop_on_collision and step.collisions:
            outcome = 'collision'
            break
        if done is not None and done():
            outcome = 'done'
            break
    n = history.n
    log = ScenarioLog(world=sim.world.source, seed=sim.seed, time=history.time[:n],
                      truth=history.truth[:n], command=command[:n],
                      odom=np.array(odom).reshape(-1, 4), actor_time=np.array(actor_t),
                      actors=np.array(actor_xy).reshape(len(actor_xy), len(sim.actors), 2),
                      collisions=collisions, wall_time=time.perf_counter() - wall0,
                      outcome=outcome)
    log.sensors = stats.summary(sim.ground_truth())
    return log
