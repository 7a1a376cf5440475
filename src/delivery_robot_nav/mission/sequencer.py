"""Delivery missions: the order of legs, the hand-over at each station, what a failed leg
means, and resuming after a restart. No ROS: the mission node feeds it path following's
status and carries out what it returns; batch evaluation does the same in lockstep.

A delivery visits its stations in order, waits `handover_time` at each (the parcel is
taken out), then drives back to the depot if asked. Deliveries run one after another in
the order they were accepted; a new one waits for those before it. A leg that path
following gives up on is tried again (`leg_attempts` in all); after that the station
counts as failed and the delivery goes on to the next one (the parcels for the others are
still on board); a failed way back to the depot fails the delivery. A delivery succeeds
when every station got its parcel and the robot is back (if asked).

Every change is written to the `DeliveryStore` before it is acted on, so a restarted
sequencer picks up at the leg it was on (driving there again: a robot already at the
station arrives at once, and the hand-over starts again).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from delivery_robot_nav.mission.store import (ACTIVE, CANCELED, FAILED, SUCCEEDED,
                                              Delivery, DeliveryStore, StoreError)

# path following's states, as its status reports them
NAV_ACTIVE, NAV_SUCCEEDED, NAV_FAILED = 'active', 'succeeded', 'failed'
NAV_CANCELED, NAV_REJECTED = 'canceled', 'rejected'

# what the sequencer is doing for the delivery at the head of the queue
DRIVING, HANDOVER = 'driving', 'handover'


class MissionError(ValueError):
    """A delivery request that cannot be accepted; the message says why."""


@dataclass
class NavReport:
    """path following's latest status: its goal (a station name), state (NAV_*), why, the
    distance left (m, NaN unknown) and when it was sent (s, the sequencer's clock)."""
    goal: str
    state: str
    reason: str = ''
    remaining: float = math.nan
    stamp: float = 0.0


@dataclass
class Order:
    """What the node must do now: send path following to `station`, or cancel its goal."""
    kind: str                  # 'navigate' | 'cancel'
    station: str = ''


@dataclass
class Progress:
    """The head delivery's state for status and action feedback."""
    delivery: Delivery | None
    phase: str = ''            # DRIVING / HANDOVER / '' (idle)
    station: str = ''          # where it is going or handing over
    remaining: float = math.nan
    message: str = ''
    returning: bool = False


@dataclass
class _Leg:
    station: str
    phase: str = DRIVING
    sent_at: float | None = None   # when the navigate order went out (None: not yet)
    attempts: int = 0
    until: float = 0.0             # end of the hand-over
    remaining: float = math.nan
    events: list = field(default_factory=list)


class MissionSequencer:
    def __init__(self, stations, depot: str, store: DeliveryStore, handover_time: float = 30.0,
                 leg_attempts: int = 2, ack_timeout: float = 5.0):
        """stations: the names path following knows (the route graph's); depot: the one
        deliveries start from and return to."""
        self.stations = set(stations)
        if depot not in self.stations:
            raise MissionError(f'depot "{depot}" is not a station of the route graph (known: '
                               f'{", ".join(sorted(self.stations))})')
        if handover_time < 0 or leg_attempts < 1 or ack_timeout <= 0:
            raise MissionError('handover_time >= 0, leg_attempts >= 1 and ack_timeout > 0 '
                               f'expected, got {handover_time}, {leg_attempts}, {ack_timeout}')
        self.depot, self.store = depot, store
        self.handover_time, self.leg_attempts, self.ack_timeout = \
            handover_time, leg_attempts, ack_timeout
        self.queue: list[Delivery] = store.unfinished()
        self._leg: _Leg | None = None
        self._finished: list[Delivery] = []

    # ------------------------------------------------------------------ requests
    def accept(self, delivery_id: str, stations, return_to_depot: bool = True,
               now: float = 0.0) -> Delivery:
        """Check and store a delivery request; it runs after those already queued."""
        stations = [str(s) for s in stations]
        if not delivery_id or not delivery_id.strip():
            raise MissionError('delivery_id must not be empty')
        if not stations:
            raise MissionError(f'delivery "{delivery_id}": no stations to deliver to')
        unknown = [s for s in stations if s not in self.stations]
        if unknown:
            raise MissionError(f'delivery "{delivery_id}": unknown station(s) '
                               f'{", ".join(repr(s) for s in unknown)} (known: '
                               f'{", ".join(sorted(self.stations))})')
        d = Delivery(delivery_id, stations, bool(return_to_depot), self.depot,
                     accepted_at=float(now))
        try:
            self.store.add(d)
        except StoreError as e:
            raise MissionError(str(e)) from None
        self.queue.append(d)
        return d

    def cancel(self, delivery_id: str, reason: str = 'canceled') -> list[Order]:
        """Cancel a queued or running delivery; orders for path following (a running leg
        is stopped). Unknown or finished ids: MissionError."""
        for i, d in enumerate(self.queue):
            if d.delivery_id == delivery_id:
                orders = []
                if i == 0 and self._leg is not None:
                    orders.append(Order('cancel'))
                    self._leg = None
                self._finish(d, CANCELED, reason)
                return orders
        raise MissionError(f'no queued or running delivery "{delivery_id}"')

    # ------------------------------------------------------------------ one step
    def step(self, now: float, nav: NavReport | None = None) -> list[Order]:
        """Advance with path following's latest status; returns the orders to carry out."""
        orders: list[Order] = []
        for _ in range(len(self.queue) * 4 + 4):       # a few transitions per call at most
            if not self.queue:
                break
            d = self.queue[0]
            leg = self._leg
            if leg is None:
                legs = d.legs()
                if d.leg >= len(legs):
                    self._finish(d, FAILED if d.failed else SUCCEEDED, self._summary(d))
                    continue
                if d.state != ACTIVE:
                    d.state = ACTIVE
                    self.store.update(d)
                self._leg = leg = _Leg(legs[d.leg])
            if leg.phase == HANDOVER:
                if now < leg.until:
                    break
                d.completed.append(leg.station)
                self._next_leg(d)
                continue
            # driving
            if leg.sent_at is None or (self._stale(nav, leg) and
                                       now - leg.sent_at >= self.ack_timeout):
                if leg.sent_at is not None:
                    d.message = f'path following did not take the goal "{leg.station}"; sent again'
                leg.sent_at = now
                orders.append(Order('navigate', leg.station))
                break
            if self._stale(nav, leg):
                break
            leg.remaining = nav.remaining
            if nav.state == NAV_ACTIVE:
                break
            if nav.state == NAV_SUCCEEDED:
                if d.leg < len(d.stations):
                    leg.phase, leg.until = HANDOVER, now + self.handover_time
                    d.message = f'at {leg.station}: hand-over'
                    continue
                self._next_leg(d)                  # back at the depot
                continue
            # failed, rejected, or canceled by someone else
            leg.attempts += 1
            why = f'{leg.station}: {nav.state} ({nav.reason})' if nav.reason else \
                f'{leg.station}: {nav.state}'
            if leg.attempts < self.leg_attempts and nav.state != NAV_REJECTED:
                d.message = f'{why}; trying again'
                leg.sent_at = now
                orders.append(Order('navigate', leg.station))
                break
            if d.leg >= len(d.stations):           # the way back
                self._leg = None
                self._finish(d, FAILED, f'{self._summary(d)}; could not return to the depot '
                             f'({why})')
                continue
            d.failed.append(leg.station)
            d.message = why
            self._next_leg(d)
        return orders

    def take_finished(self) -> list[Delivery]:
        """The deliveries finished (succeeded, failed, canceled) since the last call."""
        done, self._finished = self._finished, []
        return done

    def progress(self) -> Progress:
        if not self.queue:
            return Progress(None)
        d, leg = self.queue[0], self._leg
        if leg is None:
            return Progress(d, message=d.message)
        return Progress(d, leg.phase, leg.station, leg.remaining, d.message,
                        returning=d.leg >= len(d.stations))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _stale(nav: NavReport | None, leg: _Leg) -> bool:
        """The report is not about this leg's goal since it was sent (one stamped at the
        same instant predates it)."""
        return nav is None or nav.goal != leg.station or nav.stamp <= leg.sent_at

    def _next_leg(self, d: Delivery):
        d.leg += 1
        self._leg = None
        self.store.update(d)

    def _finish(self, d: Delivery, state: str, message: str):
        d.state, d.message = state, message
        self.store.update(d)
        self.queue.remove(d)
        self._finished.append(d)

    @staticmethod
    def _summary(d: Delivery) -> str:
        n = len(d.stations)
        done = sum(1 for s in d.completed if s in d.stations)
        text = f'delivered to {done} of {n} station{"s" if n != 1 else ""}'
        if d.failed:
            text += f' (failed: {", ".join(d.failed)})'
        return text
