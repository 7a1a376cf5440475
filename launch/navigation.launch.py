"""The navigation nodes: localization, obstacle_detection, path_following and mission.

    ros2 launch delivery_robot_nav navigation.launch.py [namespace:=robot1]
        [use_sim_time:=true] [params_file:=/path/robot.yaml] [scan_topic:=/lidar/scan] ...

Each node reads its own file from the package share (config/<node>.yaml, overridable per
node with <node>_params_file); `params_file` is laid over all four (a robot's own file may
hold sections for any of them). In a namespace the files are rewritten so their sections
address the namespaced nodes (delivery_robot_nav.common.launch_params). The *_topic
arguments remap the robot-side topics to what the robot's drivers publish (robot.launch.py
lists common ones); the defaults are the topic contract of docs/DEPLOY.md.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace, SetParameter
from launch_ros.substitutions import FindPackageShare

from delivery_robot_nav.common.contract import DRIVER_TOPIC_ARGUMENTS

PACKAGE = 'delivery_robot_nav'

# (node name = its params-file section, executable, params file in config/)
NODES = (
    ('localization', 'localization_node', 'localization.yaml'),
    ('obstacle_detection', 'obstacle_detection_node', 'obstacle_detection.yaml'),
    ('path_following', 'path_following_node', 'path_following.yaml'),
    ('mission', 'mission_node', 'mission.yaml'),
)


def _nodes(context):
    from delivery_robot_nav.common.launch_params import for_namespace

    namespace = LaunchConfiguration('namespace').perform(context)
    extra = LaunchConfiguration('params_file').perform(context)
    respawn = LaunchConfiguration('respawn').perform(context).lower() in ('true', '1')
    remappings = []
    for argument, topic in DRIVER_TOPIC_ARGUMENTS:
        target = LaunchConfiguration(argument).perform(context)
        if target and target != topic:
            remappings.append((topic, target))
    nodes = []
    for name, executable, _ in NODES:
        files = [LaunchConfiguration(f'{name}_params_file').perform(context)]
        if extra:
            files.append(extra)
        nodes.append(Node(
            package=PACKAGE, executable=executable, name=name, output='screen',
            parameters=[for_namespace(f, namespace) for f in files],
            remappings=remappings, respawn=respawn,
            respawn_delay=2.0))
    return nodes


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='namespace of every node and topic (empty: none)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='take time from /clock (true in simulation)'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='a params file laid over every node\'s own file '
                                          '(sections for any of the four nodes); empty: none'),
        DeclareLaunchArgument('respawn', default_value='true',
                              description='restart a node that exits (the mission node '
                                          'resumes accepted deliveries from its store)'),
    ]
    for name, _, filename in NODES:
        arguments.append(DeclareLaunchArgument(
            f'{name}_params_file', default_value=PathJoinSubstitution([share, 'config', filename]),
            description=f'params file of the {name} node'))
    for argument, topic in DRIVER_TOPIC_ARGUMENTS:
        arguments.append(DeclareLaunchArgument(
            argument, default_value=topic,
            description=f'the topic the robot provides as `{topic}` (remapped for every node)'))
    group = GroupAction([
        PushRosNamespace(LaunchConfiguration('namespace')),
        SetParameter(name='use_sim_time', value=LaunchConfiguration('use_sim_time')),
        OpaqueFunction(function=_nodes),
    ])
    return LaunchDescription(arguments + [group])
