"""Schema of the scripted driver's parameters (values: config/demo.yaml)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from delivery_robot_nav.common.params import ParamError, ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.demo.route_driver import RouteDriverConfig

NODE_NAME = 'scripted_driver'
P = ParamSpec

DRIVER_PARAMS: list[ParamSpec] = [
    P('robot_description_file', str, 'URDF of the robot; empty selects the package URDF',
      read_only=True),
    P('control_rate_hz', float, 'cmd_vel publication rate', 'Hz', 1.0, 200.0, read_only=True),
    P('cruise_speed', float, 'speed on straight route sections', 'm/s', 0.0, 3.0, read_only=True),
    P('lookahead', float, 'pure-pursuit lookahead distance', 'm', 0.1, 10.0, read_only=True),
    P('max_angular_velocity', float, 'yaw rate limit', 'rad/s', 0.1, 5.0, read_only=True),
    P('goal_tolerance', float, 'distance to the last point that ends the route', 'm', 0.05,
      5.0, read_only=True),
    P('stop_distance', float, 'free space kept ahead of the front bumper', 'm', 0.1, 5.0,
      read_only=True),
    P('slow_distance', float, 'distance over which speed falls to zero near obstacles', 'm',
      0.1, 10.0, read_only=True),
    P('corridor_half_width', float, 'half width of the corridor checked ahead', 'm', 0.1, 3.0,
      read_only=True),
    P('pose_timeout', float, 'stop when the pose is older than this', 's', 0.01, 10.0,
      read_only=True),
    P('scan_timeout', float, 'stop when the scan is older than this', 's', 0.01, 10.0,
      read_only=True),
    P('route', list, 'route waypoints x, y pairs in the map frame', 'm', list_multiple_of=2,
      read_only=True),
]


def default_config_path() -> Path:
    return share_path('config', 'demo.yaml')


def load_driver_params(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    return load_params_file(path or default_config_path(), NODE_NAME, DRIVER_PARAMS, overrides)


def driver_config(values: dict, front_extent: float, laser_x: float) -> RouteDriverConfig:
    names = ('cruise_speed', 'lookahead', 'max_angular_velocity', 'goal_tolerance',
             'stop_distance', 'slow_distance', 'corridor_half_width')
    return RouteDriverConfig(**{n: values[n] for n in names}, front_extent=front_extent,
                             laser_x=laser_x)


def route_points(values: dict, source: str = 'parameters') -> np.ndarray:
    pts = np.asarray(values['route'], dtype=float).reshape(-1, 2)
    if len(pts) < 2:
        raise ParamError(f'{source}: parameter "route": needs at least two x, y points')
    return pts
