"""The real robot: robot_state_publisher with the URDF, and the navigation nodes on the
robot's clock. Start the hardware drivers first (their own launch files); this file
expects the topic contract of docs/DEPLOY.md and remaps the robot-side topics to what the
drivers publish:

    ros2 launch delivery_robot_nav robot.launch.py \
        scan_topic:=/scan odom_topic:=/diff_drive_controller/odom \
        cmd_vel_topic:=/diff_drive_controller/cmd_vel imu_topic:=/imu/data gps_topic:=/fix

Common drivers' names (check yours with `ros2 topic list`):
- odometry / velocity: ros2_control diff_drive_controller publishes
  `diff_drive_controller/odom` and takes `diff_drive_controller/cmd_vel` (TwistStamped
  from Jazzy on: also set `path_following.use_stamped_cmd_vel: true` in params_file);
- lidar: most 2-D drivers (sllidar_ros2, urg_node2, sick_scan_xd) publish `scan`;
- IMU: microstrain_inertial_driver and the BNO055 driver `imu/data`;
- GNSS: nmea_navsat_driver `fix`, ublox_gps `ublox_gps_node/fix`;
- depth camera: realsense2_camera `camera/camera/depth/image_rect_raw` and
  `camera/camera/depth/camera_info` (encoding 16UC1 mm is converted by the node).
The drivers' frame ids must be the URDF's links (laser_link, imu_link, gps_link,
camera_depth_optical_frame) or be renamed in the driver's own parameters.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription, \
    OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import PushRosNamespace, SetParameter
from launch_ros.substitutions import FindPackageShare

from delivery_robot_nav.common.contract import DRIVER_TOPIC_ARGUMENTS
from delivery_robot_nav.common.launch_params import robot_state_publisher

PACKAGE = 'delivery_robot_nav'


def _state_publisher(context):
    urdf_file = LaunchConfiguration('robot_description_file').perform(context)
    return [robot_state_publisher(urdf_file)]


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('robot_description_file',
                              default_value=PathJoinSubstitution([share, 'urdf', 'delivery_robot.urdf']),
                              description='URDF of the robot (sensor mounts, footprint)'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='namespace of every node and topic (empty: none)'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='the robot\'s params file, laid over the package\'s '
                                          '(sections for any navigation node); empty: none'),
    ]
    for argument, topic in DRIVER_TOPIC_ARGUMENTS:
        arguments.append(DeclareLaunchArgument(
            argument, default_value=topic,
            description=f'the topic the robot\'s driver uses for `{topic}`'))
    robot = GroupAction([
        PushRosNamespace(LaunchConfiguration('namespace')),
        SetParameter(name='use_sim_time', value=False),
        OpaqueFunction(function=_state_publisher),
    ])
    forwarded = {argument: LaunchConfiguration(argument)
                 for argument, _ in DRIVER_TOPIC_ARGUMENTS}
    forwarded.update({'namespace': LaunchConfiguration('namespace'), 'use_sim_time': 'false',
                      'params_file': LaunchConfiguration('params_file')})
    navigation = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', 'navigation.launch.py'])),
        launch_arguments=forwarded.items())
    return LaunchDescription(arguments + [robot, navigation])
