"""Localization building blocks without ROS: EKF, likelihood field, particle filter, fusion."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_robot_nav.common.maps import OCCUPIED, OccupancyMap
from delivery_robot_nav.localization.ekf import EkfConfig, EkfError, PlanarEkf
from delivery_robot_nav.localization.estimator import Localizer, LocalizerConfig
from delivery_robot_nav.localization.likelihood_field import FieldConfig, LikelihoodField
from delivery_robot_nav.localization.particle_filter import ParticleFilter, PfConfig


def room_map(res=0.05) -> OccupancyMap:
    """A 20 m x 12 m room with walls and a few pillars: no symmetry."""
    h, w = int(12 / res), int(20 / res)
    grid = np.zeros((h, w), dtype=np.int8)
    grid[:2, :] = grid[-2:, :] = grid[:, :2] = grid[:, -2:] = OCCUPIED
    for (x, y, r) in [(4.0, 3.0, 0.3), (13.0, 8.5, 0.5), (16.0, 3.5, 0.2), (7.5, 9.0, 0.4)]:
        rows, cols = np.mgrid[:h, :w]
        grid[np.hypot((cols + 0.5) * res - x, (rows + 0.5) * res - y) <= r] = OCCUPIED
    grid[int(5 / res):int(7 / res), int(9 / res):int(10 / res)] = OCCUPIED   # a box
    return OccupancyMap(grid, res, (0.0, 0.0))


def cast(occ: OccupancyMap, pose, n=360, max_range=15.0, noise=0.0, rng=None):
    """Ray-march a scan in an occupancy map (test oracle, 1 cm steps)."""
    angles = np.linspace(-math.pi, math.pi, n, endpoint=False)
    steps = np.arange(0.05, max_range, 0.01)
    xs = pose[0] + np.cos(pose[2] + angles)[:, None] * steps[None, :]
    ys = pose[1] + np.sin(pose[2] + angles)[:, None] * steps[None, :]
    hit = occ.occupied_at(xs, ys)
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    ranges = np.where(first >= 0, steps[np.maximum(first, 0)], np.inf)
    if noise:
        ranges = ranges + rng.normal(0, noise, n)
    return ranges, angles


# ------------------------------------------------------------------ EKF

def test_ekf_fuses_twist_and_converges_on_positions():
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.diag([4.0, 4.0, 0.01]))
    rng = np.random.default_rng(0)
    for k in range(1, 501):
        t = k * 0.02
        ekf.update_twist(t, 1.0, 0.0, 1e-4, 1e-4)
        if k % 10 == 0:
            ekf.update_position(t, (t * 1.0 + 3.0 + rng.normal(0, 0.3), rng.normal(0, 0.3)),
                                np.eye(2) * 0.09)
    # the initial 3 m offset (inside the 2 m initial sigma's gate) has been absorbed
    assert ekf.x[0] == pytest.approx(10.0 + 3.0, abs=0.3)
    assert ekf.x[3] == pytest.approx(1.0, abs=0.05)


def test_ekf_gate_rejects_a_multipath_jump_and_counts_it():
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.diag([0.01, 0.01, 0.001]), gnss_error_stddev=1.0)
    assert not ekf.update_gnss(0.1, (25.0, 0.0), np.eye(2))
    assert ekf.counters.rejected_gate == {'gnss': 1}
    assert abs(ekf.x[0]) < 0.1


def test_ekf_rejects_non_finite_measurements():
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.eye(3))
    assert not ekf.update_gnss(0.1, (math.nan, 0.0), np.eye(2))
    assert not ekf.update_twist(0.2, 1.0, 0.0, math.inf, 1.0)
    assert ekf.counters.rejected_invalid == {'gnss': 1, 'twist': 1}
    assert np.all(np.isfinite(ekf.x)) and np.all(np.isfinite(ekf.P))
    with pytest.raises(EkfError):
        ekf.initialize(0.0, (math.nan, 0, 0), np.eye(3))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['twist', 'rate', 'pos', 'gnss', 'pose']),
                          st.floats(-50, 50), st.floats(-50, 50), st.floats(1e-4, 100.0)),
                min_size=1, max_size=40))
def test_ekf_stays_finite_and_covariance_stays_symmetric_psd(ops):
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.eye(3))
    t = 0.0
    for kind, a, b, var in ops:
        t += 0.05
        if kind == 'twist':
            ekf.update_twist(t, a, b / 10, var, var)
        elif kind == 'rate':
            ekf.update_yaw_rate(t, b / 10, var)
        elif kind == 'pos':
            ekf.update_position(t, (a, b), np.eye(2) * var, offset=(-0.2, 0.0))
        elif kind == 'gnss':
            ekf.update_gnss(t, (a, b), np.eye(2) * var, offset=(-0.2, 0.0))
        else:
            ekf.update_pose(t, (a, b, b / 20), np.eye(3) * var)
        assert np.all(np.isfinite(ekf.x)) and np.all(np.isfinite(ekf.P))
        assert np.allclose(ekf.P, ekf.P.T, atol=1e-9)
        assert np.linalg.eigvalsh(ekf.P).min() > -1e-9
        assert -math.pi <= ekf.x[2] < math.pi


def test_ekf_learns_the_gnss_error_while_poses_pin_it_and_is_not_dragged_after():
    """A receiver 2 m east and 1 m south of the truth, while map poses hold the position:
    the error state learns the offset; with the map gone, the fixes keep telling the
    same (known) lie and the position stays where it was."""
    ekf = PlanarEkf(EkfConfig(gnss_correlation_time=300.0))
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.diag([0.01, 0.01, 0.001]), gnss_error_stddev=3.0)
    rng = np.random.default_rng(3)
    bias = np.array([2.0, -1.0])
    for k in range(1, 3001):                       # 60 s at 50 Hz, 1 m/s east
        t = k * 0.02
        ekf.update_twist(t, 1.0, 0.0, 1e-4, 1e-4)
        truth = np.array([t, 0.0])
        if k % 5 == 0 and t < 40.0:
            ekf.update_pose(t, (*truth, 0.0), np.diag([1e-4, 1e-4, 1e-5]))
        if k % 10 == 0:
            ekf.update_gnss(t, truth + bias + rng.normal(0, 0.2, 2), np.eye(2) * 9.0)
        if t == pytest.approx(40.0):
            assert ekf.x[6:8] == pytest.approx(bias, abs=0.15)
    assert np.hypot(*(ekf.x[:2] - (60.0, 0.0))) < 0.4


def _drive_with_correlated_gnss(as_white_noise: bool):
    """600 s east at 1 m/s with exact odometry; fixes with a Gauss-Markov error (2 m per
    axis, 30 s). Returns (fraction of errors inside 2 sigma, rms error, rms fix error)."""
    rng = np.random.default_rng(7)
    ekf = PlanarEkf(EkfConfig(gnss_correlation_time=30.0))
    ekf.initialize(0.0, (0.0, 0.0, 0.0), np.diag([4.0, 4.0, 0.0001]), gnss_error_stddev=2.0)
    error, inside, sq_est, sq_fix = rng.normal(0, 2.0, 2), [], [], []
    for k in range(1, 600 * 50 + 1):
        t = k * 0.02
        ekf.update_twist(t, 1.0, 0.0, 1e-4, 1e-4)
        if k % 10 == 0:
            phi = math.exp(-0.2 / 30.0)
            error = phi * error + math.sqrt(1 - phi * phi) * 2.0 * rng.standard_normal(2)
            truth = np.array([t, 0.0])
            if as_white_noise:
                ekf.update_position(t, truth + error, np.eye(2) * 4.0)
            else:
                ekf.update_gnss(t, truth + error, np.eye(2) * 4.0)
            e = ekf.x[:2] - truth
            inside.append(e @ np.linalg.solve(ekf.P[:2, :2], e) <= 4.0)
            sq_est.append(e @ e)
            sq_fix.append(error @ error)
    return (float(np.mean(inside[500:])), math.sqrt(np.mean(sq_est[500:])),
            math.sqrt(np.mean(sq_fix[500:])))


def test_correlated_gnss_errors_are_averaged_with_an_honest_covariance():
    """With the GNSS error in the state, the estimate beats the raw fixes and its covariance
    covers its error; fusing the same fixes as white noise is several times overconfident."""
    inside, rms, rms_fix = _drive_with_correlated_gnss(as_white_noise=False)
    assert inside >= 0.85
    assert rms < 0.7 * rms_fix
    white_inside, _, _ = _drive_with_correlated_gnss(as_white_noise=True)
    assert white_inside < 0.6


def _joseph_reference(x, P, H, R, z_minus_hx):
    """The textbook EKF correction, Joseph form, for comparison."""
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    I_KH = np.eye(len(x)) - K @ H
    return x + K @ z_minus_hx, I_KH @ P @ I_KH.T + K @ R @ K.T


@pytest.mark.parametrize('seed', range(5))
def test_ekf_closed_form_updates_match_the_joseph_form(seed):
    rng = np.random.default_rng(seed)
    ekf = PlanarEkf(EkfConfig(gate_probability=0.999999))
    ekf.initialize(0.0, (1.0, 2.0, 0.3), np.eye(3) * 0.2)
    A = rng.normal(size=(8, 8))
    ekf.P = A @ A.T * 0.05 + np.eye(8) * 0.01      # correlated, as after some driving
    ekf.x[3:6] = 0.8, 0.1, 0.002
    n = len(ekf.x)
    # yaw rate: measures w + b_g
    x0, P0 = ekf.x.copy(), ekf.P.copy()
    H = np.zeros((1, n))
    H[0, 4] = H[0, 5] = 1.0
    assert ekf.update_yaw_rate(0.0, 0.15, 1e-3)
    x_ref, P_ref = _joseph_reference(x0, P0, H, np.array([[1e-3]]),
                                     np.array([0.15 - x0[4] - x0[5]]))
    assert np.allclose(ekf.x, x_ref, rtol=0, atol=1e-12)
    assert np.allclose(ekf.P, P_ref, rtol=0, atol=1e-12)
    # wheel twist: measures v and w
    x0, P0 = ekf.x.copy(), ekf.P.copy()
    H = np.zeros((2, n))
    H[0, 3] = H[1, 4] = 1.0
    assert ekf.update_twist(0.0, 0.7, 0.05, 4e-4, 9e-4)
    x_ref, P_ref = _joseph_reference(x0, P0, H, np.diag([4e-4, 9e-4]),
                                     np.array([0.7 - x0[3], 0.05 - x0[4]]))
    assert np.allclose(ekf.x, x_ref, rtol=0, atol=1e-12)
    assert np.allclose(ekf.P, P_ref, rtol=0, atol=1e-12)
    # a map pose (the general path)
    x0, P0 = ekf.x.copy(), ekf.P.copy()
    H = np.zeros((3, n))
    H[0, 0] = H[1, 1] = H[2, 2] = 1.0
    R = np.diag([0.01, 0.01, 0.001])
    assert ekf.update_pose(0.0, (1.1, 1.9, 0.32), R)
    x_ref, P_ref = _joseph_reference(x0, P0, H, R, np.array([1.1, 1.9, 0.32]) - x0[:3])
    assert np.allclose(ekf.x, x_ref, rtol=0, atol=1e-12)
    assert np.allclose(ekf.P, P_ref, rtol=0, atol=1e-12)
    assert np.array_equal(ekf.P, ekf.P.T)


# ------------------------------------------------------------------ likelihood field

def test_likelihood_field_distances_and_gradient():
    occ = room_map()
    field = LikelihoodField(occ, FieldConfig())
    # 1 m from the inner face of the left wall (x = 0.1): distance 1, gradient +x
    d, gx, gy = field.distance_gradient(np.array([1.1]), np.array([6.0]))
    assert d[0] == pytest.approx(1.0, abs=0.03)
    assert gx[0] == pytest.approx(1.0, abs=0.05) and abs(gy[0]) < 0.05
    on_wall = field.log_likelihood(np.array([0.05]), np.array([6.0]))
    far = field.log_likelihood(np.array([10.0]), np.array([10.5]))
    outside = field.log_likelihood(np.array([-50.0]), np.array([6.0]))
    assert on_wall[0] > far[0] and outside[0] == pytest.approx(math.log(0.1))


def test_likelihood_field_lookup_is_the_same_for_a_point_alone_or_among_outside_ones():
    field = LikelihoodField(room_map(), FieldConfig())
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(0.5, 11.0, 50), rng.uniform(0.5, 11.0, 50)
    inside = field.distance_gradient(xs, ys)          # every point in the map
    xs_mixed, ys_mixed = np.append(xs, [-40.0, 5.0]), np.append(ys, [5.0, 80.0])
    mixed = field.distance_gradient(xs_mixed, ys_mixed)
    for a, b in zip(inside, mixed):
        assert np.array_equal(a, b[:50])
    d, gx, gy = (m[50:] for m in mixed)
    assert np.all(d == FieldConfig().max_distance) and not gx.any() and not gy.any()
    # bilinear between cell centres: halfway between two centres is their mean
    h, w = field.shape
    i, j = 40, 55
    x = field.origin[0] + (j + 1.0) * field.resolution     # between columns j and j + 1
    y = field.origin[1] + (i + 0.5) * field.resolution     # on row i's centre
    d_mid = field.distance_gradient(np.array([x]), np.array([y]))[0][0]
    assert d_mid == pytest.approx(0.5 * (field.distance[i, j] + field.distance[i, j + 1]))


# ------------------------------------------------------------------ particle filter

def test_particle_filter_converges_and_refines_to_centimetres():
    rng = np.random.default_rng(1)
    occ = room_map()
    pf = ParticleFilter(LikelihoodField(occ, FieldConfig()), PfConfig(), rng)
    truth = np.array([6.0, 5.0, 0.4])
    pf.initialize_gaussian(truth + [0.4, -0.3, 0.1], np.diag([0.25, 0.25, 0.04]), 2000)
    for _ in range(8):
        pf.predict((0.0, 0.0, 0.0))
        r, a = ParticleFilter.select_beams(*cast(occ, truth, noise=0.01, rng=rng), 90, 15.0)
        pf.update(r, a)
    mean, cov = pf.estimate()
    assert np.hypot(*(mean[:2] - truth[:2])) < 0.15
    r, a = ParticleFilter.select_beams(*cast(occ, truth, noise=0.01, rng=rng), 360, 15.0)
    refined, rcov, rms, inliers = pf.refine(mean, r, a)
    assert np.hypot(*(refined[:2] - truth[:2])) < 0.03
    assert abs(refined[2] - truth[2]) < 0.01 and inliers > 0.9
    assert len(pf.particles) < 2000                           # KLD shrank the set


def test_particle_filter_global_localization_in_an_asymmetric_room():
    rng = np.random.default_rng(2)
    occ = room_map(0.1)
    pf = ParticleFilter(LikelihoodField(occ, FieldConfig()), PfConfig(max_particles=8000), rng)
    pf.initialize_global()
    truth = np.array([11.0, 4.0, -2.0])
    for _ in range(15):
        pf.predict((0.0, 0.0, 0.0))
        pf.update(*ParticleFilter.select_beams(*cast(occ, truth, noise=0.01, rng=rng), 90, 15.0))
    mean, _ = pf.estimate()
    assert np.hypot(*(mean[:2] - truth[:2])) < 0.3
    assert abs(math.remainder(mean[2] - truth[2], 2 * math.pi)) < 0.1


def test_motion_model_moves_particles_in_their_own_frame():
    pf = ParticleFilter(LikelihoodField(room_map(), FieldConfig()),
                        PfConfig(alpha1=0, alpha2=0, alpha3=0, alpha4=0), np.random.default_rng(0))
    pf.initialize_gaussian((5.0, 5.0, math.pi / 2), np.eye(3) * 1e-12, 10)
    pf.predict((1.0, 0.0, 0.5))
    assert pf.particles[:, 0] == pytest.approx(5.0, abs=1e-5)
    assert pf.particles[:, 1] == pytest.approx(6.0, abs=1e-5)
    assert pf.particles[:, 2] == pytest.approx(math.pi / 2 + 0.5, abs=1e-5)


# ------------------------------------------------------------------ fusion

def make_localizer(occ=None, **kw):
    return Localizer(LocalizerConfig(**kw), occ, np.random.default_rng(0))


def test_late_measurement_is_fused_at_its_stamp():
    """Processing a GNSS fix late (after newer odometry) equals processing it in order."""
    def feed(order):
        loc = make_localizer()
        loc.initialize(0.0, (0.0, 0.0, 0.0), (1.0, 1.0, 0.1))
        events = [('odom', k * 0.02) for k in range(1, 51)] + [('gnss', 0.5)]
        if order == 'in_order':
            events.sort(key=lambda e: e[1])
        for kind, t in events:
            if kind == 'odom':
                loc.on_odometry(t, (t, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
            else:
                loc.on_gnss(t, 0, 0.0, 0.0, 0.0, np.diag([0.25, 0.25, 1.0]), 2)
        return loc.ekf.x.copy()

    assert np.allclose(feed('late'), feed('in_order'), atol=1e-9)


def test_measurements_waiting_for_odometry_enter_when_it_arrives():
    """IMU samples stamped after the newest odometry (the usual order: the IMU's latency is
    the shorter) wait for odometry of their stamp, then are fused, none left behind."""
    loc = make_localizer()
    loc.initialize(0.0, (0.0, 0.0, 0.0))
    for k in range(1, 101):
        t = k * 0.02
        loc.on_imu(t - 0.01, 0.3, 1e-5)              # before the odometry of t
        loc.on_imu(t - 0.005, 0.3, 1e-5)
        loc.on_odometry(t, (t, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
    assert loc.ekf.counters.accepted['yaw_rate'] == 200
    assert not loc._waiting
    # the gyro says 0.3 rad/s and the wheels 0: both are heard (the gyro may carry a bias)
    assert 0.0 < loc.ekf.x[4] + loc.ekf.x[5] <= 0.3


def test_bad_inputs_are_rejected_and_counted_not_fused():
    loc = make_localizer(occ=room_map())
    loc.initialize(0.0, (6.0, 5.0, 0.0))
    before = loc.ekf.x.copy()
    assert not loc.on_gnss(0.1, -1, math.nan, math.nan, math.nan, None, 0)       # NO_FIX
    assert not loc.on_gnss(0.1, 0, math.nan, 8.0, 0.0, None, 0)                  # NaN
    assert not loc.on_gnss(0.1, 0, 0.0, 0.0, 0.0, np.full((3, 3), math.inf), 2)   # bad cov
    assert not loc.on_odometry(0.1, (math.nan, 0, 0), 0.0, 0.0, 1.0, 1.0)
    assert not loc.on_imu(0.1, math.inf, 0.01)
    assert not loc.on_scan(0.1, np.array([]), np.array([]))
    assert np.array_equal(loc.ekf.x, before)
    assert set(loc.status.rejected) == {
        'gnss: no fix', 'gnss: non-finite position', 'gnss: invalid covariance',
        'odometry: non-finite', 'imu: non-finite', 'scan: empty'}


def test_time_jumping_backwards_resets_instead_of_poisoning():
    loc = make_localizer()
    loc.initialize(10.0, (0.0, 0.0, 0.0))
    for k in range(1, 20):
        loc.on_odometry(10.0 + k * 0.02, (k * 0.02, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
    loc.on_odometry(0.5, (0.0, 0.0, 0.0), 0.0, 0.0, 1e-4, 1e-4)     # simulation reset
    assert not loc.status.initialized
    assert loc.on_odometry(0.52, (0.0, 0.0, 0.0), 0.0, 0.0, 1e-4, 1e-4) is False
    assert np.all(np.isfinite(loc.ekf.x))


def test_lockstep_localization_on_the_campus_tracks_ground_truth(repo):
    """A short drive with every sensor and its noise on (the full 10-minute numbers come
    from `delivery-nav evaluate-localization`)."""
    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.evaluation.localization_eval import evaluate
    result = evaluate('drive', 40.0, seed=3, occ=load_map(repo / 'worlds' / 'campus_map.yaml'))
    assert result['position_rmse_m'] < 0.1 and result['position_max_m'] < 0.3
    assert result['yaw_rmse_deg'] < 1.0


def test_future_stamps_are_rejected_not_fused():
    loc = make_localizer()
    loc.initialize(0.0, (0.0, 0.0, 0.0))
    loc.on_odometry(0.02, (0.02, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
    assert not loc.on_imu(500.0, 0.0, 1e-4)
    assert loc.status.rejected == {'imu: stamp in the future': 1}
    assert loc.on_odometry(0.04, (0.04, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)   # still healthy


def test_initialization_from_gnss_then_heading_from_the_map():
    rng = np.random.default_rng(5)
    occ = room_map(0.1)
    truth = np.array([12.0, 4.5, 2.5])
    loc = Localizer(LocalizerConfig(), occ, rng)
    # a fix 0.3 m off with 0.5 m stddev, at the datum (0, 0, 0): ENU == lat/lon offsets
    from delivery_robot_nav.common.geodesy import enu_to_geodetic
    lat, lon, alt = enu_to_geodetic(truth[0] + 0.3, truth[1] - 0.2, 0.0, 0.0, 0.0, 0.0)
    loc.on_gnss(0.0, 0, float(lat), float(lon), float(alt), np.diag([0.25, 0.25, 1.0]), 2)
    assert loc.initialize_from_gnss(0.0)
    for k in range(1, 60):
        t = k * 0.1
        loc.on_odometry(t, (0.0, 0.0, 0.0), 0.0, 0.0, 1e-4, 1e-4)
        loc.on_scan(t, *cast(occ, truth, noise=0.01, rng=rng))
    pose, _ = loc.pose_at(6.0)
    assert np.hypot(*(pose[:2] - truth[:2])) < 0.1
    assert abs(math.remainder(pose[2] - truth[2], 2 * math.pi)) < 0.05


def test_fused_local_odometry_is_continuous_and_consistent_with_map_to_odom():
    """publish_odom_tf: odom -> base_link from the EKF's velocities. The wheels here report a
    yaw rate 10 % too high; the gyro is right, so the fused odometry turns nearly as the robot does,
    never jumps when a GNSS fix arrives, and map -> odom composed with it is the estimate."""
    from delivery_robot_nav.common.geometry import se2_compose
    loc = make_localizer()
    loc.initialize(0.0, (0.0, 0.0, 0.0), (0.5, 0.5, 0.01))
    wheel = np.zeros(3)
    steps = []
    for k in range(1, 501):                  # 10 s, 1 m/s, 0.2 rad/s
        t = k * 0.02
        wheel = se2_compose(wheel, (0.02, 0.0, 0.02 * 0.22))
        loc.on_imu(t - 0.001, 0.2, 1e-5)
        loc.on_odometry(t, tuple(wheel), 1.0, 0.22, 1e-4, 1e-4)
        if k % 50 == 0:                       # fixes 1 m off: the map-frame pose moves
            loc.on_gnss(t, 0, 0.0, 0.0, 0.0, np.diag([1.0, 1.0, 1.0]), 2)
        steps.append(loc.local_odometry)
    local = np.array(steps)
    step_len = np.hypot(*np.diff(local[:, 1:3], axis=0).T)
    assert np.all(step_len < 0.021)                             # 1 m/s x 20 ms, no jumps
    # closer to the truth (2.0 rad) than the wheels (2.2 rad) by more than half: the rest
    # of the difference the filter cannot tell from a gyro bias within 10 s
    assert abs(local[-1, 3] - 2.0) < 0.5 * abs(wheel[2] - 2.0)
    m2o = loc.map_to_odom(fused_odometry=True)
    pose, _ = loc.pose_at(local[-1, 0])
    assert np.allclose(se2_compose(m2o, local[-1, 1:]), pose, atol=1e-9)


def test_doppler_velocity_gives_the_heading_while_moving_and_bad_ones_are_counted():
    ekf = PlanarEkf(EkfConfig())
    ekf.initialize(0.0, (0.0, 0.0, 0.3), np.diag([1.0, 1.0, 0.1]))     # truth: yaw 0
    rng = np.random.default_rng(4)
    for k in range(1, 251):                      # 5 s at 1 m/s east, a fix every 0.2 s
        t = k * 0.02
        ekf.update_twist(t, 1.0, 0.0, 1e-4, 1e-4)
        if k % 10 == 0:
            assert ekf.update_velocity(t, (1.0 + rng.normal(0, 0.05), rng.normal(0, 0.05)),
                                       np.eye(2) * 0.0025, offset=(-0.2, 0.1))
    assert abs(ekf.x[2]) < 0.03 and math.sqrt(ekf.P[2, 2]) < 0.05
    loc = make_localizer()
    loc.initialize(0.0, (0.0, 0.0, 0.0))
    assert not loc.on_gnss_velocity(0.1, math.nan, 0.0, np.eye(2) * 0.01)
    assert not loc.on_gnss_velocity(0.1, 1.0, 0.0, np.full((2, 2), math.inf))
    assert loc.status.rejected == {'gnss velocity: non-finite': 1,
                                   'gnss velocity: invalid covariance': 1}


def test_estimate_at_an_odometry_stamp_describes_that_stamp_when_other_sensors_ran_ahead():
    """Over DDS a backed-up odometry queue once left odometry 1 s behind the IMU: waiting
    measurements were flushed past it (`max_odometry_wait`), the filter ran ahead, and the
    pose published at each odometry stamp was the state 1 s later (1 m off at 1 m/s)."""
    loc = make_localizer()
    loc.initialize(0.0, (0.0, 0.0, 0.0), (0.01, 0.01, 0.01))
    for k in range(1, 101):                  # 2 s at 1 m/s east, in order
        t = k * 0.02
        loc.on_imu(t - 0.005, 0.0, 1e-5)
        loc.on_odometry(t, (t, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
    loc.now = 3.0                            # the node's clock
    for k in range(101, 151):                # IMU up to 3.0 s arrives before the odometry
        loc.on_imu(k * 0.02 - 0.005, 0.0, 1e-5)
    assert loc.ekf.t > 2.9                   # flushed: the filter is ahead of the odometry
    for k in range(101, 151):                # odometry 2.02 .. 3.0 s, late
        t = k * 0.02
        loc.on_odometry(t, (t, 0.0, 0.0), 1.0, 0.0, 1e-4, 1e-4)
        if k in (101, 120, 149):
            pose, cov = loc.pose_at(t)
            assert pose[0] == pytest.approx(t, abs=0.05), f'pose at {t} is the state at {loc.ekf.t}'
            assert np.all(np.linalg.eigvalsh(cov) > 0)
    # older than any snapshot: stepped back along the velocity
    pose, _ = loc.pose_at(0.5)
    assert pose[0] == pytest.approx(0.5, abs=0.1)
