"""Process entry for the package's nodes: init, spin, and a clean stop on SIGINT/SIGTERM."""
from __future__ import annotations

import signal
import sys
from typing import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.signals import SignalHandlerOptions

from delivery_robot_nav.common.params import ParamError


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_node(make_node: Callable[[], 'rclpy.node.Node'], name: str, args=None,
             multithreaded: bool = False) -> int:
    """Create the node and spin it until SIGINT/SIGTERM; return a process exit code.
    multithreaded: spin in a MultiThreadedExecutor (a node whose callbacks wait, such as an
    action server's execute callback).

    rclpy's own signal handlers shut the context down under a running callback (which then
    fails to publish); here a signal instead ends the spin between callbacks.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    node = None
    try:
        node = make_node()
        rclpy.spin(node, MultiThreadedExecutor() if multithreaded else None)
    except (ParamError, ParameterException, ValueError, FileNotFoundError) as exc:
        print(f'{name}: {exc}', file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
