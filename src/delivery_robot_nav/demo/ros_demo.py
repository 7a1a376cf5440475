"""The foundation demo over real DDS: sim_node + scripted_driver processes, recorded here.

`run_demo` starts the two nodes as child processes (loopback-only discovery, a private
domain id), records what they publish with a recorder node in this process, stops them
when the route is complete (or on a limit), and writes the report.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, LaserScan, NavSatFix

from delivery_robot_msgs.msg import DeliveryStatus, SimCollision, TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.geometry import se2_compose
from delivery_robot_nav.common.maps import load_map
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.world import load_world
from delivery_robot_nav.evaluation.report import RunRecord, write_report
from delivery_robot_nav.sim.config import load_sim_config


def dds_environment(domain_id: int | None = None) -> dict:
    """The environment every process of the demo runs with: loopback-only DDS discovery
    and a domain id of its own (given, inherited, or derived from this process id)."""
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if domain_id is not None:
        env['ROS_DOMAIN_ID'] = str(domain_id)
    else:
        env.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))
    env.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    return env


class DemoRecorder(Node):
    """Records ground truth, odometry, pedestrians, collisions and topic rates."""

    def __init__(self):
        super().__init__('demo_recorder')
        self.truth: list[tuple[float, float, float, float]] = []
        self.odom: list[tuple[float, float, float, float]] = []
        self.actors: list[np.ndarray] = []
        self._last_actor_t = -np.inf
        self.collisions: list[dict] = []
        self.status: DeliveryStatus | None = None
        self.sim_time = 0.0
        self.clock_seen = False
        self.counts: dict[str, int] = {}
        self.first_stamp: dict[str, float] = {}
        self.last_stamp: dict[str, float] = {}
        sensor = qos_profile_sensor_data
        self.create_subscription(Odometry, 'sim/ground_truth', self.on_truth, 50)
        self.create_subscription(Odometry, 'odom', self.on_odom, 50)
        self.estimates: list[tuple] = []
        self.create_subscription(Odometry, 'odometry/filtered', self.on_estimate, 50)
        self.create_subscription(TrackedObstacleArray, 'sim/actors', self.on_actors, 10)
        self.create_subscription(SimCollision, 'sim/collisions', self.on_collision, 10)
        self.create_subscription(DeliveryStatus, 'delivery_status', self.on_status, 10)
        self.create_subscription(Clock, 'clock', self.on_clock, 10)
        self.diagnostics_seen = False
        self.last_diagnostics: dict = {}
        self.create_subscription(DiagnosticArray, 'diagnostics', self.on_diagnostics, 10)
        # sensors are only counted: take them serialized (raw), time them by the sim clock
        for topic, kind in (('scan', LaserScan), ('imu/data', Imu), ('gps/fix', NavSatFix)):
            self.create_subscription(kind, topic, self._raw_counter(topic), sensor, raw=True)

    def _raw_counter(self, topic: str):
        def callback(_serialized):
            if self.clock_seen:        # before the first clock message there is no time
                self.count(topic, self.sim_time)
        return callback

    def count(self, topic: str, t: float):
        self.counts[topic] = self.counts.get(topic, 0) + 1
        self.first_stamp.setdefault(topic, t)
        self.last_stamp[topic] = t

    def on_diagnostics(self, msg: DiagnosticArray):
        self.diagnostics_seen = True
        for status in msg.status:
            self.last_diagnostics[status.name] = {
                'level': int.from_bytes(status.level, 'little') if isinstance(status.level, bytes)
                else int(status.level), 'message': status.message,
                **{kv.key: kv.value for kv in status.values}}

    def on_clock(self, msg: Clock):
        self.sim_time = conv.from_time(msg.clock)
        self.clock_seen = True

    def on_truth(self, msg: Odometry):
        self.count('sim/ground_truth', conv.from_time(msg.header.stamp))
        p = msg.pose.pose
        self.truth.append((conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                           conv.quaternion_yaw(p.orientation)))

    def on_odom(self, msg: Odometry):
        self.count('odom', conv.from_time(msg.header.stamp))
        p = msg.pose.pose
        self.odom.append((conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                          conv.quaternion_yaw(p.orientation)))

    def on_estimate(self, msg: Odometry):
        p, c = msg.pose.pose, msg.pose.covariance
        self.estimates.append((conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                               c[0], c[1], c[7]))

    def localization_stats(self) -> dict:
        """Estimate vs ground truth at the same stamps (both are stamped at sim steps)."""
        truth = {round(t, 4): (x, y) for t, x, y, _ in self.truth}
        errors, inside = [], []
        for t, x, y, cxx, cxy, cyy in self.estimates:
            ref = truth.get(round(t, 4))
            if ref is None:
                continue
            e = np.array([x - ref[0], y - ref[1]])
            errors.append(float(np.hypot(*e)))
            cov = np.array([[cxx, cxy], [cxy, cyy]])
            inside.append(float(e @ np.linalg.solve(cov, e)) <= 4.0)
        if not errors:
            return {'localization_samples': 0}
        err = np.array(errors)
        stamps = [t for t, *_ in self.estimates if round(t, 4) in truth]
        series, next_t = [], -1.0
        for t, e in zip(stamps, err):          # 1 Hz error trace for the report
            if t >= next_t:
                series.append([round(t, 2), round(float(e), 4)])
                next_t = t + 1.0
        return {'localization_samples': len(err),
                'localization_error_trace': series,
                'localization_rmse_m': round(float(np.sqrt(np.mean(err ** 2))), 4),
                'localization_max_error_m': round(float(err.max()), 4),
                'localization_inside_2sigma_fraction': round(float(np.mean(inside)), 3)}

    def on_actors(self, msg: TrackedObstacleArray):
        t = conv.from_time(msg.header.stamp)
        if t - self._last_actor_t >= 0.5:     # 2 Hz is plenty for the plot
            self._last_actor_t = t
            self.actors.append(np.array([[o.pose.pose.position.x, o.pose.pose.position.y]
                                         for o in msg.obstacles]))

    def on_collision(self, msg: SimCollision):
        self.collisions.append({
            'time': round(conv.from_time(msg.header.stamp), 3), 'other': msg.other,
            'x': round(msg.robot_pose.position.x, 2), 'y': round(msg.robot_pose.position.y, 2),
            'speed': round(float(msg.speed), 3)})

    def on_status(self, msg: DeliveryStatus):
        self.status = msg

    def rates(self) -> dict[str, float]:
        return {t: round((n - 1) / (self.last_stamp[t] - self.first_stamp[t]), 2)
                for t, n in self.counts.items()
                if n > 1 and self.last_stamp[t] > self.first_stamp[t]}


def _stop(procs: list[subprocess.Popen]):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10.0
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_demo(output: Path, real_time_factor: float, max_sim_time: float,
             max_wall_time: float, domain_id: int | None = None, localization: bool = True,
             log=print) -> dict:
    env = dds_environment(domain_id)
    os.environ.update({k: env[k] for k in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_DOMAIN_ID',
                                           'RMW_IMPLEMENTATION')})
    output.mkdir(parents=True, exist_ok=True)
    sim_params, demo_params = share_path('config', 'sim.yaml'), share_path('config', 'demo.yaml')
    loc_params = share_path('config', 'localization.yaml')
    commands = {
        'sim_node': [sys.executable, '-m', 'delivery_robot_nav.sim.node', '--ros-args',
                     '--params-file', str(sim_params),
                     '-p', f'real_time_factor:={float(real_time_factor)}',
                     '-p', 'start_delay:=2.0'],     # time for every node to discover it
        'scripted_driver': [sys.executable, '-m', 'delivery_robot_nav.demo.node', '--ros-args',
                            '--params-file', str(demo_params), '-p', 'use_sim_time:=true'],
    }
    if localization:
        # runs beside the scripted driver and is measured against ground truth; the driver
        # does not use it yet (path following will)
        commands['localization'] = [sys.executable, '-m', 'delivery_robot_nav.localization.node',
                                    '--ros-args', '--params-file', str(loc_params),
                                    '-p', 'use_sim_time:=true']
    log(f'demo: ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, discovery on localhost only; '
        f'{real_time_factor}x real time; logs in {output}')
    procs, logs = [], []
    rclpy.init()
    recorder = DemoRecorder()
    outcome = 'timeout'
    wall0 = time.monotonic()
    # localization first: the robot must not start driving before it can be localized
    order = sorted(commands, key=lambda name: name != 'localization')
    try:
        for name in order:
            f = open(output / f'{name}.log', 'w')
            logs.append(f)
            procs.append(subprocess.Popen(commands[name], env=env, stdout=f,
                                          stderr=subprocess.STDOUT))
            if name == 'localization':
                deadline = time.monotonic() + 60.0
                while not recorder.diagnostics_seen and time.monotonic() < deadline \
                        and procs[-1].poll() is None:
                    rclpy.spin_once(recorder, timeout_sec=0.1)
        commands = {name: commands[name] for name in order}
        last_print = 0.0
        while True:
            rclpy.spin_once(recorder, timeout_sec=0.05)
            if recorder.status is not None and \
                    recorder.status.state == DeliveryStatus.STATE_SUCCEEDED:
                outcome = 'route_complete'
                break
            if recorder.sim_time >= max_sim_time:
                outcome = 'sim_time_limit'
                break
            if time.monotonic() - wall0 > max_wall_time:
                outcome = 'wall_time_limit'
                break
            dead = [n for n, p in zip(commands, procs) if p.poll() is not None]
            if dead:
                outcome = f'process_exited:{",".join(dead)}'
                break
            if recorder.sim_time - last_print >= 30.0:
                last_print = recorder.sim_time
                remaining = (f', {recorder.status.distance_remaining:.0f} m to go'
                             if recorder.status is not None else '')
                log(f'  sim time {recorder.sim_time:6.0f} s{remaining}, '
                    f'{len(recorder.collisions)} collision(s)')
    finally:
        _stop(procs)
        for f in logs:
            f.close()
    wall = time.monotonic() - wall0
    cfg = load_sim_config(sim_params)
    world = load_world(cfg.world_file)
    truth = np.array(recorder.truth).reshape(-1, 4)
    odom = np.array(recorder.odom).reshape(-1, 4)
    if len(odom):
        start = np.array(cfg.start_pose)
        mapped = np.array([se2_compose(start, o[1:]) for o in odom])
        odom = np.column_stack([odom[:, 0], mapped[:, :2]])
    actors = None
    if recorder.actors and len({a.shape for a in recorder.actors}) == 1:
        actors = np.stack(recorder.actors)
    stats = {'outcome': outcome, 'transport': 'DDS (rclpy, Fast DDS, localhost)',
             'real_time_factor_requested': real_time_factor,
             'wall_time_s': round(wall, 2),
             'sim_time_s': round(recorder.sim_time, 2),
             'real_time_factor_achieved': round(recorder.sim_time / wall, 2) if wall else None,
             # as received here: best-effort sensor topics drop messages if this recorder
             # falls behind, so these are lower bounds of what sim_node published
             'topic_counts_received': recorder.counts,
             'topic_rates_received_hz': recorder.rates(),
             'final_status': recorder.status.message if recorder.status else None,
             **recorder.localization_stats(),
             'last_diagnostics': recorder.last_diagnostics}
    nodes = ' + '.join(commands)
    record = RunRecord(title=f'Campus loop over DDS: {nodes}',
                       truth=truth[:, :3], odom=odom if len(odom) else None, actors=actors,
                       collisions=recorder.collisions, stations=world.stations, stats=stats)
    map_yaml = share_path('worlds', 'campus_map.yaml')
    occ = load_map(map_yaml) if Path(cfg.world_file).name == 'campus.sdf' else None
    recorder.destroy_node()
    rclpy.try_shutdown()
    return write_report(record, occ, output)
