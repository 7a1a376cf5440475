"""Scenario runner and collision detection (lockstep, no ROS)."""
import json

import numpy as np
import pytest

from delivery_robot_nav.sim.scenario import run_scenario
from simhelpers import NOISELESS, WALL, make_sim

PEDESTRIAN = '''
<actor name="walker"><pose>0 0 0 0 0 0</pose><script><loop>false</loop>
  <delay_start>0</delay_start><auto_start>true</auto_start><trajectory id="0" type="walk">
  <waypoint><time>0</time><pose>3 -5 1 0 0 1.57</pose></waypoint>
  <waypoint><time>10</time><pose>3 5 1 0 0 1.57</pose></waypoint>
</trajectory></script></actor>'''


def test_driving_into_a_wall_is_one_collision_event_naming_it(write_sdf):
    sim = make_sim(write_sdf(WALL.format(x=3.0)), **NOISELESS)
    log = run_scenario(sim, lambda step: (1.0, 0.0), max_time=8.0)
    assert len(log.collisions) == 1
    event = log.collisions[0]
    assert event.other == 'wall::link::collision'
    # front bumper (0.35 m ahead of base_link) meets the face at x = 2.9
    assert event.x == pytest.approx(2.9 - 0.35, abs=1.0 * 0.02 + 1e-3)
    assert log.outcome == 'timeout'


def test_stop_on_collision_and_pedestrian_contact(write_sdf):
    sim = make_sim(write_sdf(PEDESTRIAN), start=(3.0, 0.0, 0.0), **NOISELESS)
    log = run_scenario(sim, lambda step: (0.0, 0.0), max_time=10.0, stop_on_collision=True)
    assert log.outcome == 'collision'
    assert log.collisions[0].other == 'walker'
    # contact when the walker's 0.3 m cylinder reaches the 0.275 m half-width side
    y_walker = -5.0 + log.collisions[0].time
    assert y_walker == pytest.approx(-0.575, abs=0.03)


def test_log_records_every_step_and_sensor_statistics(write_sdf, tmp_path):
    sim = make_sim(write_sdf(WALL.format(x=20.0)))
    log = run_scenario(sim, lambda step: (0.5, 0.0), max_time=5.0)
    assert len(log.time) == 500 and log.truth.shape == (500, 5)
    assert np.all(np.diff(log.time) > 0)
    assert log.command[-1] == pytest.approx([0.5, 0.0])
    stats = log.sensors
    assert stats['rates_hz']['imu'] == pytest.approx(100.0, rel=1e-3)
    assert stats['rates_hz']['scan'] == pytest.approx(10.0, rel=1e-3)
    assert stats['imu_gyro_z_error']['std'] == pytest.approx(0.0026, rel=0.2)
    assert stats['imu_accel_z']['mean'] == pytest.approx(9.81, abs=0.2)
    path = log.save(tmp_path / 'run')
    summary = json.loads(path.read_text())
    assert summary['sim_time_s'] == pytest.approx(5.0) and summary['collisions'] == 0
    assert (tmp_path / 'run' / 'log.npz').is_file()


def test_done_callback_ends_the_run(write_sdf):
    sim = make_sim(write_sdf(''))
    log = run_scenario(sim, lambda step: (1.0, 0.0), max_time=60.0,
                       done=lambda: sim.state.x > 2.0)
    assert log.outcome == 'done' and log.truth[-1, 0] > 2.0 and log.duration < 5.0


def test_same_seed_same_run_different_seed_different_noise(write_sdf):
    path = write_sdf(WALL.format(x=10.0))
    runs = [run_scenario(make_sim(path, seed=s), lambda step: (1.0, 0.3), 3.0) for s in (7, 7, 8)]
    assert np.array_equal(runs[0].truth, runs[1].truth)
    assert not np.array_equal(runs[0].truth, runs[2].truth)


def test_non_static_model_is_an_obstacle_where_the_world_puts_it(write_sdf):
    crate = WALL.format(x=3.0).replace('<static>true</static>', '<static>false</static>')
    sim = make_sim(write_sdf(crate), **NOISELESS)
    assert len(sim.world.dynamic_shapes) == 1 and not sim.world.obstacles
    log = run_scenario(sim, lambda step: (1.0, 0.0), max_time=6.0, stop_on_collision=True)
    assert log.outcome == 'collision' and log.collisions[0].other == 'wall::link::collision'
