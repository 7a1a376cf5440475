"""rosbag2 (MCAP storage) recording without rosbag2: the `rosbags` library writes the bag
from serialized CDR messages as they come off DDS, so nothing is deserialized to be stored.

Message definitions: ROS 2 Kilted's standard types from rosbags' type store, the
project's own (delivery_robot_msgs) from their installed .msg files, so the bag carries
every schema Foxglove and `ros2 bag` need.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from rosbags.rosbag2 import CompressionFormat, CompressionMode, Reader, StoragePlugin, Writer
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

SENSOR, RELIABLE, LATCHED = 'sensor', 'reliable', 'latched'


def offered_qos(kind: str) -> Qos:
    """The QoS a topic's publisher offers (stored in the bag: `ros2 bag play` republishes
    latched topics latched, sensor data best effort)."""
    zero = QosTime(0, 0)
    return Qos(QosHistory.KEEP_LAST, 1 if kind == LATCHED else 10,
               QosReliability.BEST_EFFORT if kind == SENSOR else QosReliability.RELIABLE,
               QosDurability.TRANSIENT_LOCAL if kind == LATCHED else QosDurability.VOLATILE,
               zero, zero, QosLiveliness.AUTOMATIC, zero, False)


class BagError(RuntimeError):
    pass


def interface_msg_dir(package: str = 'delivery_robot_msgs') -> Path:
    """The installed .msg files of an interface package: <prefix>/share/<pkg>/msg beside
    <prefix>/lib/pythonX.Y/site-packages/<pkg> (the layout of colcon and of make setup)."""
    module = importlib.import_module(package)
    prefix = Path(module.__file__).resolve().parents[4]
    msg_dir = prefix / 'share' / package / 'msg'
    if not msg_dir.is_dir():
        raise BagError(f'cannot find the .msg files of {package}: expected {msg_dir}')
    return msg_dir


def typestore_with(packages: tuple[str, ...] = ('delivery_robot_msgs',)):
    """Kilted's standard types plus the message types of `packages`."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for package in packages:
        for f in sorted(interface_msg_dir(package).glob('*.msg')):
            types.update(get_types_from_msg(f.read_text(), f'{package}/msg/{f.stem}'))
    store.register(types)
    return store


class BagWriter:
    """A rosbag2 bag (metadata.yaml + one zstd-chunked .mcap) from serialized messages."""

    def __init__(self, path: str | Path, topics: dict[str, str], qos: dict[str, str] | None = None):
        """topics: name -> type ('sensor_msgs/msg/LaserScan'); qos: name -> SENSOR,
        RELIABLE (the default) or LATCHED. Every topic gets a connection, so a topic nothing
        was published on still shows in the bag."""
        qos = qos or {}
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f'{self.path} exists: rosbag2 writes a new directory')
        self.store = typestore_with()
        unknown = sorted(t for t in topics.values() if t not in self.store.fielddefs)
        if unknown:
            raise BagError(f'no message definition for {", ".join(unknown)}')
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        # zstd-compressed MCAP chunks (ros2 bag's zstd storage presets; Foxglove reads them):
        # costmaps and pedestrian arrays shrink 25-100x, depth images 1.3x
        self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections = {
            name: self._writer.add_connection(
                name, kind, typestore=self.store,
                offered_qos_profiles=[offered_qos(qos.get(name, RELIABLE))])
            for name, kind in topics.items()}
        self.counts = dict.fromkeys(topics, 0)

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self._writer.write(self._connections[topic], stamp_ns, data)
        self.counts[topic] += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def bag_summary(path: str | Path) -> dict[str, dict]:
    """topic -> {'type', 'messages'} of a rosbag2 bag, read back with rosbags."""
    with Reader(path) as reader:
        return {c.topic: {'type': c.msgtype, 'messages': c.msgcount}
                for c in reader.connections}
