"""Accepted deliveries on disk: a small sqlite database, so that none is lost when the
mission node (or the robot's computer) restarts.

One row per delivery, rewritten in a transaction on every change of its state (sqlite's
journal makes each write all-or-nothing: a crash mid-write leaves the previous state).
The store knows nothing about ROS or routes; `MissionSequencer` decides what the states
mean.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

QUEUED, ACTIVE, SUCCEEDED, FAILED, CANCELED = 'queued', 'active', 'succeeded', 'failed', 'canceled'
FINISHED = (SUCCEEDED, FAILED, CANCELED)


@dataclass
class Delivery:
    """One delivery request and how far it got. `leg` indexes `legs()`: the stations in
    order, then the depot when `return_to_depot`."""
    delivery_id: str
    stations: list[str]
    return_to_depot: bool = True
    depot: str = ''
    state: str = QUEUED
    leg: int = 0
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    message: str = ''
    accepted_at: float = 0.0

    def legs(self) -> list[str]:
        return list(self.stations) + ([self.depot] if self.return_to_depot else [])

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class StoreError(RuntimeError):
    pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    stations TEXT NOT NULL,
    return_to_depot INTEGER NOT NULL,
    depot TEXT NOT NULL,
    state TEXT NOT NULL,
    leg INTEGER NOT NULL,
    completed TEXT NOT NULL,
    failed TEXT NOT NULL,
    message TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    updated_at REAL NOT NULL
)"""
_COLUMNS = ('delivery_id', 'stations', 'return_to_depot', 'depot', 'state', 'leg', 'completed',
            'failed', 'message', 'accepted_at')


class DeliveryStore:
    """Deliveries in the sqlite file `path` (created with its folder if missing;
    ':memory:' for none). One connection, usable from any thread; callers serialize their
    calls (the mission node holds its lock)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ':memory:':
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute('PRAGMA synchronous = FULL')
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise StoreError(f'{self.path}: not a delivery store ({e})') from None
        except sqlite3.Error as e:
            raise StoreError(f'{self.path}: cannot open ({e})') from None

    def close(self):
        self._db.close()

    def add(self, d: Delivery):
        """Store a new delivery; an id already stored (finished or not) is refused."""
        try:
            with self._db:
                self._db.execute(
                    f'INSERT INTO deliveries ({", ".join(_COLUMNS)}, updated_at) '
                    f'VALUES ({", ".join("?" * (len(_COLUMNS) + 1))})',
                    self._row(d) + (time.time(),))
        except sqlite3.IntegrityError:
            raise StoreError(f'delivery id "{d.delivery_id}" is already taken') from None

    def update(self, d: Delivery):
        with self._db:
            cur = self._db.execute(
                f'UPDATE deliveries SET {", ".join(c + " = ?" for c in _COLUMNS[1:])}, '
                'updated_at = ? WHERE delivery_id = ?',
                self._row(d)[1:] + (time.time(), d.delivery_id))
        if cur.rowcount != 1:
            raise StoreError(f'delivery "{d.delivery_id}" is not in the store')

    def get(self, delivery_id: str) -> Delivery | None:
        rows = self._select('WHERE delivery_id = ?', (delivery_id,))
        return rows[0] if rows else None

    def unfinished(self) -> list[Delivery]:
        """Queued and active deliveries in the order they were accepted."""
        return self._select('WHERE state NOT IN (?, ?, ?) ORDER BY seq', FINISHED)

    def all(self) -> list[Delivery]:
        return self._select('ORDER BY seq', ())

    # ------------------------------------------------------------------ rows
    @staticmethod
    def _row(d: Delivery) -> tuple:
        return (d.delivery_id, json.dumps(d.stations), int(d.return_to_depot), d.depot,
                d.state, d.leg, json.dumps(d.completed), json.dumps(d.failed), d.message,
                d.accepted_at)

    def _select(self, where: str, args: tuple) -> list[Delivery]:
        rows = self._db.execute(f'SELECT {", ".join(_COLUMNS)} FROM deliveries {where}',
                                args).fetchall()
        return [Delivery(r[0], json.loads(r[1]), bool(r[2]), r[3], r[4], int(r[5]),
                         json.loads(r[6]), json.loads(r[7]), r[8], float(r[9]))
                for r in rows]
