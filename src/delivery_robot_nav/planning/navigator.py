"""Navigator: the path_following node's whole decision loop, without ROS.

Each cycle takes the robot's pose and velocity, the newest costmap, tracked objects and
scan points, and returns the velocity command, the state and the reason:

- the *global path*: a route on the campus graph (points, speed limits, edge ids) or, for
  a goal pose with no graph (BARN), the straight line to the goal;
- the *followed path*: the global path, or a detour planned in the costmap by the local
  planner from the robot to a point past the blockage, then the rest of the global path.
  The path ahead (`check_horizon`) is checked against the costmap every cycle; blocked
  (a sample at or above the planner's blocked cost, people walking excepted: the
  controller yields to them) -> re-plan; on a detour, re-plan every `replan_period`;
- when no detour reaches past the blockage and a `reroute` callback exists (the route
  graph), the blocked edge is closed and the route re-planned from where the robot is;
- the controller (Regulated Pure Pursuit with pedestrian yielding) follows the path;
- the collision monitor (raw scan, footprint) has the last word on every command;
- safety: no costmap, a stale costmap or scan, or a pose jump -> stop, with the reason;
- progress: less than `progress_distance` of travel in `progress_timeout` (people
  in the way get `max_yield_time`) -> recovery, in turn: re-plan, back up, rotate a
  quarter turn; after `max_recoveries` the goal fails with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from delivery_robot_nav.planning.collision_monitor import (APPROACH, SLOWDOWN, STOP,
                                                           CollisionMonitor,
                                                           CollisionMonitorConfig, arc_poses)
from delivery_robot_nav.planning.controller import (ControllerConfig, Obstacles, PathController,
                                                    box_gap)
from delivery_robot_nav.planning.local_planner import (GridPlanner, LocalPlannerConfig,
                                                       costs_at, in_grid)
from delivery_robot_nav.planning.polyline import arc_lengths, points_at, project

IDLE, ACTIVE, SUCCEEDED, FAILED = 'idle', 'active', 'succeeded', 'failed'


@dataclass(frozen=True)
class NavigatorConfig:
    controller: ControllerConfig = ControllerConfig()
    monitor: CollisionMonitorConfig = CollisionMonitorConfig()
    planner: LocalPlannerConfig = LocalPlannerConfig()
    footprint: tuple = ((-0.35, -0.275), (0.35, -0.275), (0.35, 0.275), (-0.35, 0.275))
    goal_tolerance: float = 0.25        # m from the goal: reached
    check_horizon: float = 4.0          # m of path ahead checked against the costmap
    detour_rejoin: float = 3.0          # m past the blockage where a detour rejoins
    replan_period: float = 1.0          # s between re-plans while on a detour
    switch_ratio: float = 0.85          # a new detour must cost less than this x the current
    detour_speed: float = 0.8           # m/s at most on a detour (close to obstacles)
    moving_speed: float = 0.3           # m/s, tracked objects faster than this: yielded to
    costmap_timeout: float = 1.0        # s, an older costmap stops the robot
    scan_timeout: float = 0.5           # s, an older scan stops the robot
    pose_jump: float = 0.5              # m between cycles: stop and re-plan
    progress_distance: float = 0.3      # m of travel expected ...
    progress_timeout: float = 8.0       # s ... within this time
    held_timeout: float = 2.0           # s held in place by the collision monitor: recover
    max_yield_time: float = 30.0        # s waiting for people before recovering
    evade_speed: float = 0.5            # m/s at most when making way for a person (0: never)
    evade_horizon: float = 3.0          # s of a person's predicted walk checked
    evade_margin: float = 0.15          # m to spare once making way (hysteresis)
    evade_clearance: float = 0.5        # m: a way keeping this gap is good enough ...
    evade_path_weight: float = 0.25     # m per rad of heading off the path (... nearest it)
    evade_guess_allowance: float = 0.3  # m: a second guess counts as this much farther away
    max_recoveries: int = 6
    backup_distance: float = 0.3        # m
    backup_speed: float = 0.15          # m/s
    rotate_angle: float = 1.5708        # rad
    rotate_speed: float = 0.8           # rad/s


@dataclass
class NavOutput:
    v: float
    w: float
    state: str                          # IDLE, ACTIVE, SUCCEEDED, FAILED
    reason: str                         # what limits or explains the command
    path: np.ndarray | None = None      # the followed path when it changed this cycle
    events: list[str] = field(default_factory=list)
    cross_track_error: float = 0.0
    on_detour: bool = False
    remaining: float = math.nan         # m along the followed path to its end


Reroute = Callable[[np.ndarray, list[int]], 'tuple[np.ndarray, np.ndarray, list[int]] | None']


class Navigator:
    def __init__(self, cfg: NavigatorConfig | None = None):
        self.cfg = cfg = cfg or NavigatorConfig()
        self.controller = PathController(cfg.controller)
        self.monitor = CollisionMonitor(cfg.monitor, np.asarray(cfg.footprint, dtype=float))
        self.planner = GridPlanner(cfg.planner)
        fp = np.asarray(cfg.footprint, dtype=float)
        self._fp_lo, self._fp_hi = fp.min(axis=0), fp.max(axis=0)
        self.state, self.reason = IDLE, 'no goal'
        self._reroute: Reroute | None = None
        self._global = None
        self._path = None
        self._detour = False
        self._recoveries = 0
        self._pending_events: list[str] = []
        self.remaining = math.nan          # m along the followed path, last cycle
        self._sent = (0.0, 0.0)            # the last command (v, w) returned
        self._evade_v = 0.0                # m/s making way for a person last cycle (0: not)

    # ------------------------------------------------------------------ goals
    def set_goal(self, points, speed_limits=None, edge_ids=None,
                 reroute: Reroute | None = None, t: float = 0.0, junctions=None):
        """A new global path (start ... goal); `edge_ids` per segment and `reroute` when
        it is a route on the graph, with the graph's `junctions` ((n, 2), where people
        may cross). Raises ValueError for an unusable path."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(pts) < 2 or not np.all(np.isfinite(pts)):
            raise ValueError('a goal path needs at least 2 finite points')
        speeds = (np.full(len(pts) - 1, self.cfg.controller.max_speed) if speed_limits is None
                  else np.asarray(speed_limits, dtype=float))
        edges = list(edge_ids) if edge_ids is not None else [-1] * (len(pts) - 1)
        self.controller.set_junctions(np.zeros((0, 2)) if junctions is None else junctions)
        self._global = (pts, speeds, edges)
        self._reroute = reroute
        self.goal = pts[-1].copy()
        self.state, self.reason = ACTIVE, 'new goal'
        self._path = None                # (points, speeds, edges) followed
        self._detour = False
        self._last_plan_t = -math.inf
        self._last_pose = None
        self._anchor = None              # (t, xy, s waited for people since) of the last progress
        self._checked_t = None           # when progress was last checked
        self._recoveries = 0
        self._recovery = None            # (kind, started t, start xy, start yaw, w)
        self._held_since = None          # t since the collision monitor holds the robot
        self._plan_note = None           # why the followed path falls short of the goal
        self._pending_events = ['goal accepted']
        self.controller.reset_motion()

    def reconfigure(self, cfg: NavigatorConfig):
        """New parameters while running (the monitor's zones are rebuilt, the controller
        keeps its progress and motion)."""
        self.cfg = cfg
        self.controller.reconfigure(cfg.controller)
        self.monitor = CollisionMonitor(cfg.monitor, np.asarray(cfg.footprint, dtype=float))
        self.planner.cfg = cfg.planner
        fp = np.asarray(cfg.footprint, dtype=float)
        self._fp_lo, self._fp_hi = fp.min(axis=0), fp.max(axis=0)

    def cancel(self, reason: str = 'cancelled'):
        self.state, self.reason = IDLE, reason
        self._global = None

    # ------------------------------------------------------------------ cycle
    def step(self, t: float, pose, velocity=(0.0, 0.0), costmap=None, costmap_stamp=None,
             obstacles: Obstacles | None = None, scan_points: np.ndarray | None = None,
             scan_stamp: float | None = None, dt: float = 0.05) -> NavOutput:
        """costmap: (costs int8 (h, w), origin xy, resolution) in the pose's frame;
        scan_points: (n, 2) in base_link."""
        out = self._step(t, pose, velocity, costmap, costmap_stamp, obstacles, scan_points,
                         scan_stamp, dt)
        self.reason, self.remaining = out.reason, out.remaining
        self._sent = (out.v, out.w)
        return out

    def _ramp(self, v: float, w: float, dt: float) -> tuple[float, float]:
        """(v, w) with their magnitudes growing no faster than the controller's
        acceleration limits from the last command sent (slowing down is never delayed)."""
        c = self.cfg.controller
        out = []
        for x, prev, a in ((v, self._sent[0], c.max_accel),
                           (w, self._sent[1], c.max_angular_accel)):
            base = abs(prev) if x * prev > 0 else 0.0
            out.append(math.copysign(min(abs(x), base + a * dt), x))
        return out[0], out[1]

    def _step(self, t, pose, velocity, costmap, costmap_stamp, obstacles, scan_points,
              scan_stamp, dt) -> NavOutput:
        cfg = self.cfg
        events, self._pending_events = self._pending_events, []
        if self.state != ACTIVE:
            return NavOutput(0.0, 0.0, self.state, self.reason, events=events)
        pose = np.asarray(pose, dtype=float)
        xy = pose[:2]
        obstacles = obstacles if obstacles is not None else Obstacles()
        # ---- safety inputs
        why = None
        if costmap is None or costmap_stamp is None:
            why = 'waiting for the costmap'
        elif t - costmap_stamp > cfg.costmap_timeout:
            why = f'costmap stale ({t - costmap_stamp:.1f} s)'
        elif scan_points is None or scan_stamp is None:
            why = 'waiting for a scan'
        elif t - scan_stamp > cfg.scan_timeout:
            why = f'scan stale ({t - scan_stamp:.1f} s)'
        elif not np.all(np.isfinite(pose)):
            why = 'pose is not finite'
        jumped = self._last_pose is not None and \
            math.hypot(*(xy - self._last_pose)) > cfg.pose_jump
        self._last_pose = xy.copy()
        if jumped:
            why = 'pose jumped: re-planning'
            self._path = None
            self._anchor = None
        if why is not None:
            return self._stop(why, events)
        # ---- goal reached?
        if math.hypot(*(self.goal - xy)) <= cfg.goal_tolerance:
            self.state, self.reason = SUCCEEDED, 'goal reached'
            self.controller.reset_motion()
            return NavOutput(0.0, 0.0, SUCCEEDED, 'goal reached', events=events + ['goal reached'])
        if self._anchor is None:
            self._anchor = (t, xy.copy(), 0.0)
        # ---- recovery in progress
        if self._recovery is not None:
            out = self._recover(t, pose, scan_points, events, costmap)
            if out is not None:
                return out
        # ---- path: plan / check / re-plan
        path_changed = None
        moving = np.hypot(*obstacles.velocity.T) > cfg.moving_speed if len(obstacles.xy) \
            else np.zeros(0, dtype=bool)
        people = obstacles.xy[moving]
        if self._path is None:
            path_changed = self._replan(t, xy, costmap, people, events)
        elif self._blocked_ahead(xy, costmap, people) is not None:
            path_changed = self._replan(t, xy, costmap, people, events)
        elif self._detour and t - self._last_plan_t >= cfg.replan_period:
            # a free detour is only replaced by a clearly better one (no flapping between
            # two equally good ways round)
            path_changed = self._replan(t, xy, costmap, people, events, keep_if_better=True)
        if self._path is None:
            return self._progress_or_recover(t, xy, self._stop(self.reason, []), events)
        # ---- control
        near = self._nearest_distance(scan_points)
        # the controller yields to what moves; what stands is in the costmap
        walking = Obstacles(obstacles.xy[moving], obstacles.velocity[moving],
                            obstacles.radius[moving])
        was_evading = self._evade_v != 0.0
        if was_evading:
            self.controller.reset_motion()      # what it wants, from standing
        cmd = self.controller.compute(pose, dt, walking, near)
        evade_v = 0.0
        if cfg.evade_speed > 0.0 and len(walking.xy) and not cmd.goal_reached and \
                abs(cmd.v) < 0.5 * cfg.evade_speed:
            way = self._make_way(pose, walking, costmap, was_evading)
            if way is not None:      # never standing: its speeds are +-evade_speed (/ 2)
                cmd.v, cmd.w, cmd.regulated_by = way[0], way[1], 'making way for a person'
                evade_v = way[0]
        evading, self._evade_v = evade_v != 0.0, evade_v
        if cmd.goal_reached:
            # the followed path ends short of the goal (nearest reachable point)
            out = NavOutput(0.0, 0.0, ACTIVE, self._plan_note or
                            'at the end of the reachable path', events=events)
            return self._progress_or_recover(t, xy, out, events)
        mon = self.monitor.check(cmd.v, cmd.w, scan_points)
        if cmd.regulated_by == 'rotating to the path' and abs(mon.w) < 0.5 * abs(cmd.w):
            # the turn in place would hit something: take the arc towards the path instead
            saved = self.controller.motion_state()
            arc = self.controller.compute(pose, dt, walking, near, allow_rotate=False)
            arc_mon = self.monitor.check(arc.v, arc.w, scan_points)
            if abs(arc_mon.v) > 1e-3:
                cmd, mon = arc, arc_mon
                cmd.regulated_by = 'turning on an arc (no room to turn in place)'
            else:
                self.controller.restore_motion(saved)
                # the way on lies behind and there is no room to turn: back along it
                back = self.controller.reverse_command(pose, cfg.backup_speed)
                if back is not None and self._rear_free(pose, costmap):
                    back_mon = self.monitor.check(*back, scan_points)
                    if abs(back_mon.v) > 1e-3:
                        mon = back_mon
                        cmd.v, cmd.w = back
                        cmd.regulated_by = 'backing along the path (no room to turn)'
        v, w = mon.v, mon.w
        if evading and mon.state == SLOWDOWN:
            # the slow-down zone would halve the getaway from the person it is for; the
            # swept footprint found nothing to hit (or the state would be APPROACH)
            v, w = cmd.v, cmd.w
        reason = cmd.regulated_by if mon.state == 'clear' else mon.reason
        if self._plan_note:
            reason = f'{self._plan_note} ({reason})'
        if mon.state == STOP:
            self.controller.reset_motion(v, w)
        # the monitor's slow-down scales what the controller wants (which keeps its own
        # motion state: resetting it to the scaled command every cycle would let the jerk
        # limit pin the robot to a crawl); speeding up again stays within the limits
        v, w = self._ramp(v, w, dt)
        out = NavOutput(v, w, ACTIVE, reason, path=path_changed, events=events,
                        cross_track_error=cmd.cross_track_error, on_detour=self._detour,
                        remaining=cmd.remaining)
        waiting_for_people = evading or cmd.regulated_by in (
            'yielding to a person', 'pedestrian ahead', 'waiting to cross a junction')
        held = mon.state in (STOP, APPROACH) and abs(v) < 0.5 * abs(cmd.v) + 1e-3 and \
            abs(w) < 0.5 * abs(cmd.w) + 1e-3
        return self._progress_or_recover(t, xy, out, events, waiting_for_people, held)

    # ------------------------------------------------------------------ planning
    def _replan(self, t, xy, costmap, people, events, keep_if_better=False) -> np.ndarray | None:
        """(Re-)build the followed path from the robot: the global path if its stretch
        ahead is free, else a detour. Returns the new path (None if none or unchanged).
        keep_if_better: the current (free) detour stays unless the new one costs less
        than `switch_ratio` of what the current one costs to the same end."""
        cfg = self.cfg
        self._last_plan_t = t
        g_pts, g_speed, g_edges = self._global
        _, k_robot, foot = project(g_pts, xy)
        rest_pts = np.vstack([foot, g_pts[k_robot + 1:]])
        rest_speed, rest_edges = g_speed[k_robot:], g_edges[k_robot:]
        blocked_at = self._first_blocked(rest_pts, xy, costmap, people)
        if blocked_at is None and math.hypot(*(foot - xy)) < 0.5:
            if self._detour:
                events.append('back on the route')
            self._set_path(rest_pts, rest_speed, rest_edges, detour=False)
            return self._path[0]
        # a detour: from the robot to a point past the blockage (or the goal)
        s_target = (blocked_at if blocked_at is not None else 0.0) + cfg.detour_rejoin
        cum = arc_lengths(rest_pts)
        s_target = min(s_target, cum[-1])
        # rejoin where the global path is free again
        costs, origin, res = costmap
        for _ in range(10):
            p = points_at(rest_pts, cum, s_target)
            if costs_at(costs, origin, res, p)[0] < cfg.planner.blocked_cost or \
                    s_target >= cum[-1]:
                break
            s_target = min(s_target + 0.5, cum[-1])
        target = points_at(rest_pts, cum, s_target)
        try:
            plan = self.planner.plan(costs, origin, res, xy, target)
        except ValueError as e:
            self._path, self.reason = None, f'cannot plan: {e}'
            return None
        inside = in_grid(costs.shape, origin, res, target)
        if len(plan.points) < 2 or (inside and not plan.reached_goal):
            # the way past the blockage is shut: another route, if there is a graph
            edge = self._edge_at(rest_edges, cum, blocked_at)
            if self._reroute is not None and edge is not None and edge >= 0:
                new = self._reroute(xy.copy(), [edge])
                if new is not None:
                    events.append(f'edge {edge} blocked: re-routed')
                    pts, speeds, edges = new
                    self._global = (np.asarray(pts, float), np.asarray(speeds, float), list(edges))
                    return self._replan(t, xy, costmap, people, events)
                events.append(f'edge {edge} blocked: no other route')
            if len(plan.points) < 2:
                self._path, self.reason = None, 'no free way from here'
                return None
            why = 'way blocked: moving as close as possible'
        else:
            why = None
        if keep_if_better and self._path is not None and len(plan.points) >= 2:
            old_pts = self._path[0]
            _, k0, foot0 = project(old_pts, xy)
            _, k1, foot1 = project(old_pts, plan.points[-1])
            if k1 >= k0:
                old_way = np.vstack([xy, foot0, old_pts[k0 + 1:k1 + 1], foot1])
                if plan.cost >= cfg.switch_ratio * self._cost_along(old_way, costmap):
                    return None
        # join: detour, then the global path from the target on (when the target lies
        # outside the costmap, through it: the window moves with the robot)
        j = int(np.searchsorted(cum, s_target, side='right'))
        if plan.reached_goal:
            tail = rest_pts[j:]
        elif not inside:
            tail = np.vstack([target, rest_pts[j:]])
        else:
            tail = np.zeros((0, 2))
        pts = np.vstack([plan.points, tail])
        k_t = min(max(j - 1, 0), len(rest_speed) - 1)
        detour_speed = min(cfg.detour_speed, float(rest_speed[:k_t + 1].min()))
        speeds = np.concatenate([np.full(len(plan.points) - 1 + (len(tail) > 0), detour_speed),
                                 rest_speed[j:j + max(len(tail) - 1, 0)]])
        speeds = np.concatenate([speeds, np.full(len(pts) - 1 - len(speeds), detour_speed)])
        edges = [-1] * (len(pts) - 1)
        was_detour = self._detour and self._path is not None
        self._set_path(pts, speeds, edges, detour=True)
        self._plan_note = why
        if not was_detour:
            events.append('detour planned')
        return self._path[0]

    def _set_path(self, pts, speeds, edges, detour: bool):
        pts = np.asarray(pts, dtype=float)
        keep = np.concatenate([[True], np.hypot(*np.diff(pts, axis=0).T) > 1e-6])
        pts, speeds = pts[keep], np.asarray(speeds, dtype=float)[keep[1:]]
        if len(pts) < 2:
            self._path = None
            return
        self._plan_note = None
        self.controller.continue_on(pts, speeds)
        self._path = (pts, speeds, list(edges))
        self._detour = detour

    def _cost_along(self, pts, costmap) -> float:
        """The local planner's cost (m, weighted by cell cost) of a polyline."""
        costs, origin, res = costmap
        cum = arc_lengths(pts)
        if cum[-1] <= 0:
            return 0.0
        s = np.arange(0.0, cum[-1], res / 2)
        c = costs_at(costs, origin, res, points_at(pts, cum, s)).astype(float)
        if np.any(c >= self.cfg.planner.blocked_cost):
            return math.inf
        return float(np.sum((res / 2) * (1.0 + self.cfg.planner.cost_weight / 100.0 * c)))

    def _first_blocked(self, pts, xy, costmap, people) -> float | None:
        """Arc length (from the path's start) of the first blocked sample within
        check_horizon, samples within 0.3 m of the robot and near moving people aside."""
        cfg = self.cfg
        costs, origin, res = costmap
        cum = arc_lengths(pts)
        s = np.arange(0.0, min(cfg.check_horizon, cum[-1]) + 1e-9, res)
        p = points_at(pts, cum, s)
        c = costs_at(costs, origin, res, p)
        bad = c >= cfg.planner.blocked_cost
        bad &= np.hypot(*(p - xy).T) > 0.3
        if len(people):
            d = np.min(np.hypot(*(p[:, None, :] - people[None, :, :]).transpose(2, 0, 1)), axis=1)
            bad &= d > 0.8
        i = np.flatnonzero(bad)
        return float(s[i[0]]) if len(i) else None

    def _blocked_ahead(self, xy, costmap, people) -> float | None:
        pts = self._path[0]
        _, k, foot = project(pts, xy)
        return self._first_blocked(np.vstack([foot, pts[k + 1:]]), xy, costmap, people)

    @staticmethod
    def _edge_at(edges, cum, s) -> int | None:
        if s is None or not len(edges):
            return None
        k = min(int(np.searchsorted(cum, s, side='right')) - 1, len(edges) - 1)
        return int(edges[max(k, 0)])

    # ------------------------------------------------------------------ progress, recovery
    def _progress_or_recover(self, t, xy, out: NavOutput, events, waiting=False,
                             held=False) -> NavOutput:
        """waiting: yielding to people (they get max_yield_time); held: the collision
        monitor refuses what the controller asks (wedged against something: recover after
        held_timeout of it rather than the whole progress_timeout).

        The time spent waiting for people does not count against progress_timeout: a robot
        that waited 20 s and starts again gets its progress_timeout to get going (until
        2026-11-30 the wait counted, and every wait of 8-30 s ended in a recovery the moment
        the robot moved on). Without progress for max_yield_time + progress_timeout in all,
        it recovers whatever it was doing."""
        cfg = self.cfg
        t0, p0, waited = self._anchor
        last, self._checked_t = self._checked_t, t
        if math.hypot(*(xy - p0)) >= cfg.progress_distance:
            self._anchor = (t, xy.copy(), 0.0)
            self._held_since = None
            return out
        if waiting and last is not None and last >= t0:
            waited += t - last
            self._anchor = (t0, p0, waited)
        if not held or waiting:
            self._held_since = None
        elif self._held_since is None:
            self._held_since = t
        if self._held_since is not None and t - self._held_since >= cfg.held_timeout:
            over = True
        elif waiting:
            over = t - t0 >= max(cfg.progress_timeout, cfg.max_yield_time)
        else:
            over = (t - t0 - waited >= cfg.progress_timeout or
                    t - t0 >= cfg.max_yield_time + cfg.progress_timeout)
        if not over:
            return out
        self._held_since = None
        # no progress: next recovery
        if self._recoveries >= cfg.max_recoveries:
            self.state = FAILED
            self.reason = (f'no progress for {t - t0:.0f} s after {self._recoveries} '
                           f'recoveries ({out.reason})')
            self.controller.reset_motion()
            return NavOutput(0.0, 0.0, FAILED, self.reason, events=events + ['failed'])
        kind = ('re-plan', 'back up', 'rotate')[self._recoveries % 3]
        self._recoveries += 1
        self._anchor = (t, xy.copy(), 0.0)
        events.append(f'recovery {self._recoveries}: {kind} ({out.reason})')
        if kind == 're-plan':
            self._path = None
            return NavOutput(0.0, 0.0, ACTIVE, f'recovery: {kind}', events=events)
        self._recovery = (kind, t, xy.copy(), None, 0.0)
        return NavOutput(0.0, 0.0, ACTIVE, f'recovery: {kind}', events=events)

    def _recover(self, t, pose, scan_points, events, costmap) -> NavOutput | None:
        """One cycle of the recovery under way; None when it is over (done, or the
        collision monitor lets none of its motion pass)."""
        cfg = self.cfg
        kind, t0, p0, yaw0, w_dir = self._recovery
        if kind == 'back up':
            done = math.hypot(*(pose[:2] - p0)) >= cfg.backup_distance or \
                t - t0 > 3.0 * cfg.backup_distance / cfg.backup_speed or \
                not self._rear_free(pose, costmap)
            v, w = -cfg.backup_speed, 0.0
        else:
            if yaw0 is None:
                # turn whichever way the monitor lets the robot turn (left first)
                yaw0, w_dir = pose[2], cfg.rotate_speed
                for w_try in (cfg.rotate_speed, -cfg.rotate_speed):
                    if abs(self.monitor.check(0.0, w_try, scan_points).w) >= 0.5 * cfg.rotate_speed:
                        w_dir = w_try
                        break
                self._recovery = (kind, t0, p0, yaw0, w_dir)
            turned = abs(math.remainder(pose[2] - yaw0, 2 * math.pi))
            done = turned >= cfg.rotate_angle or t - t0 > 2.0 * cfg.rotate_angle / cfg.rotate_speed
            v, w = 0.0, w_dir
        if not done:
            mon = self.monitor.check(v, w, scan_points)
            if abs(mon.v) + abs(mon.w) > 1e-6 and (v == 0.0 or mon.v != 0.0):
                return NavOutput(mon.v, mon.w, ACTIVE, f'recovery: {kind}', events=events)
        self._recovery = None
        self._path = None
        self._anchor = (t, pose[:2].copy(), 0.0)
        self.controller.reset_motion()
        return None

    def _make_way(self, pose, people: Obstacles, costmap,
                  going_on: bool = False) -> tuple[float, float] | None:
        """A person is predicted (constant velocity, and the controller's hypotheses) to
        walk into the robot standing where it is: a short motion (forward or back,
        straight or turning, at most `evade_speed`, over cells the costmap has free) out
        of the way; None when standing still is as good.

        Among the motions that keep `evade_clearance` to everyone over `evade_horizon`,
        the one ending nearest the path (distance + `evade_path_weight` x heading error;
        reversing the direction it is already making way in counts as 0.3 m more): the
        people who walk the walkway keep to its sides, and a robot that makes way across
        the walkway stands in the lane of the next one (until 2026-11-30 it took the
        motion with the largest gap, which often backed and turned it off the centre
        line into a crossing walker's way on). None keeps the clearance: the largest gap.
        The controller's second guesses (a walker turning down the path towards the robot
        or through a junction) count `evade_guess_allowance` farther away than they are:
        they warn early, and one that comes true is seen walking at the robot soon
        enough (until 2026-11-30 they counted in full, and the robot made way for
        guesses for seconds on end, backing and turning into the lane of someone real).
        """
        cfg = self.cfg
        t = np.arange(0.1, cfg.evade_horizon + 1e-9, 0.1)    # from the next instant on
        walk = people.xy[None, :, :] + t[:, None, None] * people.velocity[None, :, :]
        need = people.radius
        # and, as the controller predicts, walkers may turn down the path or cross a junction
        turned, which = self.controller.hypotheses(walk, people.velocity, t)
        if len(which):
            walk = np.concatenate([walk, turned], axis=1)
            need = np.concatenate([need, need[which] - cfg.evade_guess_allowance])
        box = self.controller.cfg.footprint_box
        # gaps between the people's discs and the footprint
        stay_gap = float((box_gap(walk - pose[:2], math.cos(pose[2]), math.sin(pose[2]), box)
                          - need[None, :]).min())
        # starts when someone would touch the footprint; once moving, goes on until the
        # gap has `evade_margin` to spare
        if stay_gap >= (cfg.evade_margin if going_on else 0.0):
            return None
        costs, origin, res = costmap
        c, s = math.cos(pose[2]), math.sin(pose[2])
        rot = np.array([[c, -s], [s, c]])
        path = self.controller.path
        best, best_gap = None, stay_gap + 0.01
        good, good_score = None, math.inf
        for v in (-cfg.evade_speed, -0.5 * cfg.evade_speed, 0.5 * cfg.evade_speed,
                  cfg.evade_speed):
            for w in np.array([-1.0, -0.5, 0.0, 0.5, 1.0]) * min(
                    1.5, self.controller.cfg.max_angular_speed):
                lx, ly, th = arc_poses(v, w, t)
                xy = pose[:2] + np.column_stack([lx, ly]) @ rot.T
                if np.any(costs_at(costs, origin, res, xy) >= self.cfg.planner.preferred_cost):
                    continue
                yaw = pose[2] + th
                gap = float((box_gap(walk - xy[:, None, :], np.cos(yaw)[:, None],
                                     np.sin(yaw)[:, None], box) - need[None, :]).min())
                if gap > best_gap:
                    best, best_gap = (v, w), gap
                if gap >= cfg.evade_clearance and path is not None:
                    _, k, foot = project(path, xy[-1])
                    d = path[k + 1] - path[k]
                    err = abs(math.remainder(float(yaw[-1]) - math.atan2(d[1], d[0]),
                                             2.0 * math.pi))
                    score = math.hypot(*(xy[-1] - foot)) + cfg.evade_path_weight * err
                    if going_on and v * self._evade_v < 0.0:
                        score += 0.3
                    if score < good_score:
                        good, good_score = (v, w), score
        return good if good is not None else best

    def _rear_free(self, pose, costmap, depth: float = 0.1) -> bool:
        """The strip `depth` deep behind the footprint is free in the costmap (a lidar
        without a rear view cannot vouch for it; the costmap remembers what was seen
        there). Checked every cycle of a back-up: it stops at the first mark behind."""
        costs, origin, res = costmap
        lo, hi = self._fp_lo, self._fp_hi
        # samples half a cell inside the footprint's sides: a mark in the cell next to the
        # side (an obstacle the robot drove past) is beside the strip, not in it
        xs = np.arange(lo[0] - depth, lo[0] + 1e-9, res / 2)
        ys = np.linspace(lo[1] + res / 2, hi[1] - res / 2,
                         max(2, int(round((hi[1] - lo[1]) / res))))
        g = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
        c, s = math.cos(pose[2]), math.sin(pose[2])
        world = pose[:2] + g @ np.array([[c, s], [-s, c]])
        return bool(np.all(costs_at(costs, origin, res, world) < 100))

    # ------------------------------------------------------------------ helpers
    def _stop(self, why: str, events) -> NavOutput:
        self.controller.reset_motion()
        return NavOutput(0.0, 0.0, ACTIVE, why, events=events)

    def _nearest_distance(self, pts: np.ndarray) -> float:
        """Distance (m) from the footprint's bounding box to the nearest scan point within
        the proximity distance that the robot's motion (the last command sent; standing:
        going straight ahead) brings it nearer to: slowing down for what is behind it,
        beside it, or beside a corner that its turn swings away, would keep it in the way
        of whoever is there."""
        if pts is None or not len(pts):
            return math.inf
        d = np.hypot(*np.maximum(np.maximum(self._fp_lo - pts, pts - self._fp_hi), 0.0).T)
        near = d < self.cfg.controller.proximity_distance
        if near.any():
            motion = self._sent if any(abs(x) > 1e-6 for x in self._sent) else (1.0, 0.0)
            near[near] = self.monitor.approaching(*motion, pts[near])
        return float(d[near].min()) if near.any() else math.inf

    @property
    def path(self) -> np.ndarray | None:
        return None if self._global is None or self._path is None else self._path[0]

    @property
    def global_path(self) -> np.ndarray | None:
        return None if self._global is None else self._global[0]

    @property
    def on_detour(self) -> bool:
        return self._global is not None and self._path is not None and self._detour

    @property
    def recoveries(self) -> int:
        return self._recoveries
