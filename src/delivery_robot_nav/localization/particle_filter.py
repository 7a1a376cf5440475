"""Monte Carlo localization on an occupancy map, fully vectorized over particles and beams.

- Motion: the odometry motion model (rotate, translate, rotate) with noise parameters
  alpha1..alpha4 (Thrun et al., Probabilistic Robotics 5.4), as AMCL's `diff` model.
- Measurement: likelihood field (likelihood_field.py) over up to `max_beams` evenly spread
  finite beams; per-particle log-likelihoods are summed and tempered by `beam_weight`
  because neighbouring beams are not independent.
- Resampling: low-variance, when the effective sample size falls below a fraction of the
  particle count; the count adapts by KLD-sampling (Fox 2003) between min and max.
- Recovery: augmented MCL (short- and long-term likelihood averages, Probabilistic
  Robotics 8.3.5) injects particles drawn over free space when the scan stops explaining
  the map — the kidnapped-robot case — and `lost` reports it.
- Refinement: the weighted mean is polished by Gauss-Newton scan matching on the distance
  field (robust Cauchy weights), which removes the particle-sampling granularity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from delivery_robot_nav.common.geometry import wrap_angle
from delivery_robot_nav.localization.likelihood_field import LikelihoodField


@dataclass(frozen=True)
class PfConfig:
    min_particles: int = 250
    max_particles: int = 4000
    alpha1: float = 0.05        # rotation noise from rotation
    alpha2: float = 0.02        # rotation noise from translation (rad/m)
    alpha3: float = 0.05        # translation noise from translation
    alpha4: float = 0.02        # translation noise from rotation (m/rad)
    max_beams: int = 90
    beam_weight: float = 0.3    # tempering of summed beam log-likelihoods
    resample_threshold: float = 0.5   # resample when N_eff < threshold * N
    kld_error: float = 0.05
    kld_z: float = 2.326        # upper 1 % quantile of the standard normal
    kld_bin_xy: float = 0.5     # m
    kld_bin_yaw: float = math.radians(10.0)
    alpha_slow: float = 0.001
    alpha_fast: float = 0.1
    lost_ratio: float = 0.5     # lost when w_fast < lost_ratio * w_slow
    refine_iterations: int = 8
    refine_scale: float = 0.1   # m, Cauchy scale: farther endpoints count less
    # per-endpoint error of the map itself (0.1 m cells: 0.029 m) and the lidar (0.015 m),
    # the least residual spread the match's covariance assumes: a perfect-looking fit on
    # few features is not a perfect pose
    refine_min_point_stddev: float = 0.05


class ParticleFilter:
    def __init__(self, field: LikelihoodField, cfg: PfConfig, rng: np.random.Generator):
        self.field, self.cfg, self.rng = field, cfg, rng
        self.particles = np.zeros((0, 3))
        self.log_w = np.zeros(0)
        self.w_slow = self.w_fast = 0.0
        self.lost = False
        self.updates = 0
        # where recovery particles come from: free space, unless told better (e.g. GNSS)
        self.injection_sampler = self.sample_free_poses
        self._estimate = None

    def sample_free_poses(self, n: int) -> np.ndarray:
        xy = self.field.sample_free(n, self.rng)
        return np.column_stack([xy, self.rng.uniform(-math.pi, math.pi, n)])

    @property
    def initialized(self) -> bool:
        return len(self.particles) > 0

    # ------------------------------------------------------------------ initialization
    def initialize_gaussian(self, pose, cov, n: int | None = None):
        n = n or self.cfg.max_particles
        cov = np.asarray(cov, dtype=float)
        self.particles = self.rng.multivariate_normal(np.asarray(pose, dtype=float), cov, n)
        self.particles[:, 2] = wrap_angle(self.particles[:, 2])
        self.log_w = np.full(n, -math.log(n))
        self.w_slow = self.w_fast = 0.0
        self.lost = False
        self._estimate = None

    def initialize_poses(self, poses: np.ndarray):
        """Particles at the given poses (n, 3), equal weights; recovery statistics kept."""
        self.particles = np.asarray(poses, dtype=float).copy()
        n = len(self.particles)
        self.log_w = np.full(n, -math.log(n))
        self._estimate = None

    def initialize_global(self, n: int | None = None):
        """Particles spread uniformly over free space, any heading."""
        n = n or self.cfg.max_particles
        xy = self.field.sample_free(n, self.rng)
        yaw = self.rng.uniform(-math.pi, math.pi, n)
        self.particles = np.column_stack([xy, yaw])
        self.log_w = np.full(n, -math.log(n))
        self.w_slow = self.w_fast = 0.0
        self._estimate = None

    # ------------------------------------------------------------------ motion
    def predict(self, delta):
        """Move every particle by an odometry increment (dx, dy, dyaw) expressed in the
        frame of the previous odometry pose, with the odometry motion model's noise."""
        dx, dy, dth = (float(v) for v in delta)
        c = self.cfg
        n = len(self.particles)
        trans = math.hypot(dx, dy)
        rot1 = math.atan2(dy, dx) if trans > 0.01 else 0.0
        backwards = abs(rot1) > math.pi / 2
        rot1_noise_base = min(abs(rot1), abs(math.pi - abs(rot1))) if backwards else abs(rot1)
        rot2 = float(wrap_angle(dth - rot1))
        rot2_noise_base = min(abs(rot2), abs(math.pi - abs(rot2))) if backwards else abs(rot2)
        sd_rot1 = math.sqrt(c.alpha1 * rot1_noise_base ** 2 + c.alpha2 * trans ** 2)
        sd_trans = math.sqrt(c.alpha3 * trans ** 2 + c.alpha4 * (rot1_noise_base ** 2 +
                                                                 rot2_noise_base ** 2))
        sd_rot2 = math.sqrt(c.alpha1 * rot2_noise_base ** 2 + c.alpha2 * trans ** 2)
        noise = self.rng.standard_normal((n, 3))
        r1 = rot1 + sd_rot1 * noise[:, 0]
        tr = trans + sd_trans * noise[:, 1]
        r2 = rot2 + sd_rot2 * noise[:, 2]
        self._estimate = None
        heading = self.particles[:, 2] + r1
        self.particles[:, 0] += tr * np.cos(heading)
        self.particles[:, 1] += tr * np.sin(heading)
        self.particles[:, 2] = wrap_angle(heading + r2)

    # ------------------------------------------------------------------ measurement
    @staticmethod
    def select_beams(ranges, angles, max_beams: int, range_max: float):
        """Up to max_beams evenly spread beams with a finite range within range_max."""
        ranges = np.asarray(ranges, dtype=float)
        valid = np.isfinite(ranges) & (ranges > 0.0) & (ranges < range_max)
        idx = np.flatnonzero(valid)
        if len(idx) > max_beams:
            idx = idx[np.linspace(0, len(idx) - 1, max_beams).astype(int)]
        return ranges[idx], np.asarray(angles, dtype=float)[idx]

    def endpoints(self, poses: np.ndarray, ranges, angles, laser=(0.0, 0.0, 0.0)):
        """World endpoints (n, k) of beams from each pose (n, 3).

        cos/sin of (particle heading + beam angle) by the angle-sum identities: two outer
        products instead of n * k trigonometric calls.
        """
        lx, ly, lth = laser
        c, s = np.cos(poses[:, 2]), np.sin(poses[:, 2])
        ox = poses[:, 0] + c * lx - s * ly
        oy = poses[:, 1] + s * lx + c * ly
        beam = lth + np.asarray(angles, dtype=float)
        rc, rs = ranges * np.cos(beam), ranges * np.sin(beam)   # beam vectors, laser frame
        ex = ox[:, None] + c[:, None] * rc[None, :] - s[:, None] * rs[None, :]
        ey = oy[:, None] + s[:, None] * rc[None, :] + c[:, None] * rs[None, :]
        return ex, ey

    def update(self, ranges, angles, laser=(0.0, 0.0, 0.0)) -> bool:
        """Weight particles by a scan (beams already selected). False if nothing usable."""
        ranges = np.asarray(ranges, dtype=float)
        if len(ranges) == 0 or not self.initialized:
            return False
        ex, ey = self.endpoints(self.particles, ranges, np.asarray(angles, dtype=float), laser)
        per_beam = self.field.log_likelihood(ex, ey).astype(float)
        ll = per_beam.sum(axis=1)
        self.log_w = self.log_w + self.cfg.beam_weight * ll
        self.log_w -= self.log_w.max()
        w = np.exp(self.log_w)
        w /= w.sum()
        self.log_w = np.log(np.maximum(w, 1e-300))
        # augmented MCL: geometric-mean beam likelihood under the prior weights
        avg = float(np.exp(per_beam.mean(axis=1)) @ w)
        c = self.cfg
        self.w_slow = avg if self.updates == 0 else self.w_slow + c.alpha_slow * (avg - self.w_slow)
        self.w_fast = avg if self.updates == 0 else self.w_fast + c.alpha_fast * (avg - self.w_fast)
        self.updates += 1
        self.lost = self.updates > 10 and self.w_fast < c.lost_ratio * self.w_slow
        # the estimate is the posterior before resampling: recovery particles injected by
        # the resampler carry no evidence yet and must not widen it
        self._estimate = self._weighted_estimate(w)
        if 1.0 / float(w @ w) < c.resample_threshold * len(w):
            self.resample()
        return True

    # ------------------------------------------------------------------ resampling
    def _kld_count(self, candidates: np.ndarray) -> int:
        c = self.cfg
        bx = np.floor(candidates[:, 0] / c.kld_bin_xy).astype(np.int64) + (1 << 20)
        by = np.floor(candidates[:, 1] / c.kld_bin_xy).astype(np.int64) + (1 << 20)
        bt = np.floor((candidates[:, 2] + math.pi) / c.kld_bin_yaw).astype(np.int64)
        _, first = np.unique((bx << 42) | (by << 21) | bt, return_index=True)
        is_first = np.zeros(len(candidates), dtype=bool)
        is_first[first] = True
        k = np.cumsum(is_first)                   # bins occupied by the first i+1 particles
        km1 = np.maximum(k - 1, 1)
        a = 2.0 / (9.0 * km1)
        needed = km1 / (2.0 * c.kld_error) * (1.0 - a + np.sqrt(a) * c.kld_z) ** 3
        enough = np.flatnonzero(np.arange(1, len(candidates) + 1) >= needed)
        n = int(enough[0]) + 1 if len(enough) else len(candidates)
        return int(np.clip(n, c.min_particles, c.max_particles))

    def resample(self):
        c = self.cfg
        w = np.exp(self.log_w)
        w /= w.sum()
        m = c.max_particles
        positions = (self.rng.random() + np.arange(m)) / m       # low-variance sampler
        idx = np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)
        candidates = self.particles[self.rng.permutation(idx)]
        n = self._kld_count(candidates)
        new = candidates[:n].copy()
        # augmented MCL: inject random particles when short-term fit falls below long-term
        inject = max(0.0, 1.0 - self.w_fast / self.w_slow) if self.w_slow > 0 else 0.0
        n_random = int(self.rng.binomial(n, min(inject, 0.5)))
        if n_random:
            new[:n_random] = self.injection_sampler(n_random)
        self.particles = new
        self.log_w = np.full(n, -math.log(n))

    # ------------------------------------------------------------------ estimate
    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean (circular for yaw) and covariance of the posterior at the last
        measurement update (or of the current particles when there was none since)."""
        if self._estimate is not None:
            return self._estimate
        w = np.exp(self.log_w)
        return self._weighted_estimate(w / w.sum())

    def _weighted_estimate(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.particles
        yaw = math.atan2(float(w @ np.sin(p[:, 2])), float(w @ np.cos(p[:, 2])))
        mean = np.array([float(w @ p[:, 0]), float(w @ p[:, 1]), yaw])
        d = p - mean
        d[:, 2] = wrap_angle(d[:, 2])
        cov = (d * w[:, None]).T @ d
        return mean, cov

    def refine(self, pose, ranges, angles, laser=(0.0, 0.0, 0.0)):
        """Gauss-Newton scan matching of one pose on the distance field.

        Returns (pose, covariance, rms distance of inliers) — the covariance from the
        inverse information matrix scaled by the residual variance.
        """
        c = self.cfg
        x = np.asarray(pose, dtype=float).copy()
        lx, ly, lth = laser
        ranges = np.asarray(ranges, dtype=float)
        angles = np.asarray(angles, dtype=float)
        # beam endpoints in the base frame
        px = lx + ranges * np.cos(lth + angles)
        py = ly + ranges * np.sin(lth + angles)
        H = np.eye(3)
        weights = d = np.zeros(0)
        for _ in range(c.refine_iterations):
            cy, sy = math.cos(x[2]), math.sin(x[2])
            wx = x[0] + cy * px - sy * py
            wy = x[1] + sy * px + cy * py
            d, gx, gy = self.field.distance_gradient(wx, wy)
            weights = 1.0 / (1.0 + (d / c.refine_scale) ** 2)          # Cauchy
            J = np.column_stack([gx, gy, gx * (-sy * px - cy * py) + gy * (cy * px - sy * py)])
            JW = J * weights[:, None]
            H = JW.T @ J + np.diag([1e-6, 1e-6, 1e-6])
            step = -np.linalg.solve(H, JW.T @ d)
            x += step
            x[2] = float(wrap_angle(x[2]))
            if np.hypot(step[0], step[1]) < 1e-4 and abs(step[2]) < 1e-4:
                break
        inliers = weights > 0.5
        sigma2 = max(float(np.sum(weights * d ** 2) / max(weights.sum() - 3.0, 1.0)),
                     c.refine_min_point_stddev ** 2)
        rms = float(np.sqrt(np.mean(d[inliers] ** 2))) if inliers.any() else math.inf
        try:
            cov = np.linalg.inv(H) * max(sigma2, 1e-6)
        except np.linalg.LinAlgError:
            cov = np.eye(3)
        return x, cov, rms, float(inliers.mean()) if len(d) else 0.0
