"""scripted_driver over real DDS: commands, safety stop on a stale scan, route completion."""
import math
import time

import numpy as np
import pytest
import rclpy
import yaml
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import LaserScan

from ros_helpers import node_process, ros_node
from delivery_robot_msgs.msg import DeliveryStatus
from delivery_robot_nav.common.conversions import planar_pose, scan_msg
from delivery_robot_nav.sim.sensors import ScanReading


class FakeRobot(Node):
    """Publishes pose and scan like sim_node; records what the driver sends back."""

    def __init__(self):
        super().__init__('fake_robot')
        self.pub_pose = self.create_publisher(Odometry, 'sim/ground_truth', 10)
        self.pub_scan = self.create_publisher(LaserScan, 'scan', qos_profile_sensor_data)
        self.cmds, self.status = [], []
        self.create_subscription(Twist, 'cmd_vel', self.cmds.append, 10)
        self.create_subscription(DeliveryStatus, 'delivery_status', self.status.append, 10)

    def now(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def send(self, x, y, yaw, scan=True):
        odom = Odometry()
        odom.header.stamp = self.get_clock().now().to_msg()
        odom.header.frame_id = 'map'
        odom.pose.pose = planar_pose(x, y, yaw)
        self.pub_pose.publish(odom)
        if scan:
            ranges = np.full(720, np.inf, dtype=np.float32)
            msg = scan_msg(ScanReading(self.now(), 'laser_link', -math.pi, 2 * math.pi / 720,
                                       0.1, 30.0, 0.1, ranges))
            msg.header.stamp = odom.header.stamp
            self.pub_scan.publish(msg)

    def run(self, seconds, **pose):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.send(**pose)
            rclpy.spin_once(self, timeout_sec=0.02)


@pytest.fixture(scope='module')
def robot(repo, tmp_path_factory):
    params = yaml.safe_load((repo / 'config' / 'demo.yaml').read_text())
    params['scripted_driver']['ros__parameters']['route'] = [0.0, 0.0, 10.0, 0.0]
    # wall-clock stamps travel through a loaded machine: allow them some age
    params['scripted_driver']['ros__parameters'].update(pose_timeout=2.0, scan_timeout=2.0)
    path = tmp_path_factory.mktemp('driver') / 'demo.yaml'
    path.write_text(yaml.safe_dump(params))
    with node_process('delivery_robot_nav.demo.node', '--params-file', str(path)), \
            ros_node(FakeRobot) as node:
        yield node


def wait_for(robot, condition, seconds, **pose):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        robot.run(0.1, **pose)
        if condition():
            return True
    return False


def test_drives_forward_along_the_route(robot):
    # status and cmd_vel are separate topics: wait until both have arrived, then check both
    assert wait_for(robot, lambda: robot.cmds and robot.cmds[-1].linear.x > 0.5 and
                    robot.status and robot.status[-1].state == DeliveryStatus.STATE_NAVIGATING,
                    40.0, x=1.0, y=0.0, yaw=0.0), (
        f'last cmd {robot.cmds[-1].linear.x if robot.cmds else None}, '
        f'last status {robot.status[-1].message if robot.status else None}')


def test_stops_and_says_why_when_the_scan_goes_stale(robot):
    assert wait_for(robot, lambda: robot.status and
                    robot.status[-1].state == DeliveryStatus.STATE_PAUSED, 10.0,
                    x=1.0, y=0.0, yaw=0.0, scan=False)
    assert 'no recent scan' in robot.status[-1].message
    robot.run(0.3, x=1.0, y=0.0, yaw=0.0, scan=False)
    assert robot.cmds[-1].linear.x == 0.0 and robot.cmds[-1].angular.z == 0.0


def test_reports_success_at_the_end_of_the_route(robot):
    assert wait_for(robot, lambda: robot.status and
                    robot.status[-1].state == DeliveryStatus.STATE_SUCCEEDED, 10.0,
                    x=9.9, y=0.0, yaw=0.0)
    robot.run(0.3, x=9.9, y=0.0, yaw=0.0)
    assert robot.cmds[-1].linear.x == 0.0
