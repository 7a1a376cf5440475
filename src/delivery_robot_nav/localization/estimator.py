"""The localizer: EKF (odometry, IMU, GNSS) + particle filter on the map, as one estimate.

- Every measurement enters the EKF at its own stamp. Sensors arrive late by different
  latencies (GNSS 100 ms, lidar 20 ms); a measurement older than the newest one processed
  rewinds the filter to a snapshot before it and replays the rest (history of
  `history_length` s), as robot_localization's lagged-data smoothing does.
- Scans drive the particle filter with the odometry increment since the previous scan
  (odometry interpolated at the scan stamps), the PF estimate is refined by scan matching,
  and the refined pose (covariance inflated, gated) is an EKF pose measurement.
- GNSS fixes: NO_FIX and non-finite fixes are ignored (counted); positions go through a
  local tangent plane at the configured datum (no UTM zones); covariance types are honoured
  (UNKNOWN: the configured default).
- When the particle filter, converged and matching the map well, disagrees with the EKF
  for `max_rejected_map_poses` scans in a row, the EKF is reset to it (re-localization after
  a kidnap); until then the state is reported as lost.
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from delivery_robot_nav.common.geodesy import geodetic_to_enu
from delivery_robot_nav.common.geometry import se2_compose, se2_inverse, wrap_angle
from delivery_robot_nav.common.maps import OccupancyMap
from delivery_robot_nav.localization.ekf import BE, BN, EkfConfig, PlanarEkf
from delivery_robot_nav.localization.likelihood_field import FieldConfig, LikelihoodField
from delivery_robot_nav.localization.particle_filter import ParticleFilter, PfConfig

COVARIANCE_TYPE_UNKNOWN = 0


@dataclass(frozen=True)
class LocalizerConfig:
    ekf: EkfConfig = EkfConfig()
    field: FieldConfig = FieldConfig()
    pf: PfConfig = PfConfig()
    laser_pose: tuple[float, float, float] = (0.0, 0.0, 0.0)     # in base_link
    gnss_offset: tuple[float, float] = (0.0, 0.0)                 # antenna in base_link
    datum: tuple[float, float, float] = (0.0, 0.0, 0.0)           # lat, lon, alt of map origin
    use_odometry: bool = True
    use_imu: bool = True
    use_gnss: bool = True
    use_gnss_velocity: bool = True          # Doppler velocity from the receiver, when it has one
    use_lidar: bool = True
    gnss_default_stddev: float = 3.0        # m, for COVARIANCE_TYPE_UNKNOWN fixes
    # After this many fixes in a row rejected by the gate, the position covariance is
    # widened to the disagreement so the EKF can follow GNSS again (no silent divergence).
    max_rejected_gnss: int = 10
    twist_min_stddev: float = 0.02          # m/s and rad/s, floor on odometry twist noise
    # Wheels slip by different amounts, so the yaw rate from the encoders carries an error
    # that grows with speed and lasts (Gauss-Markov, ~0.5 s): rad/s of noise per m/s, sized
    # for the 50 Hz samples being fused as if independent. With an IMU, the gyro carries
    # the yaw rate while driving and the encoders mostly pin its bias when at rest.
    odometry_yaw_rate_stddev_per_speed: float = 0.1   # rad/m
    lidar_range_max: float = 30.0
    pf_min_travel: float = 0.05             # m: fewer scans while standing still
    pf_min_rotation: float = 0.05           # rad
    refine_max_beams: int = 240             # beams used by the scan-matching refinement
    map_pose_inflation: float = 4.0         # scan-match covariance multiplier
    map_pose_min_stddev: float = 0.01       # m (and rad / 2)
    map_pose_max_rms: float = 0.15          # m: refined fits worse than this are not used
    # Error of the map itself (cell quantization, 0.1 m cells: 0.1 / sqrt(12) = 0.029 m per
    # axis, plus mapping error): a bias shared by consecutive scans, so fusing more scans
    # does not shrink it. Added to the reported covariance while lidar-localized.
    map_error_stddev: float = 0.05          # m
    map_error_yaw_stddev: float = 0.003     # rad
    map_pose_min_inliers: float = 0.4       # fraction of beams that must explain the map
    converged_stddev: float = 0.5           # m: PF spread under which it counts as converged
    max_rejected_map_poses: int = 20
    max_poor_matches: int = 10              # poor scan matches in a row before re-seeding
    history_length: float = 1.0             # s of measurements kept for out-of-order fusion
    max_future_stamp: float = 0.5           # s a stamp may lead the clock (else the odometry)
    max_odometry_wait: float = 0.5          # s measurements wait for odometry to catch up
    global_recovery: bool = False           # recovery particles over all free space
    recovery_min_stddev: float = 2.0        # m, spread of recovery particles around the EKF
    initial_stddev: tuple[float, float, float] = (0.5, 0.5, 0.2)


@dataclass
class LocalizerStatus:
    initialized: bool = False
    lost: bool = False
    relocalizations: int = 0
    rejected: dict = field(default_factory=dict)      # reason -> count
    last_stamp: dict = field(default_factory=dict)    # sensor -> stamp of the last accepted
    pf_stddev: float = math.inf
    scan_match_rms: float = math.inf

    def reject(self, reason: str):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


class Localizer:
    def __init__(self, cfg: LocalizerConfig, occ: OccupancyMap | None,
                 rng: np.random.Generator | None = None):
        self.cfg = cfg
        self.rng = rng or np.random.default_rng(0)
        self.ekf = PlanarEkf(cfg.ekf)
        self.pf = (ParticleFilter(LikelihoodField(occ, cfg.field), cfg.pf, self.rng)
                   if occ is not None and cfg.use_lidar else None)
        self.status = LocalizerStatus()
        self._odom: deque = deque()          # (t, x, y, yaw) wheel odometry poses
        self._history: list = []              # (stamp, seq, apply, snapshot-before)
        self._seq = 0
        self._pf_odom: np.ndarray | None = None   # odometry pose at the PF's last update
        # measurements newer than the newest odometry wait for it (heap of stamp, seq, run):
        # fusing in stamp order is cheap, rewinding for every early arrival is not
        self._waiting: list = []
        self.now: float | None = None          # the node's clock, when it has one
        self._rejected_map_poses = 0
        self._rejected_gnss = 0
        self._poor_matches = 0
        self._last_fix: tuple[float, float, float, float] | None = None   # t, e, n, stddev
        # the fused local odometry: the EKF's velocities (gyro-corrected yaw rate) integrated
        # in the odom frame; continuous, never jumps (t, x, y, yaw)
        self.local_odometry: tuple[float, float, float, float] | None = None
        if self.pf is not None:
            self.pf.injection_sampler = self._recovery_poses

    def _recovery_poses(self, n: int) -> np.ndarray:
        """Where the particle filter looks when the scan stops explaining the map: around a
        recent GNSS fix (any heading) when there is one; otherwise around the EKF estimate,
        as wide as its uncertainty (at least `recovery_min_stddev`); over all free space
        only with `global_recovery` (hopeless on a campus-sized map with a few thousand
        particles, useful in a small one)."""
        fix = self._last_fix
        now = self.ekf.t if self.ekf.t is not None else -math.inf
        if fix is not None and now - fix[0] <= 5.0:
            _, e, north, sd = fix
            xy = np.column_stack([e, north]) + self.rng.normal(0.0, 2.0 * sd, (n, 2))
            return np.column_stack([xy, self.rng.uniform(-math.pi, math.pi, n)])
        if self.cfg.global_recovery or not self.ekf.initialized:
            return self.pf.sample_free_poses(n)
        sd_xy = max(self.cfg.recovery_min_stddev,
                    3.0 * math.sqrt(max(self.ekf.P[0, 0], self.ekf.P[1, 1])))
        sd_yaw = max(0.3, 3.0 * math.sqrt(self.ekf.P[2, 2]))
        poses = self.ekf.x[:3] + self.rng.normal(0.0, 1.0, (n, 3)) * [sd_xy, sd_xy, sd_yaw]
        poses[:, 2] = wrap_angle(poses[:, 2])
        return poses

    # ------------------------------------------------------------------ setup
    def reconfigure(self, cfg: LocalizerConfig):
        """Apply new settings while running (EKF and fusion settings; the particle filter's
        and the likelihood field's are fixed at construction)."""
        self.ekf.configure(cfg.ekf)
        self.cfg = cfg

    def initialize(self, t: float, pose, stddev=None):
        sd = np.asarray(stddev if stddev is not None else self.cfg.initial_stddev, dtype=float)
        cov = np.diag(sd ** 2)
        self.ekf.initialize(t, pose, cov, gnss_error_stddev=self._gnss_stddev())
        if self.pf is not None:
            self.pf.initialize_gaussian(pose, cov)
        self._history.clear()
        self._pf_odom = None
        self.status.initialized = True
        self.status.lost = False

    def initialize_from_gnss(self, t: float) -> bool:
        """Start from the latest GNSS fix: position from the fix, heading unknown; the
        particles spread around the fix in every heading and the map decides."""
        fix = self._last_fix
        if fix is None or t - fix[0] > 5.0:
            return False
        _, e, n, sd = fix
        # the fix's error is the position's uncertainty here, not a separate unknown
        self.ekf.initialize(t, (e, n, 0.0), np.diag([sd ** 2, sd ** 2, math.pi ** 2]),
                            gnss_error_stddev=sd)
        self.ekf.P[BE, BE] = self.ekf.P[BN, BN] = self.cfg.ekf.gnss_white_stddev ** 2
        if self.pf is not None:
            self.pf.initialize_poses(self._recovery_poses(self.cfg.pf.max_particles))
        self._history.clear()
        self._pf_odom = None
        self.status.initialized = True
        self.status.lost = self.pf is not None
        return True

    def _gnss_stddev(self) -> float:
        return self._last_fix[3] if self._last_fix is not None else self.cfg.gnss_default_stddev

    def reset_time(self):
        """After time jumped backwards (simulation reset): forget everything time-stamped."""
        self._odom.clear()
        self.local_odometry = None
        self._waiting.clear()
        self._history.clear()
        self._pf_odom = None
        self.ekf.t = None
        self.status.initialized = False

    # ------------------------------------------------------------------ fusion machinery
    def _submit(self, stamp: float, kind: str, run) -> bool:
        """Run `run()` once odometry has reached `stamp` (at once if it has).

        Measurements therefore enter the filter in stamp order whatever order they arrive
        in. If odometry falls silent (`max_odometry_wait`), waiting ones run without it.
        """
        if not self.status.initialized:
            self.status.reject(f'{kind}: not initialized')
            return False
        reference = self.now if self.now is not None else (
            self._odom[-1][0] if self._odom else self.ekf.t)
        if stamp > reference + self.cfg.max_future_stamp:
            self.status.reject(f'{kind}: stamp in the future')
            return False
        if not self._odom or stamp <= self._odom[-1][0]:
            return run()
        self._seq += 1
        heapq.heappush(self._waiting, (stamp, self._seq, run))
        if stamp > self._odom[-1][0] + self.cfg.max_odometry_wait:
            self._run_waiting(math.inf)        # odometry stalled: go on without it
        return True

    def _run_waiting(self, until: float):
        while self._waiting and self._waiting[0][0] <= until:
            heapq.heappop(self._waiting)[2]()

    def _fuse(self, stamp: float, kind: str, apply) -> bool:
        """Apply `apply(ekf)` at `stamp`, rewinding and replaying for late arrivals."""
        if not self.ekf.initialized:
            self.status.reject(f'{kind}: not initialized')
            return False
        newest = self._history[-1][0] if self._history else self.ekf.t
        if stamp < self.ekf.t - self.cfg.history_length or (
                not self._history and stamp < self.ekf.t):
            self.status.reject(f'{kind}: older than the history')
            return False
        self._seq += 1
        entry = [stamp, self._seq, apply, None]
        if stamp >= newest:
            entry[3] = (self.ekf.x.copy(), self.ekf.P.copy(), self.ekf.t)
            ok = apply(self.ekf)
            self._history.append(entry)
        else:
            i = bisect.bisect_right([h[0] for h in self._history], stamp)
            x, P, t = self._history[i][3]
            self.ekf.x, self.ekf.P, self.ekf.t = x.copy(), P.copy(), t
            self._history.insert(i, entry)
            ok = False
            for j in range(i, len(self._history)):
                h = self._history[j]
                h[3] = (self.ekf.x.copy(), self.ekf.P.copy(), self.ekf.t)
                result = h[2](self.ekf)
                if j == i:
                    ok = result
        cutoff = self._history[-1][0] - self.cfg.history_length
        while self._history and self._history[0][0] < cutoff:
            self._history.pop(0)
        return ok

    def _odom_at(self, t: float) -> np.ndarray | None:
        """Wheel-odometry pose interpolated at t (None when t is outside the buffer)."""
        if not self._odom or t < self._odom[0][0] - 1e-9 or t > self._odom[-1][0] + 0.05:
            return None
        times = [o[0] for o in self._odom]
        i = bisect.bisect_left(times, t)
        if i >= len(times):
            return np.array(self._odom[-1][1:])
        if i == 0 or times[i] == t:
            return np.array(self._odom[i][1:])
        (t0, *p0), (t1, *p1) = self._odom[i - 1], self._odom[i]
        a = (t - t0) / (t1 - t0)
        return np.array([p0[0] + a * (p1[0] - p0[0]), p0[1] + a * (p1[1] - p0[1]),
                         float(wrap_angle(p0[2] + a * float(wrap_angle(p1[2] - p0[2]))))])

    # ------------------------------------------------------------------ sensors
    def on_odometry(self, t: float, pose, v: float, w: float, var_v: float, var_w: float) -> bool:
        if not all(math.isfinite(a) for a in (*pose, v, w, var_v, var_w)):
            self.status.reject('odometry: non-finite')
            return False
        if self._odom and t <= self._odom[-1][0]:
            if t < self._odom[-1][0] - 1.0:
                self.reset_time()
            else:
                self.status.reject('odometry: out of order')
                return False
        self._odom.append((t, *(float(p) for p in pose)))
        while self._odom and self._odom[0][0] < t - 2.0 * self.cfg.history_length - 1.0:
            self._odom.popleft()
        self.status.last_stamp['odometry'] = t
        # measurements that waited for odometry to reach their stamp enter now, in stamp
        # order and before this odometry sample, so nothing has to be rewound
        self._run_waiting(t)
        if not self.cfg.use_odometry:
            return False
        floor = self.cfg.twist_min_stddev ** 2        # encoder quantization, timing jitter
        var_v = max(var_v, floor)
        var_w = max(var_w, floor) + (self.cfg.odometry_yaw_rate_stddev_per_speed * v) ** 2
        ok = self._fuse(t, 'odometry', lambda ekf: ekf.update_twist(t, v, w, var_v, var_w))
        self._integrate_local_odometry(t, pose)
        return ok

    def _integrate_local_odometry(self, t: float, wheel_pose):
        """Advance the fused local odometry to t with the EKF's current velocities (the odom
        frame starts where the wheel odometry's is)."""
        last = self.local_odometry
        if last is None or not self.ekf.initialized or t <= last[0]:
            if last is None:
                self.local_odometry = (t, *(float(p) for p in wheel_pose))
            return
        dt = t - last[0]
        v, w = float(self.ekf.x[3]), float(self.ekf.x[4])
        mid = last[3] + 0.5 * w * dt
        self.local_odometry = (t, last[1] + v * math.cos(mid) * dt,
                               last[2] + v * math.sin(mid) * dt,
                               float(wrap_angle(last[3] + w * dt)))

    def on_imu(self, t: float, wz: float, var: float) -> bool:
        if not (math.isfinite(wz) and math.isfinite(var)) or var < 0:
            self.status.reject('imu: non-finite')
            return False
        self.status.last_stamp['imu'] = t
        if not self.cfg.use_imu:
            return False
        var = max(var, 1e-8)
        return self._submit(t, 'imu', lambda: self._fuse(
            t, 'imu', lambda ekf: ekf.update_yaw_rate(t, wz, var)))

    def on_gnss(self, t: float, status: int, lat: float, lon: float, alt: float,
                cov: np.ndarray | None, cov_type: int) -> bool:
        if status < 0:
            self.status.reject('gnss: no fix')
            return False
        if not (math.isfinite(lat) and math.isfinite(lon)):
            self.status.reject('gnss: non-finite position')
            return False
        e, n, _ = geodetic_to_enu(lat, lon, alt if math.isfinite(alt) else self.cfg.datum[2],
                                  *self.cfg.datum)
        if cov_type == COVARIANCE_TYPE_UNKNOWN or cov is None:
            R = np.eye(2) * self.cfg.gnss_default_stddev ** 2
        else:
            R = np.asarray(cov, dtype=float).reshape(3, 3)[:2, :2]
            if not np.all(np.isfinite(R)) or R[0, 0] <= 0 or R[1, 1] <= 0:
                self.status.reject('gnss: invalid covariance')
                return False
        self.status.last_stamp['gnss'] = t
        self._last_fix = (t, float(e), float(n), float(math.sqrt(max(R[0, 0], R[1, 1]))))
        if not self.status.initialized:
            return False
        if not self.cfg.use_gnss:
            return False
        z = (float(e), float(n))
        return self._submit(t, 'gnss', lambda: self._gnss(t, z, R))

    def on_gnss_velocity(self, t: float, v_east: float, v_north: float, cov) -> bool:
        """A receiver's Doppler ground velocity (east, north; m/s) with its 2x2 covariance."""
        cov = np.asarray(cov, dtype=float)
        if not (math.isfinite(v_east) and math.isfinite(v_north)):
            self.status.reject('gnss velocity: non-finite')
            return False
        if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or cov[0, 0] <= 0 or \
                cov[1, 1] <= 0:
            self.status.reject('gnss velocity: invalid covariance')
            return False
        self.status.last_stamp['gnss_velocity'] = t
        if not (self.cfg.use_gnss and self.cfg.use_gnss_velocity):
            return False
        z, off = (float(v_east), float(v_north)), self.cfg.gnss_offset
        return self._submit(t, 'gnss velocity', lambda: self._fuse(
            t, 'gnss_velocity', lambda ekf: ekf.update_velocity(t, z, cov, off)))

    def _gnss(self, t: float, z, R) -> bool:
        off = self.cfg.gnss_offset
        ok = self._fuse(t, 'gnss', lambda ekf: ekf.update_gnss(t, z, R, off))
        if ok:
            self._rejected_gnss = 0
            return True
        self._rejected_gnss += 1
        if self._rejected_gnss >= self.cfg.max_rejected_gnss and self.status.last_stamp.get(
                'map_pose', -math.inf) < t - 5.0:
            # GNSS has disagreed for a while and the map is not vouching for the estimate:
            # widen the position uncertainty to the disagreement and let GNSS pull it back
            miss = np.asarray(z) - self.ekf.x[:2]
            self.ekf.widen_position(float(miss @ miss), 0.1)
            self._history.clear()
            self._rejected_gnss = 0
            self.status.reject('gnss: persistent disagreement, covariance widened')
        return False

    def on_scan(self, t: float, ranges, angles) -> bool:
        if self.pf is None:
            return False
        ranges = np.asarray(ranges, dtype=float)
        if ranges.size == 0:
            self.status.reject('scan: empty')
            return False
        self.status.last_stamp['scan'] = t
        if not self.status.initialized:
            return False
        return self._submit(t, 'scan', lambda: self._scan(t, ranges, angles))

    def _scan(self, t: float, ranges: np.ndarray, angles) -> bool:
        odom = self._odom_at(t)
        if odom is None:
            self.status.reject('scan: no odometry at its stamp')
            return False
        if self._pf_odom is not None:
            delta = se2_compose(se2_inverse(self._pf_odom), odom)
            if math.hypot(delta[0], delta[1]) < self.cfg.pf_min_travel and \
                    abs(delta[2]) < self.cfg.pf_min_rotation and not self.status.lost:
                return False
            self.pf.predict(delta)
        self._pf_odom = odom
        r, a = ParticleFilter.select_beams(ranges, angles, self.cfg.pf.max_beams,
                                           self.cfg.lidar_range_max)
        if len(r) < 10:
            self.status.reject('scan: fewer than 10 usable beams')
            return False
        self.pf.update(r, a, self.cfg.laser_pose)
        mean, cov = self.pf.estimate()
        spread = math.sqrt(max(cov[0, 0] + cov[1, 1], 0.0))
        self.status.pf_stddev = spread
        if spread > self.cfg.converged_stddev:
            self.status.lost = True
            return False
        # more beams for the refinement than for the particles: better conditioning
        r_all, a_all = ParticleFilter.select_beams(ranges, angles, self.cfg.refine_max_beams,
                                                   self.cfg.lidar_range_max)
        pose, pose_cov, rms, inliers = self.pf.refine(mean, r_all, a_all, self.cfg.laser_pose)
        self.status.scan_match_rms = rms
        if rms > self.cfg.map_pose_max_rms or inliers < self.cfg.map_pose_min_inliers:
            self.status.reject('scan: poor map match')
            self._poor_matches += 1
            if self._poor_matches >= self.cfg.max_poor_matches:
                # the particles sit where the scan does not fit the map (a wrong initial
                # pose, or a kidnap the likelihood ratio missed): search again
                self.status.lost = True
                self.pf.initialize_poses(self._recovery_poses(self.cfg.pf.max_particles))
                self._poor_matches = 0
                self.status.reject('scan: map not matched, particle filter re-seeded')
            return False
        self._poor_matches = 0
        floor = np.diag([self.cfg.map_pose_min_stddev ** 2] * 2 +
                        [(self.cfg.map_pose_min_stddev / 2) ** 2])
        R = pose_cov * self.cfg.map_pose_inflation + floor
        ok = self._fuse(t, 'map_pose', lambda ekf: ekf.update_pose(t, pose, R))
        if ok:
            self.status.last_stamp['map_pose'] = t
            self._rejected_map_poses = 0
            self.status.lost = self.pf.lost
            return True
        self._rejected_map_poses += 1
        if self._rejected_map_poses >= self.cfg.max_rejected_map_poses:
            refusal = None
            if not self._consistent_with_gnss(t, pose):
                # a place that looks like the map but not where the receiver is
                refusal = 'scan: re-localization refused, GNSS disagrees'
            elif self._explains_scan(self.ekf.x[:3], r_all, a_all):
                # the estimate still explains the scan as well: the particles drifted along
                # a look-alike (a straight walkway), the robot was not moved
                refusal = 'scan: re-localization refused, the estimate still fits the map'
            if refusal is not None:
                self.pf.initialize_gaussian(self.ekf.x[:3], self.ekf.P[:3, :3] * 4.0 + np.diag(
                    [0.04, 0.04, 0.003]))
                self._rejected_map_poses = 0
                self.status.reject(refusal)
                return False
            # the map keeps agreeing with itself and not with the EKF: trust the map
            self.ekf.reset_pose(pose, R)
            self._history.clear()
            self._rejected_map_poses = 0
            self.status.relocalizations += 1
            self.status.lost = False
        else:
            self.status.lost = True
        return False

    def _explains_scan(self, pose, ranges, angles) -> bool:
        """Whether scan matching started at `pose` fits the map well and stays near it."""
        refined, _, rms, inliers = self.pf.refine(np.asarray(pose, dtype=float), ranges, angles,
                                                  self.cfg.laser_pose)
        return (rms <= self.cfg.map_pose_max_rms and inliers >= self.cfg.map_pose_min_inliers
                and math.hypot(refined[0] - pose[0], refined[1] - pose[1]) < 0.5
                and abs(float(wrap_angle(refined[2] - pose[2]))) < 0.1)

    def _consistent_with_gnss(self, t: float, pose) -> bool:
        """Whether a re-localization candidate agrees with a recent GNSS fix (within the
        fix's own error at the gate probability); True when there is no recent fix."""
        fix = self._last_fix
        if fix is None or not self.cfg.use_gnss or t - fix[0] > 5.0:
            return True
        _, e, n, sd = fix
        ox, oy = self.cfg.gnss_offset
        c, s = math.cos(pose[2]), math.sin(pose[2])
        miss = np.array([e - (pose[0] + c * ox - s * oy), n - (pose[1] + s * ox + c * oy)])
        variance = sd * sd + self.cfg.ekf.gnss_white_stddev ** 2
        return float(miss @ miss) / variance <= self.ekf.gate_threshold(2)

    # ------------------------------------------------------------------ outputs
    def state_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """State and covariance at t, the filter itself unchanged.

        Normally t is the newest odometry stamp and the filter is there or behind (it is
        predicted forward). When measurements ran ahead of late odometry, the filter is
        past t: the state is taken from the history snapshot just before t and predicted to
        it, so an output stamped t describes the robot at t."""
        ekf = self.ekf
        saved = ekf.x.copy(), ekf.P.copy(), ekf.t
        if t < ekf.t:
            later = [h for h in self._history if h[0] > t and h[3] is not None]
            if later and later[0][3][2] <= t:
                ekf.x, ekf.P, ekf.t = later[0][3][0].copy(), later[0][3][1].copy(), later[0][3][2]
            else:
                # older than every snapshot: step back along the current velocities
                dt = t - ekf.t
                x = ekf.x.copy()
                mid = x[2] + 0.5 * x[4] * dt
                x[0] += x[3] * math.cos(mid) * dt
                x[1] += x[3] * math.sin(mid) * dt
                x[2] = wrap_angle(x[2] + x[4] * dt)
                ekf.x, ekf.t = x, t
        ekf.predict(t)
        x, P = ekf.x.copy(), ekf.P.copy()
        ekf.x, ekf.P, ekf.t = saved
        return x, P

    def pose_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Pose and covariance at t (see `state_at`); the covariance includes the map's own
        error while lidar-localized."""
        x, P = self.state_at(t)
        pose, cov = x[:3], P[:3, :3]
        last_map = self.status.last_stamp.get('map_pose')
        if last_map is not None and t - last_map < 1.0:
            c = self.cfg
            cov = cov + np.diag([c.map_error_stddev ** 2] * 2 + [c.map_error_yaw_stddev ** 2])
        return pose, cov

    def map_to_odom(self, fused_odometry: bool = False) -> np.ndarray | None:
        """map -> odom as (x, y, yaw), from the newest odometry pose and the estimate then.

        With `fused_odometry` the odom frame is the one of `local_odometry` (when this node
        publishes odom -> base_link itself), otherwise the wheel odometry's."""
        if not self._odom or not self.ekf.initialized:
            return None
        if fused_odometry:
            if self.local_odometry is None:
                return None
            t, *odom = self.local_odometry
        else:
            t, *odom = self._odom[-1]
        pose, _ = self.pose_at(t)
        return se2_compose(pose, se2_inverse(np.array(odom)))
