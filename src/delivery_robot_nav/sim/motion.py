"""Kinematic differential-drive base with actuator limits, wheel slip and encoders.

The motor controllers turn the commanded twist into wheel speeds with the *nominal* wheel
radius and track width (as the real base does); the ground moves the robot with the
*true* ones, perturbed per run, and with first-order Gauss-Markov longitudinal slip per
wheel. Encoders count wheel rotation, so odometry computed from them with the nominal
geometry drifts from the truth the way real wheel odometry does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from delivery_robot_nav.sim.config import MotionConfig


@dataclass
class BaseState:
    x: float
    y: float
    yaw: float
    v: float = 0.0          # true forward speed over ground, m/s
    w: float = 0.0          # true yaw rate, rad/s
    accel: float = 0.0      # true forward acceleration, m/s^2


def _approach(current: float, target: float, up: float, down: float, dt: float) -> float:
    """Move current toward target, at most `up` per second away from zero, `down` toward."""
    delta = target - current
    speeding_up = (current >= 0.0 and delta > 0.0) or (current <= 0.0 and delta < 0.0)
    limit = (up if speeding_up else down) * dt
    return current + max(-limit, min(limit, delta))


class DiffDriveBase:
    def __init__(self, cfg: MotionConfig, wheel_radius: float, wheel_separation: float,
                 start: tuple[float, float, float], rng: np.random.Generator):
        self.cfg = cfg
        self.nominal_radius = wheel_radius
        self.nominal_separation = wheel_separation
        # per-run true geometry (tyre wear, load, contact patch)
        self.true_radius = (wheel_radius * (
            1.0 + rng.normal(0.0, cfg.wheel_radius_error_stddev, 2))).tolist()
        self.true_separation = wheel_separation * float(
            1.0 + rng.normal(0.0, cfg.wheel_separation_error_stddev))
        self.rng = rng
        self.state = BaseState(*start)
        self.cmd_v = 0.0            # twist the motor controllers track, after rate limits
        self.cmd_w = 0.0
        self.slip = [0.0, 0.0]
        self.wheel_angle = [0.0, 0.0]    # rad turned by left, right wheel since start
        self._noise: list = []
        self._noise_i = 0
        self._slip_dt = self._phi = self._gain = 0.0

    def _slip_noise(self) -> tuple[float, float]:
        """Two standard normal draws, from a pre-drawn block (rng calls are the hot path)."""
        if self._noise_i >= len(self._noise):
            self._noise = self.rng.standard_normal((4096, 2)).tolist()
            self._noise_i = 0
        self._noise_i += 1
        return self._noise[self._noise_i - 1]

    def step(self, target_v: float, target_w: float, dt: float):
        c = self.cfg
        target_v = min(c.max_linear_velocity, max(c.min_linear_velocity, target_v))
        target_w = min(c.max_angular_velocity, max(-c.max_angular_velocity, target_w))
        self.cmd_v = _approach(self.cmd_v, target_v, c.max_linear_acceleration,
                               c.max_linear_deceleration, dt)
        self.cmd_w = _approach(self.cmd_w, target_w, c.max_angular_acceleration,
                               c.max_angular_acceleration, dt)
        half = self.nominal_separation / 2.0
        rate_left = (self.cmd_v - self.cmd_w * half) / self.nominal_radius
        rate_right = (self.cmd_v + self.cmd_w * half) / self.nominal_radius
        self.wheel_angle[0] += rate_left * dt
        self.wheel_angle[1] += rate_right * dt

        if c.slip_stddev > 0.0:
            if dt != self._slip_dt:                 # Gauss-Markov factors for this step
                self._slip_dt = dt
                self._phi = math.exp(-dt / c.slip_correlation_time)
                self._gain = c.slip_stddev * math.sqrt(1.0 - self._phi ** 2)
            phi, gain = self._phi, self._gain
            n_left, n_right = self._slip_noise()
            self.slip[0] = phi * self.slip[0] + gain * n_left
            self.slip[1] = phi * self.slip[1] + gain * n_right
        ground_left = rate_left * self.true_radius[0] * (1.0 - self.slip[0])
        ground_right = rate_right * self.true_radius[1] * (1.0 - self.slip[1])
        v = (ground_left + ground_right) / 2.0
        w = (ground_right - ground_left) / self.true_separation

        s = self.state
        s.accel = (v - s.v) / dt
        s.v, s.w = v, w
        # exact integration along the arc
        if abs(w) < 1e-9:
            s.x += v * dt * math.cos(s.yaw)
            s.y += v * dt * math.sin(s.yaw)
        else:
            r = v / w
            s.x += r * (math.sin(s.yaw + w * dt) - math.sin(s.yaw))
            s.y -= r * (math.cos(s.yaw + w * dt) - math.cos(s.yaw))
        s.yaw = (s.yaw + w * dt + math.pi) % (2.0 * math.pi) - math.pi
