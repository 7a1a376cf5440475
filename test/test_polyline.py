"""Polylines: arc lengths, points at arc lengths, the precomputed Polyline."""
import numpy as np

from delivery_robot_nav.planning.polyline import (Polyline, arc_lengths, locate, points_at,
                                                  project)

PATH = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [-1.0, 4.0]])


def test_points_at_arc_lengths_are_on_the_path_and_clamped_to_its_ends():
    cum = arc_lengths(PATH)
    assert cum.tolist() == [0.0, 3.0, 7.0, 11.0]
    pts = points_at(PATH, cum, np.array([-1.0, 0.0, 1.5, 3.0, 5.0, 11.0, 12.0]))
    assert np.allclose(pts, [[0, 0], [0, 0], [1.5, 0], [3, 0], [3, 2], [-1, 4], [-1, 4]])
    s, k, foot = project(PATH, (4.0, 2.0))
    assert (s, k) == (5.0, 1) and np.allclose(foot, [3.0, 2.0])


def test_a_polyline_gives_what_the_functions_give_for_any_shape_of_query():
    rng = np.random.default_rng(4)
    pts = np.cumsum(rng.normal(size=(50, 2)), axis=0)
    line = Polyline(pts)
    cum = arc_lengths(pts)
    assert np.array_equal(line.cum, cum)
    s = rng.uniform(-2.0, cum[-1] + 2.0, size=(3, 7))
    i, f = line.locate(s)
    i0, f0 = locate(cum, s)
    assert np.array_equal(i, i0) and np.array_equal(f, f0)
    assert np.array_equal(line.points_at(s), points_at(pts, cum, s))
    xy, u = line.frames_at(s)
    assert np.array_equal(xy, points_at(pts, cum, s))
    assert u.shape == (3, 7, 2) and np.allclose(np.hypot(u[..., 0], u[..., 1]), 1.0)
    seg = np.diff(pts, axis=0)
    assert np.allclose(u, seg[i0] / np.hypot(seg[i0][..., 0], seg[i0][..., 1])[..., None])
    assert np.array_equal(line.points_at(2.5), points_at(pts, cum, 2.5))   # a scalar


def test_nearest_gives_each_points_foot_on_every_segment():
    line = Polyline(PATH)
    s, miss = line.nearest(np.array([[4.0, 2.0], [1.0, 0.2], [-3.0, 5.0]]))
    assert s.shape == miss.shape == (3, 3)
    # (4, 2): 1 m beside the second segment's middle, its foot there at s = 5
    assert s[0, 1] == 5.0 and miss[0, 1] == 1.0
    assert np.allclose([s[1, 0], miss[1, 0]], [1.0, 0.2])
    # beyond the last segment's end: the end itself
    assert s[2, 2] == 11.0 and np.isclose(miss[2, 2], np.hypot(2.0, 1.0))
    # the nearest segment's foot is project's
    for xy, row_s, row_m in zip(np.array([[4.0, 2.0], [1.0, 0.2]]), s, miss):
        assert np.isclose(row_s[row_m.argmin()], project(PATH, xy)[0])
