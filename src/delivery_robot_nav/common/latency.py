"""Sensor-to-command latency: from a sensor message's publication to the first command
computed with it (or with something derived from it), in wall-clock time.

A node that sends commands notes when each sensor message it receives was published (the
DDS source timestamp, the publisher's system clock: one clock on one machine) under the
message's stamp. Derived messages (tracked obstacles from a scan) carry the sensor's stamp,
so one table serves every chain: when a command goes out, each chain's newest input that
no command has used yet is credited with (now - publication).
"""
from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np


def stamp_key(sec: int, nanosec: int) -> int:
    """A stamp as an integer key at 0.1 ms (survives a float round trip of the stamp)."""
    return round((sec * 1_000_000_000 + nanosec) / 100_000)


class ChainLatency:
    def __init__(self, chains: tuple[str, ...], keep: int = 64, samples: int = 20_000):
        self._published: OrderedDict[int, int] = OrderedDict()   # stamp key -> wall ns
        self._keep = keep
        self._pending: dict[str, int | None] = {c: None for c in chains}
        self.samples: dict[str, deque] = {c: deque(maxlen=samples) for c in chains}

    def published(self, key: int, wall_ns: int) -> None:
        """A sensor message with stamp `key` was published at `wall_ns`."""
        self._published[key] = wall_ns
        while len(self._published) > self._keep:
            self._published.popitem(last=False)

    def arrived(self, chain: str, key: int) -> None:
        """The chain's input with stamp `key` (the sensor's) is now what commands use."""
        self._pending[chain] = key

    def command_sent(self, wall_ns: int) -> None:
        """A command went out at `wall_ns`: credit every chain's unused input."""
        for chain, key in self._pending.items():
            if key is None:
                continue
            self._pending[chain] = None
            pub = self._published.get(key)
            if pub is not None:
                self.samples[chain].append((wall_ns - pub) * 1e-6)

    def summary(self, chain: str) -> dict:
        """{'samples', 'p50_ms', 'p95_ms', 'max_ms'} over the kept samples of a chain."""
        return latency_summary(self.samples[chain])


def latency_summary(samples_ms) -> dict:
    """{'samples', 'p50_ms', 'p95_ms', 'max_ms'} of latency samples in ms."""
    ms = np.asarray(samples_ms, dtype=float)
    if not len(ms):
        return {'samples': 0}
    return {'samples': int(len(ms)), 'p50_ms': round(float(np.percentile(ms, 50)), 2),
            'p95_ms': round(float(np.percentile(ms, 95)), 2),
            'max_ms': round(float(ms.max()), 2)}
