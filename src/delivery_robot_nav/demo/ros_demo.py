"""`delivery-nav demo`: the whole stack over real DDS delivering parcels, with a report.

Processes: localization, obstacle_detection, path_following and mission (the navigation
stack, each with its params file from config/), then sim_node (the embedded simulator,
faster than real time). This process is the user: it publishes the map (map_server's
job) and the initial pose (RViz's 2D Pose Estimate), sends one Deliver goal (stations in
order, then back to the depot), shows its progress, and records every topic of the
design into a rosbag2 (MCAP) while keeping what the report needs. When the delivery
ends (or a limit is hit) the processes are stopped and the report folder written:
map.png, speed.png, localization_error.png, clearance.png, metrics.json, bag/, logs/.
"""
from __future__ import annotations

import importlib
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from action_msgs.msg import GoalStatus
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry, Path as PathMsg
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock

from delivery_robot_msgs.action import Deliver
from delivery_robot_msgs.msg import (DeliveryStatus, NavigationStatus, SimCollision,
                                     TrackedObstacleArray)
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.maps import load_map
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.demo.bag import LATCHED, RELIABLE, SENSOR, BagWriter
from delivery_robot_nav.evaluation.delivery_report import DeliveryRecord, write_delivery_report
from delivery_robot_nav.planning.route_graph import RouteGraph
from delivery_robot_nav.sim.config import load_sim_config
from delivery_robot_nav.sim.robot_model import load_robot_model

# Every topic of ../shared/DESIGN.md (robot side, then navigation side), plus the
# simulator's truth and the messages between the navigation nodes: name -> (type, QoS of
# its publisher). A reliable subscription would not match a best-effort publisher.
TOPICS: dict[str, tuple[str, str]] = {
    'clock': ('rosgraph_msgs/msg/Clock', RELIABLE),
    'scan': ('sensor_msgs/msg/LaserScan', SENSOR),
    'odom': ('nav_msgs/msg/Odometry', RELIABLE),
    'imu/data': ('sensor_msgs/msg/Imu', SENSOR),
    'gps/fix': ('sensor_msgs/msg/NavSatFix', SENSOR),
    'gps/vel': ('geometry_msgs/msg/TwistWithCovarianceStamped', SENSOR),
    'camera/depth/image_raw': ('sensor_msgs/msg/Image', SENSOR),
    'camera/depth/camera_info': ('sensor_msgs/msg/CameraInfo', SENSOR),
    'cmd_vel': ('geometry_msgs/msg/Twist', RELIABLE),
    'tf': ('tf2_msgs/msg/TFMessage', RELIABLE),
    'tf_static': ('tf2_msgs/msg/TFMessage', LATCHED),
    'robot_description': ('std_msgs/msg/String', LATCHED),
    'map': ('nav_msgs/msg/OccupancyGrid', LATCHED),
    'initialpose': ('geometry_msgs/msg/PoseWithCovarianceStamped', RELIABLE),
    'odometry/filtered': ('nav_msgs/msg/Odometry', RELIABLE),
    'localization/pose': ('geometry_msgs/msg/PoseWithCovarianceStamped', RELIABLE),
    'diagnostics': ('diagnostic_msgs/msg/DiagnosticArray', RELIABLE),
    'obstacles': ('delivery_robot_msgs/msg/TrackedObstacleArray', RELIABLE),
    'local_costmap': ('nav_msgs/msg/OccupancyGrid', RELIABLE),
    'obstacles/markers': ('visualization_msgs/msg/MarkerArray', RELIABLE),
    'plan': ('nav_msgs/msg/Path', RELIABLE),
    'path_following/status': ('delivery_robot_msgs/msg/NavigationStatus', RELIABLE),
    'path_following/goal_station': ('std_msgs/msg/String', RELIABLE),
    'path_following/cancel': ('std_msgs/msg/Empty', RELIABLE),
    'delivery_status': ('delivery_robot_msgs/msg/DeliveryStatus', RELIABLE),
    'sim/ground_truth': ('nav_msgs/msg/Odometry', RELIABLE),
    'sim/collisions': ('delivery_robot_msgs/msg/SimCollision', RELIABLE),
    'sim/actors': ('delivery_robot_msgs/msg/TrackedObstacleArray', RELIABLE),
}

NAV_NODES = ('localization', 'obstacle_detection', 'path_following', 'mission')
_MODULES = {'localization': 'localization.node', 'obstacle_detection': 'perception.node',
            'path_following': 'planning.node', 'mission': 'mission.node',
            'sim_node': 'sim.node'}
_PARAMS = {'localization': 'localization.yaml', 'obstacle_detection': 'obstacle_detection.yaml',
           'path_following': 'path_following.yaml', 'mission': 'mission.yaml',
           'sim_node': 'sim.yaml'}


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


def _message_class(type_name: str):
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


def _qos(kind: str) -> QoSProfile:
    if kind == SENSOR:
        return qos_profile_sensor_data
    if kind == LATCHED:
        return QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                          reliability=ReliabilityPolicy.RELIABLE)
    return QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class DemoRecorder(Node):
    """Writes every topic into the bag as it arrives (serialized) and keeps what the report
    needs, on the simulation clock."""

    def __init__(self, bag: BagWriter, actor_radius: float):
        super().__init__('demo_recorder')
        self.bag = bag
        self.actor_radius = actor_radius
        self.sim_time = 0.0
        self.truth: list[tuple] = []          # t, x, y, yaw, v
        self.estimate: list[tuple] = []       # t, x, y, cxx, cxy, cyy
        self.cmd: list[tuple] = []            # t (sim time at receipt), v, w
        self.actor_t: list[float] = []
        self.actor_xy: list[np.ndarray] = []
        self.plans: list[np.ndarray] = []
        self.collisions: list[dict] = []
        self.events: list[dict] = []
        self.delivery: DeliveryStatus | None = None
        self.nav_status: NavigationStatus | None = None
        self.diagnostics: dict[str, dict] = {}
        self._handlers = {
            'clock': (Clock, self.on_clock), 'sim/ground_truth': (Odometry, self.on_truth),
            'odometry/filtered': (Odometry, self.on_estimate), 'cmd_vel': (Twist, self.on_cmd),
            'sim/actors': (TrackedObstacleArray, self.on_actors),
            'sim/collisions': (SimCollision, self.on_collision),
            'delivery_status': (DeliveryStatus, self.on_delivery),
            'path_following/status': (NavigationStatus, self.on_nav_status),
            'plan': (PathMsg, self.on_plan), 'diagnostics': (DiagnosticArray, self.on_diag)}
        for topic, (kind, qos) in TOPICS.items():
            self.create_subscription(_message_class(kind), topic, self._recorder(topic),
                                     _qos(qos), raw=True)
        self.pub_initial = self.create_publisher(PoseWithCovarianceStamped, 'initialpose', 10)

    def _recorder(self, topic: str):
        handler = self._handlers.get(topic)

        def callback(data: bytes, info):
            self.bag.write(topic, info['received_timestamp'], data)
            if handler is not None:
                handler[1](deserialize_message(data, handler[0]))
        return callback

    def event(self, kind: str, text: str, xy=None):
        if xy is None and self.truth:
            xy = self.truth[-1][1:3]
        self.events.append({'time': round(self.sim_time, 2), 'kind': kind, 'text': text,
                            'x': round(float(xy[0]), 2) if xy is not None else None,
                            'y': round(float(xy[1]), 2) if xy is not None else None})

    def on_clock(self, msg: Clock):
        self.sim_time = conv.from_time(msg.clock)

    def on_truth(self, msg: Odometry):
        p = msg.pose.pose
        self.truth.append((conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                           conv.quaternion_yaw(p.orientation), msg.twist.twist.linear.x))

    def on_estimate(self, msg: Odometry):
        p, c = msg.pose.pose, msg.pose.covariance
        self.estimate.append((conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                              c[0], c[1], c[7]))

    def on_cmd(self, msg: Twist):
        self.cmd.append((self.sim_time, msg.linear.x, msg.angular.z))

    def on_actors(self, msg: TrackedObstacleArray):
        self.actor_t.append(conv.from_time(msg.header.stamp))
        self.actor_xy.append(np.array([[o.pose.pose.position.x, o.pose.pose.position.y]
                                       for o in msg.obstacles]).reshape(-1, 2))

    def on_collision(self, msg: SimCollision):
        xy = (msg.robot_pose.position.x, msg.robot_pose.position.y)
        self.collisions.append({'time': round(conv.from_time(msg.header.stamp), 3),
                                'other': msg.other, 'x': round(xy[0], 2), 'y': round(xy[1], 2),
                                'speed': round(float(msg.speed), 3)})
        self.event('collision', f'collision with {msg.other} at {msg.speed:.2f} m/s', xy)

    def on_delivery(self, msg: DeliveryStatus):
        old = self.delivery
        self.delivery = msg
        if old is None or (old.state, old.current_station) != (msg.state, msg.current_station):
            names = {v: k[6:].lower() for k, v in vars(DeliveryStatus).items()
                     if k.startswith('STATE_') and isinstance(v, int)}
            self.event('delivery', f'{names.get(msg.state, msg.state)}'
                       + (f': {msg.current_station}' if msg.current_station else ''))

    def on_nav_status(self, msg: NavigationStatus):
        old = self.nav_status
        self.nav_status = msg
        if old is not None and msg.recoveries > old.recoveries and msg.goal == old.goal:
            self.event('recovery', f'recovery: {msg.reason}')
        if old is None or old.reason != msg.reason:
            if msg.reason.startswith('waiting'):
                self.event('wait', msg.reason)

    def on_plan(self, msg: PathMsg):
        pts = np.array([[p.pose.position.x, p.pose.position.y] for p in msg.poses]).reshape(-1, 2)
        if len(pts) > 1 and (not self.plans or pts.shape != self.plans[-1].shape
                             or not np.allclose(pts, self.plans[-1])):
            self.plans.append(pts)

    def on_diag(self, msg: DiagnosticArray):
        for status in msg.status:
            level = status.level
            self.diagnostics[status.name] = {
                'level': level[0] if isinstance(level, bytes) else int(level),
                'message': status.message, **{kv.key: kv.value for kv in status.values}}

    def publish_initial_pose(self, pose, sd=(0.3, 0.3, 0.1)):
        msg = PoseWithCovarianceStamped()
        msg.header.frame_id = 'map'
        msg.pose.pose = conv.planar_pose(*pose)
        cov = np.zeros((6, 6))
        cov[0, 0], cov[1, 1], cov[5, 5] = sd[0] ** 2, sd[1] ** 2, sd[2] ** 2
        msg.pose.covariance = cov.ravel().tolist()
        self.pub_initial.publish(msg)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process so far (Linux /proc), or None."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _stop(procs: dict[str, subprocess.Popen]):
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10.0
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _command(name: str, *params: str) -> list[str]:
    cmd = [sys.executable, '-m', f'delivery_robot_nav.{_MODULES[name]}', '--ros-args',
           '--params-file', str(share_path('config', _PARAMS[name]))]
    for p in params:
        cmd += ['-p', p]
    return cmd


class _Progress:
    """One line per leg change and every `period` wall seconds."""

    def __init__(self, log, period: float = 15.0):
        self.log, self.period = log, period
        self.last_wall, self.last_key = -math.inf, None

    def __call__(self, rec: DemoRecorder, feedback, wall: float, force: bool = False):
        if feedback is None or not feedback.current_station:
            return
        key = (feedback.current_station, feedback.stations_completed)
        if not force and key == self.last_key and wall - self.last_wall < self.period:
            return
        self.last_key, self.last_wall = key, wall
        left = (f'{feedback.distance_remaining:5.0f} m to go'
                if math.isfinite(feedback.distance_remaining) else '')
        eta = f', ETA {feedback.eta:.0f} s' if math.isfinite(feedback.eta) else ''
        rtf = rec.sim_time / wall if wall > 0 else 0.0
        nav = rec.nav_status.reason if rec.nav_status is not None else ''
        self.log(f'  [{wall:4.0f} s wall | {rec.sim_time:4.0f} s sim, {rtf:.1f}x] '
                 f'{feedback.stations_completed}/{feedback.stations_total} delivered | '
                 f'to {feedback.current_station}: {left or "starting"}{eta}'
                 f'{" | " + nav if nav else ""} | {len(rec.collisions)} collision(s)')


def run_demo(output: Path, stations: list[str], handover_time: float,
             real_time_factor: float, max_sim_time: float, max_wall_time: float,
             domain_id: int | None = None, return_to_depot: bool = True, log=print) -> dict:
    env = dds_environment(domain_id)
    os.environ.update({k: env[k] for k in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_DOMAIN_ID',
                                           'RMW_IMPLEMENTATION')})
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    legs = ['depot', *stations] + (['depot'] if return_to_depot else [])
    for old in ('bag', 'logs', 'deliveries.sqlite'):     # a demo writes a new report
        path = output / old
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    (output / 'logs').mkdir()
    graph = RouteGraph.from_file(share_path('config', 'campus_route_graph.geojson'))
    unknown = [s for s in stations if s not in graph.stations]
    if unknown:
        raise ValueError(f'unknown station(s) {", ".join(unknown)}; the route graph has: '
                         f'{", ".join(sorted(graph.stations))}')
    sim_cfg = load_sim_config(share_path('config', 'sim.yaml'))
    occ = load_map(share_path('worlds', 'campus_map.yaml'))
    robot = load_robot_model(share_path('urdf', 'delivery_robot.urdf'))
    commands = {
        'localization': _command('localization', 'use_sim_time:=true'),
        'obstacle_detection': _command('obstacle_detection', 'use_sim_time:=true'),
        'path_following': _command('path_following', 'use_sim_time:=true'),
        'mission': _command('mission', 'use_sim_time:=true',
                            f'store_file:={output / "deliveries.sqlite"}',
                            f'handover_time:={float(handover_time)}'),
        'sim_node': _command('sim_node', f'real_time_factor:={float(real_time_factor)}',
                             'start_delay:=1.0'),
    }
    log(f'demo: ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, DDS discovery on localhost only; '
        f'{" + ".join(commands)} at {real_time_factor}x real time; report in {output}')
    # Ctrl-C raises KeyboardInterrupt here (the loop below ends and reports) instead of
    # rclpy's handler shutting the context down under the recorder
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    bag = BagWriter(output / 'bag', {name: kind for name, (kind, _) in TOPICS.items()},
                    {name: qos for name, (_, qos) in TOPICS.items()})
    rec = DemoRecorder(bag, sim_cfg.actors.radius)
    client = ActionClient(rec, Deliver, 'deliver')
    procs: dict[str, subprocess.Popen] = {}
    logs = []
    outcome, result = 'timeout', None
    wall0 = time.monotonic()
    feedback = [None]
    progress = _Progress(log)

    def spin_until(done, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not done():
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs.values()):
                return False
            rclpy.spin_once(rec, timeout_sec=0.05)
        return True

    try:
        for name in NAV_NODES:
            f = open(output / 'logs' / f'{name}.log', 'w')
            logs.append(f)
            procs[name] = subprocess.Popen(commands[name], env=env, stdout=f,
                                           stderr=subprocess.STDOUT)
        # the simulator starts once every navigation node is up (the action server is the
        # last thing the mission node creates)
        if not spin_until(lambda: set(NAV_NODES) <= set(rec.get_node_names())
                          and client.server_is_ready(), 60.0):
            raise RuntimeError('the navigation nodes did not come up: see ' +
                               str(output / 'logs'))
        rec.publish_initial_pose(sim_cfg.start_pose)
        f = open(output / 'logs' / 'sim_node.log', 'w')
        logs.append(f)
        procs['sim_node'] = subprocess.Popen(commands['sim_node'], env=env, stdout=f,
                                             stderr=subprocess.STDOUT)
        # path following plans from the localized pose: send the delivery once it exists
        if not spin_until(lambda: len(rec.estimate) > 10, 60.0):
            raise RuntimeError('no odometry/filtered from localization: see ' +
                               str(output / 'logs'))
        goal = Deliver.Goal(delivery_id=f'demo-{int(time.time())}', stations=stations,
                            return_to_depot=return_to_depot)
        sent = client.send_goal_async(
            goal, feedback_callback=lambda m: feedback.__setitem__(0, m.feedback))
        spin_until(sent.done, 10.0)
        handle = sent.result() if sent.done() else None
        if handle is None or not handle.accepted:
            raise RuntimeError('the mission node refused the delivery: see '
                               + str(output / 'logs' / 'mission.log'))
        log(f'delivery {goal.delivery_id}: {" -> ".join(legs)}, '
            f'{handover_time:.0f} s hand-over at each station')
        result_future = handle.get_result_async()
        try:
            while True:
                rclpy.spin_once(rec, timeout_sec=0.05)
                wall = time.monotonic() - wall0
                progress(rec, feedback[0], wall)
                if result_future.done():
                    result = result_future.result()
                    outcome = ('delivered' if result.status == GoalStatus.STATUS_SUCCEEDED
                               else 'failed')
                    break
                if rec.sim_time >= max_sim_time:
                    outcome = 'sim_time_limit'
                    break
                if wall > max_wall_time:
                    outcome = 'wall_time_limit'
                    break
                dead = [n for n, p in procs.items() if p.poll() is not None]
                if dead:
                    outcome = f'process_exited:{",".join(dead)}'
                    break
        except KeyboardInterrupt:       # Ctrl-C: stop, and report what happened so far
            outcome = 'interrupted'
            log('interrupted: stopping the nodes and writing the report')
        # the final diagnostics (latency over the whole run) before the nodes stop
        if outcome != 'interrupted':
            spin_until(lambda: False, 1.5)
    finally:
        # where the cores went: each process's CPU time before it stops (and the recorder's)
        cpu = {name: _cpu_seconds(p.pid) for name, p in procs.items()}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu['recorder (this process)'] = usage.ru_utime + usage.ru_stime
        _stop(procs)
        for f in logs:
            f.close()
        bag.close()
    wall = time.monotonic() - wall0
    latency = _latency(rec.diagnostics)
    stats = {
        'outcome': outcome,
        'stations': stations,
        'delivered': list(result.result.completed_stations) if result else [],
        'failed': list(result.result.failed_stations) if result else [],
        'result_message': result.result.message if result else None,
        'transport': 'DDS (rclpy, Fast DDS, localhost), one process per node',
        'processes': list(commands),
        'real_time_factor_requested': real_time_factor,
        'wall_time_s': round(wall, 2),
        'real_time_factor_achieved': round(rec.sim_time / wall, 2) if wall else None,
        **latency,
        'cpu_s': {name: round(x, 1) for name, x in cpu.items() if x is not None},
        'cpu_cores_used': round(sum(x for x in cpu.values() if x is not None) / wall, 2)
        if wall else None,
        'bag': {'path': 'bag', 'storage': 'mcap', 'messages': sum(bag.counts.values()),
                'topics': bag.counts},
        'diagnostics': rec.diagnostics,
    }
    record = DeliveryRecord(
        title=f'Delivery over DDS: {" -> ".join(legs)}',
        truth=np.array(rec.truth).reshape(-1, 5), estimate=np.array(rec.estimate).reshape(-1, 6),
        cmd=np.array(rec.cmd).reshape(-1, 3), actor_t=np.array(rec.actor_t),
        actor_xy=rec.actor_xy, actor_radius=rec.actor_radius, plans=rec.plans,
        stations={s: graph.station(s) for s in ['depot', *stations]},
        events=rec.events, collisions=rec.collisions, footprint=robot.footprint, stats=stats)
    rec.destroy_node()
    rclpy.try_shutdown()
    return write_delivery_report(record, occ, output)


def _latency(diagnostics: dict) -> dict:
    """Scan-to-cmd_vel latency from path following's last diagnostics (over the run), and
    its first stage, scan to published obstacles, from obstacle detection's."""
    pf = next((v for k, v in diagnostics.items() if 'path following' in k), {})
    od = next((v for k, v in diagnostics.items() if 'obstacle detection' in k), {})
    out = {}
    for values, label, key in (
            (pf, 'scan to cmd_vel', 'scan_to_cmd_vel_latency'),
            (pf, 'scan via obstacles to cmd_vel', 'scan_via_obstacles_to_cmd_vel_latency'),
            (od, 'scan to obstacles', 'scan_to_obstacles_latency')):
        found = {k[len(label) + 1:]: v for k, v in values.items() if k.startswith(label + ' ')}
        if found:
            out[key] = {k: float(v) if k != 'samples' else int(v) for k, v in found.items()}
    return out
