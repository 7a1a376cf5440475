"""Helpers for the node tests (real rclpy, real DDS)."""
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

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


@contextmanager
def node_process(module: str, *ros_args: str, stop=signal.SIGTERM, timeout: float = 20.0):
    """One of the package's nodes (`python -m module --ros-args ...`) in its own process,
    its stdout and stderr kept. On leaving, it is stopped with `stop` (unless it has exited
    already) and must have exited 0 within `timeout` s, or been killed with SIGKILL (what a
    test does to it; a node's own failure never ends so): its output is the assertion's
    message and, after, `proc.stdout_text`. When the body raises, the node is killed and its
    output printed (a pytest fixture's teardown is not told the test failed: it stops the
    node and checks the exit as usual)."""
    cmd = [sys.executable, '-m', module] + (['--ros-args', *ros_args] if ros_args else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        print(f'{module}:\n{proc.communicate()[0]}', file=sys.stderr)
        raise
    if proc.poll() is None:
        proc.send_signal(stop)
    proc.stdout_text, _ = proc.communicate(timeout=timeout)
    assert proc.returncode in (0, -signal.SIGKILL), \
        f'{module} exited {proc.returncode}:\n{proc.stdout_text}'


@contextmanager
def ros_node(make_node):
    """rclpy initialised in the test process and the test's own node (make_node()); both
    gone on leaving."""
    rclpy.init()
    node = make_node()
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.shutdown()
