"""Multi-object tracker: interacting-multiple-model (IMM) Kalman filter per track, global
nearest neighbour assignment, track life cycle and a class guess. Vectorized over tracks.

- State per track: x, y, vx, vy in the world frame. Two constant-velocity models share it
  (Blom & Bar-Shalom's IMM): a steady one with little white acceleration
  (`accel_stddev`, walking straight on) and a manoeuvring one with a lot
  (`maneuver_accel_stddev`: stopping, turning round). The filter mixes them by how well
  each predicted the recent detections, so a walker's velocity is smooth on a straight
  line and still follows a stop or a turn within a few scans. Switching between the
  modes is a Markov chain with rates `maneuver_rate` (into) and `maneuver_end_rate` (out).
- Association: Mahalanobis distance of every detection to every track's predicted
  position (innovation covariance incl. the detection's own noise), gated at the
  chi-square quantile `gate_probability`, assigned optimally with
  scipy.optimize.linear_sum_assignment.
- Life cycle: a new track is tentative until `confirm_hits` updates within
  `confirm_window` seconds; a tentative track that misses is dropped at once; a confirmed
  one coasts for `max_coast_time` without updates, then dies. Ids count up and are never
  reused.
- Class: votes from size and motion (moving and person-sized: pedestrian; faster than
  `cyclist_min_speed`: cyclist; still for long and large: static; otherwise unknown); the
  class is the vote leader, its probability the leader's share of the (decaying) votes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

CLASS_UNKNOWN, CLASS_STATIC, CLASS_PEDESTRIAN, CLASS_CYCLIST = 0, 1, 2, 3
N_CLASSES = 4
_COST_FORBIDDEN = 1e9


@dataclass(frozen=True)
class TrackerConfig:
    accel_stddev: float = 1.0           # m/s^2, white acceleration, steady model
    maneuver_accel_stddev: float = 5.0  # m/s^2, ... manoeuvring model
    maneuver_rate: float = 0.2          # 1/s, steady -> manoeuvring
    maneuver_end_rate: float = 2.0      # 1/s, manoeuvring -> steady
    measurement_stddev: float = 0.05    # m, detection centre noise floor
    measurement_stddev_per_width: float = 0.1   # m of noise per m of cluster width
    partial_view_width: float = 0.6     # m: a partly hidden detection's centre is
                                        # uncertain by half of what it misses of this
    initial_speed_stddev: float = 1.5   # m/s, velocity uncertainty of a new track
    gate_probability: float = 0.999     # chi-square gate of the association
    max_gate_distance: float = 2.0      # m, never associate farther than this
    confirm_hits: int = 3               # updates before a track is confirmed
    confirm_window: float = 0.5         # s, ... within this time of its birth
    max_coast_time: float = 2.0         # s without updates before a confirmed track dies
    moving_speed: float = 0.3           # m/s, a track faster than this moves
    cyclist_min_speed: float = 2.5      # m/s
    pedestrian_max_width: float = 1.2   # m
    static_min_width: float = 1.0       # m, a still object at least this wide votes static
    vote_decay: float = 0.95            # per update: old class evidence fades


@dataclass
class Detection:
    """What the tracker is given per scan (world frame)."""
    xy: np.ndarray        # (m, 2) object centres
    width: np.ndarray     # (m,) m
    depth: np.ndarray     # (m,) m
    partial: np.ndarray | None = None   # (m,) bool: partly hidden behind something nearer


@dataclass
class TrackSet:
    """Confirmed tracks as plain arrays (what the node publishes)."""
    ids: np.ndarray            # (k,) int
    xy: np.ndarray             # (k, 2)
    velocity: np.ndarray       # (k, 2)
    cov: np.ndarray            # (k, 4, 4) x, y, vx, vy
    size: np.ndarray           # (k, 2) width, depth (smoothed)
    classification: np.ndarray  # (k,) CLASS_*
    class_probability: np.ndarray  # (k,)
    age: np.ndarray            # (k,) s since birth
    time_since_update: np.ndarray  # (k,) s


N_MODELS = 2          # steady, manoeuvring


@dataclass
class _Tracks:
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODELS, 4)))
    P: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODELS, 4, 4)))
    mu: np.ndarray = field(default_factory=lambda: np.zeros((0, N_MODELS)))
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    born: np.ndarray = field(default_factory=lambda: np.zeros(0))
    updated: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    confirmed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    size: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    votes: np.ndarray = field(default_factory=lambda: np.zeros((0, N_CLASSES)))

    def __len__(self):
        return len(self.ids)

    def take(self, index) -> _Tracks:
        return _Tracks(*(getattr(self, f)[index] for f in _FIELDS))

    def append(self, other: _Tracks) -> _Tracks:
        return _Tracks(*(np.concatenate([getattr(self, f), getattr(other, f)])
                         for f in _FIELDS))

    def combined(self) -> tuple[np.ndarray, np.ndarray]:
        """The IMM's output: mode-weighted mean (n, 4) and covariance (n, 4, 4)."""
        x = np.einsum('nm,nmi->ni', self.mu, self.x)
        d = self.x - x[:, None, :]
        P = np.einsum('nm,nmij->nij', self.mu, self.P + d[..., :, None] * d[..., None, :])
        return x, P


_FIELDS = ('x', 'P', 'mu', 'ids', 'born', 'updated', 'hits', 'confirmed', 'size', 'votes')


def _cv_predict(x: np.ndarray, P: np.ndarray, dt: float, q: np.ndarray):
    """Constant-velocity prediction of states (..., 4) and covariances (..., 4, 4) with
    white-acceleration intensities q (broadcast over the leading axes)."""
    x = x.copy()
    x[..., 0:2] += x[..., 2:4] * dt
    A, B, C, D = P[..., :2, :2], P[..., :2, 2:], P[..., 2:, :2], P[..., 2:, 2:]
    eye = np.eye(2)
    q = np.asarray(q, dtype=float)[..., None, None]
    out = np.empty_like(P)
    # F P F^T for F = [[I, dt I], [0, I]], on the 2x2 blocks, plus the process noise
    out[..., :2, :2] = A + dt * (B + C) + dt * dt * D + q * dt ** 4 / 4.0 * eye
    out[..., :2, 2:] = B + dt * D + q * dt ** 3 / 2.0 * eye
    out[..., 2:, :2] = C + dt * D + q * dt ** 3 / 2.0 * eye
    out[..., 2:, 2:] = D + q * dt * dt * eye
    return x, out


class Tracker:
    def __init__(self, cfg: TrackerConfig):
        self.cfg = cfg
        self.tracks = _Tracks()
        self.t: float | None = None
        self._next_id = 1
        self._gate = float(chi2.ppf(cfg.gate_probability, 2))
        self._q = np.array([cfg.accel_stddev ** 2, cfg.maneuver_accel_stddev ** 2])
        # per step: which detection went to which track id (evaluation and tests)
        self.last_assignment: dict[int, int] = {}

    def reset(self):
        """Forget every track (time jumped backwards); ids keep counting."""
        self.tracks = _Tracks()
        self.t = None

    # ------------------------------------------------------------------ IMM filter
    def _predict(self, t: float):
        tr = self.tracks
        if self.t is None or len(tr) == 0 or t <= self.t:
            return
        dt = t - self.t
        c = self.cfg
        p01 = 1.0 - math.exp(-c.maneuver_rate * dt)
        p10 = 1.0 - math.exp(-c.maneuver_end_rate * dt)
        trans = np.array([[1.0 - p01, p01], [p10, 1.0 - p10]])        # [from, to]
        # mixing: each model starts from the others' estimates, weighted by how likely
        # the track switched
        prior = tr.mu @ trans                                         # (n, to)
        w = tr.mu[:, :, None] * trans[None, :, :] / np.maximum(prior[:, None, :], 1e-12)
        x0 = np.einsum('nij,nik->njk', w, tr.x)                       # (n, to, 4)
        d = tr.x[:, :, None, :] - x0[:, None, :, :]                    # (n, from, to, 4)
        P0 = np.einsum('nij,nijkl->njkl', w,
                       tr.P[:, :, None, :, :] + d[..., :, None] * d[..., None, :])
        tr.x, tr.P = _cv_predict(x0, P0, dt, self._q)
        tr.mu = prior

    def _measurement_variance(self, width: np.ndarray, partial: np.ndarray) -> np.ndarray:
        """Of each detection's centre, per axis. A partly hidden one (someone walking
        between the lidar and it) shows only part of the object: its centre may be off
        by up to half of what it misses of `partial_view_width` (trip 197: a sliver
        0.14 m wide of a walker behind another put its centre 0.2 m off; the track it
        updated jumped to 1.9 m/s across the robot's way)."""
        c = self.cfg
        var = (c.measurement_stddev + c.measurement_stddev_per_width * width) ** 2
        missing = np.maximum(c.partial_view_width - width, 0.0) / 2.0
        return var + np.where(partial, missing ** 2, 0.0)

    # ------------------------------------------------------------------ one scan
    def update(self, t: float, det: Detection) -> TrackSet:
        """Predict every track to t, associate the detections, update, manage life cycle;
        returns the confirmed tracks."""
        if self.t is not None and t < self.t - 1e-9:
            self.reset()
        self._predict(t)
        self.t = t
        tr, c = self.tracks, self.cfg
        m = len(det.xy)
        partial = (np.zeros(m, dtype=bool) if det.partial is None
                   else np.asarray(det.partial, dtype=bool))
        r = self._measurement_variance(det.width, partial)     # (m,)
        assigned_t = np.zeros(0, dtype=np.int64)
        assigned_d = np.zeros(0, dtype=np.int64)
        if len(tr) and m:
            x, P = tr.combined()
            y = det.xy[None, :, :] - x[:, None, :2]               # (n, m, 2)
            S = P[:, None, :2, :2] + r[None, :, None, None] * np.eye(2)
            a, b, d = S[..., 0, 0], S[..., 0, 1], S[..., 1, 1]
            det_s = a * d - b * b
            d2 = (d * y[..., 0] ** 2 - 2 * b * y[..., 0] * y[..., 1] + a * y[..., 1] ** 2) / det_s
            dist = np.hypot(y[..., 0], y[..., 1])
            cost = d2 + np.log(det_s)                            # negative log-likelihood
            forbidden = (d2 > self._gate) | (dist > c.max_gate_distance)
            cost = np.where(forbidden, _COST_FORBIDDEN, cost)
            rows, cols = linear_sum_assignment(cost)
            ok = ~forbidden[rows, cols]
            assigned_t, assigned_d = rows[ok], cols[ok]
            self._kalman_update(assigned_t, det.xy[assigned_d], r[assigned_d])
            tr.updated[assigned_t] = t
            tr.hits[assigned_t] += 1
            # size smoothing, from what was seen whole (a partly hidden one is smaller)
            w = np.where(partial[assigned_d], 0.0, 0.2)[:, None]
            tr.size[assigned_t] = (1 - w) * tr.size[assigned_t] + w * np.column_stack(
                [det.width[assigned_d], det.depth[assigned_d]])
        self._vote(assigned_t)
        # life cycle: confirm, drop missed tentative tracks and stale confirmed ones
        tr.confirmed |= (tr.hits >= c.confirm_hits) & (tr.updated - tr.born <= c.confirm_window
                                                       + 1e-9)
        missed = tr.updated < t
        alive = np.where(tr.confirmed, t - tr.updated <= c.max_coast_time, ~missed)
        # a tentative track that never got confirmed in its window dies too
        alive &= tr.confirmed | (t - tr.born <= c.confirm_window + 1e-9)
        self.last_assignment = {int(j): int(tr.ids[i]) for i, j in zip(assigned_t, assigned_d)}
        self.tracks = tr.take(alive)
        self._birth(t, det, r, np.setdiff1d(np.arange(m), assigned_d))
        return self.confirmed_tracks()

    def _kalman_update(self, idx: np.ndarray, z: np.ndarray, r: np.ndarray):
        """Update both models of the assigned tracks; mode probabilities by likelihood."""
        if len(idx) == 0:
            return
        tr = self.tracks
        P = tr.P[idx]                                             # (k, M, 4, 4)
        R = r[:, None, None, None] * np.eye(2)                    # (k, 1, 2, 2)
        S = P[..., :2, :2] + R
        a, b, c, d = S[..., 0, 0], S[..., 0, 1], S[..., 1, 0], S[..., 1, 1]
        det_s = a * d - b * c                                     # 2x2 in closed form
        S_inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / det_s[..., None, None]
        K = P[..., :, :2] @ S_inv                                 # (k, M, 4, 2)
        innov = z[:, None, :] - tr.x[idx, :, :2]                  # (k, M, 2)
        tr.x[idx] = tr.x[idx] + np.einsum('kmij,kmj->kmi', K, innov)
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        I_KH = np.eye(4) - K @ H
        # Joseph form keeps P symmetric positive definite
        tr.P[idx] = I_KH @ P @ np.swapaxes(I_KH, -1, -2) + K @ R @ np.swapaxes(K, -1, -2)
        d2 = np.einsum('kmi,kmij,kmj->km', innov, S_inv, innov)
        like = np.exp(-0.5 * d2) / (2.0 * math.pi * np.sqrt(det_s))
        mu = tr.mu[idx] * like
        total = mu.sum(axis=1, keepdims=True)
        tr.mu[idx] = np.where(total > 1e-300, mu / np.maximum(total, 1e-300), tr.mu[idx])

    def _birth(self, t: float, det: Detection, r: np.ndarray, new: np.ndarray):
        k = len(new)
        if k == 0:
            return
        x = np.zeros((k, N_MODELS, 4))
        x[:, :, :2] = det.xy[new][:, None, :]
        P = np.zeros((k, N_MODELS, 4, 4))
        P[:, :, 0, 0] = P[:, :, 1, 1] = r[new][:, None]
        P[:, :, 2, 2] = P[:, :, 3, 3] = self.cfg.initial_speed_stddev ** 2
        mu = np.tile([0.5, 0.5], (k, 1))
        ids = np.arange(self._next_id, self._next_id + k)
        self._next_id += k
        born = np.full(k, t)
        self.tracks = self.tracks.append(_Tracks(
            x, P, mu, ids, born, born.copy(), np.ones(k, dtype=np.int64),
            np.zeros(k, dtype=bool), np.column_stack([det.width[new], det.depth[new]]),
            np.zeros((k, N_CLASSES))))
        for i, j in zip(range(len(self.tracks) - k, len(self.tracks)), new):
            self.last_assignment[int(j)] = int(self.tracks.ids[i])

    def _vote(self, idx: np.ndarray):
        """Class evidence from the updated tracks' size and speed."""
        if len(idx) == 0:
            return
        c, tr = self.cfg, self.tracks
        x, P = tr.combined()
        speed = np.hypot(x[idx, 2], x[idx, 3])
        # moving: fast enough, and significantly (twice its uncertainty)
        speed_sd = np.sqrt(np.maximum(P[idx, 2, 2] + P[idx, 3, 3], 0.0))
        width = tr.size[idx, 0]
        moving = (speed > c.moving_speed) & (speed > 2.0 * speed_sd)
        still = speed < c.moving_speed
        vote = np.full(len(idx), CLASS_UNKNOWN)
        vote[moving & (width <= c.pedestrian_max_width)] = CLASS_PEDESTRIAN
        vote[moving & (speed >= c.cyclist_min_speed)] = CLASS_CYCLIST
        vote[still & (width >= c.static_min_width)] = CLASS_STATIC
        weight = np.where(vote == CLASS_UNKNOWN, 0.3, 1.0)
        tr.votes[idx] *= c.vote_decay
        tr.votes[idx, vote] += weight

    # ------------------------------------------------------------------ output
    def confirmed_tracks(self) -> TrackSet:
        tr = self.tracks
        sel = np.flatnonzero(tr.confirmed)
        votes = tr.votes[sel]
        total = votes.sum(axis=1)
        leader = np.where(total > 0, votes.argmax(axis=1), CLASS_UNKNOWN)
        prob = np.where(total > 0, votes.max(axis=1) / np.maximum(total, 1e-12), 0.0)
        t = self.t if self.t is not None else 0.0
        x, P = tr.take(sel).combined()
        return TrackSet(tr.ids[sel].copy(), x[:, :2], x[:, 2:], P, tr.size[sel].copy(),
                        leader, prob, t - tr.born[sel], t - tr.updated[sel])
