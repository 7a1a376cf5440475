"""Helpers for the node tests (real rclpy, real DDS)."""
import time

import rclpy
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters


def set_double_parameter(node, client, name: str, value: float, timeout: float = 10.0):
    """Call a node's set_parameters service (client) from `node`; the SetParametersResult."""
    request = SetParameters.Request(parameters=[Parameter(
        name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                        double_value=float(value)))])
    future = client.call_async(request)
    deadline = time.monotonic() + timeout
    while not future.done() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    assert future.done(), f'set_parameters {name} got no answer in {timeout} s'
    return future.result().results[0]
