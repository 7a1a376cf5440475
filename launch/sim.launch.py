"""The embedded simulator (sim_node, MuJoCo, reading worlds/campus.sdf) instead of Gazebo,
with the navigation nodes on its clock: for machines with ROS 2 but no Gazebo.

    ros2 launch delivery_robot_nav sim.launch.py [real_time_factor:=2.0] [rviz:=true]

sim_node publishes the same robot-side topics and frames as Gazebo through the bridge
(and tf_static from the URDF itself, so no robot_state_publisher here), plus simulator
truth on sim/ground_truth, sim/collisions and sim/actors. Send a delivery with
`delivery-nav deliver library physics` or a goal with RViz's 2D Goal Pose.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription, \
    OpaqueFunction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace, SetParameter
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'delivery_robot_nav'


def _simulator(context):
    from delivery_robot_nav.common.launch_params import for_namespace

    namespace = LaunchConfiguration('namespace').perform(context)
    params = LaunchConfiguration('sim_params_file').perform(context)
    rtf = float(LaunchConfiguration('real_time_factor').perform(context))
    return [Node(package=PACKAGE, executable='sim_node', name='sim_node', output='screen',
                 parameters=[for_namespace(params, namespace), {'real_time_factor': rtf}])]


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('sim_params_file',
                              default_value=PathJoinSubstitution([share, 'config', 'sim.yaml']),
                              description='params file of the simulator (world, robot, sensors)'),
        DeclareLaunchArgument('real_time_factor', default_value='1.0',
                              description='simulated seconds per wall second'),
        DeclareLaunchArgument('rviz', default_value='false',
                              description='open RViz with the package\'s config'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='namespace of every node and topic (empty: none)'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='params file laid over the navigation nodes\' own'),
    ]
    simulation = GroupAction([
        PushRosNamespace(LaunchConfiguration('namespace')),
        SetParameter(name='use_sim_time', value=True),
        OpaqueFunction(function=_simulator),
        Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
             arguments=['-d', PathJoinSubstitution([share, 'config', 'rviz', 'delivery_robot.rviz'])],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
    navigation = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', 'navigation.launch.py'])),
        launch_arguments={'namespace': LaunchConfiguration('namespace'), 'use_sim_time': 'true',
                          'params_file': LaunchConfiguration('params_file')}.items())
    return LaunchDescription(arguments + [simulation, navigation])
