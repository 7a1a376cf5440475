"""sim_node over real DDS: a separate process, real messages, loopback-only discovery."""
import math
import time

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, LaserScan, NavSatFix
from tf2_msgs.msg import TFMessage

from ros_helpers import node_process, ros_node
from delivery_robot_nav.common.conversions import from_time, scan_arrays
from simhelpers import WALL

SPEED = 0.5


class Probe(Node):
    def __init__(self):
        super().__init__('sim_node_probe')
        self.msgs = {}
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic, kind, qos in [('scan', LaserScan, qos_profile_sensor_data),
                                 ('odom', Odometry, 10), ('clock', Clock, 10),
                                 ('imu/data', Imu, qos_profile_sensor_data),
                                 ('gps/fix', NavSatFix, qos_profile_sensor_data),
                                 ('sim/ground_truth', Odometry, 50),
                                 ('tf_static', TFMessage, latched)]:
            self.create_subscription(kind, topic, self._store(topic), qos)
        self.cmd = self.create_publisher(Twist, 'cmd_vel', 10)

    def _store(self, topic):
        def callback(msg):
            self.msgs.setdefault(topic, []).append(msg)
        return callback

    def clock(self) -> float:
        return from_time(self.msgs['clock'][-1].clock) if 'clock' in self.msgs else 0.0

    def spin_until(self, condition, timeout, publish=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if publish is not None:
                self.cmd.publish(publish)
            rclpy.spin_once(self, timeout_sec=0.02)
            if condition():
                return True
        return False


def twist(v, w=0.0):
    t = Twist()
    t.linear.x, t.angular.z = float(v), float(w)
    return t


@pytest.fixture(scope='module')
def sim_process(tmp_path_factory):
    world = tmp_path_factory.mktemp('world') / 'wall.sdf'
    world.write_text('<?xml version="1.0"?><sdf version="1.9"><world name="w">'
                     + WALL.format(x=10.0) + '</world></sdf>')
    # motion.cmd_timeout: 2 s of sim time (0.67 s of wall time at 3x) instead of 0.5 s.
    # The probe republishes cmd_vel as it spins; on a starved CPU it missed the shipped
    # 0.17 s of wall time now and then, the base braked as it should, and the commanded
    # distance came out short (2.43 m of 3.01 m, with evaluations running beside the
    # suite). The timeout itself is tested in lockstep (test_motion.py).
    with node_process('delivery_robot_nav.sim.node', '-p', f'world_file:={world}',
                      '-p', 'real_time_factor:=3.0', '-p', 'start_x:=0.0', '-p', 'start_y:=0.0',
                      '-p', 'start_yaw:=0.0', '-p', 'depth_camera.enabled:=false',
                      '-p', 'motion.cmd_timeout:=2.0') as proc:
        yield proc


@pytest.fixture(scope='module')
def probe(sim_process):
    with ros_node(Probe) as node:
        yield node


def test_robot_side_topics_arrive(probe, sim_process):
    ok = probe.spin_until(lambda: all(t in probe.msgs for t in
                                      ('scan', 'odom', 'clock', 'imu/data', 'gps/fix',
                                       'tf_static')), timeout=40.0)
    assert ok, f'topics seen: {sorted(probe.msgs)}; sim_node alive: {sim_process.poll() is None}'
    scan = probe.msgs['scan'][-1]
    ranges, angles = scan_arrays(scan)
    assert scan.header.frame_id == 'laser_link' and len(ranges) == 720
    ahead = np.argmin(np.abs(angles))
    assert ranges[ahead] == pytest.approx(9.9, abs=0.08)       # the wall, with noise
    children = {t.child_frame_id for t in probe.msgs['tf_static'][-1].transforms}
    assert {'laser_link', 'imu_link', 'gps_link', 'camera_depth_optical_frame'} <= children
    t0 = probe.clock()
    probe.spin_until(lambda: probe.clock() > t0 + 1.0, timeout=10.0)
    assert probe.clock() > t0 + 1.0, 'clock does not advance'


def test_non_finite_command_is_rejected(probe):
    probe.spin_until(lambda: False, timeout=1.0, publish=twist(float('nan')))
    assert abs(probe.msgs['sim/ground_truth'][-1].twist.twist.linear.x) < 1e-9


def test_robot_moves_the_commanded_distance(probe):
    truth = probe.msgs['sim/ground_truth']
    start = truth[-1].pose.pose.position
    odom0 = probe.msgs['odom'][-1].pose.pose.position
    t_start = probe.clock()
    duration = 6.0
    assert probe.spin_until(lambda: probe.clock() >= t_start + duration, timeout=30.0,
                            publish=twist(SPEED))
    t_stop = probe.clock()
    assert probe.spin_until(lambda: abs(probe.msgs['sim/ground_truth'][-1]
                                        .twist.twist.linear.x) < 1e-6 and
                            probe.clock() > t_stop + 1.5, timeout=30.0, publish=twist(0.0))
    end = probe.msgs['sim/ground_truth'][-1].pose.pose.position
    travelled = math.hypot(end.x - start.x, end.y - start.y)
    # commanded 0.5 m/s for 6 s of sim time; ramps (1 m/s^2 up, 2 m/s^2 down) and the
    # command's trip through DDS change it by a few cm
    assert travelled == pytest.approx(SPEED * (t_stop - t_start), abs=0.15)
    # steady-state speed from ground truth stamps during the cruise
    cruise = [m for m in truth if t_start + 1.5 < from_time(m.header.stamp) < t_stop - 0.5]
    p0, p1 = cruise[0], cruise[-1]
    dt = from_time(p1.header.stamp) - from_time(p0.header.stamp)
    dist = math.hypot(p1.pose.pose.position.x - p0.pose.pose.position.x,
                      p1.pose.pose.position.y - p0.pose.pose.position.y)
    assert dist / dt == pytest.approx(SPEED, rel=0.02)
    # wheel odometry agrees with the truth over this short run
    odom1 = probe.msgs['odom'][-1].pose.pose.position
    assert math.hypot(odom1.x - odom0.x, odom1.y - odom0.y) == pytest.approx(travelled, abs=0.05)
