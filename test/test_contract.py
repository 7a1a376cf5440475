"""One topic contract (common/contract.py), checked from one place against everything that
must keep it: the ros_gz_bridge config, the URDF's Gazebo sensors and drive, the campus
world's Gazebo systems, the embedded simulator node's publishers and frame ids (over
real DDS), the navigation nodes' subscriptions, and the RViz and Foxglove configs."""
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
import yaml
from lxml import etree
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan, NavSatFix
from tf2_msgs.msg import TFMessage
from urdf_parser_py.urdf import URDF

from delivery_robot_nav.common import contract as C

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / 'config' / 'gz_bridge.yaml'
URDF_FILE = REPO / 'urdf' / 'delivery_robot.urdf'
WORLD = REPO / 'worlds' / 'campus.sdf'

# the ROS <-> Gazebo message pairs ros_gz_bridge converts, for the types this stack uses
# (ros_gz_bridge's mappings, Jazzy / Kilted)
GZ_MAPPINGS = {
    'rosgraph_msgs/msg/Clock': {'gz.msgs.Clock'},
    'sensor_msgs/msg/LaserScan': {'gz.msgs.LaserScan'},
    'nav_msgs/msg/Odometry': {'gz.msgs.Odometry', 'gz.msgs.OdometryWithCovariance'},
    'sensor_msgs/msg/Imu': {'gz.msgs.IMU'},
    'sensor_msgs/msg/NavSatFix': {'gz.msgs.NavSat'},
    'sensor_msgs/msg/Image': {'gz.msgs.Image'},
    'sensor_msgs/msg/CameraInfo': {'gz.msgs.CameraInfo'},
    'tf2_msgs/msg/TFMessage': {'gz.msgs.Pose_V'},
    'geometry_msgs/msg/Twist': {'gz.msgs.Twist'},
    'geometry_msgs/msg/TwistStamped': {'gz.msgs.Twist'},
}
# Gazebo sensor type -> the gz message it publishes on <topic>
SENSOR_MESSAGES = {'gpu_lidar': 'gz.msgs.LaserScan', 'imu': 'gz.msgs.IMU',
                   'navsat': 'gz.msgs.NavSat', 'depth_camera': 'gz.msgs.Image'}
# the systems the world needs, by the filenames Gazebo Harmonic (gz-sim 8) ships
WORLD_SYSTEMS = {'gz-sim-physics-system': 'gz::sim::systems::Physics',
                 'gz-sim-sensors-system': 'gz::sim::systems::Sensors',
                 'gz-sim-imu-system': 'gz::sim::systems::Imu',
                 'gz-sim-navsat-system': 'gz::sim::systems::NavSat',
                 'gz-sim-user-commands-system': 'gz::sim::systems::UserCommands',
                 'gz-sim-scene-broadcaster-system': 'gz::sim::systems::SceneBroadcaster'}


def gz_name(topic: str) -> str:
    """gz-transport's form of a topic name (relative names get a leading slash)."""
    return '/' + topic.strip('/')


def sim_params() -> dict:
    return yaml.safe_load((REPO / 'config' / 'sim.yaml').read_text())['sim_node']['ros__parameters']


def urdf_gazebo() -> etree._Element:
    return etree.parse(str(URDF_FILE)).getroot()


# ------------------------------------------------------------------------ bridge
def test_the_bridge_carries_exactly_the_contract():
    entries = yaml.safe_load(BRIDGE.read_text())
    by_name = {e['ros_topic_name']: e for e in entries}
    assert len(by_name) == len(entries), 'a topic bridged twice'
    assert set(by_name) == {t.name for t in C.ROBOT_TOPICS}
    for t in C.ROBOT_TOPICS:
        e = by_name[t.name]
        assert set(e) <= {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
                          'direction', 'lazy', 'qos_profile', 'subscriber_queue',
                          'publisher_queue'}, e
        assert (e['ros_type_name'], e['gz_type_name'], e['direction']) == (
            t.ros_type, t.gz_type, t.direction), t.name
        assert e['gz_type_name'] in GZ_MAPPINGS[e['ros_type_name']], t.name
        assert e['gz_topic_name'] == gz_name(t.name), t.name


# ------------------------------------------------------------------------ URDF
def test_the_urdf_parses_and_has_every_frame_the_contract_names():
    robot = URDF.from_xml_string(URDF_FILE.read_text())
    links = {link.name for link in robot.links}
    assert set(C.SENSOR_FRAMES) <= links
    assert robot.get_root() == C.BASE_FRAME
    # tf_static (robot_state_publisher / sim_node) connects every sensor frame to base_link
    fixed = {j.child: j.parent for j in robot.joints if j.type == 'fixed'}
    for frame in C.SENSOR_FRAMES[1:]:
        chain = frame
        while chain in fixed:
            chain = fixed[chain]
        assert chain == C.BASE_FRAME, frame


def test_the_urdf_gazebo_sensors_publish_the_bridged_topics_in_the_contract_frames():
    bridged = {e['gz_topic_name']: e for e in yaml.safe_load(BRIDGE.read_text())}
    root = urdf_gazebo()
    sensors = root.findall('gazebo/sensor')
    assert {s.get('type') for s in sensors} == set(SENSOR_MESSAGES)
    seen = set()
    for s in sensors:
        topic = gz_name(s.findtext('topic'))
        e = bridged[topic]
        assert e['gz_type_name'] == SENSOR_MESSAGES[s.get('type')], topic
        assert e['direction'] == C.TO_ROS
        frame = s.findtext('gz_frame_id')
        assert frame == C.topic(e['ros_topic_name']).frame_id, topic
        seen.add(e['ros_topic_name'])
        if s.get('type') == 'depth_camera':
            info = gz_name(s.findtext('camera/camera_info_topic'))
            assert bridged[info]['gz_type_name'] == 'gz.msgs.CameraInfo'
            seen.add(bridged[info]['ros_topic_name'])
    drive = root.find("gazebo/plugin[@name='gz::sim::systems::DiffDrive']")
    assert drive.get('filename') == 'gz-sim-diff-drive-system'
    assert bridged[gz_name(drive.findtext('topic'))]['ros_topic_name'] == 'cmd_vel'
    assert bridged[gz_name(drive.findtext('odom_topic'))]['ros_topic_name'] == 'odom'
    assert bridged[gz_name(drive.findtext('tf_topic'))]['ros_topic_name'] == 'tf'
    assert (drive.findtext('frame_id'), drive.findtext('child_frame_id')) == (C.ODOM_FRAME,
                                                                              C.BASE_FRAME)
    seen |= {'cmd_vel', 'odom', 'tf', '/clock'}       # /clock: gz sim itself
    assert seen == {t.name for t in C.ROBOT_TOPICS}


def test_gazebo_and_the_embedded_simulator_model_the_same_sensors_and_drive():
    """Rates, beams, ranges, noise and drive limits: the URDF's <gazebo> blocks against
    config/sim.yaml (the embedded simulator's datasheet numbers)."""
    sim, root = sim_params(), urdf_gazebo()
    sensor = {s.get('type'): s for s in root.findall('gazebo/sensor')}

    def num(el, path):
        return float(el.findtext(path))

    lidar = sensor['gpu_lidar']
    assert num(lidar, 'update_rate') == sim['lidar']['rate_hz']
    h = 'lidar/scan/horizontal/'
    assert num(lidar, h + 'samples') == sim['lidar']['beams']
    span = num(lidar, h + 'max_angle') - num(lidar, h + 'min_angle')
    assert math.isclose(span * sim['lidar']['beams'] / (sim['lidar']['beams'] - 1),
                        sim['lidar']['field_of_view'], abs_tol=1e-3)
    assert num(lidar, 'lidar/range/min') == sim['lidar']['range_min']
    assert num(lidar, 'lidar/range/max') == sim['lidar']['range_max']
    assert num(lidar, 'lidar/noise/stddev') == sim['lidar']['noise_stddev']
    imu = sensor['imu']
    assert num(imu, 'update_rate') == sim['imu']['rate_hz']
    for axis in 'xyz':
        g, a = f'imu/angular_velocity/{axis}/noise/', f'imu/linear_acceleration/{axis}/noise/'
        assert num(imu, g + 'stddev') == sim['imu']['gyro_noise_stddev']
        assert num(imu, g + 'bias_stddev') == sim['imu']['gyro_bias_stddev']
        assert num(imu, a + 'stddev') == sim['imu']['accel_noise_stddev']
        assert num(imu, a + 'bias_stddev') == sim['imu']['accel_bias_stddev']
    gnss = sensor['navsat']
    assert num(gnss, 'update_rate') == sim['gnss']['rate_hz']
    assert num(gnss, 'navsat/position_sensing/horizontal/noise/stddev') == \
        sim['gnss']['horizontal_stddev']
    assert num(gnss, 'navsat/position_sensing/vertical/noise/stddev') == \
        sim['gnss']['vertical_stddev']
    cam = sensor['depth_camera']
    assert num(cam, 'update_rate') == sim['depth_camera']['rate_hz']
    assert num(cam, 'camera/image/width') == sim['depth_camera']['width']
    assert num(cam, 'camera/image/height') == sim['depth_camera']['height']
    assert num(cam, 'camera/horizontal_fov') == sim['depth_camera']['horizontal_fov']
    assert num(cam, 'camera/clip/near') == sim['depth_camera']['range_min']
    assert num(cam, 'camera/clip/far') == sim['depth_camera']['range_max']
    drive = root.find("gazebo/plugin[@name='gz::sim::systems::DiffDrive']")
    m = sim['motion']
    for tag, key in (('max_linear_velocity', 'max_linear_velocity'),
                     ('min_linear_velocity', 'min_linear_velocity'),
                     ('max_angular_velocity', 'max_angular_velocity'),
                     ('max_linear_acceleration', 'max_linear_acceleration'),
                     ('max_angular_acceleration', 'max_angular_acceleration')):
        assert num(drive, tag) == m[key], tag
    assert num(drive, 'min_linear_acceleration') == -m['max_linear_deceleration']
    assert num(drive, 'odom_publish_frequency') == sim['odom']['rate_hz']
    robot = URDF.from_xml_string(URDF_FILE.read_text())
    joints = {j.name: j for j in robot.joints}
    left, right = joints['left_wheel_joint'].origin.xyz, joints['right_wheel_joint'].origin.xyz
    assert math.isclose(num(drive, 'wheel_separation'), left[1] - right[1])
    wheel = {link.name: link for link in robot.links}['left_wheel_link']
    assert math.isclose(num(drive, 'wheel_radius'), wheel.collision.geometry.radius)


# ------------------------------------------------------------------------ world
def test_the_world_is_well_formed_and_has_the_systems_gazebo_needs():
    root = etree.parse(str(WORLD)).getroot()            # raises on malformed XML
    assert root.tag == 'sdf'
    world = root.find('world')
    plugins = {p.get('filename'): p.get('name') for p in world.findall('plugin')}
    assert plugins == WORLD_SYSTEMS
    assert world.find("plugin[@filename='gz-sim-sensors-system']/render_engine").text == 'ogre2'
    # GNSS needs the world's geodetic origin; the localization's datum is the same point
    sc = world.find('spherical_coordinates')
    loc = yaml.safe_load((REPO / 'config' / 'localization.yaml').read_text())
    loc = loc['localization']['ros__parameters']
    assert sc.findtext('surface_model') == 'EARTH_WGS84'
    assert sc.findtext('world_frame_orientation') == 'ENU'
    assert float(sc.findtext('latitude_deg')) == loc['datum_latitude']
    assert float(sc.findtext('longitude_deg')) == loc['datum_longitude']
    assert float(sc.findtext('elevation')) == loc['datum_altitude']
    assert float(sc.findtext('heading_deg')) == 0.0


def test_the_server_config_gives_a_world_without_systems_the_campus_systems():
    """A world that names no systems (BARN's) gets config/gz_server.config's: the same
    ones the campus world loads, so the robot's sensors publish there too."""
    root = etree.parse(str(REPO / 'config' / 'gz_server.config')).getroot()
    assert root.tag == 'server_config'
    plugins = root.findall('plugins/plugin')
    assert {p.get('filename'): p.get('name') for p in plugins} == WORLD_SYSTEMS
    assert {(p.get('entity_name'), p.get('entity_type')) for p in plugins} == {('*', 'world')}
    sensors, = [p for p in plugins if p.get('filename') == 'gz-sim-sensors-system']
    assert sensors.findtext('render_engine') == 'ogre2'


# ------------------------------------------------------------------------ nodes over DDS
NAV_NODES = {'localization': 'localization.node', 'obstacle_detection': 'perception.node',
             'path_following': 'planning.node'}


class Probe(Node):
    def __init__(self):
        super().__init__('contract_probe')
        self.msgs = {}
        for topic, kind in (('scan', LaserScan), ('odom', Odometry), ('imu/data', Imu),
                            ('gps/fix', NavSatFix), ('camera/depth/image_raw', Image),
                            ('camera/depth/camera_info', CameraInfo), ('tf', TFMessage)):
            self.create_subscription(kind, topic, self._keep(topic), qos_profile_sensor_data)

    def _keep(self, topic):
        if topic == 'tf':
            # the first transform of base_link: the localization node's map -> odom on /tf
            # may come first (it did in a fresh clone)
            return lambda msg: self.msgs.setdefault(topic, msg) if any(
                tr.child_frame_id == C.BASE_FRAME for tr in msg.transforms) else None
        return lambda msg: self.msgs.setdefault(topic, msg)

    def spin_until(self, done, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            rclpy.spin_once(self, timeout_sec=0.05)
        return done()


@pytest.fixture(scope='module')
def graph():
    """sim_node and the three navigation nodes that take robot-side topics, as processes;
    the probe sees them in the ROS graph."""
    procs = [subprocess.Popen([sys.executable, '-m', 'delivery_robot_nav.sim.node'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)]
    procs += [subprocess.Popen([sys.executable, '-m', f'delivery_robot_nav.{m}'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
              for m in NAV_NODES.values()]
    rclpy.init()
    probe = Probe()
    try:
        names = ['sim_node', *NAV_NODES]
        up = lambda: set(names) <= set(probe.get_node_names()) and all(
            probe.get_publisher_names_and_types_by_node(n, '/') for n in names)
        assert probe.spin_until(up, 90), f'nodes not up: {probe.get_node_names()}'
        yield probe
    finally:
        probe.destroy_node()
        rclpy.shutdown()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


def endpoints(probe, node, kind):
    get = (probe.get_publisher_names_and_types_by_node if kind == 'pub'
           else probe.get_subscriber_names_and_types_by_node)
    return {name.lstrip('/'): set(types) for name, types in get(node, '/')}


def test_the_simulator_node_publishes_the_contract_with_its_types_and_frames(graph):
    names = [t.name.lstrip('/') for t in C.ROBOT_TOPICS + C.OPTIONAL_TOPICS] + ['tf_static']
    graph.spin_until(lambda: set(names) <= set(endpoints(graph, 'sim_node', 'pub'))
                     | set(endpoints(graph, 'sim_node', 'sub')), 30)
    pubs, subs = endpoints(graph, 'sim_node', 'pub'), endpoints(graph, 'sim_node', 'sub')
    for t in C.ROBOT_TOPICS:
        held = subs if t.direction == C.TO_ROBOT else pubs
        assert held.get(t.name.lstrip('/')) == {t.ros_type}, t.name
    assert pubs['tf_static'] == {C.STATIC_TF.ros_type}
    for t in C.OPTIONAL_TOPICS:
        assert pubs[t.name] == {t.ros_type}
    wanted = ('scan', 'odom', 'imu/data', 'gps/fix', 'camera/depth/image_raw',
              'camera/depth/camera_info', 'tf')
    assert graph.spin_until(lambda: all(w in graph.msgs for w in wanted), 60), graph.msgs.keys()
    for topic in wanted:
        msg = graph.msgs[topic]
        frame = msg.transforms[0].header.frame_id if topic == 'tf' else msg.header.frame_id
        assert frame == C.topic(topic).frame_id, topic
    assert graph.msgs['odom'].child_frame_id == C.BASE_FRAME
    assert graph.msgs['tf'].transforms[0].child_frame_id == C.BASE_FRAME
    assert graph.msgs['camera/depth/image_raw'].encoding == '32FC1'


def test_the_navigation_nodes_take_the_contract_topics_with_its_types(graph):
    inputs = [t for t in C.ROBOT_TOPICS + C.OPTIONAL_TOPICS
              if t.direction == C.TO_ROS and t.name not in ('/clock', 'tf')]

    def taken():
        out = {}
        for node in NAV_NODES:
            for name, types in endpoints(graph, node, 'sub').items():
                out.setdefault(name, set()).update(types)
        return out

    # (endpoints are discovered one by one: wait until every input is seen)
    graph.spin_until(lambda: all(t.name in taken() for t in inputs), 30)
    seen = taken()
    for t in inputs:
        assert seen.get(t.name) == {t.ros_type}, t.name
    cmd = C.topic('cmd_vel')
    assert endpoints(graph, 'path_following', 'pub')['cmd_vel'] == {cmd.ros_type}


# ------------------------------------------------------------------------ RViz / Foxglove
RVIZ_TYPES = {'rviz_default_plugins/Map': 'nav_msgs/msg/OccupancyGrid',
              'rviz_default_plugins/LaserScan': 'sensor_msgs/msg/LaserScan',
              'rviz_default_plugins/MarkerArray': 'visualization_msgs/msg/MarkerArray',
              'rviz_default_plugins/Path': 'nav_msgs/msg/Path',
              'rviz_default_plugins/PoseWithCovariance':
                  'geometry_msgs/msg/PoseWithCovarianceStamped',
              'rviz_default_plugins/Odometry': 'nav_msgs/msg/Odometry',
              'rviz_default_plugins/RobotModel': 'std_msgs/msg/String'}


def published(graph, needed=()) -> dict:
    """topic -> types published by the simulator and the navigation nodes (waiting until
    the `needed` ones are discovered, or 30 s)."""
    def now():
        out = {}
        for node in ('sim_node', *NAV_NODES):
            for name, types in endpoints(graph, node, 'pub').items():
                out.setdefault(name, set()).update(types)
        return out

    graph.spin_until(lambda: set(needed) <= set(now()), 30)
    return now()


def test_the_rviz_config_shows_what_the_stack_publishes(graph):
    cfg = yaml.safe_load((REPO / 'config' / 'rviz' / 'delivery_robot.rviz').read_text())
    manager = cfg['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == C.MAP_FRAME
    topics = [d.get('Description Topic', d.get('Topic', {})).get('Value', '').lstrip('/')
              for d in manager['Displays']]
    pubs = published(graph, [t for t in topics if t])
    shown = set()
    for display in manager['Displays']:
        cls = display['Class']
        key = 'Description Topic' if cls.endswith('RobotModel') else 'Topic'
        if key not in display:
            continue
        topic = display[key]['Value'].lstrip('/')
        assert RVIZ_TYPES[cls] in pubs.get(topic, set()), f'{cls} on {topic}'
        shown.add(topic)
    assert {'map', 'scan', 'local_costmap', 'obstacles/markers', 'plan',
            'robot_description'} <= shown
    tools = {t['Class']: t.get('Topic', {}).get('Value') for t in manager['Tools']}

    def subs():
        out = {}
        for node in NAV_NODES:
            out.update(endpoints(graph, node, 'sub'))
        return out

    graph.spin_until(lambda: {'goal_pose', 'initialpose'} <= set(subs()), 30)
    subs = subs()
    assert tools['rviz_default_plugins/SetGoal'].lstrip('/') in subs
    assert tools['rviz_default_plugins/SetInitialPose'].lstrip('/') in subs


def test_the_foxglove_layout_shows_what_the_stack_publishes(graph):
    layout = json.loads((REPO / 'config' / 'foxglove' / 'delivery_robot.json').read_text())
    panels = layout['configById']

    def leaves(node):
        return [node] if isinstance(node, str) else leaves(node['first']) + leaves(node['second'])

    assert sorted(leaves(layout['layout'])) == sorted(panels)
    scene = panels['3D!navigation']['topics']
    pubs = published(graph, [t.lstrip('/') for t in scene])
    for topic in scene:
        assert topic.lstrip('/') in pubs, topic
    assert {'/map', '/scan', '/local_costmap', '/obstacles/markers', '/plan'} <= set(scene)
    plotted = [p['value'].split('.')[0].lstrip('/') for p in panels['Plot!speed']['paths']]
    for topic in plotted + [panels['RawMessages!status']['topicPath'].lstrip('/'),
                            panels['DiagnosticSummary!diagnostics']['topicToRender'].lstrip('/')]:
        assert topic in pubs, topic


def test_the_driver_remaps_of_the_launch_files_cover_every_driver_topic():
    remappable = {topic for _, topic in C.DRIVER_TOPIC_ARGUMENTS}
    drivers = {t.name for t in C.ROBOT_TOPICS} - {'/clock', 'tf'}
    assert remappable == drivers
    assert len({a for a, _ in C.DRIVER_TOPIC_ARGUMENTS}) == len(C.DRIVER_TOPIC_ARGUMENTS)
