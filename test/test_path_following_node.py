"""path_following over real DDS, in a closed loop: the test process runs the embedded
simulator and the obstacle detector against the wall clock and publishes what the robot's
other nodes would (odometry/filtered from ground truth, scan, local_costmap, obstacles);
the node under test (a separate process) answers with plan, cmd_vel and status, and its
cmd_vel drives the simulated robot. Goal in -> plan + cmd_vel out -> arrival; a wall placed
across the way -> the robot stops before touching it; bad goals and a bad parameter are
refused with a reason."""
import dataclasses
import math
import time

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Empty, String

from ros_helpers import node_process, ros_node, set_double_parameter

from delivery_robot_msgs.msg import NavigationStatus, TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.geometry import pose_matrix
from delivery_robot_nav.common.world import Shape
from delivery_robot_nav.evaluation.navigation_eval import footprint_clearance
from delivery_robot_nav.perception.config import detector_config, load_detection_params
from delivery_robot_nav.perception.detector import ObstacleDetector
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.sensors import ScanReading

DEPOT = (-140.0, -72.0, math.pi / 2)      # the simulator's start: on the walkway, north


class ClosedLoop(Node):
    """The robot's world as seen over DDS: simulator + obstacle detector, wall clock."""

    def __init__(self):
        super().__init__('path_following_harness')
        sensor = qos_profile_sensor_data
        self.pub_odom = self.create_publisher(Odometry, 'odometry/filtered', sensor)
        self.pub_scan = self.create_publisher(LaserScan, 'scan', sensor)
        self.pub_costmap = self.create_publisher(OccupancyGrid, 'local_costmap', 5)
        self.pub_obstacles = self.create_publisher(TrackedObstacleArray, 'obstacles', 10)
        self.pub_goal = self.create_publisher(PoseStamped, 'goal_pose', 10)
        self.pub_station = self.create_publisher(String, 'path_following/goal_station', 10)
        self.pub_cancel = self.create_publisher(Empty, 'path_following/cancel', 10)
        self.cmds, self.plans, self.status = [], [], []
        self.create_subscription(Twist, 'cmd_vel', self.cmds.append, 50)
        self.create_subscription(Path, 'plan', self.plans.append, 10)
        self.create_subscription(NavigationStatus, 'path_following/status', self.status.append, 50)
        self.params = self.create_client(SetParameters, 'path_following/set_parameters')
        self.sim = None

    def reset(self, extra_shapes=()):
        self.pub_cancel.publish(Empty())            # whatever the last test left running
        end = time.time() + 0.3
        while time.time() < end:
            rclpy.spin_once(self, timeout_sec=0.02)
        base = Simulator.from_files(overrides={'depth_camera.enabled': False})
        world = dataclasses.replace(base.world, shapes=base.world.shapes + list(extra_shapes),
                                    actors=[])
        self.sim = Simulator(world, base.robot, base.cfg, start=DEPOT)
        self.det = ObstacleDetector(detector_config(load_detection_params(), base.robot), None)
        self.t0 = time.time()
        self.cmds.clear()
        self.plans.clear()
        self.status.clear()
        self.min_clearance = math.inf
        self.walls = [s for s in extra_shapes]

    def stamp(self, sim_t: float) -> float:
        return self.t0 + sim_t

    def run_for(self, seconds: float):
        """Step the simulator with the wall clock for `seconds`, publishing as it goes."""
        sim = self.sim
        end = time.time() + seconds
        while time.time() < end:
            rclpy.spin_once(self, timeout_sec=0.002)
            cmd = None
            if self.cmds:
                cmd = (self.cmds[-1].linear.x, self.cmds[-1].angular.z)
            while sim.time < time.time() - self.t0:
                step = sim.step(cmd)
                cmd = None
                gt = step.ground_truth
                if sim.steps % 2 == 0:
                    self.pub_odom.publish(conv.odometry_msg(self.stamp(gt.time), 'map',
                                                            'base_link', gt.x, gt.y, gt.yaw,
                                                            gt.v, gt.w))
                for r in step.readings:
                    if isinstance(r, ScanReading):
                        self._on_scan(r)
                for wall in self.walls:
                    corners = wall_points(wall)
                    c = footprint_clearance((gt.x, gt.y, gt.yaw), sim.robot.footprint,
                                            corners, 0.0).min()
                    self.min_clearance = min(self.min_clearance, float(c))

    def _on_scan(self, r: ScanReading):
        s = self.sim.state
        pose = (s.x, s.y, s.yaw)
        angles = r.angle_min + r.angle_increment * np.arange(len(r.ranges))
        res = self.det.on_scan(r.stamp, r.ranges, angles, pose, r.angle_increment,
                               r.range_min, r.range_max)
        t = self.stamp(r.stamp)
        msg = conv.scan_msg(r)
        msg.header.stamp = conv.to_time(t)
        self.pub_scan.publish(msg)
        costs, origin, res_m = self.det.costmap_grid(r.stamp)
        self.pub_costmap.publish(conv.occupancy_grid_msg(costs, res_m, tuple(origin), 'map', t))
        self.pub_obstacles.publish(conv.tracked_obstacles_msg(res.tracks, 'map', t))

    def goal_pose(self, x, y, frame='map'):
        msg = PoseStamped()
        msg.header.frame_id = frame
        msg.header.stamp = conv.to_time(time.time())
        msg.pose = conv.planar_pose(x, y, math.pi / 2)
        self.pub_goal.publish(msg)


def wall_points(shape: Shape) -> np.ndarray:
    """Points along the outline of a box shape (world frame)."""
    sx, sy = shape.size[0] / 2, shape.size[1] / 2
    u = np.linspace(-1, 1, 41)
    local = np.concatenate([np.column_stack([u * sx, np.full_like(u, s * sy)]) for s in (-1, 1)]
                           + [np.column_stack([np.full_like(u, s * sx), u * sy]) for s in (-1, 1)])
    m = shape.pose
    return local @ m[:2, :2].T + m[:2, 3]


@pytest.fixture(scope='module')
def harness():
    with node_process('delivery_robot_nav.planning.node') as proc, \
            ros_node(ClosedLoop) as node:
        assert node.params.wait_for_service(timeout_sec=60.0), 'path_following did not come up'
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and (node.pub_odom.get_subscription_count() == 0 or
                                               node.pub_goal.get_subscription_count() == 0):
            rclpy.spin_once(node, timeout_sec=0.1)
        yield node, proc


def wait_status(node, predicate, seconds):
    """The first status since the last reset that satisfies predicate (else the last)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        node.run_for(0.1)
        hits = [s for s in node.status if predicate(s)]
        if hits:
            return hits[0]
    return node.status[-1] if node.status else None


def test_goal_pose_gives_a_plan_and_cmd_vel_and_the_robot_arrives(harness):
    node, proc = harness
    node.reset()
    node.run_for(1.0)                               # odometry, scans, costmap flowing
    goal = (DEPOT[0], DEPOT[1] + 5.0)
    node.goal_pose(*goal)
    last = wait_status(node, lambda s: s.state == NavigationStatus.STATE_SUCCEEDED, 25.0)
    assert last is not None and last.state == NavigationStatus.STATE_SUCCEEDED, \
        [(s.state, s.reason) for s in node.status[-5:]]
    assert node.plans, 'no plan published'
    plan = node.plans[0]
    assert plan.header.frame_id == 'map' and len(plan.poses) >= 2
    end = plan.poses[-1].pose.position
    assert math.hypot(end.x - goal[0], end.y - goal[1]) < 0.05
    assert max(c.linear.x for c in node.cmds) > 0.5
    s = node.sim.state
    assert math.hypot(s.x - goal[0], s.y - goal[1]) <= 0.3
    node.run_for(0.5)
    assert abs(node.cmds[-1].linear.x) < 1e-6 and abs(node.cmds[-1].angular.z) < 1e-6
    assert proc.poll() is None


def test_wall_across_the_way_stops_the_robot_before_contact(harness):
    node, proc = harness
    # a wall 3.5 m ahead, wider than the costmap window: no detour gets round it
    wall = Shape('test_wall', 'box', (14.0, 0.3, 1.0),
                 pose_matrix([DEPOT[0], DEPOT[1] + 3.5, 0.5], [0, 0, 0]))
    node.reset([wall])
    node.run_for(1.0)
    node.goal_pose(DEPOT[0], DEPOT[1] + 7.0)
    closest = math.inf
    end = time.time() + 12.0
    while time.time() < end:
        node.run_for(0.2)
        closest = min(closest, node.min_clearance)
        assert not node.sim._contacts, 'the robot touched the wall'
    s = node.sim.state
    assert node.min_clearance > 0.03, node.min_clearance
    assert s.y < DEPOT[1] + 3.5 - 0.15 - 0.35          # it stayed on its side
    assert closest < 1.5                              # after driving up to the wall
    assert max(c.linear.x for c in node.cmds) > 0.3
    assert proc.poll() is None


def test_unknown_station_is_refused_with_the_reason(harness):
    node, _ = harness
    node.reset()
    node.run_for(0.5)
    node.pub_station.publish(String(data='no_such_building'))
    last = wait_status(node, lambda s: s.state == NavigationStatus.STATE_REJECTED, 5.0)
    assert last is not None and last.state == NavigationStatus.STATE_REJECTED
    assert 'unknown station "no_such_building"' in last.reason and 'depot' in last.reason


def test_goal_in_another_frame_is_refused(harness):
    node, _ = harness
    node.reset()
    node.run_for(0.5)
    node.goal_pose(0.0, 0.0, frame='odom')
    last = wait_status(node, lambda s: s.state == NavigationStatus.STATE_REJECTED, 5.0)
    assert last is not None and 'frame "odom"' in last.reason


def test_out_of_range_parameter_is_rejected_with_a_reason(harness):
    node, _ = harness
    result = set_double_parameter(node, node.params, 'controller.max_speed', 50.0)
    assert not result.successful and 'controller.max_speed' in result.reason
