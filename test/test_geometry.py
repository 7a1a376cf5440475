"""Property tests of the geometry helpers and the actor trajectories."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_robot_nav.common.geodesy import enu_to_geodetic, geodetic_to_enu
from delivery_robot_nav.common.geometry import se2_compose, se2_inverse, wrap_angle
from delivery_robot_nav.common.world import load_world
from delivery_robot_nav.sim.core import ActorSet

finite = st.floats(-1e4, 1e4, allow_nan=False)
angle = st.floats(-100.0, 100.0, allow_nan=False)


@given(angle)
def test_wrap_angle_range_and_equivalence(a):
    w = float(wrap_angle(a))
    assert -math.pi <= w < math.pi
    assert math.cos(w) == pytest.approx(math.cos(a), abs=1e-9)
    assert math.sin(w) == pytest.approx(math.sin(a), abs=1e-9)


@given(st.tuples(finite, finite, angle), st.tuples(finite, finite, angle))
def test_se2_compose_inverse_round_trip(a, b):
    back = se2_compose(se2_inverse(a), se2_compose(a, b))
    assert back[:2] == pytest.approx(b[:2], abs=1e-6)
    assert abs(math.remainder(back[2] - b[2], 2 * math.pi)) < 1e-9


@given(st.floats(-2000, 2000), st.floats(-2000, 2000), st.floats(-50, 50),
       st.floats(-80, 80), st.floats(-179, 179))
def test_geodetic_round_trip(e, n, u, lat0, lon0):
    lat, lon, alt = enu_to_geodetic(e, n, u, lat0, lon0, 100.0)
    e2, n2, u2 = geodetic_to_enu(lat, lon, alt, lat0, lon0, 100.0)
    assert (float(e2), float(n2), float(u2)) == pytest.approx((e, n, u), abs=1e-6)


def test_geodesy_scale_against_known_distance():
    # one arc-second of latitude is about 30.9 m near 47 deg N (WGS84)
    _, n, _ = geodetic_to_enu(47.0 + 1 / 3600, 8.0, 0.0, 47.0, 8.0, 0.0)
    assert float(n) == pytest.approx(30.88, abs=0.05)


@pytest.fixture(scope='module')
def campus_actors(repo):
    return load_world(repo / 'worlds' / 'campus.sdf').actors


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 3000.0), min_size=1, max_size=30))
def test_actor_set_cache_equals_direct_evaluation(campus_actors, times):
    actors = ActorSet(campus_actors)
    for t in sorted(times) + list(times):         # forward, then arbitrary jumps
        direct = np.array([a.pose_at(t)[:2] for a in campus_actors])
        assert np.allclose(actors.positions(t), direct, atol=1e-9)
