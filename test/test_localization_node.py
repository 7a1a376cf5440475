"""localization over real DDS: recorded sensor messages in, estimate, tf and diagnostics out."""
import math
import time

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Imu, LaserScan, NavSatFix
from tf2_msgs.msg import TFMessage

from ros_helpers import node_process, ros_node, set_double_parameter

from delivery_robot_nav.common import conversions as conv
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.sensors import GnssReading, ImuReading, OdomReading, ScanReading


def record(seconds: float):
    """Sensor messages of a short straight drive from the depot, in delivery order, with the
    ground truth at each odometry stamp."""
    sim = Simulator.from_files(overrides={'depth_camera.enabled': False})
    out, truth = [], {}
    for _ in range(int(seconds * sim.cfg.step_rate_hz)):
        step = sim.step((1.0, 0.0))
        truth[round(step.time, 4)] = (sim.state.x, sim.state.y)
        for r in step.readings:
            if isinstance(r, OdomReading):
                out.append(('odom', conv.odom_reading_msg(r)))
            elif isinstance(r, ImuReading):
                out.append(('imu/data', conv.imu_msg(r)))
            elif isinstance(r, GnssReading):
                out.append(('gps/fix', conv.navsat_msg(r)))
            elif isinstance(r, ScanReading):
                out.append(('scan', conv.scan_msg(r)))
    return out, truth


class Player(Node):
    def __init__(self):
        super().__init__('sensor_player')
        sensor = qos_profile_sensor_data
        self.pubs = {'odom': self.create_publisher(Odometry, 'odom', 50),
                     'imu/data': self.create_publisher(Imu, 'imu/data', sensor),
                     'gps/fix': self.create_publisher(NavSatFix, 'gps/fix', sensor),
                     'scan': self.create_publisher(LaserScan, 'scan', sensor)}
        self.estimates, self.tf, self.diag = [], [], []
        self.create_subscription(Odometry, 'odometry/filtered', self.estimates.append, 1000)
        self.create_subscription(TFMessage, 'tf', self.tf.append, 100)
        self.create_subscription(DiagnosticArray, 'diagnostics', self.diag.append, 10)
        self.params = self.create_client(SetParameters, 'localization/set_parameters')

    def spin_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.01)


@pytest.fixture(scope='module')
def player():
    with node_process('delivery_robot_nav.localization.node') as proc, \
            ros_node(Player) as node:
        yield node, proc


def test_estimate_tf_and_diagnostics_from_recorded_sensors(player):
    node, proc = player
    messages, truth = record(12.0)
    assert node.params.wait_for_service(timeout_sec=60.0), 'localization node did not come up'
    deadline = time.monotonic() + 20.0     # wait for discovery of every subscription
    while time.monotonic() < deadline and any(
            p.get_subscription_count() == 0 for p in node.pubs.values()):
        node.spin_for(0.1)
    for i, (topic, msg) in enumerate(messages):
        node.pubs[topic].publish(msg)
        if i % 5 == 0:
            node.spin_for(0.004)           # about 2x real time
    node.spin_for(3.0)
    # one estimate per odometry message (a loaded machine may drop a few on the way)
    assert len(node.estimates) > 0.5 * sum(t == 'odom' for t, _ in messages)
    last = node.estimates[-1]
    assert last.header.frame_id == 'map' and last.child_frame_id == 'base_link'
    x, y = truth[round(conv.from_time(last.header.stamp), 4)]
    error = math.hypot(last.pose.pose.position.x - x, last.pose.pose.position.y - y)
    assert error < 0.15, f'estimate {error:.3f} m from the truth'
    cov = np.asarray(last.pose.covariance).reshape(6, 6)
    assert np.all(np.isfinite(cov)) and 0 < cov[0, 0] < 1.0 and 0 < cov[1, 1] < 1.0
    assert error < 3.0 * math.sqrt(max(cov[0, 0], cov[1, 1])) + 0.02   # honest, not tiny
    map_to_odom = [t for m in node.tf for t in m.transforms if t.child_frame_id == 'odom']
    assert map_to_odom and map_to_odom[-1].header.frame_id == 'map'
    statuses = [s for m in node.diag for s in m.status]
    assert statuses and statuses[-1].level in (DiagnosticStatus.OK, DiagnosticStatus.WARN)
    assert proc.poll() is None


def test_out_of_range_parameter_is_rejected_with_a_reason(player):
    node, _ = player
    result = set_double_parameter(node, node.params, 'ekf.gate_probability', 1.5)
    assert not result.successful
    assert 'gate_probability' in result.reason
    assert set_double_parameter(node, node.params, 'ekf.gate_probability', 0.99).successful


def test_the_map_it_localizes_on_is_published_latched_for_rviz(player):
    """With use_map_topic false it reads map_file and offers it on `map` as map_server
    would: a subscriber that joins late still gets it, cell for cell."""
    from nav_msgs.msg import OccupancyGrid
    from rclpy.qos import DurabilityPolicy, QoSProfile

    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.common.paths import share_path

    node, _ = player
    got = []
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    sub = node.create_subscription(OccupancyGrid, 'map', got.append, latched)
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_subscription(sub)
    assert got, 'no map on `map`'
    occ = load_map(share_path('worlds', 'campus_map.yaml'))
    msg = got[0]
    assert msg.header.frame_id == 'map'
    assert (msg.info.height, msg.info.width) == occ.grid.shape
    assert msg.info.resolution == pytest.approx(occ.resolution)
    assert (msg.info.origin.position.x, msg.info.origin.position.y) == pytest.approx(occ.origin)
    assert np.array_equal(np.frombuffer(bytes(msg.data), dtype=np.int8).reshape(occ.grid.shape),
                          occ.grid.astype(np.int8))
