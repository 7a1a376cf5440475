"""The URDF: frames (REP 105), footprint, sensors and the Gazebo tags."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from delivery_robot_nav.sim.robot_model import RobotModelError, load_robot_model


@pytest.fixture(scope='module')
def urdf_path(repo):
    return repo / 'urdf' / 'delivery_robot.urdf'


def test_frames_present_and_placed(urdf_path):
    robot = load_robot_model(urdf_path)
    for frame in ('base_link', 'laser_link', 'imu_link', 'gps_link', 'camera_link',
                  'camera_depth_optical_frame'):
        assert frame in robot.frames
    assert robot.frame('laser_link')[2, 3] == pytest.approx(0.35)
    # the depth camera looks forward and down
    optical_axis = robot.frame('camera_depth_optical_frame')[:3, 2]
    assert optical_axis[0] > 0.8 and optical_axis[2] < -0.3
    # REP 103 optical frame: x right (= -y of the base), y down
    assert robot.frame('camera_depth_optical_frame')[:3, 0] == pytest.approx([0, -1, 0], abs=1e-3)


def test_footprint_and_drive_geometry(urdf_path):
    robot = load_robot_model(urdf_path)
    xmin, ymin, xmax, ymax = robot.footprint
    assert xmax - xmin == pytest.approx(0.70, abs=0.02)
    assert ymax - ymin == pytest.approx(0.55, abs=0.02)
    assert robot.wheel_radius == pytest.approx(0.12)
    assert robot.wheel_separation == pytest.approx(0.48)
    assert robot.height > 0.35 > 0.0


def test_gazebo_tags_for_harmonic(urdf_path):
    root = ET.parse(urdf_path).getroot()
    plugins = {p.get('name') for p in root.iter('plugin')}
    assert 'gz::sim::systems::DiffDrive' in plugins
    sensors = {s.get('type'): s for s in root.iter('sensor')}
    assert set(sensors) >= {'gpu_lidar', 'imu', 'navsat', 'depth_camera'}
    lidar = sensors['gpu_lidar']
    assert int(lidar.find('lidar/scan/horizontal/samples').text) >= 720
    assert float(lidar.find('lidar/range/min').text) == pytest.approx(0.1)
    assert float(lidar.find('lidar/range/max').text) == pytest.approx(30.0)
    assert lidar.find('topic').text == 'scan'


def test_urdf_without_wheels_is_a_clear_error(tmp_path):
    path = tmp_path / 'bad.urdf'
    path.write_text('<robot name="r"><link name="base_link"/></robot>')
    with pytest.raises(RobotModelError, match='left_wheel_joint'):
        load_robot_model(path)


def test_fixed_transforms_compose_to_frames(urdf_path):
    robot = load_robot_model(urdf_path)
    parent_of = {t.child: t for t in robot.fixed_transforms}
    t = parent_of['camera_depth_optical_frame']
    composed = robot.frames[t.parent] @ t.matrix
    assert np.allclose(composed, robot.frames['camera_depth_optical_frame'])
