"""The launch files, checked statically (launch/launch_ros are not installable here; see
launch_check.py): each evaluates with its defaults and with its options; every package,
executable, params file, world and URDF it names exists; every params file it gives a node
matches that node's declared parameters; use_sim_time is set once per group; namespaces
rewrite the params files so namespaced nodes still read them (checked with real rclpy)."""
import ast
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from delivery_robot_nav.common.launch_params import for_namespace, qualified_key
from delivery_robot_nav.common.params import load_params_file
from delivery_robot_nav.localization.config import LOCALIZATION_PARAMS
from delivery_robot_nav.mission.config import MISSION_PARAMS
from delivery_robot_nav.perception.config import OBSTACLE_DETECTION_PARAMS
from delivery_robot_nav.planning.config import PATH_FOLLOWING_PARAMS
from delivery_robot_nav.sim.config import SIM_PARAMS
from launch_check import LaunchCheckError, evaluate

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / 'launch'
# node name -> (executable, declared parameters)
OUR_NODES = {
    'localization': ('localization_node', LOCALIZATION_PARAMS),
    'obstacle_detection': ('obstacle_detection_node', OBSTACLE_DETECTION_PARAMS),
    'path_following': ('path_following_node', PATH_FOLLOWING_PARAMS),
    'mission': ('mission_node', MISSION_PARAMS),
    'sim_node': ('sim_node', SIM_PARAMS),
}
NAVIGATION = ('localization', 'obstacle_detection', 'path_following', 'mission')
# every option value that switches something on or off, per file
VARIANTS = {
    'navigation.launch.py': [{}, {'namespace': 'robot1', 'use_sim_time': 'true'}],
    'gazebo.launch.py': [{}, {'gui': 'false', 'rviz': 'true', 'namespace': 'robot1'}],
    'robot.launch.py': [{}, {'namespace': 'robot1', 'scan_topic': '/lidar/scan'}],
    'sim.launch.py': [{}, {'rviz': 'true', 'real_time_factor': '3.0'}],
}


def console_scripts() -> set:
    """The executables setup.py installs (entry point names)."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == 'console_scripts':
                    return {ast.literal_eval(e).split('=')[0].strip() for e in v.elts}
    raise AssertionError('no console_scripts in setup.py')


def installed_share_dirs() -> set:
    """The top-level folders setup.py installs under share/<package>."""
    text = (REPO / 'setup.py').read_text()
    return {node.args[0].value for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'share'
            and node.args and isinstance(node.args[0], ast.Constant)}


def declared_dependencies() -> set:
    root = ET.parse(REPO / 'package.xml').getroot()
    return {e.text.strip() for e in root if e.tag in ('depend', 'exec_depend')}


def test_the_launch_files_are_the_four_the_design_names():
    assert sorted(p.name for p in LAUNCH.glob('*.py')) == sorted(VARIANTS)
    assert 'launch' in installed_share_dirs()


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_every_launch_file_evaluates_and_names_only_what_exists(name):
    scripts, deps, share = console_scripts(), declared_dependencies(), installed_share_dirs()
    for arguments in VARIANTS[name]:
        result = evaluate(LAUNCH / name, arguments)
        assert result.errors == [], result.errors
        assert result.nodes, f'{name} starts no node'
        for node in result.nodes:
            where = f'{name} {arguments}: node {node.name or node.executable}'
            if node.package == 'delivery_robot_nav':
                assert node.executable in scripts, f'{where}: no entry point {node.executable}'
                assert node.name in OUR_NODES, f'{where}: unexpected node name'
                assert OUR_NODES[node.name][0] == node.executable, where
            else:
                assert node.package in deps, f'{where}: {node.package} not in package.xml'
            for p in node.parameters:
                if isinstance(p, str):
                    assert Path(p).is_file(), f'{where}: params file {p} does not exist'
        for package, path, _ in result.external_includes:
            assert package in deps, f'{name}: includes {package}, not in package.xml'
        for path in result.share_files:
            assert path.exists(), f'{name}: names {path}, which does not exist'
            top = path.relative_to(REPO).parts[0]
            assert top in share, f'{name}: {path} is not installed (setup.py shares {share})'
        # every argument says what it is for (the check also fails on an empty one)
        for file, declared in result.arguments.items():
            for arg in declared.values():
                assert len(arg.description) > 10, f'{file}: {arg.name}: {arg.description!r}'


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_params_files_given_to_a_node_match_its_declared_parameters(name):
    """Every params file a launch file gives one of our nodes holds that node's section
    with every declared parameter, of the declared type and in range (load_params_file is
    what the nodes' declarations are built from); parameters set inline are declared."""
    for arguments in VARIANTS[name]:
        for node in evaluate(LAUNCH / name, arguments).nodes:
            if node.package != 'delivery_robot_nav':
                continue
            specs = OUR_NODES[node.name][1]
            key = qualified_key(node.name, node.namespace)
            files = [p for p in node.parameters if isinstance(p, str)]
            assert files, f'{name}: {node.name} gets no params file'
            load_params_file(files[0], key, specs)          # raises naming file and field
            declared = {s.name: s for s in specs}
            for p in node.parameters:
                if isinstance(p, dict):
                    for k in p:
                        assert k in declared, f'{name}: {node.name} does not declare {k}'


@pytest.mark.parametrize('name, sim_time', [('navigation.launch.py', 'false'),
                                            ('gazebo.launch.py', 'true'),
                                            ('robot.launch.py', 'false'),
                                            ('sim.launch.py', 'true')])
def test_use_sim_time_is_set_once_per_group_and_nowhere_else(name, sim_time):
    for node in evaluate(LAUNCH / name).nodes:
        sets = [v for k, v in node.global_parameters if k == 'use_sim_time']
        assert len(sets) == 1, f'{name}: {node.name}: use_sim_time set {len(sets)} times'
        assert sets[0] == sim_time, f'{name}: {node.name}: use_sim_time {sets[0]}'
        for p in node.parameters:
            if isinstance(p, dict):
                assert 'use_sim_time' not in p, f'{name}: {node.name} sets it itself'
            else:
                assert 'use_sim_time' not in Path(p).read_text(), f'{name}: {p} sets it'


@pytest.mark.parametrize('name', ['navigation.launch.py', 'gazebo.launch.py',
                                  'robot.launch.py', 'sim.launch.py'])
def test_a_namespace_reaches_every_node(name):
    nodes = evaluate(LAUNCH / name, {'namespace': 'robot1'}).nodes
    assert {n.namespace for n in nodes} == {'robot1'}
    started = {n.name for n in nodes if n.package == 'delivery_robot_nav'}
    assert set(NAVIGATION) <= started


def test_navigation_runs_the_four_nodes_on_their_own_files_and_the_overlay(tmp_path):
    overlay = tmp_path / 'robot.yaml'
    overlay.write_text('path_following:\n  ros__parameters:\n    control_rate_hz: 25.0\n')
    nodes = evaluate(LAUNCH / 'navigation.launch.py', {'params_file': str(overlay)}).nodes
    assert [n.name for n in nodes] == list(NAVIGATION)
    for n in nodes:
        assert n.parameters == [str(REPO / 'config' / f'{n.name}.yaml'), str(overlay)]
        assert n.respawn is True                       # the mission node resumes deliveries
        assert n.remappings == []                      # the contract's names by default


def test_robot_launch_forwards_the_driver_topic_names_to_every_navigation_node():
    given = {'scan_topic': '/lidar/scan', 'odom_topic': '/diff_drive_controller/odom',
             'cmd_vel_topic': '/diff_drive_controller/cmd_vel', 'gps_topic': 'fix'}
    nodes = evaluate(LAUNCH / 'robot.launch.py', given).nodes
    nav = [n for n in nodes if n.package == 'delivery_robot_nav']
    assert {n.name for n in nav} == set(NAVIGATION)
    for n in nav:
        assert sorted(n.remappings) == sorted([
            ('scan', '/lidar/scan'), ('odom', '/diff_drive_controller/odom'),
            ('cmd_vel', '/diff_drive_controller/cmd_vel'), ('gps/fix', 'fix')])
    rsp = [n for n in nodes if n.package == 'robot_state_publisher']
    assert len(rsp) == 1 and 'base_link' in rsp[0].parameters[0]['robot_description']


def test_gazebo_launch_spawns_where_the_localization_and_the_simulator_start():
    result = evaluate(LAUNCH / 'gazebo.launch.py', {'gui': 'false'})
    (package, path, given), = result.external_includes
    assert (package, path) == ('ros_gz_sim', 'launch/gz_sim.launch.py')
    world = given['gz_args'].split()[-1]
    assert Path(world) == REPO / 'worlds' / 'campus.sdf' and '-s' in given['gz_args'].split()
    spawn, = [n for n in result.nodes if n.executable == 'create']
    args = dict(zip(spawn.arguments[::2], spawn.arguments[1::2]))
    assert args['-topic'] == 'robot_description'
    loc = yaml.safe_load((REPO / 'config' / 'localization.yaml').read_text())
    loc = loc['localization']['ros__parameters']
    sim = yaml.safe_load((REPO / 'config' / 'sim.yaml').read_text())['sim_node']['ros__parameters']
    for arg, key in (('-x', 'x'), ('-y', 'y'), ('-Y', 'yaw')):
        assert math.isclose(float(args[arg]), loc[f'initial_{key}'])
        assert math.isclose(float(args[arg]), sim[f'start_{key}'])
    bridge, = [n for n in result.nodes if n.package == 'ros_gz_bridge']
    assert bridge.parameters == [{'config_file': str(REPO / 'config' / 'gz_bridge.yaml')}]
    assert result.environment['GZ_SIM_SERVER_CONFIG_PATH'] == str(REPO / 'config' /
                                                                   'gz_server.config')
    barn = evaluate(LAUNCH / 'gazebo.launch.py', {'world': '/tmp/barn_world_0.world'})
    assert barn.external_includes[0][2]['gz_args'].endswith('/tmp/barn_world_0.world')


def test_the_check_itself_fails_on_broken_launch_files(tmp_path):
    """The stand-ins reject what ros2 launch would: an undeclared configuration, an
    argument without a description, an unknown keyword, a missing included file."""
    head = ('from launch import LaunchDescription\n'
            'from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription\n'
            'from launch.launch_description_sources import PythonLaunchDescriptionSource\n'
            'from launch.substitutions import LaunchConfiguration\n'
            'from launch_ros.actions import Node\n')
    cases = {
        'undeclared': "Node(package='p', executable='e', name=LaunchConfiguration('x'))",
        'undescribed': "DeclareLaunchArgument('x', default_value='1')",
        'keyword': "Node(package='p', executable='e', paramters=[])",
        'include': "IncludeLaunchDescription(PythonLaunchDescriptionSource('/nope.launch.py'))",
    }
    for case, entity in cases.items():
        f = tmp_path / f'{case}.launch.py'
        f.write_text(head + f'def generate_launch_description():\n'
                            f'    return LaunchDescription([{entity}])\n')
        try:
            errors = evaluate(f).errors
        except (LaunchCheckError, TypeError) as exc:
            errors = [str(exc)]
        assert errors, f'{case}: not caught'


# ---------------------------------------------------------------- namespaced params
def test_for_namespace_keys_sections_by_the_qualified_node_name(tmp_path):
    src = tmp_path / 'p.yaml'
    src.write_text('path_following:\n  ros__parameters:\n    control_rate_hz: 25.0\n'
                   '/**:\n  ros__parameters:\n    use_stamped_cmd_vel: true\n')
    assert for_namespace(src, '') == str(src)
    out = yaml.safe_load(Path(for_namespace(src, '/fleet/robot1', tmp_path)).read_text())
    assert set(out) == {'/fleet/robot1/path_following', '/**'}
    assert out['/fleet/robot1/path_following']['ros__parameters']['control_rate_hz'] == 25.0
    with pytest.raises(ValueError, match='p.yaml'):
        src.write_text('- not a mapping\n')
        for_namespace(src, 'robot1', tmp_path)


NS_PROBE = '''
import sys
import rclpy
from rclpy.node import Node
rclpy.init(args=['--ros-args', '--params-file', sys.argv[1]])
node = Node('path_following', namespace='robot1')
print(node.declare_parameter('control_rate_hz', 1.0).value)
rclpy.shutdown()
'''


def test_a_namespaced_node_reads_the_rewritten_file_and_not_the_plain_one(tmp_path):
    """Real rcl: the plain section is ignored by /robot1/path_following (why the launch
    files rewrite), the rewritten one is applied."""
    src = tmp_path / 'p.yaml'
    src.write_text('path_following:\n  ros__parameters:\n    control_rate_hz: 25.0\n')

    def value(params_file):
        out = subprocess.run([sys.executable, '-c', NS_PROBE, str(params_file)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return float(out.stdout.strip().splitlines()[-1])

    assert value(src) == 1.0
    assert value(for_namespace(src, 'robot1', tmp_path)) == 25.0


def test_every_params_file_in_config_matches_its_nodes_declarations():
    """Each node section of each params file in config/ (the nodes' own files and overlays
    such as barn_jackal.yaml): every parameter is one the node declares, of its type and
    in its range; a node's own file names every declared parameter (none falls back to a
    default silently)."""
    from delivery_robot_nav.common.params import ParamError, check_value, flatten
    from delivery_robot_nav.demo.config import DRIVER_PARAMS

    specs = {name: s for name, (_, s) in OUR_NODES.items()}
    specs['scripted_driver'] = DRIVER_PARAMS
    own = {'localization.yaml': 'localization', 'obstacle_detection.yaml': 'obstacle_detection',
           'path_following.yaml': 'path_following', 'mission.yaml': 'mission',
           'sim.yaml': 'sim_node', 'demo.yaml': 'scripted_driver'}
    checked = 0
    for path in sorted((REPO / 'config').glob('*.yaml')):
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict) or not all(isinstance(v, dict) and 'ros__parameters' in v
                                                for v in doc.values()):
            continue                                    # not a params file (gz_bridge.yaml)
        for node, section in doc.items():
            assert node in specs, f'{path.name}: section {node!r} is no node of the package'
            declared = {s.name: s for s in specs[node]}
            for name, value in flatten(section['ros__parameters']).items():
                assert name in declared, f'{path.name}: {node} declares no {name!r}'
                check_value(declared[name], value, path.name)    # raises naming the field
                checked += 1
            if own.get(path.name) == node:
                load_params_file(path, node, specs[node])
        own.pop(path.name, None)
    assert not own, f'missing params files: {own}'
    assert checked > 200
