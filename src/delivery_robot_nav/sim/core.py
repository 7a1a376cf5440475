"""The embedded simulator's core: a lockstep `step(cmd) -> readings + ground truth` API.

No ROS and no wall clock: time advances by one base step (1 / step_rate_hz) per call.
Sensors fire on integer multiples of the base step and their readings are delivered after
their latency, stamped with the measurement time. The ROS node (node.py) and the scenario
runner (scenario.py) are two faces over this one core.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from delivery_robot_nav.sim.config import SimConfig, load_sim_config
from delivery_robot_nav.sim.motion import BaseState, DiffDriveBase
from delivery_robot_nav.sim.robot_model import RobotModel, load_robot_model
from delivery_robot_nav.sim.scene import Scene
from delivery_robot_nav.sim.sensors import DepthCamera, Gnss, Imu, Lidar, WheelOdometry
from delivery_robot_nav.common.world import Actor, World, load_world



class ActorSet:
    """All pedestrians' scripted trajectories, evaluated together (one numpy pass)."""

    def __init__(self, actors: list[Actor]):
        self.names = [a.name for a in actors]
        n = len(actors)
        k = max((len(a.times) for a in actors), default=2)
        self.times = np.full((n, k), np.inf)
        self.xy = np.zeros((n, k, 2))
        self.count = np.array([len(a.times) for a in actors], dtype=int)
        for i, a in enumerate(actors):
            self.times[i, :len(a.times)] = a.times
            self.xy[i, :len(a.times)] = a.poses[:, :2]
        self.duration = np.array([a.duration for a in actors])
        self.loop = np.array([a.loop for a in actors], dtype=bool)
        self.delay = np.array([a.delay_start for a in actors])
        self.auto_start = np.array([a.auto_start for a in actors], dtype=bool)
        self._rows = np.arange(n)
        self._cache_from, self._cache_until = 0.0, -1.0
        self._cache_p = self._cache_vel = np.zeros((n, 2))

    def __len__(self):
        return len(self.names)

    def positions(self, t: float) -> np.ndarray:
        """(n, 2) world positions at time t (same rule as world.Actor.pose_at).

        Every actor moves along a straight segment at constant speed between waypoints, so
        the full evaluation runs only when some actor reaches a waypoint; in between,
        positions are extrapolated from the cached segment velocities.
        """
        if not len(self):
            return np.zeros((0, 2))
        if self._cache_from <= t < self._cache_until:
            return self._cache_p + (t - self._cache_from) * self._cache_vel
        return self._evaluate(t)

    def velocities(self, t: float) -> np.ndarray:
        """(n, 2) world velocities at time t, m/s."""
        self.positions(t)
        return self._cache_vel

    def _evaluate(self, t: float) -> np.ndarray:
        started = self.auto_start & (t >= self.delay)
        local = np.where(started, t - self.delay, 0.0)
        looping = self.loop & (self.duration > 0)
        local = np.where(looping, np.mod(local, np.where(self.duration > 0, self.duration, 1.0)),
                         np.minimum(local, self.duration))
        i = np.clip((self.times <= local[:, None]).sum(axis=1) - 1, 0, self.count - 2)
        t0, t1 = self.times[self._rows, i], self.times[self._rows, i + 1]
        span = t1 - t0
        moving = span > 0
        a = np.where(moving, (local - t0) / np.where(moving, span, 1.0), 1.0)
        p0, p1 = self.xy[self._rows, i], self.xy[self._rows, i + 1]
        pos = p0 + np.clip(a, 0.0, 1.0)[:, None] * (p1 - p0)
        # how long each actor stays on this segment (global time), and its velocity there
        finished = ~looping & (local >= self.duration)
        waiting = ~started & self.auto_start
        remaining = np.where(waiting, self.delay - t,
                             np.where(finished | ~self.auto_start, np.inf, t1 - local))
        vel = np.where((moving & started & ~finished)[:, None],
                       (p1 - p0) / np.where(moving, span, 1.0)[:, None], 0.0)
        self._cache_from = t
        self._cache_until = t + max(float(remaining.min()), 1e-9)
        self._cache_p, self._cache_vel = pos, vel
        return pos


@dataclass
class GroundTruth:
    time: float
    x: float
    y: float
    yaw: float
    v: float
    w: float
    in_collision: bool


@dataclass
class CollisionEvent:
    time: float
    other: str          # SDF shape (model::link::collision) or actor name
    x: float
    y: float
    yaw: float
    speed: float


@dataclass
class StepResult:
    time: float
    ground_truth: GroundTruth
    readings: list = field(default_factory=list)       # delivered this step, in stamp order
    collisions: list[CollisionEvent] = field(default_factory=list)   # new contacts only
    actor_positions: np.ndarray | None = None           # (n, 2), when updated this step


class Simulator:
    """One robot in one world. `step()` advances time by 1 / cfg.step_rate_hz."""

    def __init__(self, world: World, robot: RobotModel, cfg: SimConfig,
                 seed: int | None = None, start: tuple[float, float, float] | None = None):
        self.world, self.robot, self.cfg = world, robot, cfg
        self.seed = cfg.seed if seed is None else seed
        root = np.random.SeedSequence(self.seed)
        rngs = [np.random.default_rng(s) for s in root.spawn(6)]
        self.dt = 1.0 / cfg.step_rate_hz
        self.scene = Scene(world, robot.collision_boxes, cfg.actors.radius, cfg.actors.height,
                           lidar_height=float(robot.frame('laser_link')[2, 3]))
        self.actors = ActorSet(world.actors)
        self.base = DiffDriveBase(cfg.motion, robot.wheel_radius, robot.wheel_separation,
                                  start or cfg.start_pose, rngs[0])
        self.lidar = Lidar(cfg.lidar, robot.frame('laser_link'), 'laser_link', rngs[1])
        self.imu = Imu(cfg.imu, 'imu_link', rngs[2])
        self.gnss = Gnss(cfg.gnss, robot.frame('gps_link'), 'gps_link', world.geodetic_origin,
                         rngs[3])
        self.odom = WheelOdometry(cfg.odom, self.base, 'odom', robot.base_frame,
                                  cfg.motion.slip_stddev)
        self.camera = (DepthCamera(cfg.depth_camera, robot.frame('camera_depth_optical_frame'),
                                   'camera_depth_optical_frame', rngs[4])
                       if cfg.depth_camera.enabled else None)
        self.periods = {name: cfg.period_steps(name) for name in cfg.sensor_rates()}
        # checked in this order each step: odometry first (collision checks ride on it)
        order = ('odom', 'imu', 'gnss', 'lidar', 'depth_camera')
        self._period_list = [(n, self.periods[n]) for n in order if n in self.periods]
        self.latency = {'odom': cfg.odom.latency, 'lidar': cfg.lidar.latency,
                        'imu': cfg.imu.latency, 'gnss': cfg.gnss.latency,
                        'depth_camera': cfg.depth_camera.latency}
        self.steps = 0
        self.time = 0.0
        self.cmd = (0.0, 0.0)
        self.cmd_time = -math.inf
        self._pending: list = []            # heap of (deliver_time, seq, reading)
        self._seq = 0
        self._contacts: set[str] = set()
        self.actor_xy = self.actors.positions(0.0)
        self._place(self.actor_xy)
        self.scene.update()

    @classmethod
    def from_files(cls, config: str | Path | None = None, world: str | Path | None = None,
                   overrides: dict | None = None, **kwargs) -> Simulator:
        cfg = load_sim_config(config, overrides)
        return cls(load_world(world or cfg.world_file),
                   load_robot_model(cfg.robot_description_file), cfg, **kwargs)

    @property
    def state(self) -> BaseState:
        return self.base.state

    def ground_truth(self) -> GroundTruth:
        s = self.base.state
        return GroundTruth(self.time, s.x, s.y, s.yaw, s.v, s.w, bool(self._contacts))

    def _place(self, actor_xy):
        s = self.base.state
        self.scene.set_actor_positions(actor_xy)
        self.scene.set_robot_pose(s.x, s.y, s.yaw)

    def step(self, cmd: tuple[float, float] | None = None) -> StepResult:
        """Advance one base step. `cmd` = (v m/s, w rad/s), or None for no new command
        (the base keeps the last one until motion.cmd_timeout, then brakes to a stop)."""
        if cmd is not None:
            v, w = float(cmd[0]), float(cmd[1])
            if math.isfinite(v) and math.isfinite(w):
                self.cmd, self.cmd_time = (v, w), self.time
        fresh = self.time - self.cmd_time <= self.cfg.motion.cmd_timeout
        target = self.cmd if fresh else (0.0, 0.0)
        self.base.step(target[0], target[1], self.dt)
        self.steps += 1
        self.time = self.steps * self.dt
        result = StepResult(self.time, None)

        k, t = self.steps, self.time
        due = [name for name, period in self._period_list if k % period == 0]
        if due and (due[0] == 'odom' or 'lidar' in due or 'depth_camera' in due):
            self.actor_xy = self.actors.positions(t)
            result.actor_positions = self.actor_xy
            self._place(self.actor_xy)
            self.scene.update()
            result.collisions = self._check_collisions()
        state = self.base.state
        for name in due:
            if name == 'imu':
                reading = self.imu.measure(t, state)
            elif name == 'odom':
                reading = self.odom.measure(t)
            elif name == 'gnss':
                reading = self.gnss.measure(t, state)
            elif name == 'lidar':
                reading = self.lidar.measure(t, state, self.scene)
            else:
                reading = self.camera.measure(t, state, self.scene)
            self._seq += 1
            heapq.heappush(self._pending, (t + self.latency[name], self._seq, reading))
        readings = []
        while self._pending and self._pending[0][0] <= t + 1e-9:
            readings.append(heapq.heappop(self._pending)[2])
        result.readings = readings
        result.ground_truth = GroundTruth(t, state.x, state.y, state.yaw, state.v, state.w,
                                          bool(self._contacts))
        return result

    def _check_collisions(self) -> list[CollisionEvent]:
        names = {c.other for c in self.scene.robot_contacts()}
        new = sorted(names - self._contacts)
        self._contacts = names
        s = self.base.state
        return [CollisionEvent(self.time, n, s.x, s.y, s.yaw, abs(s.v)) for n in new]
