"""Schema of the obstacle-detection parameters (values: config/obstacle_detection.yaml)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from delivery_robot_nav.common.geometry import yaw_of
from delivery_robot_nav.common.params import ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.perception.costmap import CostmapConfig
from delivery_robot_nav.perception.depth import DepthConfig
from delivery_robot_nav.perception.detector import DetectorConfig
from delivery_robot_nav.perception.lidar import SegmentationConfig
from delivery_robot_nav.perception.tracker import TrackerConfig

NODE_NAME = 'obstacle_detection'
P = ParamSpec

# Parameters the node applies while running (the rest are fixed at start).
LIVE_PARAMS = {'pose_timeout', 'publish_markers', 'static.tolerance', 'static.min_fraction',
               'tracking.max_object_width', 'tracking.track_range'}

# name, type, description, unit, min, max, (target config, field)
_SPECS = [
    ('map_file', str, 'map_server YAML (the static map); empty: the package campus map', '', None, None, None),
    ('use_map_topic', bool, 'take the map from the `map` topic instead of map_file', '', None, None, None),
    ('robot_description_file', str, 'URDF (laser and camera mounts, footprint); empty: package URDF', '', None, None, None),
    ('global_frame_id', str, 'frame of the pose input and of every output', '', None, None, None),
    ('base_frame_id', str, 'robot base frame', '', None, None, None),
    ('use_depth_camera', bool, 'mark low obstacles from the depth camera', '', None, None, None),
    ('pose_timeout', float, 'a scan farther than this from the newest pose is not used', 's', 0.01, 10.0, None),
    ('sensor_timeout', float, 'a sensor silent this long is reported stale', 's', 0.01, 60.0, None),
    ('publish_markers', bool, 'publish obstacles/markers for RViz and Foxglove', '', None, None, None),
    ('costmap_rate_hz', float, 'local_costmap publication rate (at most one per scan)', 'Hz', 0.1, 50.0, None),
    ('diagnostics_rate_hz', float, 'diagnostics publication rate', 'Hz', 0.1, 50.0, None),
    ('lidar.range_min', float, 'nearer returns are ignored', 'm', 0.0, 10.0, ('det', 'range_min')),
    ('lidar.range_max', float, 'farther returns are ignored', 'm', 0.5, 200.0, ('det', 'range_max')),
    ('segmentation.method', str, 'scan_order (adaptive breakpoint) or kdtree (fixed radius)', '', None, None, ('seg', 'method')),
    ('segmentation.breakpoint_angle', float, 'grazing angle still counted as one surface', 'rad', 0.02, 1.5, ('seg', 'breakpoint_angle')),
    ('segmentation.range_noise_stddev', float, 'lidar range noise', 'm', 0.0, 1.0, ('seg', 'range_noise_stddev')),
    ('segmentation.min_gap', float, 'floor of the breakpoint distance', 'm', 0.0, 5.0, ('seg', 'min_gap')),
    ('segmentation.kdtree_radius', float, 'linking distance of the kdtree method', 'm', 0.01, 5.0, ('seg', 'kdtree_radius')),
    ('segmentation.min_points', int, 'smaller clusters are noise', '', 1, 1000, ('seg', 'min_points')),
    ('segmentation.max_missing_beams', int, 'more beams without return between points split a segment', '', 0, 1000, ('seg', 'max_missing_beams')),
    ('static.tolerance', float, 'points this close to a mapped obstacle are explained by the map', 'm', 0.0, 2.0, ('det', 'static_tolerance')),
    ('static.min_fraction', float, 'clusters with a larger explained fraction are static', '', 0.0, 1.0, ('det', 'static_min_fraction')),
    ('tracking.max_object_width', float, 'wider unexplained clusters are not tracked (costmap only)', 'm', 0.1, 50.0, ('det', 'max_object_width')),
    ('tracking.max_round_width', float, 'centre correction for round objects up to this width', 'm', 0.0, 5.0, ('det', 'max_round_width')),
    ('tracking.track_range', float, 'clusters farther than this are not tracked', 'm', 0.5, 200.0, ('det', 'track_range')),
    ('tracking.hidden_margin', float, 'a return this much nearer beside a cluster\'s edge hides part of it', 'm', 0.0, 10.0, ('det', 'hidden_margin')),
    ('tracking.accel_stddev', float, 'white acceleration of the steady constant-velocity model', 'm/s^2', 0.01, 50.0, ('trk', 'accel_stddev')),
    ('tracking.maneuver_accel_stddev', float, 'white acceleration of the manoeuvring model (stopping, turning)', 'm/s^2', 0.01, 100.0, ('trk', 'maneuver_accel_stddev')),
    ('tracking.maneuver_rate', float, 'rate of switching from steady to manoeuvring', '1/s', 0.0, 100.0, ('trk', 'maneuver_rate')),
    ('tracking.maneuver_end_rate', float, 'rate of switching back', '1/s', 0.0, 100.0, ('trk', 'maneuver_end_rate')),
    ('tracking.measurement_stddev', float, 'detection centre noise floor', 'm', 0.001, 5.0, ('trk', 'measurement_stddev')),
    ('tracking.measurement_stddev_per_width', float, 'detection noise per metre of cluster width', '', 0.0, 5.0, ('trk', 'measurement_stddev_per_width')),
    ('tracking.partial_view_width', float, 'a partly hidden detection\'s centre is uncertain by half of what it misses of this width', 'm', 0.0, 5.0, ('trk', 'partial_view_width')),
    ('tracking.initial_speed_stddev', float, 'velocity uncertainty of a new track', 'm/s', 0.01, 50.0, ('trk', 'initial_speed_stddev')),
    ('tracking.gate_probability', float, 'association gate (chi-square quantile)', '', 0.5, 0.999999, ('trk', 'gate_probability')),
    ('tracking.max_gate_distance', float, 'never associate farther than this', 'm', 0.05, 20.0, ('trk', 'max_gate_distance')),
    ('tracking.confirm_hits', int, 'updates before a track is confirmed', '', 1, 100, ('trk', 'confirm_hits')),
    ('tracking.confirm_window', float, 'time after birth to collect them', 's', 0.0, 10.0, ('trk', 'confirm_window')),
    ('tracking.max_coast_time', float, 'a confirmed track unseen this long dies', 's', 0.0, 30.0, ('trk', 'max_coast_time')),
    ('tracking.moving_speed', float, 'faster tracks move', 'm/s', 0.0, 10.0, ('trk', 'moving_speed')),
    ('tracking.cyclist_min_speed', float, 'faster tracks vote cyclist', 'm/s', 0.0, 50.0, ('trk', 'cyclist_min_speed')),
    ('tracking.pedestrian_max_width', float, 'wider moving tracks do not vote pedestrian', 'm', 0.0, 10.0, ('trk', 'pedestrian_max_width')),
    ('tracking.static_min_width', float, 'still tracks at least this wide vote static', 'm', 0.0, 50.0, ('trk', 'static_min_width')),
    ('tracking.vote_decay', float, 'per-update decay of class evidence', '', 0.0, 1.0, ('trk', 'vote_decay')),
    ('costmap.size', float, 'side of the square rolling window', 'm', 1.0, 100.0, ('cm', 'size')),
    ('costmap.resolution', float, 'cell size', 'm', 0.01, 1.0, ('cm', 'resolution')),
    ('costmap.inflation_radius', float, 'cost decays to 0 here', 'm', 0.0, 10.0, ('cm', 'inflation_radius')),
    ('costmap.cost_scaling_factor', float, 'exponential decay of the inflated cost', '1/m', 0.0, 100.0, ('cm', 'cost_scaling_factor')),
    ('costmap.clearing_margin', float, 'free space stops this short of a hit', 'm', 0.0, 2.0, ('cm', 'clearing_margin')),
    ('costmap.obstacle_persistence', float, 'marks not seen again for this long fade', 's', 0.1, 3600.0, ('cm', 'obstacle_persistence')),
    ('depth.track_margin', float, 'depth obstacle points this near an object the lidar tracks belong to it (not marked as low obstacles)', 'm', 0.0, 5.0, ('det', 'depth_track_margin')),
    ('depth.range_min', float, 'nearer depths are not trusted', 'm', 0.0, 10.0, ('depth', 'range_min')),
    ('depth.range_max', float, 'farther depths are not used', 'm', 0.1, 100.0, ('depth', 'range_max')),
    ('depth.min_obstacle_height', float, 'lowest obstacle above the ground plane', 'm', 0.0, 2.0, ('depth', 'min_obstacle_height')),
    ('depth.max_obstacle_height', float, 'higher things do not block the robot', 'm', 0.0, 10.0, ('depth', 'max_obstacle_height')),
    ('depth.noise_coefficient', float, 'depth noise k in k z^2 (sensor datasheet)', '1/m', 0.0, 1.0, ('depth', 'noise_coefficient')),
    ('depth.noise_sigmas', float, 'obstacle threshold in height-noise sigmas', '', 0.0, 20.0, ('depth', 'noise_sigmas')),
    ('depth.ground_tolerance', float, 'height of points that may be ground for the plane fit', 'm', 0.0, 1.0, ('depth', 'ground_tolerance')),
    ('depth.min_ground_points', int, 'fewer: the nominal ground plane is used', '', 3, 1000000, ('depth', 'min_ground_points')),
    ('depth.max_ground_tilt', float, 'steeper fitted planes are refused', 'rad', 0.0, 1.0, ('depth', 'max_ground_tilt')),
    ('depth.min_component_pixels', int, 'smaller obstacle blobs are noise', '', 1, 100000, ('depth', 'min_component_pixels')),
    ('depth.mark_overhangs', bool, 'also mark obstacles wholly above the lidar plane (tables, barriers)', '', None, None, ('depth', 'mark_overhangs')),
    ('depth.plane_margin', float, 'band around the lidar plane that counts as reaching it', 'm', 0.0, 1.0, ('depth', 'plane_margin')),
    ('depth.jump_relative', float, 'depth jump, as a fraction of depth, that separates objects', '', 0.0, 10.0, ('depth', 'jump_relative')),
    ('depth.jump_absolute', float, 'plus this', 'm', 0.0, 10.0, ('depth', 'jump_absolute')),
]

SEGMENTATION_METHODS = ('scan_order', 'kdtree')
OBSTACLE_DETECTION_PARAMS: list[ParamSpec] = [
    P(name, kind, text, unit, lo, hi, read_only=name not in LIVE_PARAMS,
      choices=SEGMENTATION_METHODS if name == 'segmentation.method' else ())
    for name, kind, text, unit, lo, hi, _ in _SPECS]
_TARGETS = {name: target for name, *_, target in _SPECS if target is not None}


def default_config_path() -> Path:
    return share_path('config', 'obstacle_detection.yaml')


def load_detection_params(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    return load_params_file(path or default_config_path(), NODE_NAME, OBSTACLE_DETECTION_PARAMS,
                            overrides)


def detector_config(values: dict, robot) -> DetectorConfig:
    """The pipeline's configuration from validated parameters and the robot model (URDF):
    laser mount, lidar plane height, and the footprint's inscribed radius."""
    parts = {'det': {}, 'seg': {}, 'trk': {}, 'cm': {}, 'depth': {}}
    for name, (target, field) in _TARGETS.items():
        parts[target][field] = values[name]
    laser = robot.frame('laser_link')
    xmin, ymin, xmax, ymax = robot.footprint
    inscribed = min(-xmin, -ymin, xmax, ymax)
    return DetectorConfig(
        segmentation=SegmentationConfig(**parts['seg']), tracker=TrackerConfig(**parts['trk']),
        costmap=CostmapConfig(inscribed_radius=inscribed, **parts['cm']),
        depth=DepthConfig(plane_height=float(laser[2, 3]), **parts['depth']),
        laser_pose=(float(laser[0, 3]), float(laser[1, 3]), yaw_of(laser)), **parts['det'])


def with_live_values(cfg: DetectorConfig, values: dict) -> DetectorConfig:
    det = {f: values[n] for n, (t, f) in _TARGETS.items() if t == 'det' and n in LIVE_PARAMS}
    return dataclasses.replace(cfg, **det)
