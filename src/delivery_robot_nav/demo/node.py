"""`scripted_driver`: drives the route of config/demo.yaml over DDS (foundation demo).

Consumes `sim/ground_truth` (the pose it steers by) and `scan` (safety stop); produces
`cmd_vel` and `delivery_status`. Stops, and says why in `delivery_status.message`, when the
pose or the scan is older than its timeout. Replaced by the navigation stack in later issues.
"""
from __future__ import annotations

import math
import sys

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import LaserScan

from delivery_robot_msgs.msg import DeliveryStatus
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.demo.config import (DRIVER_PARAMS, NODE_NAME, driver_config,
                                            load_driver_params, route_points)
from delivery_robot_nav.demo.route_driver import RouteDriver
from delivery_robot_nav.sim.robot_model import load_robot_model

ROUTE_ID = 'demo_loop'


class ScriptedDriverNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        values = declare_parameters(self, DRIVER_PARAMS, load_driver_params())
        robot = load_robot_model(values['robot_description_file']
                                 or share_path('urdf', 'delivery_robot.urdf'))
        self.driver = RouteDriver(route_points(values, f'node {NODE_NAME}'),
                                  driver_config(values, robot.footprint[2],
                                                float(robot.frame('laser_link')[0, 3])))
        self.pose_timeout, self.scan_timeout = values['pose_timeout'], values['scan_timeout']
        self.pose = None        # (stamp, x, y, yaw)
        self.scan = None        # (stamp, ranges, angles)
        self.pub_cmd = self.create_publisher(Twist, 'cmd_vel', 10)
        self.pub_status = self.create_publisher(DeliveryStatus, 'delivery_status', 10)
        self.create_subscription(Odometry, 'sim/ground_truth', self.on_pose, 10)
        self.create_subscription(LaserScan, 'scan', self.on_scan, qos_profile_sensor_data)
        self.state, self.message = DeliveryStatus.STATE_IDLE, 'waiting for pose and scan'
        self.create_timer(1.0 / values['control_rate_hz'], self.control)
        self.create_timer(1.0, self.publish_status)

    def on_pose(self, msg: Odometry):
        p = msg.pose.pose
        self.pose = (conv.from_time(msg.header.stamp), p.position.x, p.position.y,
                     conv.quaternion_yaw(p.orientation))

    def on_scan(self, msg: LaserScan):
        ranges, angles = conv.scan_arrays(msg)
        self.scan = (conv.from_time(msg.header.stamp), ranges.astype(float), angles)

    def control(self):
        now = self.get_clock().now().nanoseconds * 1e-9
        state, message, v, w = self.state, self.message, 0.0, 0.0
        if self.driver.done:
            state, message = DeliveryStatus.STATE_SUCCEEDED, 'route complete'
        elif self.pose is None or now - self.pose[0] > self.pose_timeout:
            state, message = DeliveryStatus.STATE_PAUSED, 'stopped: no recent pose'
        elif self.scan is None or now - self.scan[0] > self.scan_timeout:
            state, message = DeliveryStatus.STATE_PAUSED, 'stopped: no recent scan'
        else:
            _, x, y, yaw = self.pose
            cmd = self.driver.command(x, y, yaw, self.scan[1:])
            v, w = cmd.v, cmd.w
            if cmd.done:
                state, message = DeliveryStatus.STATE_SUCCEEDED, 'route complete'
            elif cmd.blocked and v == 0.0:
                state, message = DeliveryStatus.STATE_PAUSED, 'stopped: obstacle ahead'
            else:
                state, message = DeliveryStatus.STATE_NAVIGATING, ''
        twist = Twist()
        twist.linear.x, twist.angular.z = float(v), float(w)
        self.pub_cmd.publish(twist)
        if (state, message) != (self.state, self.message):
            self.state, self.message = state, message
            self.publish_status()

    def publish_status(self):
        msg = DeliveryStatus(delivery_id=ROUTE_ID, state=self.state, message=self.message)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = 'map'
        remaining = self.driver.length - self.driver.progress
        msg.distance_remaining = float(remaining) if math.isfinite(remaining) else math.nan
        msg.current_station = 'depot'
        self.pub_status.publish(msg)


def main(args=None):
    return run_node(ScriptedDriverNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
