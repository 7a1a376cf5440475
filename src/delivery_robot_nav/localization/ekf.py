"""Planar extended Kalman filter: wheel odometry, IMU yaw rate, GNSS and map-based poses.

State (map frame, REP 103): x, y (m), yaw (rad), v (m/s, forward), w (rad/s), b_g (rad/s,
gyro z bias), b_e, b_n (m, GNSS position error). Constant-velocity motion model driven by
white acceleration noise, as in robot_localization's EKF (Moore & Stouch 2014), with the gyro
bias as a random walk so the IMU's yaw rate can be fused without its turn-on bias leaking
into the heading.

Standalone GNSS errors (atmosphere, multipath, satellite geometry) are correlated over tens
of seconds: consecutive fixes are not independent, and fusing them as white noise makes the
filter overconfident and lets every slow wander of the fix drag position and heading along.
The GNSS error is therefore part of the state, a first-order Gauss-Markov process (the
standard augmentation of GNSS/INS integration, e.g. Groves, "Principles of GNSS, Inertial,
and Multisensor Integrated Navigation Systems", 2nd ed., sec. 14.2.7): its stationary
variance is the receiver's reported covariance, its correlation time a receiver parameter,
and only a small white part (`gnss_white_stddev`) is fresh in every fix. While the lidar
pins the position, the filter learns the GNSS error; when the lidar is gone, fixes refine
the position only as fast as the error decorrelates.

Every update is gated by the Mahalanobis distance of its innovation (chi-square quantile of
the configured probability): a GNSS multipath jump or a wrong map match is rejected and
counted instead of being fused. Non-finite measurements or covariances are rejected too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import chi2

X, Y, YAW, V, W, BG, BE, BN = range(8)
N = 8


class EkfError(ValueError):
    """An invalid filter configuration or initialization."""


@dataclass(frozen=True)
class EkfConfig:
    linear_accel_stddev: float = 1.0        # m/s^2, process noise on v
    angular_accel_stddev: float = 1.5       # rad/s^2, process noise on w
    gyro_bias_walk_stddev: float = 1e-5     # rad/s per sqrt(s)
    position_walk_stddev: float = 0.01      # m per sqrt(s): unmodelled lateral slip
    yaw_walk_stddev: float = 0.0005         # rad per sqrt(s): heading errors beyond the gyro
    gate_probability: float = 0.999         # Mahalanobis gate, chi-square quantile
    gnss_correlation_time: float = 30.0     # s, first-order Gauss-Markov GNSS error
    gnss_white_stddev: float = 0.3          # m, uncorrelated part of each fix's error
    max_dt: float = 0.5                     # s, longest single prediction step


@dataclass
class EkfCounters:
    accepted: dict = field(default_factory=dict)
    rejected_gate: dict = field(default_factory=dict)
    rejected_invalid: dict = field(default_factory=dict)

    def bump(self, table: dict, kind: str):
        table[kind] = table.get(kind, 0) + 1


class PlanarEkf:
    def __init__(self, cfg: EkfConfig):
        self.x = np.zeros(N)
        self.P = np.eye(N)
        self.t: float | None = None
        self.counters = EkfCounters()
        self._identity = np.eye(N)
        self.gnss_error_variance = 9.0      # m^2 per axis, stationary; the receiver's report
        self.configure(cfg)

    def configure(self, cfg: EkfConfig):
        """Apply a (new) configuration; the state is kept."""
        if not 0.0 < cfg.gate_probability < 1.0:
            raise EkfError(f'gate_probability must be in (0, 1), got {cfg.gate_probability}')
        if not cfg.gnss_correlation_time > 0.0:
            raise EkfError('gnss_correlation_time must be > 0 s, got '
                           f'{cfg.gnss_correlation_time}')
        self.cfg = cfg
        self._gate = {k: float(chi2.ppf(cfg.gate_probability, k)) for k in (1, 2, 3)}
        self._q_rate = np.array([cfg.position_walk_stddev ** 2, cfg.position_walk_stddev ** 2,
                                 cfg.yaw_walk_stddev ** 2, cfg.linear_accel_stddev ** 2,
                                 cfg.angular_accel_stddev ** 2, cfg.gyro_bias_walk_stddev ** 2,
                                 0.0, 0.0])

    def gate_threshold(self, dof: int) -> float:
        """Squared Mahalanobis distance accepted for a `dof`-dimensional innovation."""
        return self._gate[dof]

    @property
    def initialized(self) -> bool:
        return self.t is not None

    def initialize(self, t: float, pose, pose_cov, gyro_bias_stddev: float = 0.005,
                   gnss_error_stddev: float | None = None):
        """Start at `pose`; velocities at rest-ish, biases unknown (gyro: `gyro_bias_stddev`;
        GNSS error: `gnss_error_stddev`, default the last reported receiver error)."""
        pose = np.asarray(pose, dtype=float)
        cov = np.asarray(pose_cov, dtype=float)
        if pose.shape != (3,) or cov.shape != (3, 3) or not (
                np.all(np.isfinite(pose)) and np.all(np.isfinite(cov))):
            raise EkfError('initial pose must be 3 finite numbers with a finite 3x3 covariance')
        if gnss_error_stddev is not None:
            self.gnss_error_variance = float(gnss_error_stddev) ** 2
        self.x = np.zeros(N)
        self.x[:3] = pose
        self.P = np.diag([0.0, 0.0, 0.0, 0.25, 0.25, gyro_bias_stddev ** 2,
                          self.gnss_error_variance, self.gnss_error_variance])
        self.P[:3, :3] = cov
        self.t = float(t)

    # ------------------------------------------------------------------ prediction
    def predict(self, t: float):
        """Propagate to time t (no-op for t <= current time)."""
        if self.t is None or t <= self.t:
            return
        remaining = t - self.t
        while remaining > 1e-12:
            dt = min(remaining, self.cfg.max_dt)
            self._predict(dt)
            remaining -= dt
        self.t = float(t)

    def _predict(self, dt: float):
        x = self.x
        yaw, v, w = x[YAW], x[V], x[W]
        cy, sy = math.cos(yaw), math.sin(yaw)
        x[X] += v * cy * dt
        x[Y] += v * sy * dt
        x[YAW] = (yaw + w * dt + math.pi) % (2.0 * math.pi) - math.pi
        F = self._identity.copy()
        F[X, YAW], F[X, V] = -v * sy * dt, cy * dt
        F[Y, YAW], F[Y, V] = v * cy * dt, sy * dt
        F[YAW, W] = dt
        phi = math.exp(-dt / self.cfg.gnss_correlation_time)
        x[BE] *= phi
        x[BN] *= phi
        F[BE, BE] = F[BN, BN] = phi
        self.P = F @ self.P @ F.T
        self.P.flat[::N + 1] += self._q_rate * dt
        q_gnss = self.gnss_error_variance * (1.0 - phi * phi)
        self.P[BE, BE] += q_gnss
        self.P[BN, BN] += q_gnss

    # ------------------------------------------------------------------ updates
    def _update(self, kind: str, innovation: np.ndarray, H: np.ndarray, R: np.ndarray,
                gate: bool = True) -> bool:
        if not (np.isfinite(innovation).all() and np.isfinite(R).all()):
            self.counters.bump(self.counters.rejected_invalid, kind)
            return False
        PHt = self.P @ H.T
        S_inv = _inverse(H @ PHt + R)
        if S_inv is None:
            self.counters.bump(self.counters.rejected_invalid, kind)
            return False
        d2 = float(innovation @ S_inv @ innovation)
        if not math.isfinite(d2) or (gate and d2 > self._gate[len(innovation)]):
            self.counters.bump(self.counters.rejected_gate, kind)
            return False
        K = PHt @ S_inv
        P = self.P - K @ PHt.T          # = P - K S K^T: the Joseph form's result with the
        return self._accept(kind, K @ innovation, 0.5 * (P + P.T))     # optimal gain

    def _accept(self, kind: str, dx: np.ndarray, P: np.ndarray) -> bool:
        """Apply a correction: the state moves by dx, the covariance becomes P. The updates
        compute P as P - K S K^T (closed form where H picks a state or two), not in the
        Joseph form: a third of its matrix products, and the filter runs ~300 updates per
        simulated second, replays included."""
        self.x = self.x + dx
        self.x[YAW] = (self.x[YAW] + math.pi) % (2.0 * math.pi) - math.pi
        self.P = P
        self.counters.bump(self.counters.accepted, kind)
        return True

    def update_twist(self, t: float, v: float, w: float, var_v: float, var_w: float) -> bool:
        """Wheel-odometry body velocities."""
        self.predict(t)
        x, P = self.x, self.P
        iv, iw = v - float(x[V]), w - float(x[W])
        # H selects v and w: P H^T is two columns of P, S = H P H^T + R four of its entries
        a, b = float(P[V, V]) + var_v, float(P[V, W])
        c, d = float(P[W, V]), float(P[W, W]) + var_w
        det = a * d - b * c
        if not all(map(math.isfinite, (iv, iw, var_v, var_w, det))) or det == 0.0:
            self.counters.bump(self.counters.rejected_invalid, 'twist')
            return False
        # not gated: the wheels are the backbone of the prediction, and a real change of
        # speed (braking) would otherwise look like an outlier to a filter that lags it
        PHt = P[:, V:W + 1]
        K = PHt @ np.array([[d, -b], [-c, a]]) / det
        return self._accept('twist', K @ np.array([iv, iw]), P - K @ PHt.T)

    def update_yaw_rate(self, t: float, wz: float, var: float) -> bool:
        """IMU gyro z: measures w + b_g. A scalar update, in closed form (the IMU's 100 Hz
        make it the most frequent one)."""
        self.predict(t)
        x, P = self.x, self.P
        innovation = wz - x[W] - x[BG]
        ph = P[:, W] + P[:, BG]                    # P H^T with H = e_w + e_bg
        s = float(ph[W] + ph[BG]) + var
        if not (math.isfinite(innovation) and math.isfinite(var)) or not (
                s != 0.0 and math.isfinite(s)):
            self.counters.bump(self.counters.rejected_invalid, 'yaw_rate')
            return False
        d2 = innovation * innovation / s
        if not math.isfinite(d2) or d2 > self._gate[1]:
            self.counters.bump(self.counters.rejected_gate, 'yaw_rate')
            return False
        return self._accept('yaw_rate', ph * (innovation / s),
                            P - np.outer(ph, ph) / s)      # symmetric as computed

    def update_gnss(self, t: float, en, cov, offset=(0.0, 0.0)) -> bool:
        """A GNSS fix (east, north in the map frame) of the antenna at `offset` (base frame).

        `cov` is the receiver's reported 2x2 covariance: the variance of its (correlated)
        error, which becomes the stationary variance of the error state."""
        cov = np.asarray(cov, dtype=float)
        if not (np.all(np.isfinite(cov)) and cov[0, 0] > 0.0 and cov[1, 1] > 0.0):
            self.counters.bump(self.counters.rejected_invalid, 'gnss')
            return False
        self.gnss_error_variance = float(max(cov[0, 0], cov[1, 1]))
        white = np.eye(2) * self.cfg.gnss_white_stddev ** 2
        return self.update_position(t, en, white, offset, kind='gnss', error_states=True)

    def update_velocity(self, t: float, v_en, cov, offset=(0.0, 0.0),
                        kind='gnss_velocity') -> bool:
        """Ground velocity (east, north in the map frame) of a point mounted at `offset`,
        e.g. a receiver's Doppler velocity: while moving it measures the heading directly,
        free of the slowly wandering position error."""
        self.predict(t)
        yaw, v, w = self.x[YAW], self.x[V], self.x[W]
        ox, oy = offset
        bx, by = v - w * oy, w * ox                # antenna velocity in the base frame
        c, s = math.cos(yaw), math.sin(yaw)
        predicted = np.array([c * bx - s * by, s * bx + c * by])
        H = np.zeros((2, N))
        H[0, YAW], H[1, YAW] = -s * bx - c * by, c * bx - s * by
        H[0, V], H[1, V] = c, s
        H[0, W], H[1, W] = -c * oy - s * ox, -s * oy + c * ox
        return self._update(kind, np.asarray(v_en, dtype=float) - predicted, H,
                            np.asarray(cov, dtype=float))

    def update_position(self, t: float, xy, cov, offset=(0.0, 0.0), kind='position',
                        error_states: bool = False) -> bool:
        """A position of a point mounted at `offset` (base frame); with `error_states` the
        measurement also carries the GNSS error state (see update_gnss)."""
        self.predict(t)
        ox, oy = offset
        c, s = math.cos(self.x[YAW]), math.sin(self.x[YAW])
        predicted = np.array([self.x[X] + c * ox - s * oy, self.x[Y] + s * ox + c * oy])
        H = np.zeros((2, N))
        H[0, X] = H[1, Y] = 1.0
        H[0, YAW] = -s * ox - c * oy
        H[1, YAW] = c * ox - s * oy
        if error_states:
            H[0, BE] = H[1, BN] = 1.0
            predicted += self.x[[BE, BN]]
        return self._update(kind, np.asarray(xy, dtype=float) - predicted, H,
                            np.asarray(cov, dtype=float))

    def update_pose(self, t: float, pose, cov, kind='map_pose', gate=True) -> bool:
        """A full planar pose (x, y, yaw), e.g. from matching the lidar to the map."""
        self.predict(t)
        H = np.zeros((3, N))
        H[0, X] = H[1, Y] = H[2, YAW] = 1.0
        innovation = np.asarray(pose, dtype=float) - self.x[:3]
        innovation[2] = (innovation[2] + math.pi) % (2.0 * math.pi) - math.pi
        return self._update(kind, innovation, H, np.asarray(cov, dtype=float), gate=gate)

    def reset_pose(self, pose, cov):
        """Replace the pose and its covariance (re-localization), forgetting its correlation
        with the other states."""
        self.x[:3] = pose
        self.P[:3, :] = 0.0
        self.P[:, :3] = 0.0
        self.P[:3, :3] = cov

    def widen_position(self, variance: float, yaw_variance: float):
        """Add uncertainty to the position and heading (after a persistent disagreement)."""
        self.P[X, X] += variance
        self.P[Y, Y] += variance
        self.P[YAW, YAW] += yaw_variance

    @property
    def pose(self) -> np.ndarray:
        return self.x[:3].copy()

    @property
    def pose_cov(self) -> np.ndarray:
        return self.P[:3, :3].copy()


def _inverse(S: np.ndarray) -> np.ndarray | None:
    """Inverse of an innovation covariance; None when singular. 1x1 and 2x2 (every update
    but the map pose) in closed form: np.linalg.inv's overhead was a tenth of a lockstep
    mission's time (a yaw-rate update at 100 Hz)."""
    n = len(S)
    if n == 1:
        s = float(S[0, 0])
        return np.array([[1.0 / s]]) if s != 0.0 and math.isfinite(s) else None
    if n == 2:
        a, b, c, d = float(S[0, 0]), float(S[0, 1]), float(S[1, 0]), float(S[1, 1])
        det = a * d - b * c
        if det == 0.0 or not math.isfinite(det):
            return None
        return np.array([[d, -b], [-c, a]]) / det
    try:
        return np.linalg.inv(S)
    except np.linalg.LinAlgError:
        return None
