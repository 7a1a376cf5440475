"""Simulated sensors: plain-data readings with datasheet noise, clipped to sensor limits.

Conventions follow the ROS messages they become (see common/conversions.py): REP 117 for
ranges (+inf: no return within range_max, -inf: closer than range_min), REP 145 for the IMU
(no orientation: orientation covariance[0] = -1), NavSatFix status -1 without a fix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from delivery_robot_nav.common.geodesy import enu_to_geodetic
from delivery_robot_nav.sim.config import (DepthCameraConfig, GnssConfig, ImuConfig,
                                           LidarConfig, OdomConfig)
from delivery_robot_nav.sim.motion import BaseState, DiffDriveBase
from delivery_robot_nav.sim.scene import Scene

GRAVITY = 9.80665
NAVSAT_STATUS_NO_FIX = -1
NAVSAT_STATUS_FIX = 0


def _planar_pose(state: BaseState, base_T_sensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World position (3,) and rotation (3x3) of a sensor mounted on the base."""
    c, s = math.cos(state.yaw), math.sin(state.yaw)
    world_R_base = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    position = world_R_base @ base_T_sensor[:3, 3] + np.array([state.x, state.y, 0.0])
    return position, world_R_base @ base_T_sensor[:3, :3]


@dataclass
class ScanReading:
    stamp: float
    frame_id: str
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    scan_time: float
    ranges: np.ndarray = field(repr=False)     # float32 (beams,)
    # simulator truth, never published: the pedestrian each beam hit (-1: none)
    hit_actor: np.ndarray | None = field(default=None, repr=False)


@dataclass
class OdomReading:
    stamp: float
    frame_id: str
    child_frame_id: str
    x: float
    y: float
    yaw: float
    v: float
    w: float
    pose_variance: tuple[float, float, float]     # x, y, yaw
    twist_variance: tuple[float, float]           # v, w


@dataclass
class ImuReading:
    stamp: float
    frame_id: str
    angular_velocity: np.ndarray          # rad/s, (3,)
    linear_acceleration: np.ndarray       # m/s^2, (3,), includes gravity (+z at rest)
    angular_velocity_variance: float
    linear_acceleration_variance: float


@dataclass
class GnssReading:
    stamp: float
    frame_id: str
    status: int                            # NAVSAT_STATUS_FIX or NAVSAT_STATUS_NO_FIX
    latitude: float                        # deg, NaN without fix
    longitude: float
    altitude: float
    position_variance: tuple[float, float, float]   # east, north, up; m^2
    # Doppler ground velocity of the antenna (east, north; m/s), NaN without fix; what
    # u-blox-class receivers report beside the position (NAV-PVT velN/velE)
    velocity: tuple[float, float] = (math.nan, math.nan)
    velocity_variance: float = 0.0                   # m^2/s^2 per axis


@dataclass
class DepthReading:
    stamp: float
    frame_id: str
    depth: np.ndarray = field(repr=False)  # float32 (height, width), m along the optical axis
    fx: float = 0.0
    fy: float = 0.0
    cx: float = 0.0
    cy: float = 0.0


class Lidar:
    """Planar lidar (360 degrees or a sector); one instantaneous sweep per reading (no
    motion skew)."""

    def __init__(self, cfg: LidarConfig, base_T_laser: np.ndarray, frame_id: str,
                 rng: np.random.Generator):
        self.cfg, self.base_T_laser, self.frame_id, self.rng = cfg, base_T_laser, frame_id, rng
        full = cfg.field_of_view >= 2.0 * math.pi - 1e-3
        # a full circle: beams evenly around it; a sector: first and last beam on its edges
        self.angle_increment = cfg.field_of_view / (cfg.beams if full else cfg.beams - 1)
        start = -math.pi if full else -cfg.field_of_view / 2.0
        self.angles = start + self.angle_increment * np.arange(cfg.beams)
        self._local_dirs = np.stack([np.cos(self.angles), np.sin(self.angles),
                                     np.zeros(cfg.beams)], axis=1)

    def measure(self, t: float, state: BaseState, scene: Scene) -> ScanReading:
        origin, rot = _planar_pose(state, self.base_T_laser)
        dist = scene.cast(origin, self._local_dirs @ rot.T, self.cfg.range_max + 1.0,
                          scene.lidar_groups)
        ranges = dist + self.rng.normal(0.0, self.cfg.noise_stddev, len(dist))
        ranges[np.isnan(dist) | (ranges > self.cfg.range_max)] = np.inf
        ranges[ranges < self.cfg.range_min] = -np.inf
        hit_actor = scene.last_hit_actors()
        hit_actor[~np.isfinite(ranges)] = -1
        return ScanReading(t, self.frame_id, float(self.angles[0]), self.angle_increment,
                           self.cfg.range_min, self.cfg.range_max, 1.0 / self.cfg.rate_hz,
                           ranges.astype(np.float32), hit_actor)


class DepthCamera:
    """Pinhole depth camera as a grid of rays: no GPU, no OpenGL."""

    def __init__(self, cfg: DepthCameraConfig, base_T_optical: np.ndarray, frame_id: str,
                 rng: np.random.Generator):
        self.cfg, self.base_T_optical, self.frame_id, self.rng = cfg, base_T_optical, frame_id, rng
        self.fx = self.fy = (cfg.width / 2.0) / math.tan(cfg.horizontal_fov / 2.0)
        self.cx, self.cy = (cfg.width - 1) / 2.0, (cfg.height - 1) / 2.0
        u, v = np.meshgrid(np.arange(cfg.width), np.arange(cfg.height))
        rays = np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy,
                         np.ones_like(u, dtype=float)], axis=-1).reshape(-1, 3)
        self._local_dirs = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        self._cos_axis = self._local_dirs[:, 2]     # depth = range * cos(angle to the axis)

    def measure(self, t: float, state: BaseState, scene: Scene) -> DepthReading:
        origin, rot = _planar_pose(state, self.base_T_optical)
        dist = scene.cast(origin, self._local_dirs @ rot.T, self.cfg.range_max * 1.5,
                          scene.camera_groups)
        z = dist * self._cos_axis
        z = z + self.rng.standard_normal(len(z)) * self.cfg.noise_coefficient * z * z
        z[np.isnan(dist) | (z > self.cfg.range_max)] = np.inf
        z[z < self.cfg.range_min] = -np.inf
        depth = z.reshape(self.cfg.height, self.cfg.width).astype(np.float32)
        return DepthReading(t, self.frame_id, depth, self.fx, self.fy, self.cx, self.cy)


class Imu:
    """6-axis IMU (Gazebo's model: white noise + per-run bias), on flat ground."""

    def __init__(self, cfg: ImuConfig, frame_id: str, rng: np.random.Generator):
        self.cfg, self.frame_id, self.rng = cfg, frame_id, rng
        self.gyro_bias = rng.normal(0.0, cfg.gyro_bias_stddev, 3)
        self.accel_bias = rng.normal(0.0, cfg.accel_bias_stddev, 3)
        self.variance_gyro = cfg.gyro_noise_stddev ** 2 + cfg.gyro_bias_stddev ** 2
        self.variance_accel = cfg.accel_noise_stddev ** 2 + cfg.accel_bias_stddev ** 2
        self._noise = np.zeros((0, 6))
        self._noise_i = 0

    def measure(self, t: float, state: BaseState) -> ImuReading:
        if self._noise_i >= len(self._noise):   # draw noise in blocks: rng calls are slow
            self._noise = self.rng.standard_normal((1024, 6))
            self._noise[:, :3] *= self.cfg.gyro_noise_stddev
            self._noise[:, 3:] *= self.cfg.accel_noise_stddev
            self._noise[:, :3] += self.gyro_bias
            self._noise[:, 3:] += self.accel_bias
            self._noise_i = 0
        sample = self._noise[self._noise_i].copy()
        self._noise_i += 1
        sample[2] += state.w
        sample[3] += state.accel
        sample[4] += state.v * state.w
        sample[5] += GRAVITY
        return ImuReading(t, self.frame_id, sample[:3], sample[3:], self.variance_gyro,
                          self.variance_accel)


class WheelOdometry:
    """Dead reckoning from quantized encoder counts with the nominal wheel geometry."""

    def __init__(self, cfg: OdomConfig, base: DiffDriveBase, frame_id: str, child_frame_id: str,
                 slip_stddev: float):
        self.cfg, self.base = cfg, base
        self.frame_id, self.child_frame_id = frame_id, child_frame_id
        self.rad_per_tick = 2.0 * math.pi / cfg.encoder_ticks_per_revolution
        self.last_ticks = self._ticks()
        self.last_t: float | None = None
        self.x = self.y = self.yaw = 0.0
        self.distance = 0.0
        # per-metre growth of position variance from slip (random walk)
        self.slip_variance_per_m = max(slip_stddev, 1e-3) ** 2
        self.yaw_variance = 0.0

    def _ticks(self) -> tuple[int, int]:
        left, right = self.base.wheel_angle
        return math.floor(left / self.rad_per_tick), math.floor(right / self.rad_per_tick)

    def measure(self, t: float) -> OdomReading:
        ticks = self._ticks()
        metres_per_tick = self.rad_per_tick * self.base.nominal_radius
        d_left = (ticks[0] - self.last_ticks[0]) * metres_per_tick
        d_right = (ticks[1] - self.last_ticks[1]) * metres_per_tick
        self.last_ticks = ticks
        dt = t - self.last_t if self.last_t is not None else 0.0
        self.last_t = t
        ds = (d_left + d_right) / 2.0
        dth = (d_right - d_left) / self.base.nominal_separation
        mid = self.yaw + dth / 2.0
        self.x += ds * math.cos(mid)
        self.y += ds * math.sin(mid)
        self.yaw = (self.yaw + dth + math.pi) % (2.0 * math.pi) - math.pi
        self.distance += abs(ds)
        self.yaw_variance += self.slip_variance_per_m * abs(ds) / self.base.nominal_separation
        v = ds / dt if dt > 0 else 0.0
        w = dth / dt if dt > 0 else 0.0
        pos_var = self.slip_variance_per_m * self.distance + 1e-6
        vel_var = (self.slip_variance_per_m * max(abs(v), 0.05) ** 2,
                   self.slip_variance_per_m * max(abs(w), 0.05) ** 2)
        return OdomReading(t, self.frame_id, self.child_frame_id, self.x, self.y, self.yaw, v, w,
                           (pos_var, pos_var, self.yaw_variance + 1e-6), vel_var)


class Gnss:
    """GNSS antenna: first-order Gauss-Markov position error, no fix in outage regions."""

    def __init__(self, cfg: GnssConfig, base_T_antenna: np.ndarray, frame_id: str,
                 geodetic_origin: tuple[float, float, float], rng: np.random.Generator):
        self.cfg, self.base_T_antenna, self.frame_id = cfg, base_T_antenna, frame_id
        self.origin, self.rng = geodetic_origin, rng
        self.sigma = np.array([cfg.horizontal_stddev, cfg.horizontal_stddev, cfg.vertical_stddev])
        self.error = rng.standard_normal(3) * self.sigma
        self.last_t: float | None = None

    def in_outage(self, x: float, y: float) -> bool:
        return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in self.cfg.outage_regions)

    def measure(self, t: float, state: BaseState) -> GnssReading:
        if self.last_t is not None:
            tau = self.cfg.correlation_time
            phi = math.exp(-(t - self.last_t) / tau) if tau > 0 else 0.0
            self.error = phi * self.error + math.sqrt(1.0 - phi * phi) * self.sigma * \
                self.rng.standard_normal(3)
        self.last_t = t
        position, _ = _planar_pose(state, self.base_T_antenna)
        variance = tuple(float(v) for v in self.sigma ** 2)
        # antenna velocity: the base's plus the lever arm's rotation (w x r)
        ox, oy = self.base_T_antenna[0, 3], self.base_T_antenna[1, 3]
        vx, vy = state.v - state.w * oy, state.w * ox
        c, s = math.cos(state.yaw), math.sin(state.yaw)
        sd_v = self.cfg.velocity_stddev
        velocity = (c * vx - s * vy + sd_v * self.rng.standard_normal(),
                    s * vx + c * vy + sd_v * self.rng.standard_normal())
        if self.in_outage(position[0], position[1]):
            return GnssReading(t, self.frame_id, NAVSAT_STATUS_NO_FIX, math.nan, math.nan,
                               math.nan, variance)
        e, n, u = position + self.error
        lat, lon, alt = enu_to_geodetic(e, n, u, *self.origin)
        return GnssReading(t, self.frame_id, NAVSAT_STATUS_FIX, float(lat), float(lon),
                           float(alt), variance, (float(velocity[0]), float(velocity[1])),
                           sd_v * sd_v)
