"""`mission`: delivery missions (sequencer.py) as a ROS 2 node.

Action server `deliver` (delivery_robot_msgs/action/Deliver): a goal names stations of the
route graph in order (and whether to return to the depot); it is checked and stored
before it is accepted (unknown stations, an empty list or a taken id are rejected, with
the reason in the node's log and in `delivery_status`), then runs after the deliveries
accepted before it, with feedback per leg and a result when it ends. Canceling a goal
stops its leg (or drops it from the queue). Deliveries accepted before a restart of the
node resume where they were (from `store_file`); they have no action client any more, so
`delivery_status` is where to follow them.

Talks to path following over `path_following/goal_station` (std_msgs/String) and
`path_following/cancel` (std_msgs/Empty), and listens to `path_following/status`
(delivery_robot_msgs/NavigationStatus). Publishes `delivery_status`
(delivery_robot_msgs/DeliveryStatus) on every change and every `status_period` s.
"""
from __future__ import annotations

import math
import sqlite3
import sys
import time
from collections import deque
from pathlib import Path

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import Empty, String

from delivery_robot_msgs.action import Deliver
from delivery_robot_msgs.msg import DeliveryStatus, NavigationStatus
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.common.ros_params import declare_parameters
from delivery_robot_nav.common.ros_runtime import run_node
from delivery_robot_nav.mission.config import MISSION_PARAMS, NODE_NAME, load_mission_params
from delivery_robot_nav.mission.sequencer import (
    HANDOVER, NAV_ACTIVE, NAV_CANCELED, NAV_FAILED, NAV_REJECTED, NAV_SUCCEEDED, MissionError,
    MissionSequencer, NavReport)
from delivery_robot_nav.mission.store import (CANCELED, FAILED, SUCCEEDED, DeliveryStore,
                                              StoreError)
from delivery_robot_nav.planning.route_graph import RouteGraph

_NAV_STATES = {NavigationStatus.STATE_ACTIVE: NAV_ACTIVE,
               NavigationStatus.STATE_SUCCEEDED: NAV_SUCCEEDED,
               NavigationStatus.STATE_FAILED: NAV_FAILED,
               NavigationStatus.STATE_CANCELED: NAV_CANCELED,
               NavigationStatus.STATE_REJECTED: NAV_REJECTED}
_FINAL = {SUCCEEDED: DeliveryStatus.STATE_SUCCEEDED, FAILED: DeliveryStatus.STATE_FAILED,
          CANCELED: DeliveryStatus.STATE_CANCELED}


class MissionNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        v = self.values = declare_parameters(self, MISSION_PARAMS, load_mission_params())
        graph_file = v['route_graph_file']
        graph = RouteGraph.from_file(Path(graph_file) if graph_file else
                                     share_path('config', 'campus_route_graph.geojson'))
        self.store = DeliveryStore(Path(v['store_file']).expanduser())
        self.seq = MissionSequencer(graph.stations, v['depot_station'], self.store,
                                    v['handover_time'], v['leg_attempts'], v['ack_timeout'])
        self.nav: NavReport | None = None
        self.goal_ids: set[str] = set()             # ids with an action goal waiting
        self.finished: dict[str, object] = {}      # and how they ended
        self.progress_log: deque = deque(maxlen=100)   # (t, distance left) of this leg
        self.last_key = None
        self.last_status_t = -math.inf
        self.last_error = ''
        self.ticks: list[Future] = []               # what waits for the next tick
        self.pub_goal = self.create_publisher(String, 'path_following/goal_station', 10)
        self.pub_cancel = self.create_publisher(Empty, 'path_following/cancel', 10)
        self.pub_status = self.create_publisher(DeliveryStatus, 'delivery_status', 10)
        self.create_subscription(NavigationStatus, 'path_following/status', self.on_nav, 20)
        self.server = ActionServer(self, Deliver, 'deliver', self.execute,
                                   goal_callback=self.on_goal, cancel_callback=self.on_cancel)
        self.create_timer(1.0 / v['rate_hz'], self.tick)
        resumed = [d.delivery_id for d in self.seq.queue]
        self.get_logger().info(
            f'{len(graph.stations)} stations, depot "{v["depot_station"]}", store '
            f'{self.store.path}' + (f'; resuming {", ".join(resumed)}' if resumed else ''))

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # ------------------------------------------------------------------ inputs
    def on_nav(self, msg: NavigationStatus):
        state = _NAV_STATES.get(msg.state)
        if state is None:            # idle: no goal
            return
        self.nav = NavReport(msg.goal, state, msg.reason, float(msg.distance_remaining),
                             self.now())

    def on_goal(self, request: Deliver.Goal) -> GoalResponse:
        try:
            d = self.seq.accept(request.delivery_id, list(request.stations),
                                request.return_to_depot, self.now())
        except (MissionError, StoreError, sqlite3.Error) as e:
            self.last_error = str(e)
            self.get_logger().warning(f'delivery refused: {e}')
            self._publish_status(force=True)
            return GoalResponse.REJECT
        self.goal_ids.add(d.delivery_id)
        self.get_logger().info(f'delivery "{d.delivery_id}" accepted: {", ".join(d.stations)}'
                               + (' and back' if d.return_to_depot else ''))
        return GoalResponse.ACCEPT

    def on_cancel(self, goal_handle) -> CancelResponse:
        return CancelResponse.ACCEPT

    # ------------------------------------------------------------------ the loop
    def tick(self):
        for o in self.seq.step(self.now(), self.nav):
            self._carry_out(o)
        self._collect_finished()
        self._publish_status()
        waiting, self.ticks = self.ticks, []
        for f in waiting:
            f.set_result(None)

    def _collect_finished(self):
        for d in self.seq.take_finished():
            self.get_logger().info(f'delivery "{d.delivery_id}" {d.state}: {d.message}')
            msg = DeliveryStatus(delivery_id=d.delivery_id, state=_FINAL[d.state],
                                 completed_stations=list(d.completed),
                                 distance_remaining=math.nan, message=d.message)
            msg.header.stamp = self.get_clock().now().to_msg()
            self.pub_status.publish(msg)
            if d.delivery_id in self.goal_ids:
                self.goal_ids.discard(d.delivery_id)
                self.finished[d.delivery_id] = d

    def _carry_out(self, order):
        if order.kind == 'navigate':
            self.pub_goal.publish(String(data=order.station))
        elif order.kind == 'cancel':
            self.pub_cancel.publish(Empty())

    async def execute(self, goal_handle):
        """A coroutine the executor resumes after each tick, until the delivery ends (the
        node spins in one thread: a MultiThreadedExecutor costs rclpy 9 most of a core on
        a 100 Hz /clock, rclpy#1452, and a thread sleeping in a loop per goal is not
        needed when the tick says when something may have changed)."""
        delivery_id = goal_handle.request.delivery_id
        last_feedback = None
        while True:
            done = self.finished.pop(delivery_id, None)
            if done is None and goal_handle.is_cancel_requested:
                try:
                    for o in self.seq.cancel(delivery_id, 'canceled by the client'):
                        self._carry_out(o)
                except MissionError:
                    pass                           # finished meanwhile
                self._collect_finished()
                done = self.finished.pop(delivery_id, None)
            if done is not None:
                break
            feedback = self._feedback(delivery_id)
            if feedback is not None:
                key = (feedback.current_station, feedback.stations_completed,
                       round(feedback.distance_remaining, 0))
                if key != last_feedback:
                    goal_handle.publish_feedback(feedback)
                    last_feedback = key
            tick = Future()
            self.ticks.append(tick)
            await tick
        result = Deliver.Result(success=done.state == SUCCEEDED,
                                completed_stations=list(done.completed),
                                failed_stations=list(done.failed), message=done.message)
        if done.state == SUCCEEDED:
            goal_handle.succeed()
        elif done.state == CANCELED:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result

    def _feedback(self, delivery_id: str):
        p = self.seq.progress()
        if p.delivery is None or p.delivery.delivery_id != delivery_id:
            return None                                 # still queued
        d = p.delivery
        fb = Deliver.Feedback(current_station=p.station or '',
                              stations_completed=len(d.completed),
                              stations_total=len(d.stations))
        fb.distance_remaining = float(p.remaining)
        fb.eta = self._eta(p)
        return fb

    def _eta(self, p) -> float:
        """Seconds to the current station at the speed made good over the last 10 s of
        this leg (NaN: not known yet, or handing over: 0)."""
        if p.phase == HANDOVER:
            return 0.0
        t = self.now()
        log = self.progress_log
        if log and (log[-1][2] != p.station or not math.isfinite(p.remaining)):
            log.clear()
        if math.isfinite(p.remaining):
            log.append((t, p.remaining, p.station))
        past = [e for e in log if t - e[0] <= 10.0]
        if len(past) < 2 or past[-1][0] - past[0][0] < 2.0:
            return math.nan
        speed = (past[0][1] - past[-1][1]) / (past[-1][0] - past[0][0])
        return p.remaining / speed if speed > 0.05 else math.nan

    # ------------------------------------------------------------------ status
    def _publish_status(self, force: bool = False):
        p = self.seq.progress()
        msg = DeliveryStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        if p.delivery is None:
            msg.state = DeliveryStatus.STATE_IDLE
            msg.message = self.last_error
        else:
            d = p.delivery
            msg.delivery_id = d.delivery_id
            msg.current_station = p.station
            legs = d.legs()
            msg.remaining_stations = legs[d.leg:] if p.phase != HANDOVER else legs[d.leg + 1:]
            msg.completed_stations = list(d.completed)
            msg.distance_remaining = float(p.remaining)
            msg.message = p.message
            msg.state = (DeliveryStatus.STATE_AT_STATION if p.phase == HANDOVER else
                         DeliveryStatus.STATE_RETURNING if p.returning else
                         DeliveryStatus.STATE_NAVIGATING)
        key = (msg.delivery_id, msg.state, msg.current_station, msg.message)
        t = time.monotonic()
        if force or key != self.last_key or t - self.last_status_t >= self.values['status_period']:
            self.pub_status.publish(msg)
            self.last_key, self.last_status_t = key, t

    def destroy_node(self):
        self.store.close()
        super().destroy_node()


def main(args=None):
    return run_node(MissionNode, NODE_NAME, args)


if __name__ == '__main__':
    sys.exit(main())
