"""The campus trips' scenario (evaluation/navigation_eval.py): where the added crowd walks."""
import numpy as np
import pytest

from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.evaluation.navigation_eval import trip_crowd
from delivery_robot_nav.planning.polyline import project
from delivery_robot_nav.planning.route_graph import RouteGraph


@pytest.fixture(scope='module')
def campus():
    return RouteGraph.from_file(share_path('config', 'campus_route_graph.geojson'))


def test_the_crowd_walks_the_walkways_in_lanes_off_the_robots_line_and_leaves_the_station_spurs_to_the_robot(campus):
    route = campus.plan(campus.station('dorm_north'), 'biology')
    crowd = trip_crowd(route.points, 10, np.random.default_rng(0), [], 120.0)
    assert len(crowd) == 10
    walkway = route.points[1:-1]
    times = np.arange(0.0, 120.0, 0.5)
    for person in crowd:
        xy = person.poses_at(times)[:, :2]
        off = np.array([np.hypot(*(p - project(walkway, p)[2])) for p in xy])
        assert np.all(off <= 2.5 + 1e-6)                # on the walkways (lanes 1.1 / 2.5 m)
        # never on the robot's centre line, round the route's corners either
        assert np.all(off >= 1.1 - 1e-6), (person.name, off.min())
        for station in (route.points[0], route.points[-1]):
            assert np.min(np.hypot(*(xy - station).T)) > 8.0


def test_a_route_of_two_station_spurs_gets_no_crowd(campus):
    route = campus.plan(campus.station('library'), 'student_union')
    assert len(route.points) == 3                       # spur, junction, spur
    assert trip_crowd(route.points, 10, np.random.default_rng(0), [], 120.0) == []


def test_a_trip_can_be_watched_cycle_by_cycle_without_changing_it():
    # tools/trace_run.py prints a trip's control cycles through this hook
    from delivery_robot_nav.evaluation.navigation_eval import run_campus_trip

    seen = []

    def observe(loop):
        seen.append((loop.sim.time, loop.out.v, loop.sim.state.x, loop.sim.state.y))

    watched = run_campus_trip(5, pedestrians=2, max_time=4.0, observer=observe)
    plain = run_campus_trip(5, pedestrians=2, max_time=4.0)
    times = np.array([row[0] for row in seen])
    assert len(seen) == pytest.approx(4.0 * 20, abs=2)          # every control cycle (20 Hz)
    assert np.allclose(np.diff(times), 0.05)
    assert max(row[1] for row in seen) > 0.3                   # the robot got going
    assert {k: v for k, v in watched.items() if k != 'wall_s'} == \
        {k: v for k, v in plain.items() if k != 'wall_s'}
