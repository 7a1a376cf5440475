"""Localization accuracy against ground truth, in the lockstep simulator (no DDS).

The robot drives the demo loop (scripted driver on ground truth); every sensor reading the
simulator delivers is fed to the Localizer in delivery order, and the estimate is compared
with the truth at every odometry stamp. Scenario knobs: sensors off, a GNSS outage window,
a lidar dropout window, a kidnap (teleport without telling the filter).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from delivery_robot_nav.common.geometry import wrap_angle
from delivery_robot_nav.common.maps import OccupancyMap
from delivery_robot_nav.demo.config import driver_config, load_driver_params, route_points
from delivery_robot_nav.demo.route_driver import LockstepRouteController, RouteDriver
from delivery_robot_nav.localization.estimator import Localizer, LocalizerConfig
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.scenario import run_scenario
from delivery_robot_nav.sim.sensors import GnssReading, ImuReading, OdomReading, ScanReading


@dataclass
class Disturbances:
    gnss_outage: tuple[float, float] | None = None     # sim time window without GNSS
    lidar_dropout: tuple[float, float] | None = None   # sim time window without scans
    kidnap_at: float | None = None                      # teleport time
    kidnap_offset: tuple[float, float] = (30.0, 0.0)    # along the route direction, m


@dataclass
class LocalizationRun:
    t: np.ndarray
    truth: np.ndarray            # (n, 3)
    estimate: np.ndarray         # (n, 3)
    cov: np.ndarray              # (n, 3, 3)
    lost: np.ndarray             # (n,) bool
    wall_time: float
    events: dict = field(default_factory=dict)

    def metrics(self, after: float = 0.0) -> dict:
        sel = self.t >= after
        err = self.estimate[sel, :2] - self.truth[sel, :2]
        dist = np.hypot(err[:, 0], err[:, 1])
        yaw = wrap_angle(self.estimate[sel, 2] - self.truth[sel, 2])
        cov = self.cov[sel, :2, :2]
        # the 2-sigma ellipse: Mahalanobis distance <= 2
        inside = [float(e @ np.linalg.solve(c, e)) <= 4.0 for e, c in zip(err, cov)]
        return {'samples': int(sel.sum()),
                'position_rmse_m': round(float(np.sqrt(np.mean(dist ** 2))), 4),
                'position_max_m': round(float(dist.max()), 4),
                'yaw_rmse_deg': round(float(np.degrees(np.sqrt(np.mean(yaw ** 2)))), 3),
                'inside_2sigma_fraction': round(float(np.mean(inside)), 3)}


def run_localization(sim: Simulator, occ: OccupancyMap | None, cfg: LocalizerConfig,
                     duration: float, disturbances: Disturbances | None = None,
                     seed: int = 0) -> LocalizationRun:
    d = disturbances or Disturbances()
    values = load_driver_params()
    loop = route_points(values)
    laps = np.vstack([loop] + [loop[1:]] * 3)     # keep driving for as long as asked
    driver = RouteDriver(laps, driver_config(
        values, sim.robot.footprint[2], float(sim.robot.frame('laser_link')[0, 3])))
    controller = LockstepRouteController(driver, values['control_rate_hz'], sim.cfg.step_rate_hz)
    loc = Localizer(cfg, occ, np.random.default_rng(seed))
    s = sim.state
    loc.initialize(0.0, (s.x, s.y, s.yaw))
    rows, events = [], {}
    compute = [0.0]

    def within(window, t):
        return window is not None and window[0] <= t < window[1]

    def step_callback(step):
        t0 = time.perf_counter()
        for r in step.readings:
            if isinstance(r, OdomReading):
                loc.on_odometry(r.stamp, (r.x, r.y, r.yaw), r.v, r.w, *r.twist_variance)
                pose, cov = loc.pose_at(r.stamp)
                truth = _truth_at(history, r.stamp)
                rows.append((r.stamp, *truth, *pose, *cov.ravel(), loc.status.lost))
            elif isinstance(r, ImuReading):
                loc.on_imu(r.stamp, float(r.angular_velocity[2]), r.angular_velocity_variance)
            elif isinstance(r, GnssReading) and not within(d.gnss_outage, r.stamp):
                cov = np.diag(r.position_variance)
                loc.on_gnss(r.stamp, r.status, r.latitude, r.longitude, r.altitude, cov, 2)
                if r.status >= 0:
                    loc.on_gnss_velocity(r.stamp, *r.velocity, np.eye(2) * r.velocity_variance)
            elif isinstance(r, ScanReading) and not within(d.lidar_dropout, r.stamp):
                angles = r.angle_min + r.angle_increment * np.arange(len(r.ranges))
                loc.on_scan(r.stamp, r.ranges, angles)
        compute[0] += time.perf_counter() - t0
        gt = step.ground_truth
        history.append((gt.time, gt.x, gt.y, gt.yaw))
        if d.kidnap_at is not None and 'kidnap' not in events and gt.time >= d.kidnap_at:
            dx, dy = d.kidnap_offset
            c, sn = math.cos(gt.yaw), math.sin(gt.yaw)
            sim.base.state.x += c * dx - sn * dy
            sim.base.state.y += sn * dx + c * dy
            driver.progress = min(driver.progress + math.hypot(dx, dy), driver.length)
            events['kidnap'] = gt.time
        return controller(step)

    history: list = []
    run_scenario(sim, step_callback, duration, done=lambda: driver.done)
    if not rows:
        raise ValueError('no odometry was delivered: nothing to evaluate')
    data = np.array(rows, dtype=float)
    events['relocalizations'] = loc.status.relocalizations
    events['rejected'] = dict(loc.status.rejected)
    events['ekf_rejected_gate'] = dict(loc.ekf.counters.rejected_gate)
    return LocalizationRun(t=data[:, 0], truth=data[:, 1:4], estimate=data[:, 4:7],
                           cov=data[:, 7:16].reshape(-1, 3, 3), lost=data[:, 16] > 0.5,
                           wall_time=compute[0], events=events)


def _truth_at(history, t):
    """Ground truth at a (past) stamp from the recorded steps: nearest step at or before."""
    for time_, x, y, yaw in reversed(history):
        if time_ <= t + 1e-9:
            return x, y, yaw
    return history[0][1:] if history else (math.nan, math.nan, math.nan)


SCENARIOS = {
    'drive': ('all sensors', {}, Disturbances()),
    'no_lidar': ('odometry + IMU + GNSS', {'use_lidar': False}, Disturbances()),
    'kidnap': ('teleported 30 m at t = 100 s', {}, Disturbances(kidnap_at=100.0)),
    'outage': ('GNSS off 100-160 s, lidar off 150-155 s', {},
               Disturbances(gnss_outage=(100.0, 160.0), lidar_dropout=(150.0, 155.0))),
}


def localizer_config_for(sim: Simulator, **overrides) -> LocalizerConfig:
    """config/localization.yaml, with the mounts and datum of the simulated robot and world."""
    import dataclasses
    from delivery_robot_nav.localization.config import (load_localization_params,
                                                        localizer_config, sensor_mounts)
    values = load_localization_params()
    lat, lon, alt = sim.world.geodetic_origin
    values.update(datum_latitude=lat, datum_longitude=lon, datum_altitude=alt)
    cfg = localizer_config(values, *sensor_mounts(sim.robot), sim.cfg.lidar.range_max)
    return dataclasses.replace(cfg, **overrides)


def evaluate(scenario: str, duration: float, seed: int, occ: OccupancyMap) -> dict:
    """One scenario's metrics (see SCENARIOS)."""
    title, overrides, disturbances = SCENARIOS[scenario]
    sim = Simulator.from_files(overrides={'depth_camera.enabled': False, 'seed': seed})
    run = run_localization(sim, occ, localizer_config_for(sim, **overrides), duration,
                           disturbances, seed)
    out = {'scenario': scenario, 'description': title, 'seed': seed,
           'sim_time_s': round(float(run.t[-1]), 1),
           'compute_ms_per_sim_s': round(run.wall_time * 1e3 / max(float(run.t[-1]), 1e-9), 2),
           **run.metrics(), 'events': run.events}
    if disturbances.kidnap_at is not None:
        after = run.t >= disturbances.kidnap_at
        err = np.hypot(*(run.estimate[after, :2] - run.truth[after, :2]).T)
        good = np.flatnonzero(err < 0.25)
        # re-localized: from the first sample after which the error stays below 0.25 m
        settled = next((i for i in good if np.all(err[i:] < 0.25)), None)
        out['relocalized_after_s'] = (round(float(run.t[after][settled] - disturbances.kidnap_at), 2)
                                      if settled is not None else None)
        out['lost_reported_fraction_until_then'] = (
            round(float(run.lost[after][:settled].mean()), 3) if settled else None)
        out.update({f'after_kidnap_{k}': v for k, v in
                    run.metrics(after=disturbances.kidnap_at + 10.0).items()})
    if disturbances.gnss_outage or disturbances.lidar_dropout:
        jumps = np.hypot(*(np.diff(run.estimate[:, :2], axis=0)
                           - np.diff(run.truth[:, :2], axis=0)).T)
        for name, window in (('gnss', disturbances.gnss_outage),
                             ('lidar', disturbances.lidar_dropout)):
            if window is not None:
                near = (run.t[1:] >= window[1]) & (run.t[1:] < window[1] + 5.0)
                out[f'max_jump_after_{name}_returns_m'] = round(float(jumps[near].max()), 4)
    return out
