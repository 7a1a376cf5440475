"""Parameter files against their schemas: every number declared, every error named."""
import pytest
import yaml

from delivery_robot_nav.common.params import ParamError, load_params_file
from delivery_robot_nav.demo.config import DRIVER_PARAMS, load_driver_params
from delivery_robot_nav.demo.config import NODE_NAME as DRIVER_NODE
from delivery_robot_nav.localization.config import LOCALIZATION_PARAMS
from delivery_robot_nav.localization.config import NODE_NAME as LOC_NODE
from delivery_robot_nav.mission.config import MISSION_PARAMS
from delivery_robot_nav.mission.config import NODE_NAME as MISSION_NODE
from delivery_robot_nav.perception.config import NODE_NAME as DET_NODE
from delivery_robot_nav.perception.config import OBSTACLE_DETECTION_PARAMS
from delivery_robot_nav.sim.config import NODE_NAME, SIM_PARAMS, load_sim_config


@pytest.mark.parametrize('file, node, specs', [
    ('sim.yaml', NODE_NAME, SIM_PARAMS), ('demo.yaml', DRIVER_NODE, DRIVER_PARAMS),
    ('localization.yaml', LOC_NODE, LOCALIZATION_PARAMS),
    ('obstacle_detection.yaml', DET_NODE, OBSTACLE_DETECTION_PARAMS),
    ('mission.yaml', MISSION_NODE, MISSION_PARAMS)])
def test_config_files_match_their_schema(repo, file, node, specs):
    values = load_params_file(repo / 'config' / file, node, specs)
    assert set(values) == {s.name for s in specs}
    for spec in specs:
        assert spec.description and (spec.type is not float or spec.unit is not None)


def test_sim_config_types_and_sensor_periods():
    cfg = load_sim_config()
    assert cfg.period_steps('imu') == 1 and cfg.period_steps('lidar') == 10
    assert cfg.lidar.beams >= 720 and cfg.lidar.range_max == 30.0
    assert all(len(r) == 4 for r in cfg.gnss.outage_regions)


def _write(tmp_path, repo, edit):
    doc = yaml.safe_load((repo / 'config' / 'sim.yaml').read_text())
    edit(doc['sim_node']['ros__parameters'])
    path = tmp_path / 'sim.yaml'
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize('edit, message', [
    (lambda p: p['lidar'].update(beams=3), r'"lidar.beams": must be >= 8'),
    (lambda p: p['lidar'].update(noise_stddev='high'), r'"lidar.noise_stddev": expected a number'),
    (lambda p: p['imu'].update(rate_hz=float('nan')), r'"imu.rate_hz": expected a finite number'),
    (lambda p: p['motion'].pop('cmd_timeout'), r'missing parameter\(s\) for sim_node: motion.cmd_timeout'),
    (lambda p: p['lidar'].update(rnage_max=3.0), r'unknown parameter\(s\) for sim_node: lidar.rnage_max'),
    (lambda p: p['gnss'].update(outage_regions=[1.0, 2.0, 3.0]), r'"gnss.outage_regions": expected a multiple of 4'),
    (lambda p: p['gnss'].update(outage_regions=[5.0, 0.0, 1.0, 1.0]), r'xmin < xmax'),
    (lambda p: p['lidar'].update(rate_hz=7.0), r'"lidar.rate_hz" = 7.0 must divide step_rate_hz'),
    (lambda p: p.update(publish_ground_truth=1), r'"publish_ground_truth": expected true or false'),
])
def test_bad_sim_config_names_file_and_field(tmp_path, repo, edit, message):
    path = _write(tmp_path, repo, edit)
    with pytest.raises(ParamError, match=message) as info:
        load_sim_config(path)
    assert str(path) in str(info.value)


def test_not_yaml_and_wrong_node(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('sim_node: [unclosed')
    with pytest.raises(ParamError, match='not valid YAML'):
        load_sim_config(bad)
    other = tmp_path / 'other.yaml'
    other.write_text('some_node:\n  ros__parameters: {}\n')
    with pytest.raises(ParamError, match=r'expected "sim_node: ros__parameters'):
        load_sim_config(other)


def test_driver_route_must_be_pairs(tmp_path, repo):
    doc = yaml.safe_load((repo / 'config' / 'demo.yaml').read_text())
    doc['scripted_driver']['ros__parameters']['route'] = [1.0, 2.0, 3.0]
    path = tmp_path / 'demo.yaml'
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ParamError, match=r'"route": expected a multiple of 2'):
        load_driver_params(path)


def test_localizer_dataclass_defaults_equal_the_shipped_yaml():
    """The estimator's dataclass defaults (used by unit tests and library users) must not
    drift from config/localization.yaml (what the node and the evaluation run)."""
    import dataclasses

    from delivery_robot_nav.localization.config import _TARGETS, load_localization_params
    from delivery_robot_nav.localization.estimator import LocalizerConfig
    values = load_localization_params()
    defaults = LocalizerConfig()
    parts = {'loc': defaults, 'ekf': defaults.ekf, 'pf': defaults.pf, 'field': defaults.field}
    differ = {name: (values[name], getattr(parts[target], field))
              for name, (target, field) in _TARGETS.items()
              if field != 'datum' and values[name] != getattr(parts[target], field)}
    assert not differ, f'config/localization.yaml vs dataclass defaults: {differ}'
    assert dataclasses.fields(LocalizerConfig)


def test_detector_dataclass_defaults_equal_the_shipped_yaml():
    """Same for obstacle detection: the perception dataclasses' defaults are what
    config/obstacle_detection.yaml says."""
    from delivery_robot_nav.perception.config import _TARGETS, load_detection_params
    from delivery_robot_nav.perception.detector import DetectorConfig
    values = load_detection_params()
    d = DetectorConfig()
    parts = {'det': d, 'seg': d.segmentation, 'trk': d.tracker, 'cm': d.costmap, 'depth': d.depth}
    differ = {name: (values[name], getattr(parts[target], field))
              for name, (target, field) in _TARGETS.items()
              if values[name] != getattr(parts[target], field)}
    assert not differ, f'config/obstacle_detection.yaml vs dataclass defaults: {differ}'


def test_unknown_segmentation_method_is_refused_with_the_choices(tmp_path, repo):
    from delivery_robot_nav.perception.config import load_detection_params
    text = (repo / 'config' / 'obstacle_detection.yaml').read_text()
    bad = tmp_path / 'od.yaml'
    bad.write_text(text.replace('method: scan_order', 'method: dbscan'))
    with pytest.raises(ParamError, match='segmentation.method.*scan_order, kdtree'):
        load_detection_params(bad)
