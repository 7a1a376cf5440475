"""The navigator (path_following's decision loop) on a kinematic robot, no ROS: goals,
detours, re-routing, safe stops on stale inputs, recovery and failure with a reason."""
import math

import numpy as np
import pytest

from delivery_robot_nav.perception.costmap import CostmapConfig, RollingCostmap
from delivery_robot_nav.planning.controller import ControllerConfig, Obstacles
from delivery_robot_nav.planning.navigator import (ACTIVE, FAILED, SUCCEEDED, Navigator,
                                                   NavigatorConfig)

RES = 0.05


def box_points(x0, y0, x1, y1):
    g = np.stack(np.meshgrid(np.arange(x0, x1, RES / 2), np.arange(y0, y1, RES / 2)), -1)
    return g.reshape(-1, 2)


class World:
    """Static obstacle points, a costmap around the robot, scans as the points in reach."""

    def __init__(self, obstacles=np.zeros((0, 2))):
        self.obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 2)
        self.pose = np.array([0.0, 0.0, 0.0])
        self.v = self.w = 0.0
        self.t = 0.0
        self.min_clearance = math.inf

    def costmap(self):
        cm = RollingCostmap(CostmapConfig(size=12.0, resolution=RES, inscribed_radius=0.275))
        cm.recenter(*self.pose[:2])
        near = self.obstacles[np.all(np.abs(self.obstacles - self.pose[:2]) < 6.0, axis=1)]
        if len(near):
            cm.mark('lidar', near, self.t)
        return cm.costs(self.t), cm.origin.copy(), RES

    def scan(self):
        d = self.obstacles - self.pose[:2]
        c, s = math.cos(self.pose[2]), math.sin(self.pose[2])
        local = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]])
        return local[np.hypot(*local.T) < 8.0]

    def clearance(self):
        pts = self.scan()
        if not len(pts):
            return math.inf
        dx = np.maximum(np.abs(pts[:, 0]) - 0.35, 0.0)
        dy = np.maximum(np.abs(pts[:, 1]) - 0.275, 0.0)
        return float(np.hypot(dx, dy).min())

    def run(self, nav, seconds, dt=0.05, costmap_age=0.0, scan_age=0.0):
        outs = []
        cm, cm_t = self.costmap(), self.t
        for i in range(int(seconds / dt)):
            if i % 2 == 0:
                cm, cm_t = self.costmap(), self.t
            out = nav.step(self.t, self.pose.copy(), (self.v, self.w), cm, cm_t - costmap_age,
                           Obstacles(), self.scan(), self.t - scan_age, dt)
            outs.append(out)
            self.v, self.w = out.v, out.w
            th = self.pose[2]
            self.pose += [out.v * math.cos(th) * dt, out.v * math.sin(th) * dt, out.w * dt]
            self.t += dt
            self.min_clearance = min(self.min_clearance, self.clearance())
            if out.state != ACTIVE:
                break
        return outs


def test_free_goal_is_reached_on_the_global_path():
    world, nav = World(), Navigator()
    nav.set_goal([[0, 0], [6, 0]])
    outs = world.run(nav, 20.0)
    assert outs[-1].state == SUCCEEDED and outs[-1].reason == 'goal reached'
    assert np.hypot(*(world.pose[:2] - [6, 0])) <= nav.cfg.goal_tolerance
    assert not any(o.on_detour for o in outs)
    assert max(abs(o.cross_track_error) for o in outs) < 0.05


def test_blockage_on_the_path_is_passed_on_a_detour_without_touching_it():
    world = World(box_points(3.0, -0.6, 3.6, 0.6))
    nav = Navigator()
    nav.set_goal([[0, 0], [8, 0]])
    outs = world.run(nav, 40.0)
    assert outs[-1].state == SUCCEEDED
    assert any(o.on_detour for o in outs)
    assert any('detour planned' in o.events for o in outs)
    assert world.min_clearance > 0.1


def test_a_shut_way_is_re_routed_through_the_callback():
    # a wall across the whole window on the first route: only the other route is open
    world = World(box_points(3.0, -9.0, 3.3, 9.0))
    calls = []

    def reroute(xy, blocked):
        calls.append((xy.copy(), list(blocked)))
        return np.array([xy, [-1.0, 0.0]]), np.array([1.0]), [7]

    nav = Navigator()
    nav.set_goal([[0, 0], [2, 0], [8, 0]], [1.0, 1.0], [3, 4], reroute)
    outs = world.run(nav, 3.0)
    assert calls and calls[0][1] in ([3], [4])
    assert any('re-routed' in e for o in outs for e in o.events)
    assert np.allclose(nav._global[0][-1], [-1.0, 0.0])


def test_stale_costmap_or_scan_stops_the_robot_and_says_why():
    nav = Navigator()
    nav.set_goal([[0, 0], [6, 0]])
    out = World().run(nav, 0.5, costmap_age=2.0)[-1]
    assert (out.v, out.w) == (0.0, 0.0) and out.reason.startswith('costmap stale')
    nav = Navigator()
    nav.set_goal([[0, 0], [6, 0]])
    out = World().run(nav, 0.5, scan_age=1.0)[-1]
    assert (out.v, out.w) == (0.0, 0.0) and out.reason.startswith('scan stale')
    nav = Navigator()
    nav.set_goal([[0, 0], [6, 0]])
    out = nav.step(0.0, (0.0, 0.0, 0.0))
    assert (out.v, out.w) == (0.0, 0.0) and out.reason == 'waiting for the costmap'


def test_pose_jump_stops_and_re_plans():
    world, nav = World(), Navigator()
    nav.set_goal([[0, 0], [10, 0]])
    world.run(nav, 3.0)
    world.pose[1] += 1.0                       # odometry jumped sideways
    out = world.run(nav, 0.05)[-1]
    assert out.reason == 'pose jumped: re-planning' and (out.v, out.w) == (0.0, 0.0)
    outs = world.run(nav, 20.0)
    assert outs[-1].state == SUCCEEDED


def test_boxed_in_robot_recovers_then_fails_with_a_reason():
    ring = np.array([[1.0 * math.cos(a), 1.0 * math.sin(a)]
                     for a in np.linspace(0, 2 * math.pi, 400)])
    world = World(ring)
    nav = Navigator(NavigatorConfig(progress_timeout=2.0, max_recoveries=3))
    nav.set_goal([[0, 0], [6, 0]])
    outs = world.run(nav, 120.0)
    assert outs[-1].state == FAILED
    assert 'no progress' in outs[-1].reason and '3 recoveries' in outs[-1].reason
    kinds = [e for o in outs for e in o.events if e.startswith('recovery')]
    assert len(kinds) == 3
    assert world.min_clearance > 0.0


def test_reconfigure_while_running_takes_effect_everywhere():
    import dataclasses
    from delivery_robot_nav.planning.collision_monitor import STOP
    world, nav = World(), Navigator()
    nav.set_goal([[0, 0], [10, 0]])
    world.run(nav, 2.0)
    ahead = np.array([[0.35 + 0.15, 0.0]])          # 15 cm in front of the footprint
    assert nav.monitor.check(0.5, 0.0, ahead).state != STOP
    progress = nav.controller._progress
    cfg = dataclasses.replace(
        nav.cfg, monitor=dataclasses.replace(nav.cfg.monitor, stop_margin=0.2),
        controller=dataclasses.replace(nav.cfg.controller, max_speed=0.4))
    nav.reconfigure(cfg)
    assert nav.monitor.check(0.5, 0.0, ahead).state == STOP       # zones rebuilt
    assert nav.controller._progress == progress                  # still on its way
    outs = world.run(nav, 5.0)
    assert outs[0].v > 1.0                                        # was at walking speed
    assert max(o.v for o in outs[-40:]) <= 0.4 + 1e-9             # slowed to the new limit


def test_robot_nose_to_a_wall_backs_out_then_goes_round():
    # the wall is 3 cm in front of the footprint (inside the stop zone): turning in place
    # would swing the front corners into it, so the way out starts backwards
    world = World(box_points(0.38, -2.0, 0.5, 2.0))
    nav = Navigator(NavigatorConfig(held_timeout=1.0))
    nav.set_goal([[0, 0], [4, 0]])
    outs = world.run(nav, 90.0)
    events = [e for o in outs for e in o.events]
    assert any('back up' in e for e in events)
    assert outs[-1].state == SUCCEEDED, outs[-1].reason
    assert world.min_clearance > 0.0


def test_slowdown_zone_halves_the_speed_instead_of_pinning_the_robot_to_a_crawl():
    # a corridor whose walls are inside the slowdown zone all along (0.2 m from the sides)
    half = 0.275 + 0.2
    world = World(np.vstack([box_points(-1.0, half, 12.0, half + 0.1),
                             box_points(-1.0, -half - 0.1, 12.0, -half)]))
    nav = Navigator()
    nav.set_goal([[0, 0], [10, 0]])
    outs = world.run(nav, 60.0)
    assert outs[-1].state == SUCCEEDED, outs[-1].reason
    cruising = [o.v for o in outs if 'within' in o.reason and o.v > 0]
    assert len(cruising) > 20
    # the controller regulates to at least its min_regulated_speed near obstacles; the
    # monitor halves that, no less
    floor = nav.cfg.monitor.slowdown_ratio * nav.cfg.controller.min_regulated_speed
    assert np.median(cruising) >= 0.9 * floor
    assert world.min_clearance > 0.1


def run_with_walker(nav, goal, walker_at, seconds, dt=0.05):
    """The navigator on a kinematic robot from the origin to `goal`, one walker who
    cannot step aside at walker_at(t) -> (position, velocity). Returns the outputs, the
    closest gap (m) between the walker's 0.25 m disc and the footprint, and the least x
    the robot reached."""
    world = World()
    nav.set_goal([[0, 0], goal])
    outs, closest, least_x = [], math.inf, 0.0
    for _ in range(int(seconds / dt)):
        p, vel = walker_at(world.t)
        out = nav.step(world.t, world.pose.copy(), (world.v, world.w), world.costmap(),
                       world.t, Obstacles(p[None], vel[None], np.array([0.25])),
                       world.scan(), world.t, dt)
        outs.append(out)
        th = world.pose[2]
        world.pose += [out.v * math.cos(th) * dt, out.v * math.sin(th) * dt, out.w * dt]
        world.t += dt
        c, s = math.cos(world.pose[2]), math.sin(world.pose[2])
        d = p - world.pose[:2]
        lx, ly = c * d[0] + s * d[1], -s * d[0] + c * d[1]
        closest = min(closest, math.hypot(max(abs(lx) - 0.35, 0.0),
                                          max(abs(ly) - 0.275, 0.0)) - 0.25)
        least_x = min(least_x, world.pose[0])
    return outs, closest, least_x


def walker_at_the_standing_robot(nav, seconds=6.0, dt=0.05):
    """A walker who cannot step aside comes head-on, 0.4 m off the robot's centre line
    (its 0.25 m disc would clip the standing robot's side); the goal lies behind the
    walker. Returns the closest gap (m) between the walker and the footprint, and the
    outputs."""
    person, vel = np.array([4.0, 0.4]), np.array([-1.2, 0.0])
    outs, closest, _ = run_with_walker(nav, [6, 0], lambda t: (person + vel * t, vel),
                                       seconds, dt)
    return closest, outs


def test_robot_makes_way_for_a_walker_who_would_walk_into_it():
    closest, outs = walker_at_the_standing_robot(Navigator())
    assert any(o.reason == 'making way for a person' for o in outs)
    assert closest > 0.05
    # the same walker with making way switched off reaches the robot
    closest_off, _ = walker_at_the_standing_robot(Navigator(NavigatorConfig(evade_speed=0.0)))
    assert closest_off <= 0.0


def walker_turning_down_the_path(nav, turns: bool, seconds=6.0, dt=0.05):
    """A walker crosses the path 3.5 m ahead of the standing robot (goal 10 m ahead); the
    controller's second guess has them turn down the path towards the robot, reaching it
    just as the 3 s make-way horizon ends. With `turns` they do. Returns the closest gap
    (m), the number of cycles spent making way and the least x the robot reached."""
    def walker_at(t):
        if turns and t >= 0.5:
            return (np.array([3.5 - 1.2 * (t - 0.5), 0.5 - 0.5 * min(1.0, (t - 0.5) / 0.4)]),
                    np.array([-1.2, 0.0]))
        return np.array([3.5, 1.1 - 1.2 * t]), np.array([0.0, -1.2])
    outs, closest, least_x = run_with_walker(nav, [10, 0], walker_at, seconds, dt)
    return closest, sum(o.reason == 'making way for a person' for o in outs), least_x


def test_a_second_guess_alone_does_not_send_the_robot_backing_away():
    cc = ControllerConfig(turn_onto_path_distance=0.5)
    # the guess that the walker turns down the path touches the robot only at the end of
    # the horizon: counted as evade_guess_allowance farther away, it is no reason to back
    _, ways, least_x = walker_turning_down_the_path(
        Navigator(NavigatorConfig(controller=cc)), turns=False)
    assert ways == 0 and least_x > -0.01
    # counted in full, the robot backs away from someone who only crosses
    _, ways_full, least_x_full = walker_turning_down_the_path(
        Navigator(NavigatorConfig(controller=cc, evade_guess_allowance=0.0)), turns=False)
    assert ways_full > 0 and least_x_full < -0.2
    # when the walker does turn down the path, the robot is seen to make way in time
    closest, ways, _ = walker_turning_down_the_path(
        Navigator(NavigatorConfig(controller=cc)), turns=True)
    closest_full, _, _ = walker_turning_down_the_path(
        Navigator(NavigatorConfig(controller=cc, evade_guess_allowance=0.0)), turns=True)
    assert ways > 0 and closest > 0.1 and closest >= closest_full - 0.02


def test_making_way_takes_the_way_out_that_ends_nearest_the_path():
    # the robot stands 0.4 m off the path and 0.8 rad across it; a walker comes down the
    # path at it. Of the ways out that keep evade_clearance, it takes the one that ends
    # nearest the path (people walk the walkway's sides: across it the robot stands in
    # their lanes), not simply the one with the largest gap
    from delivery_robot_nav.planning.collision_monitor import arc_poses
    world = World()
    pose = np.array([0.0, 0.4, -0.8])
    walker = Obstacles(np.array([[3.0, 0.3]]), np.array([[-1.0, 0.0]]), np.array([0.25]))

    def way_out(cfg):
        nav = Navigator(cfg)
        nav.set_goal([[-5.0, 0.0], [10.0, 0.0]])
        nav.controller.set_path(np.array([[-5.0, 0.0], [10.0, 0.0]]))
        v, w = nav._make_way(pose, walker, world.costmap())
        x, y, th = (a[-1] for a in arc_poses(v, w, np.array([cfg.evade_horizon])))
        c, s = math.cos(pose[2]), math.sin(pose[2])
        end_y, end_yaw = pose[1] + s * x + c * y, pose[2] + th
        return abs(end_y) + cfg.evade_path_weight * abs(math.remainder(end_yaw, 2 * math.pi))

    nearest = way_out(NavigatorConfig())
    largest_gap = way_out(NavigatorConfig(evade_clearance=10.0))   # nothing is enough
    assert nearest < largest_gap - 0.1


def test_proximity_slows_the_robot_only_for_what_its_motion_brings_it_nearer_to():
    nav = Navigator(NavigatorConfig())
    behind = np.array([[-0.35 - 0.3, 0.1]])          # 0.3 m off the rear
    beside = np.array([[0.0, 0.275 + 0.3]])
    ahead = np.array([[0.35 + 0.5, 0.1]])
    nav._sent = (0.0, 0.0)                          # standing: as if going straight on
    assert nav._nearest_distance(behind) == math.inf
    assert nav._nearest_distance(np.vstack([behind, ahead])) == pytest.approx(0.5)
    nav._sent = (1.0, 0.0)                          # driving on: not what it leaves behind
    assert nav._nearest_distance(behind) == math.inf
    # nor what it passes (seed 91: slowing down kept the robot in the way of a walker
    # turning across the walkway into its side)
    assert nav._nearest_distance(np.vstack([behind, beside])) == math.inf
    assert nav._nearest_distance(np.vstack([beside, ahead])) == pytest.approx(0.5)
    nav._sent = (0.3, 1.0)                          # turning towards what is by its nose
    assert nav._nearest_distance(np.array([[0.3, 0.275 + 0.3]])) == pytest.approx(0.3)
    nav._sent = (-0.3, 0.0)                         # backing towards it
    assert nav._nearest_distance(behind) == pytest.approx(0.3)


def test_time_spent_waiting_for_people_does_not_count_against_getting_going_again():
    from delivery_robot_nav.planning.navigator import NavOutput
    nav = Navigator()
    nav.set_goal([[0, 0], [6, 0]])
    cfg = nav.cfg
    here = np.zeros(2)
    nav._anchor = (0.0, here.copy(), 0.0)

    def check(t, waiting):
        events = []
        out = nav._progress_or_recover(t, here, NavOutput(0.3, 0.0, ACTIVE, 'x'), events,
                                       waiting)
        return [e for e in events if 'recovery' in e]

    dt = 0.05
    ts = np.arange(dt, 20.0, dt)                   # 20 s yielding to someone: no recovery
    assert not any(check(t, True) for t in ts)
    # moving on: a fresh progress_timeout to get 0.3 m on (until 2026-11-30 the 20 s of
    # waiting counted, and the first cycle of moving on started a recovery)
    ts = np.arange(20.0, 20.0 + cfg.progress_timeout - 0.1, dt)
    assert not any(check(t, False) for t in ts)
    assert check(20.0 + cfg.progress_timeout + 0.05, False)       # then it does
    # and waiting alone still ends in a recovery after max_yield_time
    nav._anchor, nav._checked_t = (100.0, here.copy(), 0.0), None
    ts = np.arange(100.0 + dt, 100.0 + cfg.max_yield_time + 0.1, dt)
    assert any(check(t, True) for t in ts)
