"""The SDF loader: the campus world, all BARN worlds, and the promised errors."""
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from delivery_robot_nav.common.world import WorldError, load_world


def test_campus_world_has_what_the_issue_asks(repo):
    world = load_world(repo / 'worlds' / 'campus.sdf')
    xmin, ymin, xmax, ymax = world.bounds()
    assert xmax - xmin >= 300.0 and ymax - ymin >= 200.0
    buildings = {s.name.split('::')[0] for s in world.obstacles if s.name.startswith('building_')}
    assert len(buildings) >= 10
    stations = [n for n in world.frames if n.startswith('station_')]
    assert len(stations) >= 10 and 'depot' in world.frames
    assert len(world.actors) >= 20
    kinds = {s.name.split('_')[0] for s in world.obstacles}
    assert {'tree', 'pole', 'bench', 'bike'} <= kinds
    low = [s for s in world.obstacles if s.name.startswith(('planter_low', 'curb_low'))]
    assert low, 'low obstacles missing'
    for s in low:   # entirely below the 0.35 m lidar plane
        assert s.xyz[2] + s.size[2] / 2 < 0.35


def test_campus_stations_face_their_building_entrance(repo):
    world = load_world(repo / 'worlds' / 'campus.sdf')
    boxes = {s.name.split('::')[0][len('building_'):]: s for s in world.obstacles
             if s.name.startswith('building_')}
    for name, (x, y, yaw) in world.stations.items():
        building = boxes['depot' if name == 'depot' else name[len('station_'):]]
        half = np.asarray(building.size[:2]) / 2
        dx, dy = x - building.xyz[0], y - building.xyz[1]
        gap = max(abs(dx) - half[0], abs(dy) - half[1])
        assert 1.0 < gap < 3.0, f'{name} is {gap:.2f} m from its building'
        # facing the building: the heading points back toward its centre
        to_building = math.atan2(-dy, -dx)
        assert abs(math.remainder(to_building - yaw, 2 * math.pi)) < math.radians(46)


def test_campus_walkers_walk_through_their_loops_without_jumping(repo):
    """A looped script restarts at its first waypoint: one that does not end there makes
    the walker jump at every wrap, here and in Gazebo (they ended 3.6 m across the walkway)."""
    dt = 0.02
    for actor in load_world(repo / 'worlds' / 'campus.sdf').actors:
        assert actor.loop
        t = np.arange(0.0, actor.delay_start + 2.5 * actor.duration, dt)
        xy = actor.poses_at(t)[:, :2]
        speed = np.hypot(*np.diff(xy, axis=0).T) / dt
        worst = int(np.argmax(speed))
        assert speed[worst] <= 1.5 + 1e-6, \
            f'{actor.name} moves at {speed[worst]:.1f} m/s at t = {t[worst]:.2f} s'


def test_an_actors_positions_are_its_poses_without_the_heading():
    """positions_at (the crowd's spacing check) gives poses_at's x, y to the bit: before
    the start, while waiting, looping, past the end of a one-shot script and not started."""
    from delivery_robot_nav.common.world import Actor

    times = np.array([0.0, 2.0, 2.0, 5.5, 9.0])
    poses = np.array([[0.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.5], [2.0, 1.0, 0.0, 3.0],
                      [-1.0, 4.0, 0.0, -3.0], [0.3, -0.7, 0.0, 1.0]])
    t = np.linspace(-3.0, 40.0, 4001)
    for loop, delay, auto in ((True, 0.0, True), (True, 1.7, True), (False, 0.5, True),
                              (True, 0.0, False)):
        actor = Actor('a', times, poses, loop=loop, delay_start=delay, auto_start=auto)
        xy = actor.positions_at(t)
        assert xy.shape == (len(t), 2)
        assert np.array_equal(xy, actor.poses_at(t)[:, :2])
    assert np.ptp(Actor('a', times, poses).positions_at(t), axis=0).min() > 1.0


def _barn_reference(path):
    """Cylinder positions read independently with ElementTree, <state> poses winning."""
    root = ET.parse(path).getroot()
    world = root.find('world')
    positions = {}
    for model in world.findall('model'):
        if model.find('link/collision/geometry/cylinder') is not None:
            positions[model.get('name')] = [float(v) for v in model.find('pose').text.split()[:2]]
    for model in world.findall('state/model'):
        if model.get('name') in positions:
            positions[model.get('name')] = [float(v) for v in model.find('pose').text.split()[:2]]
    return positions


def test_all_barn_worlds_load_with_obstacles_where_the_files_put_them(barn_dir):
    files = sorted((barn_dir / 'worlds').glob('world_*.world'))
    assert len(files) == 50
    for path in files:
        world = load_world(path)
        reference = _barn_reference(path)
        assert len(world.obstacles) == len(reference), path.name
        loaded = {s.name.split('::')[0]: s for s in world.obstacles}
        for name, (x, y) in reference.items():
            shape = loaded[name]
            assert shape.kind == 'cylinder' and shape.size[0] == pytest.approx(0.075)
            assert shape.xyz[:2] == pytest.approx([x, y], abs=1e-9), (path.name, name)
        assert not world.actors


def test_state_block_overrides_model_pose(write_sdf):
    path = write_sdf('''
      <model name="box"><static>1</static><pose>0 0 0 0 0 0</pose>
        <link name="l"><collision name="c"><geometry><box><size>1 1 1</size></box></geometry>
        </collision></link></model>
      <state world_name="test"><model name="box"><pose>3 4 0.5 0 0 0</pose></model></state>''')
    (shape,) = load_world(path).obstacles
    assert shape.xyz == pytest.approx([3.0, 4.0, 0.5])


def test_nested_poses_compose(write_sdf):
    path = write_sdf('''
      <model name="outer"><static>true</static><pose>10 0 0 0 0 1.5707963267948966</pose>
        <model name="inner"><pose>2 0 0 0 0 0</pose>
          <link name="l"><pose>0 1 0 0 0 0</pose>
            <collision name="c"><pose>0 0 0.5 0 0 0</pose>
              <geometry><cylinder><radius>0.2</radius><length>1</length></cylinder></geometry>
            </collision></link></model></model>''')
    (shape,) = load_world(path).obstacles
    # outer yaw 90 deg maps inner (2, 0) -> (0, 2), link (0, 1) -> (-1, 0)
    assert shape.xyz == pytest.approx([10.0 - 1.0, 2.0, 0.5], abs=1e-9)
    assert shape.name == 'outer::inner::l::c'


def test_degrees_attribute_and_actor_trajectory(write_sdf):
    path = write_sdf('''
      <actor name="walker"><pose>1 0 0 0 0 0</pose>
        <script><loop>true</loop><delay_start>2</delay_start><auto_start>true</auto_start>
          <trajectory id="0" type="walk">
            <waypoint><time>0</time><pose degrees="true">0 0 1 0 0 0</pose></waypoint>
            <waypoint><time>10</time><pose degrees="true">10 0 1 0 0 90</pose></waypoint>
          </trajectory></script></actor>''')
    (actor,) = load_world(path).actors
    assert actor.pose_at(0.0)[:2] == pytest.approx([1.0, 0.0])      # waiting for delay_start
    assert actor.pose_at(7.0)[:2] == pytest.approx([6.0, 0.0])      # halfway, actor pose added
    assert actor.pose_at(7.0)[3] == pytest.approx(math.radians(45))
    assert actor.pose_at(12.0 + 3.0)[:2] == pytest.approx([4.0, 0.0])   # looped
    assert actor.velocity_at(5.0) == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize('body, expected', [
    ('<model name="m"><link name="l"><collision name="c"><geometry><mesh><uri>x.dae</uri>'
     '</mesh></geometry></collision></link></model>', r'test.sdf:\d+: <mesh>: unsupported geometry'),
    ('<include><uri>model://tree</uri></include>', r'test.sdf:\d+: <include>: unsupported element'),
    ('<model name="m"><pose relative_to="other">0 0 0 0 0 0</pose></model>',
     r'<pose>: relative_to/frame="other" is not supported'),
    ('<model name="m"><pose>0 0 0</pose></model>', r'<pose>: expected 6 numbers, got 3'),
    ('<model name="m"><pose>0 0 nan 0 0 0</pose></model>', r'<pose>: non-finite number'),
    ('<model name="m"><link name="l"><collision name="c"><geometry><box><size>1 0 1</size>'
     '</box></geometry></collision></link></model>', r'<box>: dimensions must be positive'),
    ('<model name="m"><joint name="j" type="revolute"/></model>', r'<joint>: unsupported element'),
    ('<actor name="a"><pose>0 0 0 0 0 0</pose></actor>', r'actor "a" has no <script>'),
    ('<state world_name="t"><model name="ghost"><pose>0 0 0 0 0 0</pose></model></state>',
     r'names model "ghost" that the world does not have'),
    ('<model><static>1</static></model>', r'<model>: missing name attribute'),
])
def test_unsupported_or_malformed_sdf_names_element_and_line(write_sdf, body, expected):
    path = write_sdf(body)
    with pytest.raises(WorldError, match=expected):
        load_world(path)


def test_error_line_number_points_at_the_element(write_sdf):
    path = write_sdf('\n\n<model name="m">\n<link name="l"><collision name="c"><geometry>\n'
                     '<mesh/></geometry></collision></link></model>')
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '<mesh/>' in text)
    with pytest.raises(WorldError, match=rf'test.sdf:{line}: <mesh>'):
        load_world(path)


def test_not_well_formed_xml(tmp_path):
    path = tmp_path / 'broken.sdf'
    path.write_text('<sdf version="1.9"><world name="w"><model name="m">\n</world></sdf>')
    with pytest.raises(WorldError, match=r'broken.sdf:2: not well-formed XML'):
        load_world(path)


def test_missing_file(tmp_path):
    with pytest.raises(WorldError, match='cannot read world file'):
        load_world(tmp_path / 'nope.sdf')
