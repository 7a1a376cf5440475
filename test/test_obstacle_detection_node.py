"""obstacle_detection over real DDS: recorded scans, depth frames and poses in; tracked
obstacles, the local costmap, markers and diagnostics out; bad inputs counted, a bad
parameter refused with a reason."""
import dataclasses
import math
import time

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import OccupancyGrid, Odometry
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from visualization_msgs.msg import MarkerArray

from ros_helpers import node_process, ros_node, set_double_parameter

from delivery_robot_msgs.msg import TrackedObstacle, TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.world import Actor
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.sensors import DepthReading, ScanReading

WALKER_Y = -66.0          # crosses 6 m ahead of the robot at the depot (-140, -72, north)


def record(seconds: float):
    """Messages of the robot standing at the depot while a person walks across in front of
    it at 1 m/s, with odometry/filtered from the ground truth; and the walker's truth."""
    base = Simulator.from_files()
    walker = Actor('walker', np.array([0.0, 8.0]),
                   np.array([[-144.0, WALKER_Y, 1.0, 0.0], [-136.0, WALKER_Y, 1.0, 0.0]]),
                   loop=False)
    world = dataclasses.replace(base.world, actors=[walker])
    sim = Simulator(world, base.robot, base.cfg)
    out, truth = [], {}
    for _ in range(int(seconds * sim.cfg.step_rate_hz)):
        step = sim.step((0.0, 0.0))
        gt = step.ground_truth
        if sim.steps % 2 == 0:
            out.append(('odometry/filtered',
                        conv.odometry_msg(gt.time, 'map', 'base_link', gt.x, gt.y, gt.yaw, 0, 0)))
        for r in step.readings:
            if isinstance(r, ScanReading):
                out.append(('scan', conv.scan_msg(r)))
                truth[round(r.stamp, 3)] = walker.pose_at(r.stamp)[:2]
            elif isinstance(r, DepthReading):
                img, info = conv.depth_msgs(r)
                out += [('camera/depth/camera_info', info), ('camera/depth/image_raw', img)]
    return out, truth


class Player(Node):
    def __init__(self):
        super().__init__('perception_player')
        sensor = qos_profile_sensor_data
        self.pubs = {'scan': self.create_publisher(LaserScan, 'scan', sensor),
                     'odometry/filtered': self.create_publisher(Odometry, 'odometry/filtered', 50),
                     'camera/depth/image_raw': self.create_publisher(
                         Image, 'camera/depth/image_raw', sensor),
                     'camera/depth/camera_info': self.create_publisher(
                         CameraInfo, 'camera/depth/camera_info', sensor)}
        self.obstacles, self.costmaps, self.markers, self.diag = [], [], [], []
        self.create_subscription(TrackedObstacleArray, 'obstacles', self.obstacles.append, 100)
        self.create_subscription(OccupancyGrid, 'local_costmap', self.costmaps.append, 20)
        self.create_subscription(MarkerArray, 'obstacles/markers', self.markers.append, 20)
        self.create_subscription(DiagnosticArray, 'diagnostics', self.diag.append, 10)
        self.params = self.create_client(SetParameters, 'obstacle_detection/set_parameters')

    def spin_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.01)


@pytest.fixture(scope='module')
def player():
    with node_process('delivery_robot_nav.perception.node') as proc, \
            ros_node(Player) as node:
        assert node.params.wait_for_service(timeout_sec=60.0), \
            'obstacle_detection did not come up'
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and any(
                p.get_subscription_count() == 0 for p in node.pubs.values()):
            node.spin_for(0.1)
        yield node, proc


def test_walker_is_tracked_and_the_costmap_is_published(player):
    node, proc = player
    messages, truth = record(6.0)
    for i, (topic, msg) in enumerate(messages):
        node.pubs[topic].publish(msg)
        if i % 4 == 0:
            node.spin_for(0.003)
    node.spin_for(2.0)
    scans = [m for t, m in messages if t == 'scan']
    assert len(node.obstacles) > 0.6 * len(scans)
    last = node.obstacles[-1]
    assert last.header.frame_id == 'map'
    stamp = round(conv.from_time(last.header.stamp), 3)
    assert stamp in truth                                   # stamped with its scan's stamp
    walker = truth[stamp]
    movers = [o for o in last.obstacles
              if math.hypot(o.velocity.twist.linear.x, o.velocity.twist.linear.y) > 0.5]
    assert len(movers) == 1, [(o.id, o.pose.pose.position) for o in last.obstacles]
    o = movers[0]
    assert math.hypot(o.pose.pose.position.x - walker[0],
                      o.pose.pose.position.y - walker[1]) < 0.3
    assert o.velocity.twist.linear.x == pytest.approx(1.0, abs=0.2)
    assert o.classification == TrackedObstacle.CLASS_PEDESTRIAN
    grid = node.costmaps[-1]
    assert grid.header.frame_id == 'map' and grid.info.resolution == pytest.approx(0.05)
    assert grid.info.width == grid.info.height == 240
    cells = np.asarray(grid.data, dtype=np.int8).reshape(grid.info.height, grid.info.width)
    assert (cells == 100).any() and (cells == 0).any()
    assert node.markers and node.markers[-1].markers[0].action == 3       # DELETEALL first
    # the first stage of the scan -> cmd_vel latency: publication to published obstacles
    node.spin_for(1.2)
    values = {kv.key: kv.value for kv in node.diag[-1].status[0].values}
    assert int(values['scan to obstacles samples']) >= len(node.obstacles) - 2
    assert 0.0 < float(values['scan to obstacles p50_ms']) <= \
        float(values['scan to obstacles p95_ms']) <= float(values['scan to obstacles max_ms'])
    assert proc.poll() is None


def test_bad_inputs_are_counted_not_fatal(player):
    node, proc = player
    messages, _ = record(1.0)
    scan = next(m for t, m in messages if t == 'scan')
    pose = [m for t, m in messages if t == 'odometry/filtered']
    image = next(m for t, m in messages if t == 'camera/depth/image_raw')
    for p in pose:
        node.pubs['odometry/filtered'].publish(p)
    short = LaserScan(header=scan.header, angle_min=scan.angle_min,
                      angle_increment=scan.angle_increment, range_min=scan.range_min,
                      range_max=scan.range_max, ranges=[float('nan')] * 100 + [2.0] * 260)
    node.pubs['scan'].publish(short)                        # other beam count, NaNs: fine
    node.pubs['scan'].publish(LaserScan(header=scan.header))          # empty: rejected
    rgb = Image(header=image.header, height=2, width=2, encoding='rgb8', step=6,
                data=bytes(12))
    node.pubs['camera/depth/image_raw'].publish(rgb)        # wrong encoding: rejected
    deadline = time.monotonic() + 10.0
    counted = {}
    while time.monotonic() < deadline:
        node.spin_for(0.2)
        statuses = [s for m in node.diag for s in m.status]
        if statuses:
            counted = {kv.key: kv.value for kv in statuses[-1].values}
            if 'rejected: scan: empty' in counted and any('rgb8' in k for k in counted):
                break
    assert counted.get('rejected: scan: empty') == '1'
    assert any('unsupported encoding "rgb8"' in k for k in counted), counted
    assert proc.poll() is None


def test_out_of_range_parameter_is_rejected_with_a_reason(player):
    node, _ = player
    result = set_double_parameter(node, node.params, 'static.tolerance', 5.0)
    assert not result.successful and 'static.tolerance' in result.reason
