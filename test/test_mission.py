"""Delivery missions without ROS: the sequencer's legs, hand-overs, failures, cancel, and
the store that carries them over a restart."""
import math

import pytest

from delivery_robot_nav.mission.sequencer import (
    NAV_ACTIVE, NAV_FAILED, NAV_REJECTED, NAV_SUCCEEDED, MissionError, MissionSequencer,
    NavReport)
from delivery_robot_nav.mission.store import (ACTIVE, CANCELED, FAILED, QUEUED, SUCCEEDED,
                                              Delivery, DeliveryStore, StoreError)

STATIONS = ('depot', 'library', 'physics', 'arts')


class FakeNavigation:
    """Path following as the sequencer sees it: takes goals, reports on them later."""

    def __init__(self, outcomes=None):
        self.goal, self.state, self.since = None, None, 0.0
        self.outcomes = dict(outcomes or {})       # station -> list of states to report
        self.sent = []

    def carry_out(self, orders, now):
        for o in orders:
            if o.kind == 'navigate':
                self.goal, self.state, self.since = o.station, NAV_ACTIVE, now
                self.sent.append(o.station)
            elif o.kind == 'cancel':
                self.state = 'canceled'

    def report(self, now) -> NavReport | None:
        if self.goal is None:
            return None
        if self.state == NAV_ACTIVE and now - self.since >= 10.0:      # 10 s a leg
            queue = self.outcomes.get(self.goal)
            self.state = queue.pop(0) if queue else NAV_SUCCEEDED
        return NavReport(self.goal, self.state, 'no way through' if self.state == NAV_FAILED
                         else '', 5.0 if self.state == NAV_ACTIVE else 0.0, now)


def run(seq, nav, until, t0=0.0, dt=0.5):
    t = t0
    while t < until:
        t += dt
        nav.carry_out(seq.step(t, nav.report(t)), t)
    return t


@pytest.fixture
def store(tmp_path):
    s = DeliveryStore(tmp_path / 'missions' / 'deliveries.sqlite')
    yield s
    s.close()


def test_visits_the_stations_in_order_hands_over_and_returns(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=20.0)
    seq.accept('d1', ['physics', 'library'], True, now=0.0)
    nav = FakeNavigation()
    t = run(seq, nav, 25.0)
    p = seq.progress()
    assert (p.phase, p.station) == ('handover', 'physics')       # arrived at 10 s
    t = run(seq, nav, 200.0, t)
    assert nav.sent == ['physics', 'library', 'depot']
    [d] = seq.take_finished()
    assert d.state == SUCCEEDED and d.completed == ['physics', 'library'] and not d.failed
    assert store.get('d1').state == SUCCEEDED
    assert seq.take_finished() == [] and seq.progress().delivery is None


def test_the_hand_over_takes_its_time_before_the_next_leg(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=30.0)
    seq.accept('d1', ['arts', 'physics'], False)
    nav = FakeNavigation()
    run(seq, nav, 39.0)                           # at arts from 10.5 s; leaves at 40.5 s
    assert nav.sent == ['arts']
    run(seq, nav, 41.0, 39.0)
    assert nav.sent == ['arts', 'physics']


def test_a_failed_leg_is_tried_again_then_skipped_and_the_rest_delivered(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=0.0, leg_attempts=2)
    seq.accept('d1', ['library', 'arts'], True)
    nav = FakeNavigation({'library': [NAV_FAILED, NAV_FAILED]})
    run(seq, nav, 200.0)
    assert nav.sent == ['library', 'library', 'arts', 'depot']
    [d] = seq.take_finished()
    assert d.state == FAILED
    assert d.completed == ['arts'] and d.failed == ['library']
    assert 'delivered to 1 of 2 stations (failed: library)' in d.message


def test_a_rejected_goal_is_not_tried_again(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=0.0, leg_attempts=3)
    seq.accept('d1', ['library'], False)
    nav = FakeNavigation({'library': [NAV_REJECTED]})
    run(seq, nav, 100.0)
    assert nav.sent == ['library']
    assert seq.take_finished()[0].failed == ['library']


def test_no_way_back_to_the_depot_fails_the_delivery(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=0.0, leg_attempts=1)
    seq.accept('d1', ['library'], True)
    run(seq, FakeNavigation({'depot': [NAV_FAILED]}), 100.0)
    [d] = seq.take_finished()
    assert d.state == FAILED and d.completed == ['library']
    assert 'could not return to the depot' in d.message


def test_deliveries_run_one_after_another(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=0.0)
    seq.accept('d1', ['library'], True)
    seq.accept('d2', ['arts'], False)
    nav = FakeNavigation()
    run(seq, nav, 100.0)
    assert nav.sent == ['library', 'depot', 'arts']
    assert [d.delivery_id for d in seq.take_finished()] == ['d1', 'd2']


def test_bad_requests_are_refused_with_the_reason(store):
    seq = MissionSequencer(STATIONS, 'depot', store)
    with pytest.raises(MissionError, match="unknown station.*'gym'.*known: arts, depot"):
        seq.accept('d1', ['library', 'gym'])
    with pytest.raises(MissionError, match='no stations'):
        seq.accept('d1', [])
    with pytest.raises(MissionError, match='must not be empty'):
        seq.accept(' ', ['library'])
    seq.accept('d1', ['library'])
    with pytest.raises(MissionError, match='"d1" is already taken'):
        seq.accept('d1', ['arts'])
    assert [d.delivery_id for d in store.all()] == ['d1']       # nothing half-stored
    with pytest.raises(MissionError, match='depot "dock" is not a station'):
        MissionSequencer(STATIONS, 'dock', store)


def test_cancel_stops_the_running_leg_or_drops_a_queued_delivery(store):
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=0.0)
    seq.accept('d1', ['library'], True)
    seq.accept('d2', ['arts'], True)
    nav = FakeNavigation()
    run(seq, nav, 3.0)
    assert seq.cancel('d2') == []                                # queued: nothing to stop
    orders = seq.cancel('d1', 'the customer called it off')
    assert [o.kind for o in orders] == ['cancel']
    assert [(d.delivery_id, d.state) for d in seq.take_finished()] == \
        [('d2', CANCELED), ('d1', CANCELED)]
    assert store.get('d1').message == 'the customer called it off'
    assert seq.step(10.0, nav.report(10.0)) == [] and seq.progress().delivery is None
    with pytest.raises(MissionError, match='no queued or running delivery "d1"'):
        seq.cancel('d1')


def test_a_restarted_sequencer_resumes_at_the_leg_it_was_on(tmp_path):
    path = tmp_path / 'deliveries.sqlite'
    store = DeliveryStore(path)
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=5.0)
    seq.accept('d1', ['library', 'physics', 'arts'], True)
    seq.accept('d2', ['arts'], False)
    nav = FakeNavigation()
    run(seq, nav, 20.0)                       # library done (10 s + 5 s), driving to physics
    assert seq.progress().station == 'physics'
    store.close()                             # the node dies here

    store = DeliveryStore(path)
    assert [(d.delivery_id, d.state, d.leg) for d in store.unfinished()] == \
        [('d1', ACTIVE, 1), ('d2', QUEUED, 0)]
    seq = MissionSequencer(STATIONS, 'depot', store, handover_time=5.0)
    nav = FakeNavigation()
    run(seq, nav, 300.0)
    assert nav.sent == ['physics', 'arts', 'depot', 'arts']
    done = seq.take_finished()
    assert [(d.delivery_id, d.state) for d in done] == [('d1', SUCCEEDED), ('d2', SUCCEEDED)]
    assert done[0].completed == ['library', 'physics', 'arts']
    store.close()


def test_a_goal_path_following_never_takes_is_sent_again(store):
    seq = MissionSequencer(STATIONS, 'depot', store, ack_timeout=5.0)
    seq.accept('d1', ['library'])
    assert [(o.kind, o.station) for o in seq.step(0.0, None)] == [('navigate', 'library')]
    assert seq.step(4.0, None) == []
    # a report about an older goal does not count as taking this one
    old = NavReport('arts', NAV_SUCCEEDED, stamp=4.5)
    assert [(o.kind, o.station) for o in seq.step(5.0, old)] == [('navigate', 'library')]
    assert 'did not take the goal "library"' in seq.progress().message


def test_progress_reports_the_leg_and_the_distance_left(store):
    seq = MissionSequencer(STATIONS, 'depot', store)
    seq.accept('d1', ['library'], True)
    seq.step(0.0, None)
    seq.step(1.0, NavReport('library', NAV_ACTIVE, remaining=42.0, stamp=1.0))
    p = seq.progress()
    assert (p.delivery.delivery_id, p.phase, p.station, p.remaining, p.returning) == \
        ('d1', 'driving', 'library', 42.0, False)
    assert math.isnan(MissionSequencer(STATIONS, 'depot', DeliveryStore(':memory:'))
                      .progress().remaining)


def test_the_store_refuses_a_file_that_is_not_one(tmp_path):
    bad = tmp_path / 'notes.sqlite'
    bad.write_text('these are not deliveries\n' * 100)
    with pytest.raises(StoreError, match='notes.sqlite: not a delivery store'):
        DeliveryStore(bad)


def test_the_store_keeps_every_field(store):
    d = Delivery('x', ['a', 'b'], False, 'depot', ACTIVE, 1, ['a'], [], 'on the way', 12.5)
    store.add(d)
    assert store.get('x') == d
    d.failed.append('b')
    d.state = FAILED
    store.update(d)
    assert store.get('x') == d and store.unfinished() == []
    with pytest.raises(StoreError, match='"y" is not in the store'):
        store.update(Delivery('y', ['a']))
