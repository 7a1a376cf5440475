"""`delivery-nav deliver`: send a delivery to a running mission node (the Deliver action)
and show its progress until it ends (or only until it is accepted, with --no-wait)."""
from __future__ import annotations

import math
import time
import uuid

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.node import Node

from delivery_robot_msgs.action import Deliver


def deliver(stations: list[str], delivery_id: str | None = None, return_to_depot: bool = True,
            wait: bool = True, server_timeout: float = 10.0, out=print) -> int:
    """Exit code: 0 delivered (or accepted, without wait), 1 failed or canceled, 2 refused
    or no mission node."""
    delivery_id = delivery_id or f'cli-{uuid.uuid4().hex[:8]}'
    rclpy.init()
    node = Node('deliver_cli')
    try:
        client = ActionClient(node, Deliver, 'deliver')
        if not client.wait_for_server(timeout_sec=server_timeout):
            out(f'no mission node answers on the "deliver" action (waited {server_timeout:.0f} s)')
            return 2
        last = [None]

        def feedback(msg):
            f = msg.feedback
            key = (f.current_station, f.stations_completed)
            if key != last[0]:
                left = (f' {f.distance_remaining:.0f} m left' if math.isfinite(f.distance_remaining)
                        else '')
                out(f'  {f.stations_completed}/{f.stations_total} delivered; now: '
                    f'{f.current_station or "-"}{left}')
                last[0] = key

        goal = Deliver.Goal(delivery_id=delivery_id, stations=stations,
                            return_to_depot=return_to_depot)
        future = client.send_goal_async(goal, feedback_callback=feedback)
        rclpy.spin_until_future_complete(node, future, timeout_sec=server_timeout)
        handle = future.result()
        if handle is None or not handle.accepted:
            out(f'delivery "{delivery_id}" refused (the mission node\'s log and delivery_status '
                'say why)')
            return 2
        out(f'delivery "{delivery_id}" accepted: {", ".join(stations)}'
            + (' and back to the depot' if return_to_depot else ''))
        if not wait:
            return 0
        result = handle.get_result_async()
        try:
            while not result.done():
                rclpy.spin_once(node, timeout_sec=0.2)
        except KeyboardInterrupt:
            out('canceling ...')
            cancel = handle.cancel_goal_async()
            deadline = time.monotonic() + 10.0
            while not result.done() and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.2)
            if not result.done():
                return 1
        r = result.result()
        names = {GoalStatus.STATUS_SUCCEEDED: 'succeeded', GoalStatus.STATUS_CANCELED: 'canceled',
                 GoalStatus.STATUS_ABORTED: 'failed'}
        out(f'delivery "{delivery_id}" {names.get(r.status, r.status)}: {r.result.message}')
        return 0 if r.result.success else 1
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
