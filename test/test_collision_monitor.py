"""Collision monitor on raw scan points and the footprint polygon."""
import math

import numpy as np
import pytest
import shapely

from delivery_robot_nav.planning.collision_monitor import (APPROACH, CLEAR, SLOWDOWN, STOP,
                                                           CollisionMonitor,
                                                           CollisionMonitorConfig,
                                                           rectangle_footprint)

FOOTPRINT = rectangle_footprint(-0.35, -0.275, 0.35, 0.275)     # the URDF's


def wall(x, y0=-2.0, y1=2.0, n=200):
    return np.column_stack([np.full(n, x), np.linspace(y0, y1, n)])


@pytest.fixture
def monitor():
    return CollisionMonitor(CollisionMonitorConfig(), FOOTPRINT)


def test_nothing_near_passes_the_command_through(monitor):
    r = monitor.check(1.2, 0.3, wall(8.0))
    assert (r.v, r.w, r.state) == (1.2, 0.3, CLEAR)
    r = monitor.check(1.2, 0.0, np.zeros((0, 2)))
    assert r.state == CLEAR and r.v == 1.2


def test_a_point_at_the_footprint_stops_the_robot_and_says_where(monitor):
    r = monitor.check(1.0, 0.0, wall(0.38))
    assert r.state == STOP and r.v == 0.0
    assert 'within 0.05 m' in r.reason and '0.38' in r.reason


def test_slowdown_zone_scales_the_speed(monitor):
    pts = np.array([[0.35 + 0.3, 0.275 + 0.1]])                 # off the front corner
    r = monitor.check(0.2, 0.0, pts)
    assert r.state == SLOWDOWN and r.v == pytest.approx(0.1)


def test_slowdown_zone_ignores_what_the_robot_moves_away_from(monitor):
    behind = np.array([[-0.35 - 0.3, 0.1]])      # 0.3 m off the rear: a walker catching up
    ahead = np.array([[0.35 + 0.3, 0.1]])
    r = monitor.check(1.0, 0.0, behind)
    assert r.state == CLEAR and r.v == 1.0
    # reversing towards it, it counts; so does the point ahead going forward
    r = monitor.check(-0.3, 0.0, behind)
    assert r.state in (SLOWDOWN, APPROACH) and abs(r.v) <= 0.15 + 1e-9
    assert monitor.check(1.0, 0.0, ahead).v <= 0.5
    # reversing away from the point ahead: not slowed
    assert monitor.check(-0.3, 0.0, ahead).v == pytest.approx(-0.3)
    # turning in place: everything near counts
    assert monitor.check(0.0, 0.8, behind).w == pytest.approx(0.4)


def test_slowdown_zone_counts_a_point_beside_a_corner_only_when_the_turn_swings_towards_it(
        monitor):
    """Someone behind and to the left of the rear-left corner: turning left swings that
    corner away from them (slowing down would keep the robot in their way), turning
    right swings it towards them."""
    person = np.array([[-0.45, 0.6]])
    left = monitor.check(0.1, 0.9, person)
    assert left.state == CLEAR and (left.v, left.w) == (0.1, 0.9)
    right = monitor.check(0.1, -0.9, person)
    assert right.state in (SLOWDOWN, APPROACH) and abs(right.w) <= 0.45 + 1e-9
    assert not monitor.approaching(0.0, 0.0, person).any()


def test_slowdown_zone_leaves_out_a_point_beside_the_robot_going_straight(monitor):
    """Beside the robot going straight the distance stays: slowing down would only keep the
    robot longer in the way of someone stepping towards its side (trip seed 91: a walker
    turning across the walkway into the robot overtaking them). Turning towards the
    point, the motion swings the front corner nearer: it counts."""
    beside = np.array([[0.0, 0.275 + 0.3]])
    r = monitor.check(1.0, 0.0, beside)
    assert r.state == CLEAR and r.v == 1.0
    by_the_nose = np.array([[0.3, 0.275 + 0.3]])
    assert monitor.check(1.0, 0.0, by_the_nose).state == CLEAR
    turning = monitor.check(0.5, 1.0, by_the_nose)
    assert turning.state in (SLOWDOWN, APPROACH) and turning.v <= 0.25 + 1e-9


def test_approach_keeps_the_time_horizon_to_a_wall_ahead(monitor):
    cfg = monitor.cfg
    # wall 1.0 m ahead of the front: at 1 m/s the stop zone touches it after ~0.6 s
    r = monitor.check(1.0, 0.0, wall(0.35 + 1.0))
    assert r.state == APPROACH
    assert r.time_to_collision == pytest.approx(1.0 - cfg.stop_margin, abs=cfg.time_step)
    assert r.v == pytest.approx(r.time_to_collision / cfg.time_horizon)
    # driving away from it is not limited
    assert monitor.check(-0.4, 0.0, wall(0.35 + 1.0)).state == CLEAR


def test_a_turn_that_swings_a_corner_into_a_post_is_limited(monitor):
    """A post beside the front-left corner, inside the circle the corners sweep: turning
    left brings the corner to it within the horizon, turning right (the rear corner would
    need 80 degrees) does not."""
    post = np.array([[0.2, 0.38]])
    assert monitor.check(0.0, 0.0, post).state in (CLEAR, SLOWDOWN)
    left = monitor.check(0.0, 0.5, post)
    assert left.state == APPROACH and left.time_to_collision < 1.0 and left.w < 0.5
    assert monitor.check(0.0, -0.5, post).time_to_collision == math.inf


def test_non_finite_points_are_ignored_and_a_non_finite_command_stops(monitor):
    pts = np.array([[np.nan, 0.0], [np.inf, 1.0], [5.0, 0.0]])
    assert monitor.check(1.0, 0.0, pts).state == CLEAR
    assert monitor.check(float('nan'), 0.0, pts).state == STOP


def test_a_bad_footprint_is_refused():
    with pytest.raises(ValueError, match='footprint'):
        CollisionMonitor(CollisionMonitorConfig(), [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match='not valid'):
        CollisionMonitor(CollisionMonitorConfig(), [[0, 0], [1, 1], [1, 0], [0, 1]])


def test_inside_the_stop_zone_only_motions_that_do_not_close_in_are_allowed():
    from delivery_robot_nav.planning.collision_monitor import (STOP, CollisionMonitor,
                                                               CollisionMonitorConfig,
                                                               rectangle_footprint)
    mon = CollisionMonitor(CollisionMonitorConfig(stop_margin=0.05),
                           rectangle_footprint(-0.35, -0.275, 0.35, 0.275))
    beside = np.array([[0.0, 0.30]])             # 2.5 cm from the left side
    along = mon.check(0.5, 0.0, beside)          # sliding past it: allowed
    assert along.state == STOP and along.v == 0.5 and 'moving away' in along.reason
    swing = mon.check(0.3, -1.0, beside)         # arcing right: the rear corner swings
    assert (swing.v, swing.w) == (0.0, 0.0)      # into it: stopped
    inside = mon.check(0.5, 1.0, beside)         # arcing left round it (it stays inside
    assert (inside.v, inside.w) == (0.5, 1.0)    # the turning circle): allowed
    ahead = np.array([[0.38, 0.0]])              # 3 cm in front: forward stopped, back allowed
    assert mon.check(0.5, 0.0, ahead).v == 0.0
    assert mon.check(-0.2, 0.0, ahead).v == -0.2


def test_box_zones_answer_exactly_as_shapely_does_points_on_edges_and_corners_included():
    mon = CollisionMonitor(CollisionMonitorConfig(), FOOTPRINT)
    shapes_only = CollisionMonitor(CollisionMonitorConfig(), FOOTPRINT)
    shapes_only._boxes = {}                         # every test through shapely.contains_xy
    rng = np.random.default_rng(5)
    for zone in (mon.footprint, mon.stop_zone, mon.slow_zone):
        corners = np.asarray(zone.exterior.coords)
        k = 20 * len(corners)
        on_edges = np.vstack([
            np.column_stack([np.repeat(corners[:, 0], 20), rng.uniform(-1, 1, k)]),
            np.column_stack([rng.uniform(-1, 1, k), np.repeat(corners[:, 1], 20)])])
        pts = np.vstack([rng.uniform(-1.0, 1.0, (20000, 2)), corners, on_edges,
                         np.nextafter(corners, 0.0), np.nextafter(corners, 9.0)])
        fast = mon._contains(zone, pts[:, 0], pts[:, 1])
        assert np.array_equal(fast, shapely.contains_xy(zone, pts[:, 0], pts[:, 1]))
        assert fast.any() and not fast.all()
    for _ in range(300):
        n = int(rng.integers(1, 720))
        r, th = rng.uniform(0.2, 3.0, n), rng.uniform(-np.pi, np.pi, n)
        pts = np.column_stack([r * np.cos(th), r * np.sin(th)])
        v, w = rng.uniform(-0.5, 1.5), rng.uniform(-1.5, 1.5)
        a, b = mon.check(v, w, pts), shapes_only.check(v, w, pts)
        assert (a.v, a.w, a.state, a.reason, a.time_to_collision) == \
            (b.v, b.w, b.state, b.reason, b.time_to_collision)


def test_a_footprint_that_is_not_an_axis_aligned_box_is_tested_by_shapely():
    diamond = np.array([[0.4, 0.0], [0.0, 0.3], [-0.4, 0.0], [0.0, -0.3]])
    mon = CollisionMonitor(CollisionMonitorConfig(), diamond)
    assert all(box is None for box in mon._boxes.values())
    assert mon.check(1.0, 0.0, np.array([[0.1, 0.0]])).state == 'stop'
