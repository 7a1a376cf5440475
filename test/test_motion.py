"""The differential-drive base: limits, timeout, exact kinematics, and odometry drift."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_robot_nav.sim.config import load_sim_config
from delivery_robot_nav.sim.motion import DiffDriveBase
from delivery_robot_nav.sim.sensors import OdomReading
from simhelpers import NOISELESS, make_sim


def make_base(**overrides):
    cfg = load_sim_config(overrides=overrides).motion
    return DiffDriveBase(cfg, 0.12, 0.48, (0.0, 0.0, 0.0), np.random.default_rng(0)), cfg


def test_speed_and_acceleration_limits():
    base, cfg = make_base(**NOISELESS)
    dt = 0.01
    speeds = []
    for _ in range(300):
        base.step(5.0, 0.0, dt)
        speeds.append(base.state.v)
    speeds = np.array(speeds)
    assert speeds.max() == pytest.approx(cfg.max_linear_velocity)
    assert np.diff(speeds).max() <= cfg.max_linear_acceleration * dt + 1e-12
    for _ in range(300):
        base.step(0.0, 0.0, dt)
        speeds = np.append(speeds, base.state.v)
    assert -np.diff(speeds).max() <= cfg.max_linear_deceleration * dt + 1e-12
    assert speeds[-1] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=1, max_size=60))
def test_any_finite_command_sequence_stays_within_limits(commands):
    base, cfg = make_base()     # with slip and geometry errors
    for v, w in commands:
        for _ in range(5):
            base.step(v, w, 0.01)
            s = base.state
            assert all(math.isfinite(x) for x in (s.x, s.y, s.yaw, s.v, s.w))
            assert -math.pi <= s.yaw < math.pi
            assert cfg.min_linear_velocity * 1.05 <= base.cmd_v <= cfg.max_linear_velocity
            assert abs(base.cmd_w) <= cfg.max_angular_velocity


def test_noiseless_arc_matches_circle_geometry(write_sdf):
    sim = make_sim(write_sdf(''), **NOISELESS)
    v, w = 1.0, 0.5
    for _ in range(400):           # reach steady state
        sim.step((v, w))
    s0 = (sim.state.x, sim.state.y, sim.state.yaw)
    n = int(round(math.pi / w / sim.dt))               # about half a circle
    for _ in range(n):
        sim.step((v, w))
    s1 = (sim.state.x, sim.state.y, sim.state.yaw)
    turned = w * n * sim.dt
    chord = math.hypot(s1[0] - s0[0], s1[1] - s0[1])
    assert chord == pytest.approx(2 * v / w * math.sin(turned / 2), rel=1e-9)
    assert abs(math.remainder(s1[2] - s0[2] - turned, 2 * math.pi)) < 1e-9


def test_base_brakes_to_a_stop_when_commands_stop(write_sdf):
    sim = make_sim(write_sdf(''), **NOISELESS)
    for _ in range(200):
        sim.step((1.0, 0.0))
    assert sim.state.v == pytest.approx(1.0)
    for _ in range(int(sim.cfg.motion.cmd_timeout / sim.dt) - 1):
        sim.step(None)                      # no new command: keep going until the timeout
    assert sim.state.v == pytest.approx(1.0)
    for _ in range(100):
        sim.step(None)
    assert sim.state.v == 0.0


def test_non_finite_command_is_ignored(write_sdf):
    sim = make_sim(write_sdf(''), **NOISELESS)
    for _ in range(100):
        sim.step((float('nan'), 0.0))
    assert sim.state.v == 0.0 and sim.state.x == 0.0


def test_noiseless_odometry_tracks_truth_and_noisy_odometry_drifts(write_sdf):
    def drive(**overrides):
        sim = make_sim(write_sdf(''), seed=4, **overrides)
        odom, truth = None, {}
        for k in range(3000):                       # 30 s of a figure of curves
            step = sim.step((1.0, 0.4 * math.sin(k * 0.01)))
            truth[round(step.time, 6)] = (sim.state.x, sim.state.y)
            for r in step.readings:
                if isinstance(r, OdomReading):
                    odom = r
        x, y = truth[round(odom.stamp, 6)]          # truth when the odometry was measured
        return math.hypot(odom.x - x, odom.y - y)

    assert drive(**NOISELESS) < 0.005          # encoder quantization only
    drift = drive()
    assert 0.02 < drift < 3.0                  # slip and geometry errors, a few % of 30 m
