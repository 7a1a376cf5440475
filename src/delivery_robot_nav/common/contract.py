"""The robot-side topic and frame contract (DESIGN.md): what every target provides.

The embedded simulator (`sim_node`), Gazebo Harmonic (the URDF's sensors and plugins,
bridged by `config/gz_bridge.yaml`) and a real robot's drivers all publish these topics
with these types and frame ids, and take `cmd_vel`; the navigation nodes cannot tell them
apart. One table, checked from one place (test/test_contract.py): against the bridge
config, the URDF's Gazebo sensors, the world's systems, the simulator node's publishers
and the navigation nodes' subscriptions. docs/DEPLOY.md prints it for driver writers.
"""
from __future__ import annotations

from dataclasses import dataclass

# REP 105 frames
MAP_FRAME = 'map'
ODOM_FRAME = 'odom'
BASE_FRAME = 'base_link'
LASER_FRAME = 'laser_link'
IMU_FRAME = 'imu_link'
GPS_FRAME = 'gps_link'
DEPTH_FRAME = 'camera_depth_optical_frame'

# the directions of ros_gz_bridge
TO_ROS, TO_ROBOT = 'GZ_TO_ROS', 'ROS_TO_GZ'


@dataclass(frozen=True)
class Topic:
    name: str           # ROS name: relative (a launch namespace prefixes it) but /clock
    ros_type: str       # pkg/msg/Type
    gz_type: str        # the Gazebo message ros_gz_bridge converts it from/to
    direction: str      # TO_ROS: the robot publishes it; TO_ROBOT: the robot takes it
    frame_id: str       # header.frame_id ('' for messages without one)
    rate_hz: str        # what the nodes expect (a real driver's range)
    qos: str            # what the navigation nodes subscribe with
    what: str


ROBOT_TOPICS = (
    Topic('/clock', 'rosgraph_msgs/msg/Clock', 'gz.msgs.Clock', TO_ROS, '',
          'every step', 'reliable', 'simulation time (simulators only; use_sim_time)'),
    Topic('scan', 'sensor_msgs/msg/LaserScan', 'gz.msgs.LaserScan', TO_ROS, LASER_FRAME,
          '10-20', 'sensor data (best effort)', '360 deg 2-D lidar, counter-clockwise'),
    Topic('odom', 'nav_msgs/msg/Odometry', 'gz.msgs.Odometry', TO_ROS, ODOM_FRAME,
          '50', 'sensor data (best effort)',
          f'wheel odometry, child_frame_id {BASE_FRAME}, twist in {BASE_FRAME}'),
    Topic('imu/data', 'sensor_msgs/msg/Imu', 'gz.msgs.IMU', TO_ROS, IMU_FRAME,
          '100', 'sensor data (best effort)', 'angular velocity and linear acceleration'),
    Topic('gps/fix', 'sensor_msgs/msg/NavSatFix', 'gz.msgs.NavSat', TO_ROS, GPS_FRAME,
          '1-10', 'sensor data (best effort)', 'GNSS fix (WGS84, covariance filled)'),
    Topic('camera/depth/image_raw', 'sensor_msgs/msg/Image', 'gz.msgs.Image', TO_ROS,
          DEPTH_FRAME, '10 (optional)', 'sensor data (best effort)',
          'depth image, 32FC1 metres (optical frame: z forward, x right, y down)'),
    Topic('camera/depth/camera_info', 'sensor_msgs/msg/CameraInfo', 'gz.msgs.CameraInfo',
          TO_ROS, DEPTH_FRAME, '10 (optional)', 'sensor data (best effort)',
          'the depth camera intrinsics'),
    Topic('tf', 'tf2_msgs/msg/TFMessage', 'gz.msgs.Pose_V', TO_ROS, ODOM_FRAME,
          '50', 'reliable', f'{ODOM_FRAME} -> {BASE_FRAME} from wheel odometry'),
    Topic('cmd_vel', 'geometry_msgs/msg/Twist', 'gz.msgs.Twist', TO_ROBOT, '',
          '20 (path_following control rate)', 'reliable',
          'velocity command in base_link (TwistStamped with use_stamped_cmd_vel)'),
)

# published by robot_state_publisher from the URDF on Gazebo and the real robot (by
# sim_node in the embedded simulator); never bridged
STATIC_TF = Topic('tf_static', 'tf2_msgs/msg/TFMessage', '', TO_ROS, BASE_FRAME, 'latched',
                  'reliable, transient local', 'the URDF fixed joints')

# besides the contract: an embedded-simulator extra the localization uses when present
# (a GNSS receiver's velocity; Gazebo's navsat sensor has none)
OPTIONAL_TOPICS = (
    Topic('gps/vel', 'geometry_msgs/msg/TwistWithCovarianceStamped', '', TO_ROS, GPS_FRAME,
          '1-10 (optional)', 'sensor data (best effort)', 'GNSS velocity, ENU'),
)

# the robot-side topics a driver may publish under another name: (launch argument, topic);
# navigation.launch.py and robot.launch.py remap every navigation node with them
DRIVER_TOPIC_ARGUMENTS = (
    ('scan_topic', 'scan'),
    ('odom_topic', 'odom'),
    ('imu_topic', 'imu/data'),
    ('gps_topic', 'gps/fix'),
    ('depth_image_topic', 'camera/depth/image_raw'),
    ('depth_info_topic', 'camera/depth/camera_info'),
    ('cmd_vel_topic', 'cmd_vel'),
)

# every frame a node or the bridge names: each must be a link of the URDF (but map/odom)
SENSOR_FRAMES = (BASE_FRAME, LASER_FRAME, IMU_FRAME, GPS_FRAME, DEPTH_FRAME)


def topic(name: str) -> Topic:
    for t in ROBOT_TOPICS + OPTIONAL_TOPICS + (STATIC_TF,):
        if t.name == name:
            return t
    raise KeyError(f'{name!r} is not a robot-side topic of the contract')


def markdown_table() -> str:
    """The contract as a Markdown table (docs/DEPLOY.md)."""
    rows = ['| topic | type | direction | frame_id | rate (Hz) | QoS | what |',
            '| --- | --- | --- | --- | --- | --- | --- |']
    for t in ROBOT_TOPICS + (STATIC_TF,) + OPTIONAL_TOPICS:
        way = 'robot -> nav' if t.direction == TO_ROS else 'nav -> robot'
        rows.append(f'| `{t.name}` | `{t.ros_type}` | {way} | {f"`{t.frame_id}`" if t.frame_id else "-"} '
                    f'| {t.rate_hz} | {t.qos} | {t.what} |')
    return '\n'.join(rows)
