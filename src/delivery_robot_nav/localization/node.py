"""`localization`: the Localizer (estimator.py) as a ROS 2 node.

Consumes odom, imu/data, gps/fix, gps/vel (optional Doppler velocity), scan, map (optional; else map_file) and initialpose;
publishes odometry/filtered (map -> base_link), localization/pose, map -> odom on tf (and
odom -> base_link from the fused odometry with `publish_odom_tf`), and diagnostics (OK / WARN / ERROR with the reason). Every rejected input is counted and shown
in diagnostics.
"""
from __future__ import annotations

import math
import sys

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped, TwistWithCovarianceStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Imu, LaserScan, NavSatFix
from tf2_msgs.msg import TFMessage

from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.maps import OccupancyMap, load_map
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.localization.config import (LIVE_PARAMS, LOCALIZATION_PARAMS, NODE_NAME,
                                                    load_localization_params, localizer_config,
                                                    sensor_mounts, with_live_values)
from delivery_robot_nav.localization.estimator import Localizer
from delivery_robot_nav.sim.robot_model import load_robot_model


class LocalizationNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        self.values = declare_parameters(self, LOCALIZATION_PARAMS, load_localization_params())
        v = self.values
        robot = load_robot_model(v['robot_description_file']
                                 or share_path('urdf', 'delivery_robot.urdf'))
        # scans are clipped to their own range_max in on_scan
        self.cfg = localizer_config(v, *sensor_mounts(robot), lidar_range_max=1e9)
        self.map_frame, self.odom_frame = v['map_frame_id'], v['odom_frame_id']
        self.base_frame = v['base_frame_id']
        self.localizer: Localizer | None = None
        self.pending_initial = (None if v['initial_from_gnss']
                                else (v['initial_x'], v['initial_y'], v['initial_yaw']))
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        if v['use_map_topic']:
            self.create_subscription(OccupancyGrid, 'map', self.on_map, latched)
        else:
            occ = load_map(v['map_file'] or share_path('worlds', 'campus_map.yaml'))
            self.set_map(occ)
            if v['publish_map']:
                # as map_server does: latched, so RViz and late joiners get it
                self.pub_map = self.create_publisher(OccupancyGrid, 'map', latched)
                self.pub_map.publish(conv.occupancy_grid_msg(
                    occ.grid, occ.resolution, occ.origin, self.map_frame,
                    self.get_clock().now().nanoseconds * 1e-9))

        # every input keeps only its newest few messages: a node that falls behind drops
        # old samples instead of working through a queue it can never catch up with (a
        # 50-deep reliable odometry queue once left odometry 1 s behind the other sensors)
        sensor = qos_profile_sensor_data
        self.create_subscription(Odometry, 'odom', self.on_odom, sensor)
        self.create_subscription(Imu, 'imu/data', self.on_imu, sensor)
        self.create_subscription(NavSatFix, 'gps/fix', self.on_fix, sensor)
        self.create_subscription(TwistWithCovarianceStamped, 'gps/vel', self.on_gnss_velocity,
                                 sensor)
        self.create_subscription(LaserScan, 'scan', self.on_scan, sensor)
        self.create_subscription(PoseWithCovarianceStamped, 'initialpose', self.on_initial_pose, 10)
        self.pub_odom = self.create_publisher(Odometry, 'odometry/filtered', 10)
        self.pub_pose = self.create_publisher(PoseWithCovarianceStamped, 'localization/pose', 10)
        self.pub_tf = self.create_publisher(TFMessage, 'tf', 100)
        self.pub_diag = self.create_publisher(DiagnosticArray, 'diagnostics', 10)
        self.add_post_set_parameters_callback(self.on_params_set)
        self.create_timer(1.0 / v['diagnostics_rate_hz'], self.publish_diagnostics)

    # ------------------------------------------------------------------ setup
    def set_map(self, occ: OccupancyMap | None):
        self.localizer = Localizer(self.cfg, occ, np.random.default_rng(0))
        self.get_logger().info(
            'localizing ' + (f'on a {occ.shape[1]} x {occ.shape[0]} map of {occ.resolution} m'
                             if occ is not None else 'without a map'))

    def on_map(self, msg: OccupancyGrid):
        try:
            self.set_map(conv.occupancy_map(msg))
        except ValueError as exc:
            self.get_logger().error(f'map: rejected: {exc}')

    def on_params_set(self, params):
        changed = {p.name: p.value for p in params if p.name in LIVE_PARAMS}
        if changed:
            self.values.update(changed)
            self.cfg = with_live_values(self.cfg, self.values)
            if self.localizer is not None:
                self.localizer.reconfigure(self.cfg)

    def _ensure_initialized(self, t: float):
        loc = self.localizer
        if loc is not None and self.pending_initial is None and not loc.status.initialized \
                and self.values['initial_from_gnss']:
            if loc.initialize_from_gnss(t):
                self.get_logger().info('initialized from GNSS; heading from the map')
            return
        if loc is not None and self.pending_initial is not None:
            pose, sd = self.pending_initial, None
            if len(pose) == 4:          # from initialpose: (x, y, yaw, stddevs)
                pose, sd = pose[:3], pose[3]
            loc.initialize(t, pose, sd)
            self.pending_initial = None

    # ------------------------------------------------------------------ inputs
    def on_initial_pose(self, msg: PoseWithCovarianceStamped):
        p = msg.pose.pose
        cov = np.asarray(msg.pose.covariance, dtype=float).reshape(6, 6)
        pose = (p.position.x, p.position.y, conv.quaternion_yaw(p.orientation))
        sd = np.sqrt(np.maximum([cov[0, 0], cov[1, 1], cov[5, 5]], 1e-6))
        if not (np.all(np.isfinite(pose)) and np.all(np.isfinite(sd))):
            self.get_logger().warn('initialpose: rejected: non-finite pose or covariance')
            return
        if msg.header.frame_id and msg.header.frame_id != self.map_frame:
            self.get_logger().warn(f'initialpose: rejected: frame "{msg.header.frame_id}", '
                                   f'expected "{self.map_frame}"')
            return
        self.pending_initial = (*pose, tuple(sd))
        self.get_logger().info(f'initial pose ({pose[0]:.2f}, {pose[1]:.2f}, {pose[2]:.2f})')

    def _tick_clock(self):
        """Give the estimator the node's clock: stamps far ahead of it are rejected."""
        self.localizer.now = self.get_clock().now().nanoseconds * 1e-9

    def on_odom(self, msg: Odometry):
        if self.localizer is None:
            return
        self._tick_clock()
        t = conv.from_time(msg.header.stamp)
        self._ensure_initialized(t)
        p, tw = msg.pose.pose, msg.twist.twist
        cov = msg.twist.covariance
        pose = (p.position.x, p.position.y, conv.quaternion_yaw(p.orientation))
        self.localizer.on_odometry(t, pose, tw.linear.x, tw.angular.z, cov[0], cov[35])
        self.publish_estimate(t)

    def on_imu(self, msg: Imu):
        if self.localizer is not None:
            self._tick_clock()
            var = msg.angular_velocity_covariance[8]
            self.localizer.on_imu(conv.from_time(msg.header.stamp), msg.angular_velocity.z,
                                  var if var > 0 else 1e-4)

    def on_fix(self, msg: NavSatFix):
        if self.localizer is not None:
            self._tick_clock()
            self.localizer.on_gnss(conv.from_time(msg.header.stamp), msg.status.status,
                                   msg.latitude, msg.longitude, msg.altitude,
                                   np.asarray(msg.position_covariance, dtype=float),
                                   msg.position_covariance_type)

    def on_gnss_velocity(self, msg: TwistWithCovarianceStamped):
        if self.localizer is not None:
            self._tick_clock()
            lin, cov = msg.twist.twist.linear, np.asarray(msg.twist.covariance, dtype=float)
            self.localizer.on_gnss_velocity(conv.from_time(msg.header.stamp), lin.x, lin.y,
                                            cov.reshape(6, 6)[:2, :2])

    def on_scan(self, msg: LaserScan):
        if self.localizer is None:
            return
        self._tick_clock()
        ranges, angles = conv.scan_arrays(msg)
        ranges = np.where(ranges > msg.range_max, np.inf, ranges.astype(float))
        self.localizer.on_scan(conv.from_time(msg.header.stamp), ranges, angles)

    # ------------------------------------------------------------------ outputs
    def publish_estimate(self, t: float):
        loc = self.localizer
        if not loc.status.initialized:
            return
        pose, cov = loc.pose_at(t)
        x, P = loc.state_at(t)
        odom = conv.odometry_msg(t, self.map_frame, self.base_frame, *pose, x[3], x[4])
        c6 = np.zeros((6, 6))
        c6[np.ix_([0, 1, 5], [0, 1, 5])] = cov
        c6[2, 2] = c6[3, 3] = c6[4, 4] = 1e-6
        odom.pose.covariance = c6.ravel().tolist()
        t6 = np.zeros((6, 6))
        t6[0, 0], t6[5, 5] = P[3, 3], P[4, 4]
        odom.twist.covariance = t6.ravel().tolist()
        self.pub_odom.publish(odom)
        pwc = PoseWithCovarianceStamped()
        pwc.header = odom.header
        pwc.pose = odom.pose
        self.pub_pose.publish(pwc)
        transforms = []
        fused = self.values['publish_odom_tf']
        if self.values['publish_tf']:
            m2o = loc.map_to_odom(fused_odometry=fused)
            if m2o is not None:
                transforms.append(conv.planar_transform_msg(
                    self.map_frame, self.odom_frame, *m2o, t))
        if fused and loc.local_odometry is not None:
            t_local, *local = loc.local_odometry
            transforms.append(conv.planar_transform_msg(
                self.odom_frame, self.base_frame, *local, t_local))
        if transforms:
            self.pub_tf.publish(TFMessage(transforms=transforms))

    def publish_diagnostics(self):
        status = DiagnosticStatus(name=f'{self.get_name()}: localization',
                                  hardware_id='delivery_robot')
        level, reasons = DiagnosticStatus.OK, []
        loc = self.localizer
        if loc is None:
            level, reasons = DiagnosticStatus.ERROR, ['no map yet']
        else:
            # ages against the node's clock, so a node that stopped hearing every sensor (or
            # fell behind them) says so; before the clock runs, against the newest stamp
            clock = self.get_clock().now().nanoseconds * 1e-9
            now = clock if clock > 0.0 else max(loc.status.last_stamp.values(), default=0.0)
            timeout = self.values['sensor_timeout']
            enabled = {'odometry': self.values['use_odometry'], 'imu': self.values['use_imu'],
                       'gnss': self.values['use_gnss'], 'scan': self.values['use_lidar']}
            for sensor, on in enabled.items():
                last = loc.status.last_stamp.get(sensor)
                if on and (last is None or now - last > timeout):
                    level = max(level, DiagnosticStatus.WARN)
                    reasons.append(f'{sensor} stale ({now - last:.1f} s)' if last is not None
                                   else f'no {sensor} yet')
            if not loc.status.initialized:
                level = DiagnosticStatus.ERROR
                reasons.append('not initialized')
            elif loc.status.lost:
                level = DiagnosticStatus.ERROR
                reasons.append(f'lost: particle spread {loc.status.pf_stddev:.2f} m')
            elif self.values['use_lidar'] and loc.status.pf_stddev > 0.2:
                level = max(level, DiagnosticStatus.WARN)
                reasons.append(f'high particle spread {loc.status.pf_stddev:.2f} m')
            if loc.status.rejected.get('gnss: no fix') and now - loc.status.last_stamp.get(
                    'gnss', -math.inf) > timeout:
                level = max(level, DiagnosticStatus.WARN)
                reasons.append('GNSS outage (no fix)')
            status.values = [KeyValue(key=f'rejected: {k}', value=str(n))
                             for k, n in sorted(loc.status.rejected.items())]
            status.values += [KeyValue(key=f'ekf gate rejected: {k}', value=str(n))
                              for k, n in sorted(loc.ekf.counters.rejected_gate.items())]
            status.values.append(KeyValue(key='relocalizations',
                                          value=str(loc.status.relocalizations)))
        status.level = level
        status.message = '; '.join(dict.fromkeys(reasons)) or 'localized'
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)


def main(args=None):
    return run_node(LocalizationNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
