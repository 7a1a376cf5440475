"""The delivery report: what happened on one delivery, from plain arrays (the DDS demo's
recording), as PNGs and metrics.json.

map.png             map, route(s) planned, trajectory, localization estimate, pedestrian
                    tracks, stations in delivery order, events (arrivals, waits for people,
                    recoveries, collisions)
speed.png           ground-truth speed and commanded speed over simulated time
localization_error.png  estimate vs ground truth over time, with the filter's 1-sigma
clearance.png       footprint to the nearest pedestrian, centre to the nearest mapped obstacle
metrics.json        the numbers (and the caller's stats)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from delivery_robot_nav.common.maps import OCCUPIED, OccupancyMap  # noqa: E402
from delivery_robot_nav.evaluation.navigation_eval import footprint_clearance  # noqa: E402
from delivery_robot_nav.evaluation.report import clearance_along, track_length  # noqa: E402

_EVENT_STYLE = {'delivery': ('*', 'tab:green', 11), 'wait': ('o', 'gold', 5),
                'recovery': ('D', 'tab:purple', 7), 'collision': ('x', 'red', 11)}


@dataclass
class DeliveryRecord:
    title: str
    truth: np.ndarray                  # (n, 5) t, x, y, yaw, v (simulator ground truth)
    estimate: np.ndarray               # (m, 6) t, x, y, cov_xx, cov_xy, cov_yy (localization)
    cmd: np.ndarray                    # (k, 3) t, v, w (cmd_vel, at the sim time received)
    actor_t: np.ndarray                # (j,) stamps of the pedestrian samples
    actor_xy: list[np.ndarray]         # j arrays (people, 2)
    actor_radius: float
    footprint: tuple[float, float, float, float]     # xmin, ymin, xmax, ymax in base_link
    plans: list[np.ndarray] = field(default_factory=list)
    stations: dict[str, np.ndarray] = field(default_factory=dict)   # in delivery order
    events: list[dict] = field(default_factory=list)  # {'time', 'kind', 'text', 'x', 'y'}
    collisions: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def localization_error(truth: np.ndarray, estimate: np.ndarray):
    """(t, error m, 1-sigma m, inside 2 sigma) of the estimate against ground truth
    interpolated at the estimate's stamps (inside the truth's time span only)."""
    if len(truth) < 2 or not len(estimate):
        return (np.zeros(0),) * 4
    t = estimate[:, 0]
    keep = (t >= truth[0, 0]) & (t <= truth[-1, 0])
    est, t = estimate[keep], t[keep]
    ref = np.column_stack([np.interp(t, truth[:, 0], truth[:, 1]),
                           np.interp(t, truth[:, 0], truth[:, 2])])
    e = est[:, 1:3] - ref
    cov = np.stack([np.column_stack([est[:, 3], est[:, 4]]),
                    np.column_stack([est[:, 4], est[:, 5]])], axis=1)
    cov = cov + np.eye(2) * 1e-12
    maha = np.einsum('ni,ni->n', e, np.linalg.solve(cov, e[..., None])[..., 0])
    return t, np.hypot(e[:, 0], e[:, 1]), np.sqrt(est[:, 3] + est[:, 5]), maha <= 4.0


def people_clearance(truth: np.ndarray, actor_t: np.ndarray, actor_xy: list[np.ndarray],
                     radius: float, footprint) -> tuple[np.ndarray, np.ndarray]:
    """(t, m): footprint to the nearest pedestrian at each pedestrian sample, the robot's
    pose interpolated at the sample's stamp."""
    ts, out = [], []
    if len(truth) < 2:
        return np.zeros(0), np.zeros(0)
    yaw = np.unwrap(truth[:, 3])
    for t, xy in zip(actor_t, actor_xy):
        if not len(xy) or t < truth[0, 0] or t > truth[-1, 0]:
            continue
        pose = (np.interp(t, truth[:, 0], truth[:, 1]), np.interp(t, truth[:, 0], truth[:, 2]),
                np.interp(t, truth[:, 0], yaw))
        ts.append(t)
        out.append(float(footprint_clearance(pose, footprint, xy, radius).min()))
    return np.array(ts), np.array(out)


def write_delivery_report(rec: DeliveryRecord, occ: OccupancyMap | None,
                          out_dir: str | Path) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = dict(rec.stats)
    truth = rec.truth
    xy = truth[:, 1:3]
    if len(truth):
        m['sim_time_s'] = round(float(truth[-1, 0] - truth[0, 0]), 2)
        m['distance_m'] = round(track_length(xy), 2)
        moving = truth[:, 4] > 0.05
        m['mean_speed_moving_mps'] = (round(float(truth[moving, 4].mean()), 3)
                                      if moving.any() else 0.0)
        m['max_speed_mps'] = round(float(truth[:, 4].max()), 3)
    m['collisions'] = len(rec.collisions)
    m['collision_events'] = rec.collisions
    lt, err, sigma, inside = localization_error(truth, rec.estimate)
    if len(err):
        m['localization'] = {
            'samples': int(len(err)), 'rmse_m': round(float(np.sqrt(np.mean(err ** 2))), 4),
            'p95_m': round(float(np.percentile(err, 95)), 4),
            'max_m': round(float(err.max()), 4),
            'inside_2sigma_fraction': round(float(inside.mean()), 3)}
    ct, clear = people_clearance(truth, rec.actor_t, rec.actor_xy, rec.actor_radius,
                                 rec.footprint)
    if len(clear):
        i = int(np.argmin(clear))
        m['people_clearance'] = {'min_m': round(float(clear[i]), 3),
                                 'at_time_s': round(float(ct[i]), 2),
                                 'samples_below_0_5_m': int((clear < 0.5).sum()),
                                 'samples': int(len(clear))}
    static = clearance_along(xy, occ) if occ is not None and len(xy) else np.zeros(0)
    if len(static):
        m['min_center_to_mapped_obstacle_m'] = round(float(static.min()), 3)
    kinds = {}
    for e in rec.events:
        kinds[e['kind']] = kinds.get(e['kind'], 0) + 1
    m['event_counts'] = kinds
    m['events'] = rec.events
    (out / 'metrics.json').write_text(json.dumps(m, indent=2, default=float))
    _map_png(rec, occ, m, out / 'map.png')
    _speed_png(rec, out / 'speed.png')
    _localization_png(lt, err, sigma, rec, out / 'localization_error.png')
    _clearance_png(ct, clear, truth[:, 0] if len(truth) else np.zeros(0), static, rec,
                   out / 'clearance.png')
    return m


def _event_lines(ax, rec: DeliveryRecord):
    for e in rec.events:
        if e['kind'] == 'delivery':
            ax.axvline(e['time'], color='tab:green', lw=0.6, alpha=0.5)
        elif e['kind'] == 'collision':
            ax.axvline(e['time'], color='red', lw=1.2)


def _map_png(rec: DeliveryRecord, occ, m: dict, path: Path):
    fig, ax = plt.subplots(figsize=(12, 9), dpi=110)
    if occ is not None:
        img = np.where(occ.grid == OCCUPIED, 0.15, 0.97)
        ax.imshow(img, origin='lower', extent=occ.extent(), cmap='gray', vmin=0, vmax=1,
                  interpolation='nearest')
    pts = [rec.truth[:, 1:3]] + rec.plans + [np.array(list(rec.stations.values()))[:, :2]]
    pts = np.vstack([p for p in pts if len(p)]) if any(len(p) for p in pts) else None
    if rec.actor_xy:
        # only the people near the robot's way: the rest of the campus is clutter here
        lo, hi = (pts.min(axis=0) - 15, pts.max(axis=0) + 15) if pts is not None else (None,) * 2
        n = min(len(a) for a in rec.actor_xy)
        tracks = np.stack([a[:n] for a in rec.actor_xy])
        for j in range(n):
            tr = tracks[:, j]
            if lo is not None and not np.any(np.all((tr >= lo) & (tr <= hi), axis=1)):
                continue
            ax.plot(tr[:, 0], tr[:, 1], '-', color='tab:cyan', lw=0.6, alpha=0.6,
                    label='pedestrians (truth)' if j == 0 else None)
    for i, plan in enumerate(rec.plans):
        ax.plot(plan[:, 0], plan[:, 1], '--', color='0.45', lw=0.8,
                label='planned path' if i == 0 else None)
    if len(rec.estimate):
        ax.plot(rec.estimate[:, 1], rec.estimate[:, 2], '-', color='tab:orange', lw=0.8,
                label='localization estimate')
    if len(rec.truth):
        ax.plot(rec.truth[:, 1], rec.truth[:, 2], '-', color='tab:blue', lw=1.6,
                label='robot (ground truth)')
    for k, (name, p) in enumerate(rec.stations.items()):
        ax.plot(p[0], p[1], 's' if k == 0 else '^', color='tab:green', ms=8)
        ax.annotate(name if k == 0 else f'{k}. {name}', p[:2], fontsize=8, xytext=(4, 4),
                    textcoords='offset points', weight='bold')
    seen = set()
    for e in rec.events:
        if e['x'] is None or e['kind'] not in _EVENT_STYLE:
            continue
        marker, color, ms = _EVENT_STYLE[e['kind']]
        ax.plot(e['x'], e['y'], marker, color=color, ms=ms, mec='k', mew=0.4,
                label=e['kind'] if e['kind'] not in seen else None)
        seen.add(e['kind'])
    if pts is not None:
        lo, hi = pts.min(axis=0) - 12, pts.max(axis=0) + 12
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
    ax.set_aspect('equal')
    ax.set_xlabel('x [m] (map)')
    ax.set_ylabel('y [m] (map)')
    loc = m.get('localization', {})
    people = m.get('people_clearance', {})
    ax.set_title(f"{rec.title}\n{m.get('outcome', '')}: {m.get('distance_m', 0):.0f} m in "
                 f"{m.get('sim_time_s', 0):.0f} s simulated, {m['collisions']} collision(s), "
                 f"closest person {people.get('min_m', float('nan')):.2f} m, localization RMSE "
                 f"{loc.get('rmse_m', float('nan')):.2f} m", fontsize=10)
    ax.legend(loc='best', fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _time_plot(path: Path, rec: DeliveryRecord, title: str, ylabel: str, draw) -> None:
    """One quantity over simulated time, with the delivery events as vertical lines."""
    fig, ax = plt.subplots(figsize=(11, 4), dpi=110)
    draw(ax)
    _event_lines(ax, rec)
    ax.set_xlabel('simulated time [s]')
    ax.set_ylabel(ylabel)
    ax.set_title(f'{title} (green lines: delivery events)', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _speed_png(rec: DeliveryRecord, path: Path):
    def draw(ax):
        if len(rec.cmd):
            ax.step(rec.cmd[:, 0], rec.cmd[:, 1], where='post', color='tab:orange', lw=0.8,
                    label='commanded (cmd_vel)')
        if len(rec.truth):
            ax.plot(rec.truth[:, 0], rec.truth[:, 4], color='tab:blue', lw=1.0,
                    label='actual (ground truth)')
    _time_plot(path, rec, 'Speed', 'forward speed [m/s]', draw)


def _localization_png(t, err, sigma, rec: DeliveryRecord, path: Path):
    def draw(ax):
        if len(t):
            ax.plot(t, err, color='tab:red', lw=0.9, label='position error vs ground truth')
            ax.plot(t, sigma, color='0.4', lw=0.8, ls='--',
                    label='filter 1-sigma (sqrt of the covariance trace)')
    _time_plot(path, rec, 'Localization error (odometry/filtered)', '[m]', draw)


def _clearance_png(ct, clear, st, static, rec: DeliveryRecord, path: Path):
    def draw(ax):
        if len(ct):
            ax.plot(ct, np.minimum(clear, 10.0), color='tab:purple', lw=0.9,
                    label='footprint to nearest pedestrian (capped at 10 m)')
        if len(static):
            ax.plot(st, np.minimum(static, 10.0), color='0.4', lw=0.8,
                    label='centre to nearest mapped obstacle')
        ax.axhline(0.5, color='tab:red', lw=0.8, ls=':', label='0.5 m')
        ax.set_ylim(bottom=0)
    _time_plot(path, rec, 'Clearance', '[m]', draw)
