"""The scripted route driver (demo controller) on its own and in the lockstep simulator."""
import math

import numpy as np
import pytest

from delivery_robot_nav.demo.route_driver import (LockstepRouteController, RouteDriver,
                                                  RouteDriverConfig)
from delivery_robot_nav.sim.scenario import run_scenario
from simhelpers import make_sim


def test_follows_an_l_shaped_route_to_its_end(write_sdf):
    sim = make_sim(write_sdf(''))
    driver = RouteDriver([(0, 0), (10, 0), (10, 8)], RouteDriverConfig())
    controller = LockstepRouteController(driver, 20.0, sim.cfg.step_rate_hz)
    log = run_scenario(sim, controller, 60.0, done=lambda: driver.done)
    assert log.outcome == 'done'
    assert np.hypot(sim.state.x - 10, sim.state.y - 8) < 0.6
    # stays near the route: cross-track error along the first leg
    first_leg = log.truth[(log.truth[:, 0] > 1) & (log.truth[:, 0] < 8)]
    assert np.abs(first_leg[:, 1]).max() < 0.3


def test_stops_for_an_obstacle_in_the_corridor_and_not_for_one_beside_it():
    driver = RouteDriver([(0, 0), (20, 0)], RouteDriverConfig())
    angles = np.linspace(-math.pi, math.pi, 720, endpoint=False)
    ranges = np.full(720, np.inf)
    ahead = np.argmin(np.abs(angles))
    ranges[ahead] = 0.35 + 0.5                       # 0.5 m ahead of the bumper
    cmd = driver.command(0.0, 0.0, 0.0, (ranges, angles))
    assert cmd.blocked and cmd.v == 0.0 and cmd.w == 0.0
    beside = np.full(720, np.inf)
    k = np.argmin(np.abs(angles - math.atan2(1.5, 1.0)))
    beside[k] = math.hypot(1.0, 1.5)                  # 1.5 m to the left
    cmd = driver.command(0.0, 0.0, 0.0, (beside, angles))
    assert not cmd.blocked and cmd.v > 0.5


def test_rejects_bad_routes():
    with pytest.raises(ValueError, match='at least two'):
        RouteDriver([(0, 0)], RouteDriverConfig())
    with pytest.raises(ValueError, match='finite'):
        RouteDriver([(0, 0), (float('nan'), 1)], RouteDriverConfig())
