"""Simulated sensors: geometry against known scenes, limits, and noise statistics."""
import math

import numpy as np
import pytest

from delivery_robot_nav.common.geodesy import geodetic_to_enu
from delivery_robot_nav.sim.sensors import (NAVSAT_STATUS_FIX, NAVSAT_STATUS_NO_FIX,
                                            DepthReading, GnssReading, ImuReading, ScanReading)
from simhelpers import NOISELESS, WALL, make_sim


def first(sim, kind, max_steps=200, cmd=None):
    for _ in range(max_steps):
        for r in sim.step(cmd).readings:
            if isinstance(r, kind):
                return r
    raise AssertionError(f'no {kind.__name__} within {max_steps} steps')


def test_lidar_measures_a_wall_at_a_known_distance(write_sdf):
    sim = make_sim(write_sdf(WALL.format(x=5.0)), **NOISELESS)
    scan = first(sim, ScanReading)
    laser_x = sim.robot.frame('laser_link')[0, 3]
    angles = scan.angle_min + scan.angle_increment * np.arange(len(scan.ranges))
    ahead = int(np.argmin(np.abs(angles)))
    # the wall's near face is at x = 5 - 0.1
    assert scan.ranges[ahead] == pytest.approx(4.9 - laser_x, abs=1e-4)
    # beam at 30 deg hits the same plane at (4.9 - laser_x) / cos(30 deg)
    k30 = ahead + int(round(math.radians(30) / scan.angle_increment))
    assert scan.ranges[k30] == pytest.approx((4.9 - laser_x) / math.cos(math.radians(30)), abs=1e-3)
    # nothing behind the robot: no return -> +inf (REP 117)
    assert np.isposinf(scan.ranges[0])
    assert len(scan.ranges) == 720 and scan.frame_id == 'laser_link'


def test_lidar_clips_to_its_range_limits(write_sdf):
    far = make_sim(write_sdf(WALL.format(x=40.0)), **NOISELESS)
    scan = first(far, ScanReading)
    assert np.all(np.isposinf(scan.ranges))          # beyond range_max = 30 m
    near = make_sim(write_sdf(WALL.format(x=0.5)), **NOISELESS, **{'lidar.range_min': 0.5})
    scan = first(near, ScanReading)
    ahead = len(scan.ranges) // 2
    assert np.isneginf(scan.ranges[ahead])           # closer than range_min


def test_lidar_noise_matches_configured_stddev(write_sdf):
    noisy = {k: v for k, v in NOISELESS.items() if k != 'lidar.noise_stddev'}
    sim = make_sim(write_sdf(WALL.format(x=5.0)), **noisy, **{'lidar.noise_stddev': 0.015})
    laser_x = sim.robot.frame('laser_link')[0, 3]
    errors = []
    for _ in range(200):
        scan = first(sim, ScanReading)
        angles = scan.angle_min + scan.angle_increment * np.arange(len(scan.ranges))
        front = np.abs(angles) < math.radians(20)
        errors.append(scan.ranges[front] - (4.9 - laser_x) / np.cos(angles[front]))
    errors = np.concatenate(errors)
    assert abs(errors.mean()) < 0.001
    assert errors.std() == pytest.approx(0.015, rel=0.05)


def test_imu_noise_and_bias_statistics_at_rest(write_sdf):
    sim = make_sim(write_sdf(''), seed=3)
    readings = []
    while len(readings) < 6000:
        readings += [r for r in sim.step((0.0, 0.0)).readings if isinstance(r, ImuReading)]
    gyro = np.array([r.angular_velocity for r in readings])
    accel = np.array([r.linear_acceleration for r in readings])
    cfg = sim.cfg.imu
    # white noise around the per-run bias
    assert gyro.std(axis=0) == pytest.approx([cfg.gyro_noise_stddev] * 3, rel=0.06)
    assert accel.std(axis=0) == pytest.approx([cfg.accel_noise_stddev] * 3, rel=0.06)
    assert gyro.mean(axis=0) == pytest.approx(sim.imu.gyro_bias, abs=4 * cfg.gyro_noise_stddev / 77)
    assert accel.mean(axis=0) - sim.imu.accel_bias == pytest.approx([0, 0, 9.80665], abs=1e-3)


def test_imu_bias_varies_across_runs_with_configured_spread(write_sdf):
    path = write_sdf('')
    biases = np.array([make_sim(path, seed=s).imu.gyro_bias for s in range(300)]).ravel()
    assert biases.std() == pytest.approx(0.0017, rel=0.1)


def test_gnss_error_statistics_and_honest_outage(write_sdf):
    path = write_sdf('<spherical_coordinates><latitude_deg>47.0</latitude_deg>'
                     '<longitude_deg>8.0</longitude_deg><elevation>400</elevation>'
                     '</spherical_coordinates>')
    sim = make_sim(path, seed=1, **{'gnss.correlation_time': 0.0,
                                    'gnss.outage_regions': [5.0, -2.0, 9.0, 2.0]})
    antenna = sim.robot.frame('gps_link')[:3, 3]
    errors, velocities = [], []
    while len(errors) < 3000:
        for r in sim.step((0.0, 0.0)).readings:
            if isinstance(r, GnssReading):
                assert r.status == NAVSAT_STATUS_FIX
                e, n, u = geodetic_to_enu(r.latitude, r.longitude, r.altitude, 47.0, 8.0, 400.0)
                errors.append((e - antenna[0], n - antenna[1], u - antenna[2]))
                velocities.append(r.velocity)
    errors, velocities, g = np.array(errors), np.array(velocities), sim.cfg.gnss
    assert g.horizontal_stddev == pytest.approx(2.5 / 1.1774, abs=0.01)   # 2.5 m CEP
    assert errors.std(axis=0) == pytest.approx(
        [g.horizontal_stddev, g.horizontal_stddev, g.vertical_stddev], rel=0.06)
    assert np.all(np.abs(errors.mean(axis=0)) < [0.15, 0.15, 0.3])
    # Doppler velocity of a robot at rest: zero-mean white noise of the configured spread
    assert velocities.std(axis=0) == pytest.approx([g.velocity_stddev] * 2, rel=0.06)
    assert np.all(np.abs(velocities.mean(axis=0)) < 0.005)
    # drive into the outage rectangle: fixes stop, honestly flagged
    inside = make_sim(path, start=(7.0, 0.0, 0.0), **{'gnss.outage_regions': [5.0, -2.0, 9.0, 2.0]})
    fix = first(inside, GnssReading)
    assert fix.status == NAVSAT_STATUS_NO_FIX and math.isnan(fix.latitude)
    assert all(math.isnan(v) for v in fix.velocity)


def test_gnss_doppler_velocity_follows_the_antenna(write_sdf):
    """Driving and turning: the reported velocity is the antenna's (lever arm included)."""
    sim = make_sim(write_sdf(''), seed=4, **{'gnss.velocity_stddev': 0.0})
    ox, oy = sim.robot.frame('gps_link')[:2, 3]
    checked = 0
    for _ in range(300):
        result = sim.step((1.0, 0.5))
        s = sim.base.state
        for r in result.readings:
            if isinstance(r, GnssReading) and s.v > 0.5:
                # the reading is from `latency` ago; compare directions with the heading then
                c, sn = math.cos(s.yaw), math.sin(s.yaw)
                bx, by = s.v - s.w * oy, s.w * ox
                expected = np.array([c * bx - sn * by, sn * bx + c * by])
                assert np.hypot(*(np.array(r.velocity) - expected)) < 0.1 + 0.6 * abs(s.w) * 0.1
                checked += 1
    assert checked > 5


def test_gnss_error_is_time_correlated(write_sdf):
    sim = make_sim(write_sdf(''), seed=2, **{'gnss.correlation_time': 30.0})
    east = []
    while len(east) < 2000:
        east += [r.longitude for r in sim.step((0.0, 0.0)).readings if isinstance(r, GnssReading)]
    e = np.asarray(east) - np.mean(east)
    lag1 = np.corrcoef(e[:-1], e[1:])[0, 1]
    assert lag1 == pytest.approx(math.exp(-0.2 / 30.0), abs=0.02)


def test_depth_camera_sees_a_low_obstacle_the_lidar_misses(write_sdf):
    path = write_sdf('''
      <model name="ground"><static>1</static><link name="l"><collision name="c">
        <geometry><plane><normal>0 0 1</normal><size>100 100</size></plane></geometry>
      </collision></link></model>
      <model name="curb"><static>1</static><pose>1.6 0 0.075 0 0 0</pose><link name="l">
        <collision name="c"><geometry><box><size>0.3 2 0.15</size></box></geometry>
      </collision></link></model>''')
    sim = make_sim(path, **NOISELESS)
    scan = first(sim, ScanReading)
    assert np.all(np.isposinf(scan.ranges))           # 0.15 m curb under the 0.35 m plane
    depth = first(sim, DepthReading)
    assert depth.depth.shape == (48, 64) and depth.depth.dtype == np.float32
    # back-project the centre column: points on the curb top stand 0.15 m above the ground
    optical = sim.robot.frame('camera_depth_optical_frame')
    col = depth.depth[:, 32]
    v = np.arange(len(col))
    valid = np.isfinite(col)
    rays = np.stack([np.zeros(valid.sum()), (v[valid] - depth.cy) / depth.fy,
                     np.ones(valid.sum())]) * col[valid]
    z_world = (optical[:3, :3] @ rays + optical[:3, 3:4])[2]
    x_world = (optical[:3, :3] @ rays + optical[:3, 3:4])[0]
    on_curb = (x_world > 1.46) & (x_world < 1.74)
    assert on_curb.any()
    assert z_world[on_curb] == pytest.approx(0.15, abs=0.01)
    assert z_world[x_world < 1.4] == pytest.approx(0.0, abs=0.01)   # ground


def test_readings_arrive_after_their_latency_with_measurement_stamps(write_sdf):
    sim = make_sim(write_sdf(''), **{'gnss.latency': 0.1})
    for _ in range(300):
        step = sim.step((0.0, 0.0))
        for r in step.readings:
            lag = step.time - r.stamp
            latency = {'ImuReading': 0.002, 'OdomReading': 0.005, 'ScanReading': 0.02,
                       'GnssReading': 0.1, 'DepthReading': 0.03}[type(r).__name__]
            assert latency - 1e-9 <= lag < latency + sim.dt + 1e-9


def test_sensor_rates(write_sdf):
    sim = make_sim(write_sdf(''))
    counts = {}
    for _ in range(1000):   # 10 s
        for r in sim.step((0.5, 0.1)).readings:
            counts[type(r).__name__] = counts.get(type(r).__name__, 0) + 1
    assert counts['ImuReading'] == pytest.approx(1000, abs=2)
    assert counts['OdomReading'] == pytest.approx(500, abs=2)
    assert counts['ScanReading'] == pytest.approx(100, abs=2)
    assert counts['GnssReading'] == pytest.approx(50, abs=2)
    assert counts['DepthReading'] == pytest.approx(100, abs=2)


STANDING_FAR_OFF = '''
<actor name="walker"><pose>0 0 0 0 0 0</pose><script><loop>false</loop>
  <delay_start>0</delay_start><auto_start>true</auto_start><trajectory id="0" type="walk">
  <waypoint><time>0</time><pose>60 0 1 0 0 0</pose></waypoint>
  <waypoint><time>100</time><pose>60 0.1 1 0 0 0</pose></waypoint>
</trajectory></script></actor>'''


def test_a_pedestrian_far_from_every_static_shape_is_seen(write_sdf):
    # The sensors' rays skip a body whose bounding sphere they miss; pedestrians live in
    # the world body of the ray model, whose bounds the static shapes alone would set (a
    # wall 55 m behind the robot here)
    sim = make_sim(write_sdf(WALL.format(x=5.0) + STANDING_FAR_OFF), start=(57.0, 0.0, 0.0),
                   **NOISELESS)
    scan = first(sim, ScanReading)
    laser_x = sim.robot.frame('laser_link')[0, 3]
    angles = scan.angle_min + scan.angle_increment * np.arange(len(scan.ranges))
    ahead = int(np.argmin(np.abs(angles)))
    radius = sim.cfg.actors.radius
    assert scan.ranges[ahead] == pytest.approx(60.0 - radius - 57.0 - laser_x, abs=1e-3)
    assert scan.hit_actor[ahead] == 0
    # the depth camera sees the person too (and nothing else: no ground in this world)
    depth = first(sim, DepthReading).depth
    seen = depth[np.isfinite(depth)]
    assert len(seen) > 50
    assert seen.min() > 1.5 and seen.max() < 3.5
