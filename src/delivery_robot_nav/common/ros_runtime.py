"""Process entry for the package's nodes: init, spin, and a clean stop on SIGINT/SIGTERM."""
from __future__ import annotations

import signal
import sys
from typing import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import (ExternalShutdownException, MultiThreadedExecutor,
                             SingleThreadedExecutor)
from rclpy.signals import SignalHandlerOptions

from delivery_robot_nav.common.params import ParamError

SPIN_PERIOD = 0.1       # s: the longest a stop request waits for the executor


def run_node(make_node: Callable[[], 'rclpy.node.Node'], name: str, args=None,
             multithreaded: bool = False) -> int:
    """Create the node and spin it until SIGINT/SIGTERM; return a process exit code.
    multithreaded: spin in a MultiThreadedExecutor (a node whose callbacks block).

    rclpy's own signal handlers shut the context down under a running callback (which then
    fails to publish), and an exception raised from a signal handler lands wherever the
    main thread is, inside a callback or rclpy's own bookkeeping (the mission node once
    exited 1 so, mid-way through its action server). Here a signal only asks the spin to
    end: the executor finishes the callback it is in and the loop stops between two.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = []
    signal.signal(signal.SIGINT, lambda signum, frame: stop.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    node = executor = None
    try:
        node = make_node()
        executor = MultiThreadedExecutor() if multithreaded else SingleThreadedExecutor()
        executor.add_node(node)
        while not stop and rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_PERIOD)
    except (ParamError, ParameterException, ValueError, FileNotFoundError) as exc:
        print(f'{name}: {exc}', file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
