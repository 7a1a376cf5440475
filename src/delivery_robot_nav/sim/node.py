"""`sim_node`: the embedded simulator as a ROS 2 node (robot-side topics of DESIGN.md).

Steps the lockstep core (core.py) against the wall clock at `real_time_factor` and
publishes what a robot (or Gazebo through ros_gz_bridge) would: scan, odom, imu/data,
gps/fix, camera/depth/*, tf (odom -> base_link), tf_static (URDF fixed joints), clock, and
robot_description (the URDF, latched, as robot_state_publisher offers it); plus
simulator-only truth: sim/ground_truth, sim/collisions, sim/actors.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from geometry_msgs.msg import Twist, TwistStamped, TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan, NavSatFix
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from delivery_robot_msgs.msg import SimCollision, TrackedObstacle, TrackedObstacleArray
from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.common.params import load_params_file
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.sim.config import NODE_NAME, SIM_PARAMS, SimConfig, default_config_path
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.robot_model import load_robot_model
from delivery_robot_nav.sim.sensors import (DepthReading, GnssReading, ImuReading, OdomReading,
                                            ScanReading)
from delivery_robot_nav.common.world import load_world

TICK_HZ = 100.0            # wall-clock rate of the stepping timer
MAX_STEPS_PER_TICK = 200   # when the machine cannot keep up: fall behind, never spiral


class SimNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        defaults = load_params_file(default_config_path(), NODE_NAME, SIM_PARAMS)
        values = declare_parameters(self, SIM_PARAMS, defaults)
        self.cfg = SimConfig.from_params(values, f'node {NODE_NAME}')
        self.world = load_world(self.cfg.world_file)
        robot = load_robot_model(self.cfg.robot_description_file)
        self.sim = Simulator(self.world, robot, self.cfg)

        sensor = qos_profile_sensor_data
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pub_scan = self.create_publisher(LaserScan, 'scan', sensor)
        self.pub_odom = self.create_publisher(Odometry, 'odom', 10)
        self.pub_imu = self.create_publisher(Imu, 'imu/data', sensor)
        self.pub_fix = self.create_publisher(NavSatFix, 'gps/fix', sensor)
        self.pub_gps_vel = self.create_publisher(TwistWithCovarianceStamped, 'gps/vel', sensor)
        self.pub_depth = self.create_publisher(Image, 'camera/depth/image_raw', sensor)
        self.pub_info = self.create_publisher(CameraInfo, 'camera/depth/camera_info', sensor)
        self.pub_clock = self.create_publisher(Clock, '/clock', 10)  # global, as use_sim_time reads it
        self.pub_tf = self.create_publisher(TFMessage, 'tf', 100)
        self.pub_tf_static = self.create_publisher(TFMessage, 'tf_static', latched)
        self.pub_truth = self.create_publisher(Odometry, 'sim/ground_truth', 10)
        self.pub_collisions = self.create_publisher(SimCollision, 'sim/collisions', 10)
        self.pub_actors = self.create_publisher(TrackedObstacleArray, 'sim/actors', 10)
        cmd_type = TwistStamped if self.cfg.use_stamped_cmd_vel else Twist
        self.create_subscription(cmd_type, 'cmd_vel', self.on_cmd_vel, 10)

        # the URDF's text, latched, as robot_state_publisher offers it (RViz, Foxglove)
        self.pub_description = self.create_publisher(String, 'robot_description', latched)
        self.pub_description.publish(
            String(data=Path(self.cfg.robot_description_file).read_text()))
        self.pub_tf_static.publish(TFMessage(transforms=[
            conv.transform_msg(t.parent, t.child, t.matrix, 0.0) for t in robot.fixed_transforms]))
        self.pending_cmd: tuple[float, float] | None = None
        self.rejected_cmds = 0
        self.wall_start = time.monotonic() + self.cfg.start_delay
        self.sim_start = 0.0
        self.rtf = self.cfg.real_time_factor
        self.add_post_set_parameters_callback(self.on_params_set)
        self.timer = self.create_timer(1.0 / TICK_HZ, self.tick)
        self.get_logger().info(
            f'simulating {self.world.source} ({len(self.world.obstacles)} obstacles, '
            f'{len(self.world.actors)} actors) at {self.rtf}x real time, seed {self.sim.seed}')

    def on_params_set(self, params):
        for p in params:
            if p.name == 'real_time_factor':
                # restart the wall/sim time pairing so the new rate applies from now on
                self.wall_start, self.sim_start = time.monotonic(), self.sim.time
                self.rtf = p.value

    def on_cmd_vel(self, msg):
        twist = msg.twist if isinstance(msg, TwistStamped) else msg
        v, w = twist.linear.x, twist.angular.z
        if not (np.isfinite(v) and np.isfinite(w)):
            self.rejected_cmds += 1
            self.get_logger().warn(
                f'cmd_vel: rejected non-finite command v={v} w={w} '
                f'({self.rejected_cmds} rejected so far)', throttle_duration_sec=5.0)
            return
        self.pending_cmd = (v, w)

    def tick(self):
        if time.monotonic() < self.wall_start:
            self.pub_clock.publish(Clock(clock=conv.to_time(0.0)))
            return
        target = self.sim_start + (time.monotonic() - self.wall_start) * self.rtf
        steps = 0
        while self.sim.time + self.sim.dt <= target + 1e-9 and steps < MAX_STEPS_PER_TICK:
            result = self.sim.step(self.pending_cmd)
            self.pending_cmd = None
            self.publish(result)
            steps += 1
        if steps:
            self.pub_clock.publish(Clock(clock=conv.to_time(self.sim.time)))
        if steps == MAX_STEPS_PER_TICK:
            self.get_logger().warn(
                f'cannot keep up with real_time_factor {self.rtf}: simulation falls behind',
                throttle_duration_sec=10.0)

    def publish(self, result):
        for r in result.readings:
            if isinstance(r, ImuReading):
                self.pub_imu.publish(conv.imu_msg(r))
            elif isinstance(r, OdomReading):
                self.pub_odom.publish(conv.odom_reading_msg(r))
                if self.cfg.publish_odom_tf:
                    self.pub_tf.publish(TFMessage(transforms=[conv.planar_transform_msg(
                        r.frame_id, r.child_frame_id, r.x, r.y, r.yaw, r.stamp)]))
            elif isinstance(r, ScanReading):
                self.pub_scan.publish(conv.scan_msg(r))
            elif isinstance(r, GnssReading):
                self.pub_fix.publish(conv.navsat_msg(r))
                if r.status >= 0:
                    self.pub_gps_vel.publish(conv.gnss_velocity_msg(r))
            elif isinstance(r, DepthReading):
                image, info = conv.depth_msgs(r)
                self.pub_depth.publish(image)
                self.pub_info.publish(info)
        gt = result.ground_truth
        for c in result.collisions:
            msg = SimCollision(other=c.other, robot_pose=conv.planar_pose(c.x, c.y, c.yaw),
                               speed=float(c.speed))
            msg.header.stamp, msg.header.frame_id = conv.to_time(c.time), 'map'
            self.pub_collisions.publish(msg)
            self.get_logger().warn(f'collision with {c.other} at ({c.x:.2f}, {c.y:.2f}), '
                                   f'{c.speed:.2f} m/s')
        if self.get_parameter('publish_ground_truth').value:
            self.pub_truth.publish(conv.odometry_msg(gt.time, 'map', self.sim.robot.base_frame,
                                                     gt.x, gt.y, gt.yaw, gt.v, gt.w))
            if result.actor_positions is not None and self.sim.steps % self.sim.periods['lidar'] == 0:
                self.pub_actors.publish(self.actors_msg(gt.time, result.actor_positions))

    def actors_msg(self, t: float, positions: np.ndarray) -> TrackedObstacleArray:
        msg = TrackedObstacleArray()
        msg.header.stamp, msg.header.frame_id = conv.to_time(t), 'map'
        vel = self.sim.actors.velocities(t)
        for i, (x, y) in enumerate(positions):
            o = TrackedObstacle()
            o.header = msg.header
            o.id = i
            o.classification = TrackedObstacle.CLASS_PEDESTRIAN
            o.classification_probability = 1.0
            o.pose.pose.position.x, o.pose.pose.position.y = float(x), float(y)
            o.pose.pose.orientation.w = 1.0
            o.velocity.twist.linear.x, o.velocity.twist.linear.y = (float(v) for v in vel[i])
            d = 2.0 * self.cfg.actors.radius
            o.size.x = o.size.y = d
            o.size.z = self.cfg.actors.height
            msg.obstacles.append(o)
        return msg


def main(args=None):
    return run_node(SimNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
