"""The demo: the whole stack as processes over DDS delivering a parcel, with its report.

One delivery (depot -> admin, 78 m, no return) keeps it to about a minute; `make demo`
runs three stations and back the same way.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from delivery_robot_nav.demo.bag import BagWriter, bag_summary, typestore_with

# ../shared/DESIGN.md's topics (robot side and navigation side) that the demo publishes
DESIGN_TOPICS = {
    'scan': 'sensor_msgs/msg/LaserScan', 'odom': 'nav_msgs/msg/Odometry',
    'imu/data': 'sensor_msgs/msg/Imu', 'gps/fix': 'sensor_msgs/msg/NavSatFix',
    'camera/depth/image_raw': 'sensor_msgs/msg/Image',
    'camera/depth/camera_info': 'sensor_msgs/msg/CameraInfo',
    'cmd_vel': 'geometry_msgs/msg/Twist', 'clock': 'rosgraph_msgs/msg/Clock',
    'tf_static': 'tf2_msgs/msg/TFMessage', 'tf': 'tf2_msgs/msg/TFMessage',
    'map': 'nav_msgs/msg/OccupancyGrid',
    'initialpose': 'geometry_msgs/msg/PoseWithCovarianceStamped',
    'odometry/filtered': 'nav_msgs/msg/Odometry',
    'localization/pose': 'geometry_msgs/msg/PoseWithCovarianceStamped',
    'diagnostics': 'diagnostic_msgs/msg/DiagnosticArray',
    'obstacles': 'delivery_robot_msgs/msg/TrackedObstacleArray',
    'local_costmap': 'nav_msgs/msg/OccupancyGrid',
    'obstacles/markers': 'visualization_msgs/msg/MarkerArray',
    'plan': 'nav_msgs/msg/Path', 'path_following/status': 'delivery_robot_msgs/msg/NavigationStatus',
    'path_following/goal_station': 'std_msgs/msg/String',
    'delivery_status': 'delivery_robot_msgs/msg/DeliveryStatus',
}


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    proc = subprocess.run(
        [sys.executable, '-m', 'delivery_robot_nav.cli', 'demo', '--output', str(out),
         '--stations', 'admin', '--no-return', '--handover-time', '2',
         '--real-time-factor', '2', '--max-wall-time', '240'],
        capture_output=True, text=True, timeout=400)
    return out, proc


def test_demo_delivers_and_reports(demo_run):
    out, proc = demo_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'to admin' in proc.stdout                # progress on the terminal
    m = json.loads((out / 'metrics.json').read_text())
    assert m['outcome'] == 'delivered' and m['delivered'] == ['admin']
    assert m['collisions'] == 0
    assert 70.0 < m['distance_m'] < 100.0           # depot -> admin is 78 m on the graph
    assert 0.0 < m['localization']['rmse_m'] < 0.5
    assert m['people_clearance']['samples'] > 100
    for chain in ('scan_to_cmd_vel_latency', 'scan_via_obstacles_to_cmd_vel_latency',
                  'scan_to_obstacles_latency'):
        lat = m[chain]
        assert lat['samples'] > 200                 # ~10 scans per simulated second
        assert 0.0 < lat['p50_ms'] <= lat['p95_ms'] <= lat['max_ms'] < 5000.0
    # the first stage of the chain takes part of it
    assert m['scan_to_obstacles_latency']['p50_ms'] < \
        m['scan_via_obstacles_to_cmd_vel_latency']['p50_ms']
    # every process's CPU time, and no more than the machine's cores in all
    assert set(m['cpu_s']) == set(m['processes']) | {'recorder (this process)'}
    assert all(x > 0.0 for x in m['cpu_s'].values())
    assert 0.0 < m['cpu_cores_used'] <= os.cpu_count()
    kinds = [e['text'] for e in m['events'] if e['kind'] == 'delivery']
    assert 'at_station: admin' in kinds and 'succeeded' in kinds


def test_demo_bag_holds_every_design_topic(demo_run):
    out, _ = demo_run
    summary = bag_summary(out / 'bag')              # rosbags reads it back
    assert (out / 'bag' / 'metadata.yaml').is_file()
    assert list((out / 'bag').glob('*.mcap'))
    for topic, kind in DESIGN_TOPICS.items():
        assert topic in summary, f'{topic} not in the bag'
        assert summary[topic]['type'] == kind
        assert summary[topic]['messages'] >= 1, f'no {topic} message in the bag'
    assert summary['scan']['messages'] > 300        # the whole run, not a sample
    # played back, latched topics are latched again and sensor data stays best effort
    meta = yaml.safe_load((out / 'bag' / 'metadata.yaml').read_text())
    offered = {t['topic_metadata']['name']: t['topic_metadata']['offered_qos_profiles'][0]
               for t in meta['rosbag2_bagfile_information']['topics_with_message_count']}
    assert offered['tf_static']['durability'] == 'transient_local'
    assert offered['map']['durability'] == 'transient_local'
    assert offered['scan']['reliability'] == 'best_effort'
    # every message deserializes with the schema the bag carries (first of each topic)
    from rosbags.rosbag2 import Reader
    store = typestore_with()
    seen = set()
    with Reader(out / 'bag') as reader:
        for conn, _, raw in reader.messages():
            if conn.topic not in seen:
                seen.add(conn.topic)
                store.deserialize_cdr(raw, conn.msgtype)
    assert set(DESIGN_TOPICS) <= seen


def test_demo_plots_show_the_run(demo_run):
    out, _ = demo_run
    for name in ('map', 'speed', 'localization_error', 'clearance'):
        img = np.asarray(Image.open(out / f'{name}.png').convert('L'), dtype=float)
        assert img.shape[0] > 300 and img.shape[1] > 800
        assert img.std() > 10.0, f'{name}.png is blank'


def test_bag_writer_refuses_unknown_types_and_existing_bags(tmp_path):
    with pytest.raises(RuntimeError, match='no message definition for nope_msgs/msg/Nope'):
        BagWriter(tmp_path / 'a', {'x': 'nope_msgs/msg/Nope'})
    (tmp_path / 'b').mkdir()
    with pytest.raises(RuntimeError, match='exists'):
        BagWriter(tmp_path / 'b', {'x': 'std_msgs/msg/String'})


def test_chain_latency_credits_each_input_once_at_the_first_command():
    from delivery_robot_nav.common.latency import ChainLatency, stamp_key
    lat = ChainLatency(('scan', 'obstacles'))
    k1 = stamp_key(10, 0)
    assert k1 == stamp_key(9, 999_999_999)          # a float round trip of the stamp
    lat.published(k1, 1_000_000_000)
    lat.arrived('scan', k1)
    lat.command_sent(1_020_000_000)                 # 20 ms after publication
    lat.command_sent(1_070_000_000)                 # the same scan again: not credited
    lat.arrived('obstacles', k1)                    # the detector's result, later
    lat.command_sent(1_045_000_000)
    lat.arrived('scan', stamp_key(99, 0))           # never published (dropped): no sample
    lat.command_sent(2_000_000_000)
    assert list(lat.samples['scan']) == [20.0]
    assert list(lat.samples['obstacles']) == [45.0]
    assert lat.summary('scan') == {'samples': 1, 'p50_ms': 20.0, 'p95_ms': 20.0, 'max_ms': 20.0}
    assert ChainLatency(('x',)).summary('x') == {'samples': 0}


def test_delivery_report_arithmetic(tmp_path):
    from delivery_robot_nav.evaluation.delivery_report import DeliveryRecord, write_delivery_report
    t = np.linspace(0.0, 10.0, 101)
    truth = np.column_stack([t, t, 0 * t, 0 * t, np.ones_like(t)])          # 1 m/s along x
    sd2 = np.full_like(t, 0.01)                                              # 0.1 m sigma
    estimate = np.column_stack([t, t + 0.05, 0 * t, sd2, 0 * t, sd2])       # 5 cm ahead
    estimate[-10:, 1] += 0.3                                                 # 0.35 m: > 2 sigma
    rec = DeliveryRecord('test', truth, estimate, np.column_stack([t, np.ones_like(t), 0 * t]),
                         actor_t=t[::10], actor_xy=[np.array([[5.0, 2.0], [50.0, 0.0]])] * 11,
                         actor_radius=0.3, footprint=(-0.3, -0.275, 0.4, 0.275),
                         stations={'depot': np.array([0.0, 0.0])},
                         events=[{'time': 5.0, 'kind': 'delivery', 'text': 'at_station: a',
                                  'x': 5.0, 'y': 0.0}])
    m = write_delivery_report(rec, None, tmp_path)
    assert m['distance_m'] == 10.0 and m['sim_time_s'] == 10.0
    loc = m['localization']
    assert loc['max_m'] == 0.35 and loc['inside_2sigma_fraction'] == round(91 / 101, 3)
    # at t = 5 the robot is at (5, 0): the person at (5, 2) is 2 - 0.275 - 0.3 m from it
    assert m['people_clearance']['min_m'] == 1.425 and m['people_clearance']['at_time_s'] == 5.0
    assert m['event_counts'] == {'delivery': 1}
    assert json.loads((tmp_path / 'metrics.json').read_text())['collisions'] == 0
    for name in ('map', 'speed', 'localization_error', 'clearance'):
        assert (tmp_path / f'{name}.png').stat().st_size > 10_000
