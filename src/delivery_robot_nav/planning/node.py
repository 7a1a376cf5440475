"""`path_following`: the Navigator (navigator.py) as a ROS 2 node.

Goals: `goal_pose` (geometry_msgs/PoseStamped, RViz's 2D Goal Pose; routed on the graph
when use_route_graph is true, else straight with detours) and `path_following/goal_station`
(std_msgs/String, a station of the route graph; what the mission node sends);
`path_following/cancel` (std_msgs/Empty) stops. Inputs: odometry/filtered (pose and
velocity in the global frame), local_costmap, obstacles, scan (for the collision monitor,
transformed into base_link with the URDF's laser mount). Outputs: plan (nav_msgs/Path, on
every change), cmd_vel (Twist or TwistStamped), path_following/status
(delivery_robot_msgs/NavigationStatus, on every change and at 2 Hz) and diagnostics
(with the scan-to-cmd_vel latency: common/latency.py).
Every rejected input or goal is counted and said, never fatal; without fresh inputs the
robot is stopped and the status says why.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path as FilePath

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, Twist, TwistStamped
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.subscription import MessageInfo
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Empty, String

from delivery_robot_msgs.msg import NavigationStatus, TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.geometry import yaw_of
from delivery_robot_nav.common.latency import ChainLatency, stamp_key
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.perception.lidar import scan_points
from delivery_robot_nav.planning.config import (LIVE_PARAMS, NODE_NAME, PATH_FOLLOWING_PARAMS,
                                                load_path_following_params, navigator_config)
from delivery_robot_nav.planning.controller import Obstacles
from delivery_robot_nav.planning.local_planner import costs_at
from delivery_robot_nav.planning.navigator import ACTIVE, FAILED, IDLE, SUCCEEDED, Navigator
from delivery_robot_nav.planning.route_graph import RouteGraph, RouteGraphError
from delivery_robot_nav.sim.robot_model import load_robot_model

_STATES = {IDLE: NavigationStatus.STATE_IDLE, ACTIVE: NavigationStatus.STATE_ACTIVE,
           SUCCEEDED: NavigationStatus.STATE_SUCCEEDED, FAILED: NavigationStatus.STATE_FAILED}


def _share_relative(value: str):
    """A file parameter: absolute, relative to the working directory if it exists there,
    else relative to the package share (so params files can name package files)."""
    if not value:
        return None
    p = FilePath(value)
    return p if p.is_absolute() or p.exists() else share_path(*p.parts)


class PathFollowingNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        self.values = declare_parameters(self, PATH_FOLLOWING_PARAMS,
                                         load_path_following_params())
        v = self.values
        self.robot = load_robot_model(_share_relative(v['robot_description_file'])
                                      or share_path('urdf', 'delivery_robot.urdf'))
        laser = self.robot.frame('laser_link')
        self.laser = (float(laser[0, 3]), float(laser[1, 3]), yaw_of(laser))
        self.frame = v['global_frame_id']
        self.graph = (RouteGraph.from_file(_share_relative(v['route_graph_file']) or
                                           share_path('config', 'campus_route_graph.geojson'))
                      if v['use_route_graph'] else None)
        self.nav = Navigator(navigator_config(v, self.robot))
        self.pose = None                 # (t, x, y, yaw, v, w)
        self.costmap = None              # (costs, origin, resolution), stamp
        self.costmap_stamp = None
        self.obstacles: Obstacles | None = None
        self.scan_points = None
        self.scan_stamp = None
        self.goal_name = ''
        self.rejected: dict[str, int] = {}
        self.last_status = None
        self.canceled = False
        self.cycle_ms: list[float] = []
        # scan publication -> cmd_vel, directly (collision monitor) and through obstacles
        self.latency = ChainLatency(('scan', 'obstacles'))
        sensor = qos_profile_sensor_data
        self.create_subscription(Odometry, 'odometry/filtered', self.on_odometry, sensor)
        self.create_subscription(OccupancyGrid, 'local_costmap', self.on_costmap, 5)
        self.create_subscription(TrackedObstacleArray, 'obstacles', self.on_obstacles, 10)
        self.create_subscription(LaserScan, 'scan', self.on_scan, sensor)
        self.create_subscription(PoseStamped, 'goal_pose', self.on_goal_pose, 10)
        self.create_subscription(String, 'path_following/goal_station', self.on_goal_station, 10)
        self.create_subscription(Empty, 'path_following/cancel', self.on_cancel, 10)
        self.pub_cmd = self.create_publisher(
            TwistStamped if v['use_stamped_cmd_vel'] else Twist, 'cmd_vel', 10)
        self.pub_plan = self.create_publisher(Path, 'plan', 5)
        self.pub_status = self.create_publisher(NavigationStatus, 'path_following/status', 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, 'diagnostics', 10)
        self.add_post_set_parameters_callback(self.on_params_set)
        # the control cycle: on this timer, and at once when fresh obstacles arrive (see
        # on_obstacles), so a command reacts to what was just seen, not to the timer's phase
        self.control_timer = self.create_timer(1.0 / v['control_rate_hz'], self.control)
        self.last_cycle: float | None = None     # node-clock time of the last control cycle
        self.create_timer(0.5, self.publish_status)
        self.create_timer(1.0, self.publish_diagnostics)
        self.get_logger().info(f'path following in "{self.frame}"'
                               + (f', route graph with {len(self.graph.stations)} stations'
                                  if self.graph else ', no route graph'))

    # ------------------------------------------------------------------ helpers
    def reject(self, reason: str):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.get_logger().warning(reason, throttle_duration_sec=5.0)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_params_set(self, params):
        if any(p.name in LIVE_PARAMS for p in params):
            self.values.update({p.name: p.value for p in params})
            self.nav.reconfigure(navigator_config(self.values, self.robot))

    # ------------------------------------------------------------------ inputs
    def on_odometry(self, msg: Odometry):
        if msg.header.frame_id and msg.header.frame_id != self.frame:
            self.reject(f'odometry/filtered: frame "{msg.header.frame_id}", expected '
                        f'"{self.frame}"')
            return
        p, tw = msg.pose.pose, msg.twist.twist
        values = (p.position.x, p.position.y, conv.quaternion_yaw(p.orientation),
                  tw.linear.x, tw.angular.z)
        if not all(math.isfinite(a) for a in values):
            self.reject('odometry/filtered: non-finite pose or twist')
            return
        self.pose = (conv.from_time(msg.header.stamp), *values)

    def on_costmap(self, msg: OccupancyGrid):
        if msg.header.frame_id != self.frame:
            self.reject(f'local_costmap: frame "{msg.header.frame_id}", expected "{self.frame}"')
            return
        w, h, res = msg.info.width, msg.info.height, msg.info.resolution
        if w * h == 0 or len(msg.data) != w * h or not (math.isfinite(res) and res > 0):
            self.reject(f'local_costmap: {w}x{h} grid with {len(msg.data)} cells at '
                        f'resolution {res}: expected a non-empty, consistent grid')
            return
        # rows along +y from the origin, as the message has them
        costs = np.asarray(msg.data, dtype=np.int8).reshape(msg.info.height, msg.info.width)
        origin = np.array([msg.info.origin.position.x, msg.info.origin.position.y])
        self.costmap = (costs, origin, float(msg.info.resolution))
        self.costmap_stamp = conv.from_time(msg.header.stamp)

    def on_obstacles(self, msg: TrackedObstacleArray):
        if msg.header.frame_id != self.frame:
            self.reject(f'obstacles: frame "{msg.header.frame_id}", expected "{self.frame}"')
            return
        self.latency.arrived('obstacles', stamp_key(msg.header.stamp.sec,
                                                    msg.header.stamp.nanosec))
        xy, vel, rad = [], [], []
        for o in msg.obstacles:
            vals = (o.pose.pose.position.x, o.pose.pose.position.y,
                    o.velocity.twist.linear.x, o.velocity.twist.linear.y)
            if not all(math.isfinite(a) for a in vals):
                continue
            xy.append(vals[:2])
            vel.append(vals[2:])
            rad.append(max(max(o.size.x, o.size.y), 0.3) / 2.0)
        self.obstacles = Obstacles(np.array(xy).reshape(-1, 2), np.array(vel).reshape(-1, 2),
                                   np.array(rad))
        # a cycle now on what was just seen (unless one ran within a tenth of a period),
        # and the timer restarted from it: at the timer's phase the command waited up to a
        # whole period for it (demo, 2026-12-01: scan -> obstacles -> cmd_vel p95 50 ms at
        # 20 Hz; 53 ms when a cycle within half a period held the trigger back)
        period = 1.0 / self.values['control_rate_hz']
        if self.last_cycle is None or self.now() - self.last_cycle >= 0.1 * period:
            self.control_timer.reset()
            self.control()

    def on_scan(self, msg: LaserScan, info: MessageInfo):
        ranges, angles = conv.scan_arrays(msg)
        if len(ranges) == 0:
            self.reject('scan: empty')
            return
        key = stamp_key(msg.header.stamp.sec, msg.header.stamp.nanosec)
        self.latency.published(key, info['source_timestamp'])
        self.latency.arrived('scan', key)
        self.scan_points = scan_points(ranges, angles, self.laser, (0.0, 0.0, 0.0),
                                       msg.range_min, msg.range_max).base
        self.scan_stamp = conv.from_time(msg.header.stamp)

    # ------------------------------------------------------------------ goals
    def _start(self, name: str, goal_xy):
        if self.pose is None:
            self._refuse(name, 'no odometry/filtered yet: cannot plan from an unknown pose')
            return
        start = np.array(self.pose[1:3])
        t = self.now()
        try:
            if self.graph is not None:
                graph = self.graph
                snap = self.values['route.max_snap_distance']
                target = name if name != 'pose' else goal_xy
                route = graph.plan(start, target, snap)
                pts = route.points
                if name == 'pose' and math.hypot(*(pts[-1] - goal_xy)) > 1e-3:
                    pts = np.vstack([pts, goal_xy])          # the last step off the graph
                    speeds = np.append(route.speed_limits, route.speed_limits[-1])
                    edges = list(route.edge_ids) + [-1]
                else:
                    speeds, edges = route.speed_limits, route.edge_ids
                pts = np.vstack([start, pts]) if math.hypot(*(pts[0] - start)) > 0.05 else pts
                if len(pts) > len(speeds) + 1:
                    speeds = np.insert(speeds, 0, speeds[0])
                    edges = [-1] + list(edges)
                self.nav.set_goal(pts, speeds, edges, graph.rerouter(target, snap), t,
                                  junctions=graph.junctions())
            else:
                self.nav.set_goal(np.vstack([start, goal_xy]), None, None, None, t)
        except (RouteGraphError, ValueError) as exc:
            self._refuse(name, str(exc))
            return
        self.goal_name, self.canceled = name, False
        self.get_logger().info(f'goal {name}: {len(self.nav.global_path)}-point path')
        self.publish_status(force=True)

    def _refuse(self, name: str, why: str):
        self.reject(f'goal {name} rejected: {why}')
        msg = self._status_msg()
        msg.goal, msg.state, msg.reason = name, NavigationStatus.STATE_REJECTED, why
        self.pub_status.publish(msg)

    def on_goal_pose(self, msg: PoseStamped):
        if msg.header.frame_id and msg.header.frame_id != self.frame:
            self._refuse('pose', f'goal frame "{msg.header.frame_id}", expected "{self.frame}"')
            return
        xy = np.array([msg.pose.position.x, msg.pose.position.y])
        if not np.all(np.isfinite(xy)):
            self._refuse('pose', 'goal position is not finite')
            return
        if self.costmap is not None and self._goal_blocked(xy):
            self._refuse('pose', f'goal ({xy[0]:.2f}, {xy[1]:.2f}) is inside an obstacle')
            return
        self._start('pose', xy)

    def on_goal_station(self, msg: String):
        name = msg.data.strip()
        if self.graph is None:
            self._refuse(name, 'use_route_graph is false: station goals need the route graph')
            return
        if name not in self.graph.stations:
            self._refuse(name, f'unknown station "{name}" (known: '
                               f'{", ".join(sorted(self.graph.stations))})')
            return
        self._start(name, self.graph.station(name))

    def on_cancel(self, _msg: Empty):
        if self.nav.state == ACTIVE:
            self.nav.cancel('canceled')
            self.canceled = True
            self.publish_cmd(0.0, 0.0)
            self.publish_status(force=True)

    def _goal_blocked(self, xy) -> bool:
        costs, origin, res = self.costmap
        return bool(costs_at(costs, origin, res, xy)[0] >= 100)

    # ------------------------------------------------------------------ control
    def control(self):
        if self.nav.state != ACTIVE:
            return
        t = self.now()
        t0 = time.perf_counter()
        if self.pose is None or t - self.pose[0] > self.values['pose_timeout']:
            why = ('no odometry/filtered' if self.pose is None else
                   f'odometry/filtered stale ({t - self.pose[0]:.1f} s)')
            self.nav.reason = why
            self.nav.controller.reset_motion()
            self.publish_cmd(0.0, 0.0)
            self._status_if_changed(why)
            return
        _, x, y, yaw, v, w = self.pose
        # the time since the last cycle (cycles also run on fresh obstacles: the limits on
        # acceleration and jerk hold over the time that passed), within a tenth of a period
        # and one and a half periods
        period = 1.0 / self.values['control_rate_hz']
        dt = period if self.last_cycle is None else min(max(t - self.last_cycle, 0.1 * period),
                                                        1.5 * period)
        self.last_cycle = t
        out = self.nav.step(t, (x, y, yaw), (v, w), self.costmap, self.costmap_stamp,
                            self.obstacles, self.scan_points, self.scan_stamp, dt)
        self.publish_cmd(out.v, out.w)
        self.latency.command_sent(time.time_ns())
        if out.path is not None:
            self.pub_plan.publish(self._path_msg(out.path, t))
        for e in out.events:
            self.get_logger().info(e)
        self.cycle_ms.append((time.perf_counter() - t0) * 1e3)
        del self.cycle_ms[:-200]
        self._status_if_changed(out.reason)

    def publish_cmd(self, v: float, w: float):
        tw = Twist()
        tw.linear.x, tw.angular.z = float(v), float(w)
        if self.values['use_stamped_cmd_vel']:
            msg = TwistStamped()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = self.values['base_frame_id']
            msg.twist = tw
            self.pub_cmd.publish(msg)
        else:
            self.pub_cmd.publish(tw)

    def _path_msg(self, pts: np.ndarray, t: float) -> Path:
        msg = Path()
        msg.header.frame_id = self.frame
        msg.header.stamp = conv.to_time(t)
        for i, p in enumerate(pts):
            ps = PoseStamped()
            ps.header = msg.header
            nxt = pts[min(i + 1, len(pts) - 1)] - pts[max(i - 1, 0)] if len(pts) > 1 else (1, 0)
            ps.pose = conv.planar_pose(float(p[0]), float(p[1]), math.atan2(nxt[1], nxt[0]))
            msg.poses.append(ps)
        return msg

    # ------------------------------------------------------------------ status
    def _status_msg(self) -> NavigationStatus:
        msg = NavigationStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.frame
        msg.goal = self.goal_name
        msg.state = (NavigationStatus.STATE_CANCELED if self.canceled
                     else _STATES[self.nav.state])
        msg.reason = self.nav.reason
        msg.distance_remaining = float(self.nav.remaining if self.nav.path is not None
                                       else math.nan)
        msg.on_detour = self.nav.on_detour
        msg.recoveries = self.nav.recoveries
        return msg

    def _status_if_changed(self, reason: str):
        key = (self.nav.state, reason)
        if key != self.last_status:
            self.publish_status(force=True)

    def publish_status(self, force: bool = False):
        if not force and self.nav.state != ACTIVE:
            return
        self.last_status = (self.nav.state, self.nav.reason)
        self.pub_status.publish(self._status_msg())

    def publish_diagnostics(self):
        status = DiagnosticStatus(name=f'{self.get_name()}: path following',
                                  hardware_id='delivery_robot')
        level = DiagnosticStatus.OK
        if self.nav.state == FAILED:
            level = DiagnosticStatus.ERROR
        elif self.nav.state == ACTIVE and self.nav.reason.startswith(
                ('waiting', 'costmap stale', 'scan stale', 'odometry', 'no odometry', 'recovery')):
            level = DiagnosticStatus.WARN
        status.level = level
        status.message = f'{self.nav.state}: {self.nav.reason}'
        values = [KeyValue(key='goal', value=self.goal_name or '-')]
        if self.cycle_ms:
            ms = np.array(self.cycle_ms)
            values += [KeyValue(key='cycle ms median', value=f'{np.median(ms):.2f}'),
                       KeyValue(key='cycle ms max', value=f'{ms.max():.2f}')]
        for chain, label in (('scan', 'scan to cmd_vel'),
                             ('obstacles', 'scan via obstacles to cmd_vel')):
            values += [KeyValue(key=f'{label} {k}', value=str(x))
                       for k, x in self.latency.summary(chain).items()]
        values += [KeyValue(key=f'rejected: {k}', value=str(n))
                   for k, n in sorted(self.rejected.items())]
        status.values = values
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)


def main(args=None):
    return run_node(PathFollowingNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
