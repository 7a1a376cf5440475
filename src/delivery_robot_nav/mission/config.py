"""Schema of the mission parameters (values: config/mission.yaml)."""
from __future__ import annotations

from pathlib import Path

from delivery_robot_nav.common.params import ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path

NODE_NAME = 'mission'
P = ParamSpec

MISSION_PARAMS: list[ParamSpec] = [
    P('route_graph_file', str, 'campus route graph (Nav2 Route Server GeoJSON) whose stations deliveries may name; empty: the package graph', read_only=True),
    P('depot_station', str, 'the station deliveries start from and return to', read_only=True),
    P('store_file', str, 'sqlite file of accepted deliveries (created if missing; ~ expands): they survive restarts', read_only=True),
    P('handover_time', float, 'time waited at each station for the parcel to be taken', 's', 0.0, 3600.0, read_only=True),
    P('leg_attempts', int, 'tries per leg before the station counts as failed', '', 1, 10, read_only=True),
    P('ack_timeout', float, 'a goal path following has not reported on within this is sent again', 's', 0.5, 60.0, read_only=True),
    P('rate_hz', float, 'sequencer steps per second', 'Hz', 0.5, 50.0, read_only=True),
    P('status_period', float, 'time between delivery_status messages (also sent on every change)', 's', 0.1, 60.0, read_only=True),
]


def default_config_path() -> Path:
    return share_path('config', 'mission.yaml')


def load_mission_params(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    return load_params_file(path or default_config_path(), NODE_NAME, MISSION_PARAMS, overrides)
