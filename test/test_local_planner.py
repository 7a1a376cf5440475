"""Local planner on costmaps built by the obstacle detector's costmap (no ROS)."""
import numpy as np
import pytest

from delivery_robot_nav.perception.costmap import CostmapConfig, RollingCostmap
from delivery_robot_nav.planning.local_planner import GridPlanner, LocalPlannerConfig

RES = 0.05


def costmap(points=()):
    cm = RollingCostmap(CostmapConfig(size=12.0, resolution=RES, inscribed_radius=0.3))
    cm.recenter(0.0, 0.0)
    if len(points):
        cm.mark('lidar', np.asarray(points, dtype=float), 0.0)
    return cm.costs(0.0), cm.origin.copy()


def wall(x, y0, y1):
    y = np.arange(y0, y1, RES / 2)
    return np.column_stack([np.full_like(y, x), y])


def costs_along(costs, origin, pts, step=0.02):
    out = []
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(2, int(np.hypot(*(b - a)) / step))
        s = a + np.linspace(0, 1, n)[:, None] * (b - a)
        c, r = np.floor((s - origin) / RES).astype(int).T
        out.append(costs[r, c])
    return np.concatenate(out)


def test_free_space_gives_the_straight_line():
    costs, origin = costmap()
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (4.0, 3.0))
    assert plan.reached_goal
    np.testing.assert_allclose(plan.points[0], [0, 0])
    np.testing.assert_allclose(plan.points[-1], [4, 3])
    length = np.hypot(*np.diff(plan.points, axis=0).T).sum()
    assert length == pytest.approx(5.0, abs=0.1)


def test_goes_through_the_gap_in_a_wall_and_never_into_blocked_cells():
    # a wall across x = 2 with a 1.4 m gap at y in [1.3, 2.7]
    costs, origin = costmap(np.concatenate([wall(2.0, -5.9, 1.3), wall(2.0, 2.7, 5.9)]))
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (4.0, 0.0))
    assert plan.reached_goal
    crossing = plan.points[np.argmin(np.abs(plan.points[:, 0] - 2.0))]
    assert 1.3 < crossing[1] < 2.7
    assert costs_along(costs, origin, plan.points).max() < 99
    # the path keeps to the middle of the gap where it can
    assert abs(np.interp(2.0, plan.points[:, 0], plan.points[:, 1]) - 2.0) < 0.3


def test_goal_outside_the_window_leads_to_the_reachable_cell_nearest_it():
    costs, origin = costmap()
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (20.0, 0.0))
    assert not plan.reached_goal
    assert plan.points[-1][0] > 5.8 and abs(plan.points[-1][1]) < 0.1
    assert plan.end_distance == pytest.approx(20.0 - plan.points[-1][0], abs=0.05)


def test_goal_inside_an_obstacle_leads_next_to_it():
    box = np.stack(np.meshgrid(np.arange(2.5, 3.5, RES / 2), np.arange(-0.5, 0.5, RES / 2)),
                   -1).reshape(-1, 2)
    costs, origin = costmap(box)
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (3.0, 0.0))
    assert not plan.reached_goal
    assert plan.points[-1][0] < 2.5 - 0.25      # stops outside the inscribed ring
    assert plan.end_distance < 0.9


def test_a_robot_in_the_inscribed_ring_can_leave_it():
    costs, origin = costmap(wall(0.2, -3.0, 3.0))   # the robot is 0.2 m from a wall
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (-3.0, 0.0))
    assert plan.reached_goal and len(plan.points) >= 2


def test_boxed_in_robot_has_no_path():
    ring = np.array([[2.0 * np.cos(a), 2.0 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 2000)])
    costs, origin = costmap(ring)
    plan = GridPlanner().plan(costs, origin, RES, (0.0, 0.0), (4.0, 0.0))
    assert not plan.reached_goal
    assert np.hypot(*plan.points[-1]) < 2.0 - 0.3


def test_start_outside_the_costmap_is_rejected():
    costs, origin = costmap()
    with pytest.raises(ValueError, match='outside the costmap'):
        GridPlanner().plan(costs, origin, RES, (7.0, 0.0), (0.0, 0.0))


def test_cost_weight_trades_length_for_clearance():
    # a pillar just off the straight line: with cost weight the path bends further away
    pillar = np.stack(np.meshgrid(np.arange(1.9, 2.1, RES / 2), np.arange(0.35, 0.55, RES / 2)),
                      -1).reshape(-1, 2)
    costs, origin = costmap(pillar)
    flat = GridPlanner(LocalPlannerConfig(cost_weight=0.0)).plan(costs, origin, RES, (0, 0), (4, 0))
    careful = GridPlanner(LocalPlannerConfig(cost_weight=10.0)).plan(costs, origin, RES,
                                                                      (0, 0), (4, 0))
    def clearance(p):
        return np.hypot(*(p.points - [2.0, 0.45]).T).min()
    assert clearance(careful) > clearance(flat)
