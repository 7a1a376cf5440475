"""Schema of the localization parameters (values: config/localization.yaml)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from delivery_robot_nav.common.geometry import yaw_of
from delivery_robot_nav.common.params import ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.localization.ekf import EkfConfig
from delivery_robot_nav.localization.estimator import LocalizerConfig
from delivery_robot_nav.localization.likelihood_field import FieldConfig
from delivery_robot_nav.localization.particle_filter import PfConfig

NODE_NAME = 'localization'
P = ParamSpec

# Parameters the node applies while running (the rest are fixed at start).
LIVE_PARAMS = {'use_odometry', 'use_imu', 'use_gnss', 'use_gnss_velocity', 'use_lidar', 'sensor_timeout',
               'ekf.gate_probability', 'ekf.gnss_white_stddev', 'ekf.twist_min_stddev',
               'scan_matching.map_pose_inflation', 'scan_matching.map_pose_max_rms',
               'scan_matching.map_pose_min_inliers', 'scan_matching.map_error_stddev'}

# name, type, description, unit, min, max, (target config, field) for the estimator
_SPECS = [
    ('map_file', str, 'map_server YAML; empty selects the package campus map', '', None, None, None),
    ('use_map_topic', bool, 'take the map from the `map` topic instead of map_file', '', None, None, None),
    ('publish_map', bool, 'publish the map read from map_file on `map` (latched), as map_server would: for RViz, Foxglove and the other nodes', '', None, None, None),
    ('robot_description_file', str, 'URDF with the laser and GNSS mounts; empty: package URDF', '', None, None, None),
    ('map_frame_id', str, 'map frame', '', None, None, None),
    ('odom_frame_id', str, 'odometry frame', '', None, None, None),
    ('base_frame_id', str, 'robot base frame', '', None, None, None),
    ('publish_tf', bool, 'broadcast map -> odom on tf', '', None, None, None),
    ('publish_odom_tf', bool, 'also broadcast odom -> base_link from the fused odometry (wheels + gyro), replacing the base driver\'s (turn that off)', '', None, None, None),
    ('datum_latitude', float, 'WGS84 latitude of the map origin', 'deg', -90.0, 90.0, ('loc', 'datum')),
    ('datum_longitude', float, 'WGS84 longitude of the map origin', 'deg', -180.0, 180.0, ('loc', 'datum')),
    ('datum_altitude', float, 'altitude of the map origin', 'm', -500.0, 9000.0, ('loc', 'datum')),
    ('initial_from_gnss', bool, 'start from the first GNSS fix instead of initial_*', '', None, None, None),
    ('initial_x', float, 'initial x until initialpose or GNSS', 'm', None, None, None),
    ('initial_y', float, 'initial y until initialpose or GNSS', 'm', None, None, None),
    ('initial_yaw', float, 'initial heading', 'rad', -7.0, 7.0, None),
    ('initial_stddev_xy', float, 'initial position uncertainty', 'm', 0.001, 1000.0, None),
    ('initial_stddev_yaw', float, 'initial heading uncertainty', 'rad', 0.001, 10.0, None),
    ('use_odometry', bool, 'fuse wheel-odometry twist', '', None, None, ('loc', 'use_odometry')),
    ('use_imu', bool, 'fuse the IMU yaw rate', '', None, None, ('loc', 'use_imu')),
    ('use_gnss', bool, 'fuse GNSS fixes', '', None, None, ('loc', 'use_gnss')),
    ('use_gnss_velocity', bool, 'fuse the receiver\'s Doppler velocity (gps/vel)', '', None, None, ('loc', 'use_gnss_velocity')),
    ('use_lidar', bool, 'localize on the map with the lidar', '', None, None, ('loc', 'use_lidar')),
    ('sensor_timeout', float, 'a sensor silent this long is reported stale', 's', 0.01, 60.0, None),
    ('diagnostics_rate_hz', float, 'diagnostics publication rate', 'Hz', 0.1, 50.0, None),
    ('ekf.linear_accel_stddev', float, 'process noise on speed', 'm/s^2', 0.001, 100.0, ('ekf', 'linear_accel_stddev')),
    ('ekf.angular_accel_stddev', float, 'process noise on yaw rate', 'rad/s^2', 0.001, 100.0, ('ekf', 'angular_accel_stddev')),
    ('ekf.gyro_bias_walk_stddev', float, 'gyro bias random walk', 'rad/s/sqrt(s)', 0.0, 1.0, ('ekf', 'gyro_bias_walk_stddev')),
    ('ekf.position_walk_stddev', float, 'unmodelled position drift', 'm/sqrt(s)', 0.0, 10.0, ('ekf', 'position_walk_stddev')),
    ('ekf.yaw_walk_stddev', float, 'unmodelled heading drift', 'rad/sqrt(s)', 0.0, 10.0, ('ekf', 'yaw_walk_stddev')),
    ('ekf.gate_probability', float, 'Mahalanobis gate probability (chi-square quantile)', '', 0.5, 0.999999, ('ekf', 'gate_probability')),
    ('ekf.twist_min_stddev', float, 'floor on odometry twist noise', 'm/s, rad/s', 0.0, 10.0, ('loc', 'twist_min_stddev')),
    ('ekf.gnss_correlation_time', float, 'correlation time of the GNSS position error (first-order Gauss-Markov)', 's', 0.1, 3600.0, ('ekf', 'gnss_correlation_time')),
    ('ekf.gnss_white_stddev', float, 'uncorrelated part of the GNSS error, fresh in every fix', 'm', 0.01, 100.0, ('ekf', 'gnss_white_stddev')),
    ('ekf.odometry_yaw_rate_stddev_per_speed', float, 'wheel-odometry yaw-rate noise per unit speed (differential wheel slip)', 'rad/m', 0.0, 10.0, ('loc', 'odometry_yaw_rate_stddev_per_speed')),
    ('ekf.gnss_default_stddev', float, 'GNSS stddev for fixes of unknown covariance', 'm', 0.01, 1000.0, ('loc', 'gnss_default_stddev')),
    ('ekf.max_rejected_gnss', int, 'gated fixes in a row before the covariance widens', '', 1, 100000, ('loc', 'max_rejected_gnss')),
    ('ekf.history_length', float, 'time kept for late measurements', 's', 0.0, 10.0, ('loc', 'history_length')),
    ('ekf.max_odometry_wait', float, 'how long measurements wait for odometry to reach their stamp', 's', 0.0, 10.0, ('loc', 'max_odometry_wait')),
    ('ekf.max_future_stamp', float, 'how far a stamp may lead the node clock', 's', 0.0, 10.0, ('loc', 'max_future_stamp')),
    ('particle_filter.min_particles', int, 'fewest particles (KLD-sampling)', '', 10, 1000000, ('pf', 'min_particles')),
    ('particle_filter.max_particles', int, 'most particles (KLD-sampling)', '', 10, 1000000, ('pf', 'max_particles')),
    ('particle_filter.alpha1', float, 'rotation noise from rotation', '', 0.0, 10.0, ('pf', 'alpha1')),
    ('particle_filter.alpha2', float, 'rotation noise from translation', 'rad^2/m^2', 0.0, 10.0, ('pf', 'alpha2')),
    ('particle_filter.alpha3', float, 'translation noise from translation', '', 0.0, 10.0, ('pf', 'alpha3')),
    ('particle_filter.alpha4', float, 'translation noise from rotation', 'm^2/rad^2', 0.0, 10.0, ('pf', 'alpha4')),
    ('particle_filter.max_beams', int, 'beams per measurement update', '', 8, 100000, ('pf', 'max_beams')),
    ('particle_filter.beam_weight', float, 'tempering of summed beam log-likelihoods', '', 0.001, 1.0, ('pf', 'beam_weight')),
    ('particle_filter.sigma_hit', float, 'likelihood-field spread', 'm', 0.01, 5.0, ('field', 'sigma_hit')),
    ('particle_filter.z_hit', float, 'weight of the hit model', '', 0.0, 1.0, ('field', 'z_hit')),
    ('particle_filter.z_rand', float, 'weight of the random model', '', 0.001, 1.0, ('field', 'z_rand')),
    ('particle_filter.likelihood_max_distance', float, 'distance clip of the field', 'm', 0.1, 100.0, ('field', 'max_distance')),
    ('particle_filter.min_travel', float, 'odometry travel between updates', 'm', 0.0, 10.0, ('loc', 'pf_min_travel')),
    ('particle_filter.min_rotation', float, 'odometry rotation between updates', 'rad', 0.0, 6.3, ('loc', 'pf_min_rotation')),
    ('particle_filter.converged_stddev', float, 'spread above which the filter is not converged', 'm', 0.01, 100.0, ('loc', 'converged_stddev')),
    ('particle_filter.global_recovery', bool, 'recovery particles over the whole map', '', None, None, ('loc', 'global_recovery')),
    ('particle_filter.recovery_min_stddev', float, 'recovery spread around the EKF without GNSS', 'm', 0.1, 1000.0, ('loc', 'recovery_min_stddev')),
    ('scan_matching.refine_max_beams', int, 'beams used by the scan-matching refinement', '', 8, 100000, ('loc', 'refine_max_beams')),
    ('scan_matching.map_pose_inflation', float, 'scan-match covariance multiplier', '', 1.0, 1000.0, ('loc', 'map_pose_inflation')),
    ('scan_matching.map_pose_min_stddev', float, 'floor of the map-pose noise', 'm', 0.0, 10.0, ('loc', 'map_pose_min_stddev')),
    ('scan_matching.map_pose_max_rms', float, 'worst accepted fit (rms distance)', 'm', 0.001, 10.0, ('loc', 'map_pose_max_rms')),
    ('scan_matching.map_pose_min_inliers', float, 'fraction of beams that must explain the map', '', 0.0, 1.0, ('loc', 'map_pose_min_inliers')),
    ('scan_matching.map_error_stddev', float, 'map error added to the reported covariance', 'm', 0.0, 10.0, ('loc', 'map_error_stddev')),
    ('scan_matching.map_error_yaw_stddev', float, 'map heading error in the reported covariance', 'rad', 0.0, 1.0, ('loc', 'map_error_yaw_stddev')),
    ('scan_matching.max_poor_matches', int, 'poor matches in a row before the particles are re-seeded', '', 1, 100000, ('loc', 'max_poor_matches')),
    ('scan_matching.max_rejected_map_poses', int, 'disagreeing converged matches before re-localizing', '', 1, 100000, ('loc', 'max_rejected_map_poses')),
]

LOCALIZATION_PARAMS: list[ParamSpec] = [
    P(name, kind, text, unit, lo, hi, read_only=name not in LIVE_PARAMS)
    for name, kind, text, unit, lo, hi, _ in _SPECS]
_TARGETS = {name: target for name, *_, target in _SPECS if target is not None}


def default_config_path() -> Path:
    return share_path('config', 'localization.yaml')


def load_localization_params(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    return load_params_file(path or default_config_path(), NODE_NAME, LOCALIZATION_PARAMS,
                            overrides)


def sensor_mounts(robot) -> tuple[tuple[float, float, float], tuple[float, float]]:
    """(laser x, y, yaw) and GNSS antenna (x, y) in base_link, from the robot model (URDF)."""
    laser, gps = robot.frame('laser_link'), robot.frame('gps_link')
    return ((float(laser[0, 3]), float(laser[1, 3]), yaw_of(laser)),
            (float(gps[0, 3]), float(gps[1, 3])))


def localizer_config(values: dict, laser_pose, gnss_offset, lidar_range_max: float
                     ) -> LocalizerConfig:
    """The estimator's configuration from validated parameters and the robot's mounts."""
    parts = {'ekf': {}, 'pf': {}, 'field': {}, 'loc': {}}
    for name, (target, field) in _TARGETS.items():
        if field != 'datum':
            parts[target][field] = values[name]
    return LocalizerConfig(
        ekf=EkfConfig(**parts['ekf']), pf=PfConfig(**parts['pf']),
        field=FieldConfig(**parts['field']), laser_pose=tuple(laser_pose),
        gnss_offset=tuple(gnss_offset), lidar_range_max=lidar_range_max,
        datum=(values['datum_latitude'], values['datum_longitude'], values['datum_altitude']),
        initial_stddev=(values['initial_stddev_xy'], values['initial_stddev_xy'],
                        values['initial_stddev_yaw']),
        **parts['loc'])


def with_live_values(cfg: LocalizerConfig, values: dict) -> LocalizerConfig:
    """cfg with the live-changeable parameters of `values` applied."""
    loc = {f: values[n] for n, (t, f) in _TARGETS.items() if t == 'loc' and n in values}
    ekf = {f: values[n] for n, (t, f) in _TARGETS.items() if t == 'ekf' and n in values}
    return dataclasses.replace(cfg, ekf=dataclasses.replace(cfg.ekf, **ekf), **loc)
