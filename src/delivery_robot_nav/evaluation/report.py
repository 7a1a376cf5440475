"""Run reports: a PNG of the map with the robot's track and the pedestrians, and a JSON.

Inputs are plain arrays (from the lockstep scenario log or from what the DDS demo recorded),
so one writer serves both.
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


@dataclass
class RunRecord:
    """What a report shows. Tracks are (n, 3) t, x, y in the map frame."""
    title: str
    truth: np.ndarray
    odom: np.ndarray | None = None                 # odometry mapped through the start pose
    actors: np.ndarray | None = None               # (k, n_actors, 2) sampled positions
    collisions: list[dict] = field(default_factory=list)   # {'time', 'other', 'x', 'y', ...}
    stations: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


def track_length(xy: np.ndarray) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0


def clearance_along(track_xy: np.ndarray, occ: OccupancyMap) -> np.ndarray:
    """Distance from each track point to the nearest mapped obstacle (lidar plane), m."""
    from scipy.ndimage import distance_transform_edt
    free = occ.grid != OCCUPIED
    dist = distance_transform_edt(free) * occ.resolution
    rows, cols = occ.world_to_cell(track_xy[:, 0], track_xy[:, 1])
    rows = np.clip(rows, 0, occ.shape[0] - 1)
    cols = np.clip(cols, 0, occ.shape[1] - 1)
    return dist[rows, cols]


def write_report(record: RunRecord, occ: OccupancyMap | None, out_dir: str | Path) -> dict:
    """Write report.png and report.json into out_dir; return the JSON content."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = dict(record.stats)
    xy = record.truth[:, 1:3]
    stats.setdefault('distance_m', round(track_length(xy), 2))
    if len(record.truth):
        stats.setdefault('sim_time_s', round(float(record.truth[-1, 0] - record.truth[0, 0]), 2))
    stats['collisions'] = len(record.collisions)
    stats['collision_events'] = record.collisions
    if occ is not None and len(xy):
        # centre-to-obstacle distance; the footprint's half width is 0.275 m
        clearance = clearance_along(xy, occ)
        stats['min_center_clearance_m'] = round(float(clearance.min()), 3)
    if record.odom is not None and len(record.odom) and len(record.truth):
        end_truth = np.interp(record.odom[-1, 0], record.truth[:, 0], record.truth[:, 1]), \
            np.interp(record.odom[-1, 0], record.truth[:, 0], record.truth[:, 2])
        stats['odom_final_position_error_m'] = round(float(np.hypot(
            record.odom[-1, 1] - end_truth[0], record.odom[-1, 2] - end_truth[1])), 3)
    (out / 'report.json').write_text(json.dumps(stats, indent=2, default=float))
    _plot(record, occ, stats, out / 'report.png')
    return stats


def _plot(record: RunRecord, occ: OccupancyMap | None, stats: dict, path: Path):
    fig, ax = plt.subplots(figsize=(13, 9.5), dpi=110)
    if occ is not None:
        img = np.where(occ.grid == OCCUPIED, 0.15, 0.97)
        ax.imshow(img, origin='lower', extent=occ.extent(), cmap='gray', vmin=0, vmax=1,
                  interpolation='nearest')
    if record.actors is not None and record.actors.size:
        for j in range(record.actors.shape[1]):
            ax.plot(record.actors[:, j, 0], record.actors[:, j, 1], '-', color='tab:cyan',
                    lw=0.6, alpha=0.6, label='pedestrians' if j == 0 else None)
        ax.plot(record.actors[-1, :, 0], record.actors[-1, :, 1], 'o', color='tab:cyan', ms=3)
    if record.odom is not None and len(record.odom):
        ax.plot(record.odom[:, 1], record.odom[:, 2], '--', color='tab:orange', lw=1.0,
                label='wheel odometry')
    if len(record.truth):
        ax.plot(record.truth[:, 1], record.truth[:, 2], '-', color='tab:blue', lw=1.6,
                label='robot (ground truth)')
        ax.plot(*record.truth[0, 1:3], 'go', ms=7, label='start')
        ax.plot(*record.truth[-1, 1:3], 'bs', ms=6, label='end')
    for name, pose in record.stations.items():
        ax.plot(pose[0], pose[1], '^', color='tab:green', ms=5)
        ax.annotate(name.replace('station_', ''), pose[:2], fontsize=6, xytext=(3, 3),
                    textcoords='offset points')
    for c in record.collisions:
        ax.plot(c['x'], c['y'], 'x', color='red', ms=10, mew=2)
    ax.set_aspect('equal')
    ax.set_xlabel('x [m] (map)')
    ax.set_ylabel('y [m] (map)')
    summary = (f"{stats.get('distance_m', 0):.0f} m in {stats.get('sim_time_s', 0):.0f} s sim, "
               f"{stats['collisions']} collision(s)")
    if 'min_center_clearance_m' in stats:
        summary += f", min clearance {stats['min_center_clearance_m']:.2f} m"
    if 'localization_rmse_m' in stats:
        summary += (f"\nlocalization vs truth: RMSE {stats['localization_rmse_m']:.3f} m, "
                    f"max {stats['localization_max_error_m']:.3f} m")
    ax.set_title(f'{record.title}\n{summary}', fontsize=10)
    ax.legend(loc='upper right', fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
