"""Plain data <-> ROS 2 messages. The one module besides node.py files that imports messages.

Large arrays go in as `array.array` built from numpy bytes (measured 8x faster than
`.tolist()` for a 720-beam scan, see ENVIRONMENT.md).
"""
from __future__ import annotations

import array
import math

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose, Quaternion, TransformStamped, TwistWithCovarianceStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan, NavSatFix, NavSatStatus

from delivery_robot_nav.common.geometry import quaternion_xyzw_from_matrix, quaternion_xyzw_from_yaw


def to_time(seconds: float) -> Time:
    sec = math.floor(seconds)
    return Time(sec=int(sec), nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


def from_time(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def yaw_quaternion(yaw: float) -> Quaternion:
    x, y, z, w = quaternion_xyzw_from_yaw(yaw)
    return Quaternion(x=x, y=y, z=z, w=w)


def quaternion_yaw(q: Quaternion) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def planar_pose(x: float, y: float, yaw: float) -> Pose:
    pose = Pose()
    pose.position.x, pose.position.y = float(x), float(y)
    pose.orientation = yaw_quaternion(yaw)
    return pose


def transform_msg(parent: str, child: str, matrix: np.ndarray, stamp: float) -> TransformStamped:
    t = TransformStamped()
    t.header.stamp = to_time(stamp)
    t.header.frame_id, t.child_frame_id = parent, child
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = (
        float(v) for v in matrix[:3, 3])
    x, y, z, w = quaternion_xyzw_from_matrix(matrix)
    t.transform.rotation = Quaternion(x=float(x), y=float(y), z=float(z), w=float(w))
    return t


def planar_transform_msg(parent: str, child: str, x: float, y: float, yaw: float,
                         stamp: float) -> TransformStamped:
    t = TransformStamped()
    t.header.stamp = to_time(stamp)
    t.header.frame_id, t.child_frame_id = parent, child
    t.transform.translation.x, t.transform.translation.y = float(x), float(y)
    t.transform.rotation = yaw_quaternion(yaw)
    return t


def scan_msg(r) -> LaserScan:
    """sim.sensors.ScanReading -> LaserScan."""
    msg = LaserScan()
    msg.header.stamp = to_time(r.stamp)
    msg.header.frame_id = r.frame_id
    msg.angle_min = float(r.angle_min)
    msg.angle_increment = float(r.angle_increment)
    msg.angle_max = float(r.angle_min + r.angle_increment * (len(r.ranges) - 1))
    msg.time_increment = 0.0
    msg.scan_time = float(r.scan_time)
    msg.range_min, msg.range_max = float(r.range_min), float(r.range_max)
    msg.ranges = array.array('f', np.asarray(r.ranges, dtype=np.float32).tobytes())
    return msg


def odometry_msg(stamp: float, frame_id: str, child_frame_id: str, x: float, y: float,
                 yaw: float, v: float, w: float, pose_variance=(0.0, 0.0, 0.0),
                 twist_variance=(0.0, 0.0)) -> Odometry:
    msg = Odometry()
    msg.header.stamp = to_time(stamp)
    msg.header.frame_id, msg.child_frame_id = frame_id, child_frame_id
    msg.pose.pose = planar_pose(x, y, yaw)
    msg.twist.twist.linear.x, msg.twist.twist.angular.z = float(v), float(w)
    pc = np.zeros(36)
    # x, y, yaw from the reading; z, roll, pitch: the base is on flat ground (tiny variance)
    pc[0], pc[7], pc[35] = pose_variance
    pc[14] = pc[21] = pc[28] = 1e-6
    tc = np.zeros(36)
    tc[0], tc[35] = twist_variance
    tc[7] = tc[14] = tc[21] = tc[28] = 1e-6
    msg.pose.covariance = array.array('d', pc.tobytes())
    msg.twist.covariance = array.array('d', tc.tobytes())
    return msg


def odom_reading_msg(r) -> Odometry:
    """sim.sensors.OdomReading -> Odometry (odom -> base_link)."""
    return odometry_msg(r.stamp, r.frame_id, r.child_frame_id, r.x, r.y, r.yaw, r.v, r.w,
                        r.pose_variance, r.twist_variance)


def imu_msg(r) -> Imu:
    """sim.sensors.ImuReading -> Imu; no orientation estimate (REP 145: covariance[0] = -1)."""
    msg = Imu()
    msg.header.stamp = to_time(r.stamp)
    msg.header.frame_id = r.frame_id
    msg.orientation_covariance[0] = -1.0
    av, la = r.angular_velocity, r.linear_acceleration
    msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (
        float(av[0]), float(av[1]), float(av[2]))
    msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = (
        float(la[0]), float(la[1]), float(la[2]))
    for i in (0, 4, 8):
        msg.angular_velocity_covariance[i] = r.angular_velocity_variance
        msg.linear_acceleration_covariance[i] = r.linear_acceleration_variance
    return msg


def gnss_velocity_msg(r) -> TwistWithCovarianceStamped:
    """sim.sensors.GnssReading -> the receiver's Doppler velocity as ublox_gps publishes it
    (`fix_velocity`): linear.x east, linear.y north (ENU), frame of the antenna; the
    angular part is not measured."""
    msg = TwistWithCovarianceStamped()
    msg.header.stamp = to_time(r.stamp)
    msg.header.frame_id = r.frame_id
    msg.twist.twist.linear.x, msg.twist.twist.linear.y = r.velocity
    cov = [0.0] * 36
    cov[0] = cov[7] = r.velocity_variance
    cov[14] = 4.0 * r.velocity_variance          # vertical: about twice the horizontal error
    msg.twist.covariance = cov
    return msg


def navsat_msg(r) -> NavSatFix:
    """sim.sensors.GnssReading -> NavSatFix (status -1 and NaN position without a fix)."""
    msg = NavSatFix()
    msg.header.stamp = to_time(r.stamp)
    msg.header.frame_id = r.frame_id
    msg.status.status = int(r.status)
    msg.status.service = NavSatStatus.SERVICE_GPS
    msg.latitude, msg.longitude, msg.altitude = r.latitude, r.longitude, r.altitude
    if r.status >= NavSatStatus.STATUS_FIX:
        e, n, u = r.position_variance
        msg.position_covariance[0], msg.position_covariance[4] = e, n
        msg.position_covariance[8] = u
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    else:
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
    return msg


def depth_msgs(r) -> tuple[Image, CameraInfo]:
    """sim.sensors.DepthReading -> (32FC1 Image, CameraInfo) with the same header."""
    img = Image()
    img.header.stamp = to_time(r.stamp)
    img.header.frame_id = r.frame_id
    img.height, img.width = r.depth.shape
    img.encoding = '32FC1'
    img.is_bigendian = 0
    img.step = 4 * img.width
    img.data = array.array('B', np.ascontiguousarray(r.depth, dtype='<f4').tobytes())
    info = CameraInfo()
    info.header = img.header
    info.height, info.width = img.height, img.width
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [r.fx, 0.0, r.cx, 0.0, r.fy, r.cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [r.fx, 0.0, r.cx, 0.0, 0.0, r.fy, r.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return img, info


def scan_arrays(msg: LaserScan) -> tuple[np.ndarray, np.ndarray]:
    """LaserScan -> (ranges float32, beam angles) as numpy arrays."""
    ranges = np.frombuffer(msg.ranges.tobytes() if isinstance(msg.ranges, array.array)
                           else np.asarray(msg.ranges, dtype=np.float32).tobytes(),
                           dtype=np.float32)
    angles = msg.angle_min + msg.angle_increment * np.arange(len(ranges))
    return ranges, angles


def occupancy_grid_msg(grid: np.ndarray, resolution: float, origin_xy: tuple[float, float],
                       frame_id: str, stamp: float) -> OccupancyGrid:
    """int8 grid (row 0 at origin y) -> OccupancyGrid."""
    msg = OccupancyGrid()
    msg.header.stamp = to_time(stamp)
    msg.header.frame_id = frame_id
    msg.info.resolution = float(resolution)
    msg.info.height, msg.info.width = grid.shape
    msg.info.origin.position.x, msg.info.origin.position.y = (float(v) for v in origin_xy)
    msg.info.origin.orientation.w = 1.0
    msg.data = array.array('b', np.ascontiguousarray(grid, dtype=np.int8).tobytes())
    return msg
