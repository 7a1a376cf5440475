"""`obstacle_detection`: the ObstacleDetector (detector.py) as a ROS 2 node.

Consumes scan, the depth camera (image + camera_info), odometry/filtered (the pose the
scans are placed with) and the static map (map_file, or `map` with use_map_topic);
publishes obstacles (delivery_robot_msgs/TrackedObstacleArray), local_costmap
(OccupancyGrid), obstacles/markers (MarkerArray) and diagnostics (processing time, stale
inputs, rejected inputs by reason). Every rejected input is counted, never fatal.
"""
from __future__ import annotations

import bisect
import math
import sys
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rclpy.subscription import MessageInfo
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from visualization_msgs.msg import MarkerArray

from delivery_robot_msgs.msg import TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.geometry import wrap_angle
from delivery_robot_nav.common.latency import latency_summary
from delivery_robot_nav.common.maps import load_map
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.perception.config import (LIVE_PARAMS, NODE_NAME,
                                                  OBSTACLE_DETECTION_PARAMS, detector_config,
                                                  load_detection_params, with_live_values)
from delivery_robot_nav.perception.depth import CameraModel
from delivery_robot_nav.perception.detector import ObstacleDetector
from delivery_robot_nav.sim.robot_model import RobotModelError, load_robot_model


class PoseBuffer:
    """Recent (t, x, y, yaw) poses; a pose interpolated at a stamp (extrapolated a little
    past the newest), or None when none is within `tolerance` of it."""

    def __init__(self, length: float = 2.0):
        self.length = length
        self.items: deque = deque()

    def add(self, t: float, x: float, y: float, yaw: float):
        if self.items and t < self.items[-1][0] - 1.0:
            self.items.clear()                          # time went backwards
        if self.items and t <= self.items[-1][0]:
            return
        self.items.append((t, x, y, yaw))
        while self.items and self.items[0][0] < t - self.length:
            self.items.popleft()

    def at(self, t: float, tolerance: float):
        if not self.items:
            return None
        times = [p[0] for p in self.items]
        i = bisect.bisect_left(times, t)
        if i == 0:
            p = self.items[0]
            return p[1:] if p[0] - t <= tolerance else None
        if i == len(times):
            # newer than the newest pose (the pose source lags): extrapolate the last step
            p = self.items[-1]
            if t - p[0] > tolerance:
                return None
            if len(self.items) < 2:
                return p[1:]
            q = self.items[-2]
            f = (t - p[0]) / max(p[0] - q[0], 1e-6)
            return (p[1] + f * (p[1] - q[1]), p[2] + f * (p[2] - q[2]),
                    float(wrap_angle(p[3] + f * wrap_angle(p[3] - q[3]))))
        (t0, *a), (t1, *b) = self.items[i - 1], self.items[i]
        if t1 - t0 > 2 * tolerance:
            return None
        f = (t - t0) / (t1 - t0)
        return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]),
                float(wrap_angle(a[2] + f * wrap_angle(b[2] - a[2]))))


class ObstacleDetectionNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        self.values = declare_parameters(self, OBSTACLE_DETECTION_PARAMS, load_detection_params())
        v = self.values
        self.robot = load_robot_model(v['robot_description_file']
                                      or share_path('urdf', 'delivery_robot.urdf'))
        self.cfg = detector_config(v, self.robot)
        self.frame = v['global_frame_id']
        self.detector: ObstacleDetector | None = None
        self.poses = PoseBuffer()
        self.camera: CameraModel | None = None
        self.rejected: dict[str, int] = {}
        self.last_input: dict[str, float] = {}          # input -> wall time of the last one
        self.timing = {'scan': deque(maxlen=200), 'depth': deque(maxlen=200)}
        # wall ms from a scan's publication (DDS source timestamp) to its obstacles' (the
        # first stage of path following's scan -> obstacles -> cmd_vel), over the run
        self.scan_to_obstacles: deque = deque(maxlen=20_000)
        self._last_costmap = -math.inf
        if v['use_map_topic']:
            latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self.create_subscription(OccupancyGrid, 'map', self.on_map, latched)
        else:
            self.detector = ObstacleDetector(self.cfg, load_map(
                v['map_file'] or share_path('worlds', 'campus_map.yaml')))
        sensor = qos_profile_sensor_data
        self.create_subscription(LaserScan, 'scan', self.on_scan, sensor)
        self.create_subscription(Odometry, 'odometry/filtered', self.on_pose, sensor)
        if v['use_depth_camera']:
            self.create_subscription(Image, 'camera/depth/image_raw', self.on_depth, sensor)
            self.create_subscription(CameraInfo, 'camera/depth/camera_info', self.on_camera_info,
                                     sensor)
        self.pub_obstacles = self.create_publisher(TrackedObstacleArray, 'obstacles', 10)
        self.pub_costmap = self.create_publisher(OccupancyGrid, 'local_costmap', 5)
        self.pub_markers = self.create_publisher(MarkerArray, 'obstacles/markers', 5)
        self.pub_diag = self.create_publisher(DiagnosticArray, 'diagnostics', 10)
        self.add_post_set_parameters_callback(self.on_params_set)
        self.create_timer(1.0 / v['diagnostics_rate_hz'], self.publish_diagnostics)
        self.get_logger().info(f'obstacle detection in "{self.frame}", costmap '
                               f'{self.cfg.costmap.size} m at {self.cfg.costmap.resolution} m')

    # ------------------------------------------------------------------ setup
    def reject(self, reason: str):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def on_map(self, msg: OccupancyGrid):
        try:
            self.detector = ObstacleDetector(self.cfg, conv.occupancy_map(msg))
        except ValueError as exc:
            self.reject(f'map: {exc}')

    def on_params_set(self, params):
        if any(p.name in LIVE_PARAMS for p in params):
            self.values.update({p.name: p.value for p in params if p.name in LIVE_PARAMS})
            self.cfg = with_live_values(self.cfg, self.values)
            if self.detector is not None:
                self.detector.cfg = self.cfg

    # ------------------------------------------------------------------ inputs
    def on_pose(self, msg: Odometry):
        if msg.header.frame_id and msg.header.frame_id != self.frame:
            self.reject(f'odometry/filtered: frame "{msg.header.frame_id}", expected '
                        f'"{self.frame}"')
            return
        p = msg.pose.pose
        pose = (p.position.x, p.position.y, conv.quaternion_yaw(p.orientation))
        if not all(math.isfinite(a) for a in pose):
            self.reject('odometry/filtered: non-finite pose')
            return
        self.last_input['pose'] = time.monotonic()
        self.poses.add(conv.from_time(msg.header.stamp), *pose)

    def on_camera_info(self, msg: CameraInfo):
        w, h, fx, fy, cx, cy = conv.camera_intrinsics(msg)
        if w <= 0 or h <= 0 or not (fx > 0 and fy > 0 and math.isfinite(cx) and math.isfinite(cy)):
            self.reject('camera_info: invalid size or intrinsics')
            return
        self.camera = CameraModel(w, h, fx, fy, cx, cy)

    def on_scan(self, msg: LaserScan, info: MessageInfo):
        self.last_input['scan'] = time.monotonic()
        if self.detector is None:
            self.reject('scan: no map yet')
            return
        t = conv.from_time(msg.header.stamp)
        ranges, angles = conv.scan_arrays(msg)
        if len(ranges) == 0:
            self.reject('scan: empty')
            return
        if not (math.isfinite(msg.angle_increment) and msg.angle_increment > 0):
            self.reject('scan: angle_increment must be finite and > 0')
            return
        pose = self.poses.at(t, self.values['pose_timeout'])
        if pose is None:
            self.reject('scan: no pose at its stamp' if self.poses.items else 'scan: no pose yet')
            return
        t0 = time.perf_counter()
        result = self.detector.track(t, ranges, angles, pose, msg.angle_increment,
                                     msg.range_min, msg.range_max)
        obstacles = conv.tracked_obstacles_msg(result.tracks, self.frame, t)
        self.pub_obstacles.publish(obstacles)           # first: path following waits for it
        self.scan_to_obstacles.append((time.time_ns() - info['source_timestamp']) * 1e-6)
        self.detector.update_costmap(result)
        if self.values['publish_markers']:
            self.pub_markers.publish(conv.obstacle_markers_msg(obstacles))
        if t - self._last_costmap >= 1.0 / self.values['costmap_rate_hz'] - 1e-6 or \
                t < self._last_costmap:
            self._last_costmap = t
            costs, origin, res = self.detector.costmap_grid(t)
            self.pub_costmap.publish(conv.occupancy_grid_msg(costs, res, origin, self.frame, t))
        self.timing['scan'].append(time.perf_counter() - t0)

    def on_depth(self, msg: Image):
        self.last_input['depth'] = time.monotonic()
        if self.detector is None:
            self.reject('depth: no map yet')
            return
        if self.camera is None:
            self.reject('depth: no camera_info yet')
            return
        try:
            depth = conv.depth_image_array(msg)
        except conv.ImageError as exc:
            self.reject(f'depth: {exc}')
            return
        if depth.shape != (self.camera.height, self.camera.width):
            self.reject(f'depth: {depth.shape[1]}x{depth.shape[0]} image, camera_info says '
                        f'{self.camera.width}x{self.camera.height}')
            return
        try:
            base_T_optical = self.robot.frame(msg.header.frame_id)
        except RobotModelError:
            self.reject(f'depth: frame "{msg.header.frame_id}" is not in the URDF')
            return
        t = conv.from_time(msg.header.stamp)
        pose = self.poses.at(t, self.values['pose_timeout'])
        if pose is None:
            self.reject('depth: no pose at its stamp')
            return
        t0 = time.perf_counter()
        self.detector.on_depth(t, depth, self.camera, base_T_optical, pose)
        self.timing['depth'].append(time.perf_counter() - t0)

    # ------------------------------------------------------------------ diagnostics
    def publish_diagnostics(self):
        status = DiagnosticStatus(name=f'{self.get_name()}: obstacle detection',
                                  hardware_id='delivery_robot')
        level, reasons = DiagnosticStatus.OK, []
        now = time.monotonic()
        timeout = self.values['sensor_timeout']
        inputs = ['scan', 'pose'] + (['depth'] if self.values['use_depth_camera'] else [])
        for name in inputs:
            last = self.last_input.get(name)
            if last is None or now - last > timeout:
                level = max(level, DiagnosticStatus.WARN if name == 'depth'
                            else DiagnosticStatus.ERROR)
                reasons.append(f'no {name} yet' if last is None
                               else f'{name} stale ({now - last:.1f} s)')
        if self.detector is None:
            level = DiagnosticStatus.ERROR
            reasons.append('no map yet')
        values = []
        for name, times in self.timing.items():
            if times:
                ms = np.array(times) * 1e3
                values += [KeyValue(key=f'{name} ms median', value=f'{np.median(ms):.2f}'),
                           KeyValue(key=f'{name} ms max', value=f'{ms.max():.2f}')]
        if self.scan_to_obstacles:
            values += [KeyValue(key=f'scan to obstacles {k}', value=str(x))
                       for k, x in latency_summary(self.scan_to_obstacles).items()]
        if self.detector is not None:
            values.append(KeyValue(key='tracks', value=str(len(self.detector.tracker.tracks))))
        values += [KeyValue(key=f'rejected: {k}', value=str(n))
                   for k, n in sorted(self.rejected.items())]
        status.level = level
        status.message = '; '.join(reasons) or 'ok'
        status.values = values
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)


def main(args=None):
    return run_node(ObstacleDetectionNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
