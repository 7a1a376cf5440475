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
from visualization_msgs.msg import Marker, MarkerArray

from delivery_robot_msgs.msg import TrackedObstacle, TrackedObstacleArray
from delivery_robot_nav.common.geometry import quaternion_xyzw_from_matrix, quaternion_xyzw_from_yaw
from delivery_robot_nav.common.maps import OccupancyMap


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


def occupancy_map(msg: OccupancyGrid) -> OccupancyMap:
    """OccupancyGrid -> OccupancyMap; ValueError naming the sizes when they disagree."""
    grid = np.frombuffer(msg.data.tobytes() if hasattr(msg.data, 'tobytes')
                         else bytes(np.asarray(msg.data, dtype=np.int8)), dtype=np.int8)
    if grid.size != msg.info.width * msg.info.height or not msg.info.resolution > 0:
        raise ValueError(f'{grid.size} cells for {msg.info.width} x {msg.info.height}, '
                         f'resolution {msg.info.resolution}')
    return OccupancyMap(grid.reshape(msg.info.height, msg.info.width).copy(),
                        msg.info.resolution,
                        (msg.info.origin.position.x, msg.info.origin.position.y))


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


class ImageError(ValueError):
    """A depth image this package cannot read (encoding, size)."""


def depth_image_array(msg: Image) -> np.ndarray:
    """Depth Image -> float32 metres (REP 118): 32FC1 as is, 16UC1 millimetres scaled,
    0 (no measurement) -> NaN. Other encodings raise ImageError naming the encoding."""
    if msg.encoding == '32FC1':
        dtype, scale = np.dtype('>f4' if msg.is_bigendian else '<f4'), None
    elif msg.encoding in ('16UC1', 'mono16'):
        dtype, scale = np.dtype('>u2' if msg.is_bigendian else '<u2'), 0.001
    else:
        raise ImageError(f'unsupported encoding "{msg.encoding}" (expected 32FC1 or 16UC1)')
    row_bytes = msg.width * dtype.itemsize
    raw = bytes(msg.data) if not isinstance(msg.data, (bytes, array.array)) else msg.data
    buf = np.frombuffer(raw, dtype=np.uint8)
    if msg.step < row_bytes or buf.size < msg.step * msg.height or msg.height == 0:
        raise ImageError(f'{msg.width}x{msg.height} {msg.encoding} with step {msg.step} needs '
                         f'{msg.step * msg.height} bytes, got {buf.size}')
    rows = buf[:msg.step * msg.height].reshape(msg.height, msg.step)[:, :row_bytes]
    depth = np.ascontiguousarray(rows).view(dtype).astype(np.float32)
    if scale is not None:
        depth = np.where(depth > 0, depth * scale, np.nan).astype(np.float32)
    return depth


def camera_intrinsics(msg: CameraInfo) -> tuple[int, int, float, float, float, float]:
    """(width, height, fx, fy, cx, cy) from CameraInfo.k."""
    k = list(msg.k)
    return int(msg.width), int(msg.height), float(k[0]), float(k[4]), float(k[2]), float(k[5])


def tracked_obstacles_msg(tracks, frame_id: str, stamp: float):
    """perception.tracker.TrackSet -> delivery_robot_msgs/TrackedObstacleArray."""
    out = TrackedObstacleArray()
    out.header.stamp = to_time(stamp)
    out.header.frame_id = frame_id
    for i in range(len(tracks.ids)):
        o = TrackedObstacle()
        o.header = out.header
        o.id = int(tracks.ids[i])
        o.classification = int(tracks.classification[i])
        o.classification_probability = float(tracks.class_probability[i])
        vx, vy = (float(v) for v in tracks.velocity[i])
        heading = math.atan2(vy, vx) if math.hypot(vx, vy) > 1e-3 else 0.0
        o.pose.pose = planar_pose(float(tracks.xy[i, 0]), float(tracks.xy[i, 1]), heading)
        P = tracks.cov[i]
        pc = np.zeros((6, 6))
        pc[:2, :2] = P[:2, :2]
        pc[2, 2] = pc[3, 3] = pc[4, 4] = pc[5, 5] = 1e6        # not estimated
        o.pose.covariance = pc.ravel().tolist()
        o.velocity.twist.linear.x, o.velocity.twist.linear.y = vx, vy
        vc = np.zeros((6, 6))
        vc[:2, :2] = P[2:, 2:]
        vc[2, 2] = vc[3, 3] = vc[4, 4] = vc[5, 5] = 1e6
        o.velocity.covariance = vc.ravel().tolist()
        width, depth = (float(v) for v in tracks.size[i])
        o.size.x, o.size.y, o.size.z = max(width, depth), max(width, depth), 1.7
        o.age = float(tracks.age[i])
        o.time_since_update = float(tracks.time_since_update[i])
        out.obstacles.append(o)
    return out


_CLASS_COLOURS = {0: (0.6, 0.6, 0.6), 1: (0.3, 0.3, 0.9), 2: (0.95, 0.5, 0.1),
                  3: (0.9, 0.1, 0.6), 4: (0.8, 0.8, 0.1), 5: (0.2, 0.8, 0.2)}
_CLASS_NAMES = {0: 'unknown', 1: 'static', 2: 'pedestrian', 3: 'cyclist', 4: 'vehicle',
                5: 'low obstacle'}


def obstacle_markers_msg(obstacles):
    """TrackedObstacleArray -> visualization_msgs/MarkerArray: a cylinder per object, an
    arrow for its velocity and its id and class as text; DELETEALL first, so objects that
    died disappear in RViz and Foxglove."""
    out = MarkerArray()
    clear = Marker()
    clear.header = obstacles.header
    clear.action = Marker.DELETEALL
    out.markers.append(clear)
    for o in obstacles.obstacles:
        r, g, b = _CLASS_COLOURS.get(o.classification, (0.6, 0.6, 0.6))
        body = Marker()
        body.header = obstacles.header
        body.ns, body.id, body.type = 'objects', int(o.id) % 2 ** 31, Marker.CYLINDER
        body.pose = planar_pose(o.pose.pose.position.x, o.pose.pose.position.y, 0.0)
        body.pose.position.z = o.size.z / 2.0
        body.scale.x, body.scale.y, body.scale.z = max(o.size.x, 0.1), max(o.size.y, 0.1), o.size.z
        body.color.r, body.color.g, body.color.b, body.color.a = r, g, b, 0.6
        arrow = Marker()
        arrow.header = obstacles.header
        arrow.ns, arrow.id, arrow.type = 'velocity', body.id, Marker.ARROW
        vx, vy = o.velocity.twist.linear.x, o.velocity.twist.linear.y
        arrow.pose = planar_pose(o.pose.pose.position.x, o.pose.pose.position.y,
                                 math.atan2(vy, vx))
        arrow.pose.position.z = 1.0
        arrow.scale.x, arrow.scale.y, arrow.scale.z = max(math.hypot(vx, vy), 0.01), 0.08, 0.08
        arrow.color.r, arrow.color.g, arrow.color.b, arrow.color.a = r, g, b, 1.0
        text = Marker()
        text.header = obstacles.header
        text.ns, text.id, text.type = 'labels', body.id, Marker.TEXT_VIEW_FACING
        text.pose = planar_pose(o.pose.pose.position.x, o.pose.pose.position.y, 0.0)
        text.pose.position.z = o.size.z + 0.3
        text.scale.z = 0.3
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        text.text = f'{o.id} {_CLASS_NAMES.get(o.classification, "?")}'
        out.markers.extend([body, arrow, text])
    return out
