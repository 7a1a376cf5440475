"""Gazebo Harmonic with the campus world, the robot spawned from its URDF, the bridge, and
the navigation nodes on simulation time.

    ros2 launch delivery_robot_nav gazebo.launch.py [world:=/path/world_0.world]
        [gui:=false] [rviz:=true] [x:=-140.0 y:=-72.0 yaw:=1.5708] [namespace:=robot1]

Needs ros_gz (ros_gz_sim, ros_gz_bridge) and robot_state_publisher. The robot's sensors
and drive are the URDF's <gazebo> blocks; config/gz_bridge.yaml carries exactly the
robot-side topics of the contract (docs/DEPLOY.md) between Gazebo and ROS. The default
spawn pose is the depot, where the localization's initial pose (config/localization.yaml)
and the embedded simulator's start (config/sim.yaml) also put the robot.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription, \
    OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace, SetParameter
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'delivery_robot_nav'
ROBOT_NAME = 'delivery_robot'


def _gazebo(context):
    """gz sim with the world: running at once (-r), headless (-s) without the GUI."""
    world = LaunchConfiguration('world').perform(context)
    gui = LaunchConfiguration('gui').perform(context).lower() in ('true', '1')
    gz_args = f'-r {"" if gui else "-s "}-v 3 {world}'
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])),
        launch_arguments={'gz_args': gz_args}.items())]


def _robot(context):
    """robot_state_publisher with the URDF's text, and the spawner that reads it."""
    from delivery_robot_nav.common.launch_params import robot_state_publisher

    urdf_file = LaunchConfiguration('robot_description_file').perform(context)
    return [
        robot_state_publisher(urdf_file),
        Node(package='ros_gz_sim', executable='create', name='spawn_robot', output='screen',
             arguments=['-name', ROBOT_NAME, '-topic', 'robot_description',
                        '-x', LaunchConfiguration('x').perform(context),
                        '-y', LaunchConfiguration('y').perform(context),
                        '-z', '0.02',
                        '-Y', LaunchConfiguration('yaw').perform(context)]),
    ]


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('world', default_value=PathJoinSubstitution([share, 'worlds', 'campus.sdf']),
                              description='SDF world Gazebo loads (a world naming no systems, such as '
                                          'a BARN world, gets config/gz_server.config\'s)'),
        DeclareLaunchArgument('robot_description_file',
                              default_value=PathJoinSubstitution([share, 'urdf', 'delivery_robot.urdf']),
                              description='URDF of the robot, with its Gazebo sensors and drive'),
        DeclareLaunchArgument('gui', default_value='true',
                              description='open the Gazebo GUI (false: server only, headless)'),
        DeclareLaunchArgument('rviz', default_value='false',
                              description='open RViz with the package\'s config'),
        DeclareLaunchArgument('x', default_value='-140.0', description='spawn x (m, world frame)'),
        DeclareLaunchArgument('y', default_value='-72.0', description='spawn y (m, world frame)'),
        DeclareLaunchArgument('yaw', default_value='1.5708', description='spawn heading (rad)'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='namespace of the ROS side (nodes and topics)'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='params file laid over the navigation nodes\' own'),
        DeclareLaunchArgument('bridge_config', default_value=PathJoinSubstitution([share, 'config', 'gz_bridge.yaml']),
                              description='ros_gz_bridge config (the robot-side topics)'),
    ]
    simulation = GroupAction([
        PushRosNamespace(LaunchConfiguration('namespace')),
        SetParameter(name='use_sim_time', value=True),
        OpaqueFunction(function=_robot),
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='gz_bridge',
             output='screen',
             parameters=[{'config_file': LaunchConfiguration('bridge_config')}]),
        Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
             arguments=['-d', PathJoinSubstitution([share, 'config', 'rviz', 'delivery_robot.rviz'])],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
    navigation = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', 'navigation.launch.py'])),
        launch_arguments={'namespace': LaunchConfiguration('namespace'),
                          'use_sim_time': 'true',
                          'params_file': LaunchConfiguration('params_file')}.items())
    # the systems for a world that names none (campus.sdf names the same ones itself)
    systems = SetEnvironmentVariable('GZ_SIM_SERVER_CONFIG_PATH',
                                     PathJoinSubstitution([share, 'config', 'gz_server.config']))
    return LaunchDescription(arguments + [systems, OpaqueFunction(function=_gazebo),
                                          simulation, navigation])
