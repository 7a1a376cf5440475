"""The mission node over real DDS: the Deliver action in, goals to path following out,
feedback, result and delivery_status back; bad requests refused; cancel; and a delivery
that survives killing and restarting the node mid-way. Path following is played by the
test process (it takes `path_following/goal_station` and reports on it like the real
node: active with the distance left, then succeeded)."""
import signal
import subprocess
import sys
import time

import pytest
import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node
from std_msgs.msg import Empty, String

from ros_helpers import node_process, ros_node
from delivery_robot_msgs.action import Deliver
from delivery_robot_msgs.msg import DeliveryStatus, NavigationStatus
from delivery_robot_nav.mission.config import NODE_NAME

LEG_TIME = 1.5          # s the fake path following takes per leg


class FakePathFollowing(Node):
    def __init__(self):
        super().__init__('fake_path_following')
        self.goals, self.cancels, self.status = [], 0, []
        self.goal, self.since = None, 0.0
        self.pub = self.create_publisher(NavigationStatus, 'path_following/status', 10)
        self.create_subscription(String, 'path_following/goal_station', self.on_goal, 10)
        self.create_subscription(Empty, 'path_following/cancel', self.on_cancel, 10)
        self.create_subscription(DeliveryStatus, 'delivery_status', self.status.append, 50)
        self.create_timer(0.1, self.report)
        self.client = None                      # one per mission node: see the fixture
        self.feedback = []

    def on_goal(self, msg):
        self.goals.append(msg.data)
        self.goal, self.since, self.state = msg.data, time.monotonic(), NavigationStatus.STATE_ACTIVE

    def on_cancel(self, _):
        self.cancels += 1
        self.state = NavigationStatus.STATE_CANCELED

    def report(self):
        if self.goal is None:
            return
        left = max(0.0, LEG_TIME - (time.monotonic() - self.since)) * 10.0
        if self.state == NavigationStatus.STATE_ACTIVE and left == 0.0:
            self.state = NavigationStatus.STATE_SUCCEEDED
        self.pub.publish(NavigationStatus(goal=self.goal, state=self.state, reason='',
                                          distance_remaining=left))

    def spin_until(self, done, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            rclpy.spin_once(self, timeout_sec=0.05)
        return done()

    def send(self, delivery_id, stations, back=True):
        goal = Deliver.Goal(delivery_id=delivery_id, stations=stations, return_to_depot=back)
        future = self.client.send_goal_async(goal, feedback_callback=lambda m:
                                             self.feedback.append(m.feedback))
        assert self.spin_until(future.done, 20.0), 'no answer to the goal'
        return future.result()

    def result(self, handle, seconds=30.0):
        future = handle.get_result_async()
        assert self.spin_until(future.done, seconds), 'no result'
        return future.result()


def start_mission(store):
    return node_process('delivery_robot_nav.mission.node', '-p', f'store_file:={store}',
                        '-p', 'handover_time:=0.5', '-p', 'rate_hz:=10.0', stop=signal.SIGINT)


@pytest.fixture(scope='module')
def ros():
    with ros_node(FakePathFollowing) as node:
        yield node


@pytest.fixture
def mission(ros, tmp_path):
    """A mission node with a fresh store; the fake's records cleared."""
    ros.goals.clear(), ros.status.clear(), ros.feedback.clear()
    ros.goal, ros.cancels = None, 0
    with start_mission(tmp_path / 'deliveries.sqlite') as proc:
        # A fresh client per node: one kept from the previous test can still count the
        # gone node's server as matched, and a goal sent to it is lost.
        ros.client = ActionClient(ros, Deliver, 'deliver')
        assert ros.client.wait_for_server(timeout_sec=60.0), 'the mission node did not come up'
        yield proc, tmp_path / 'deliveries.sqlite'
    # (stopped with SIGINT, exit 0 checked; the restart test kills it itself)
    ros.client.destroy()
    # the next test's node must not be mistaken for this one: wait until it has left
    gone = lambda: NODE_NAME not in ros.get_node_names()
    assert ros.spin_until(gone, 60), 'the stopped mission node is still in the ROS graph'


def test_a_delivery_visits_its_stations_hands_over_and_returns(ros, mission):
    handle = ros.send('d1', ['library', 'physics'])
    assert handle.accepted
    res = ros.result(handle)
    assert res.status == 4                                      # GoalStatus SUCCEEDED
    assert res.result.success and list(res.result.completed_stations) == ['library', 'physics']
    assert 'delivered to 2 of 2 stations' in res.result.message
    assert ros.goals == ['library', 'physics', 'depot']
    # feedback per leg, with the distance left and how many are done
    assert {f.current_station for f in ros.feedback} >= {'library', 'physics', 'depot'}
    assert max(f.stations_completed for f in ros.feedback) == 2
    assert all(f.stations_total == 2 for f in ros.feedback)
    assert any(f.distance_remaining > 0.0 for f in ros.feedback)
    ros.spin_until(lambda: any(s.state == DeliveryStatus.STATE_SUCCEEDED for s in ros.status), 5)
    states = [s.state for s in ros.status if s.delivery_id == 'd1']
    for state in (DeliveryStatus.STATE_NAVIGATING, DeliveryStatus.STATE_AT_STATION,
                  DeliveryStatus.STATE_RETURNING, DeliveryStatus.STATE_SUCCEEDED):
        assert state in states


def test_a_request_naming_an_unknown_station_is_refused_with_the_reason(ros, mission):
    handle = ros.send('d2', ['library', 'atlantis'])
    assert not handle.accepted
    ros.spin_until(lambda: any('atlantis' in s.message for s in ros.status), 5)
    assert any("unknown station(s) 'atlantis'" in s.message for s in ros.status)
    assert ros.goals == []


def test_canceling_stops_the_leg_under_way(ros, mission):
    handle = ros.send('d3', ['arts', 'library'])
    assert ros.spin_until(lambda: ros.goals == ['arts'], 10)
    cancel = handle.cancel_goal_async()
    assert ros.spin_until(cancel.done, 10)
    res = ros.result(handle)
    assert res.status == 5                                      # GoalStatus CANCELED
    assert not res.result.success and res.result.message == 'canceled by the client'
    assert ros.spin_until(lambda: ros.cancels >= 1, 5), 'path following was not stopped'
    time.sleep(LEG_TIME)
    ros.spin_until(lambda: False, 1.0)
    assert ros.goals == ['arts']                                # nothing sent after it


def test_a_delivery_survives_killing_and_restarting_the_node(ros, mission):
    proc, store = mission
    handle = ros.send('d4', ['library', 'physics', 'arts'], back=False)
    assert handle.accepted
    assert ros.spin_until(lambda: ros.goals[-1:] == ['physics'], 20)
    proc.send_signal(signal.SIGKILL)                            # no chance to tidy up
    proc.wait(timeout=10)
    sent_before = list(ros.goals)
    with start_mission(store) as restarted:
        done = lambda: any(s.delivery_id == 'd4' and s.state == DeliveryStatus.STATE_SUCCEEDED
                           for s in ros.status)
        assert ros.spin_until(done, 40), 'the restarted node did not finish the delivery'
        final = [s for s in ros.status if s.delivery_id == 'd4'][-1]
        assert list(final.completed_stations) == ['library', 'physics', 'arts']
        # it picked up at the leg it was on (physics: sent again, or, when path following
        # is seen finishing it first, taken as done), then arts; library not again
        assert ros.goals[len(sent_before):] in (['physics', 'arts'], ['arts'])
    assert 'resuming d4' in restarted.stdout_text


def test_the_command_line_enqueues_a_delivery_and_follows_it(ros, mission):
    def cli(*args):
        proc = subprocess.Popen([sys.executable, '-m', 'delivery_robot_nav.cli', 'deliver',
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        ros.spin_until(lambda: proc.poll() is not None, 60)
        out, _ = proc.communicate(timeout=10)
        return proc.returncode, out

    code, out = cli('library', 'arts', '--id', 'c1', '--no-return')
    assert code == 0, out
    assert 'delivery "c1" accepted: library, arts' in out
    assert 'delivery "c1" succeeded: delivered to 2 of 2 stations' in out
    assert ros.goals == ['library', 'arts']
    code, out = cli('atlantis', '--id', 'c2')
    assert code == 2 and 'delivery "c2" refused' in out
