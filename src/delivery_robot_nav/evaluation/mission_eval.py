"""Delivery missions in the lockstep simulator (no DDS): the mission sequencer, the
navigator, the obstacle detector and the localizer the nodes run, stepped together.

A mission (seeded): from the depot to `stations` distinct stations drawn at random, a
hand-over wait at each (config/mission.yaml), and back to the depot. Randomized per seed:
the stations and their order, how many people walk each leg's walkways (`pedestrians`,
default 5-12 per leg, keeping to their lanes as in the campus trips; the world's own 24
walk their rounds) and every sensor's noise (the simulator's seed). With `localization`
(default) the localizer's estimate is the pose the detector and the navigator get;
without it, ground truth.

Outcomes: `success` (every station delivered, back at the depot), `failed` (the mission
says why), `collision` (the robot moving into someone or something), `struck_while_stopped`
(a scripted walker, who cannot step aside, walking into the standing robot), `timeout`.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np

from delivery_robot_nav.common.maps import OccupancyMap, load_map
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.evaluation.batch import run_seeds
from delivery_robot_nav.evaluation.localization_eval import localizer_config_for
from delivery_robot_nav.evaluation.navigation_eval import NavigationLoop, trip_crowd
from delivery_robot_nav.localization.estimator import Localizer
from delivery_robot_nav.mission.config import load_mission_params
from delivery_robot_nav.mission.sequencer import (NAV_ACTIVE, NAV_FAILED, NAV_SUCCEEDED,
                                                  MissionSequencer, NavReport)
from delivery_robot_nav.mission.store import SUCCEEDED, DeliveryStore
from delivery_robot_nav.perception.config import detector_config, load_detection_params
from delivery_robot_nav.perception.detector import ObstacleDetector
from delivery_robot_nav.planning.config import load_path_following_params, navigator_config
from delivery_robot_nav.planning.navigator import ACTIVE, FAILED, SUCCEEDED as NAV_DONE, Navigator
from delivery_robot_nav.planning.route_graph import RouteGraph, RouteGraphError
from delivery_robot_nav.sim.core import Simulator

_NAV = {ACTIVE: NAV_ACTIVE, NAV_DONE: NAV_SUCCEEDED, FAILED: NAV_FAILED}


def run_mission(seed: int, stations: int | list[str] = 3, pedestrians: int | None = None,
                localization: bool = True, occ: OccupancyMap | None = None,
                handover_time: float | None = None, observer=None) -> dict:
    """One mission. stations: how many to draw, or the stations themselves (in order).
    wall_s counts everything (drawing the people, building the filters), not only steps.
    observer: called with the loop after every control cycle (see NavigationLoop)."""
    wall0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    graph = RouteGraph.from_file(share_path('config', 'campus_route_graph.geojson'))
    params = load_mission_params()
    depot = params['depot_station']
    handover = params['handover_time'] if handover_time is None else handover_time
    others = sorted(s for s in graph.stations if s != depot)
    chosen = ([str(s) for s in rng.choice(others, stations, replace=False)]
              if isinstance(stations, int) else [graph_station(graph, s) for s in stations])
    legs = [depot, *chosen, depot]
    routes = [graph.plan(graph.station(a), b) for a, b in zip(legs, legs[1:])]
    per_leg = int(rng.integers(5, 13)) if pedestrians is None else pedestrians
    max_time = sum(r.time for r in routes) * 2.5 + len(chosen) * handover + 120.0
    base = Simulator.from_files(overrides={'seed': seed})
    crowd: list = []
    for route in routes:
        crowd += trip_crowd(route.points, per_leg, rng, base.world.actors + crowd, max_time)
    world = dataclasses.replace(base.world, actors=base.world.actors + crowd)
    d = routes[0].points[1] - routes[0].points[0]
    start = (float(routes[0].points[0][0]), float(routes[0].points[0][1]),
             math.atan2(d[1], d[0]))
    sim = Simulator(world, base.robot, base.cfg, seed=seed, start=start)
    if occ is None:
        occ = campus_map()
    det = ObstacleDetector(detector_config(load_detection_params(), sim.robot), occ)
    values = load_path_following_params()
    nav = Navigator(navigator_config(values, sim.robot))
    loc = None
    if localization:
        loc = Localizer(localizer_config_for(sim), occ, np.random.default_rng(seed))
        loc.initialize(0.0, start)            # the operator's initial pose at the depot
    loop = NavigationLoop(sim, det, nav, values['control_rate_hz'], loc, observer)
    seq = MissionSequencer(graph.stations, depot, DeliveryStore(':memory:'), handover,
                           params['leg_attempts'], params['ack_timeout'])
    seq.accept(f'mission-{seed}', chosen, True)
    goal, outcome, events, finished = None, 'timeout', [], None
    refused = None                       # a goal the route graph could not plan: its reason
    min_clear, loc_err = math.inf, []
    while sim.time < max_time:
        step = loop.step()
        hit = loop.contact(step)
        if hit is not None:
            outcome = hit[0]
            events.append(hit[1])
            break
        min_clear = min(min_clear, loop.people_clearance(step))
        s = sim.state
        if sim.steps % loop.period:
            continue
        if loop.pose is not None:
            loc_err.append(math.hypot(loop.pose[0] - s.x, loop.pose[1] - s.y))
        out = loop.out
        if out is not None and out.events:
            events += [f'{sim.time:.1f}: {e}' for e in out.events]
        report = None
        if refused is not None:
            report = NavReport(goal, NAV_FAILED, refused, math.nan, sim.time)
            refused = None
        elif goal is not None and nav.state in _NAV:
            report = NavReport(goal, _NAV[nav.state], nav.reason,
                               out.remaining if out is not None else math.nan, sim.time)
        for order in seq.step(sim.time, report):
            if order.kind != 'navigate':
                continue
            goal = order.station
            here = np.asarray(loop.pose[:2] if loop.pose is not None else (s.x, s.y))
            try:
                route = graph.plan(here, goal)
            except RouteGraphError as e:
                nav.cancel(str(e))
                refused = str(e)
                events.append(f'{sim.time:.1f}: {goal}: {e}')
                continue
            nav.set_goal(route.points, route.speed_limits, route.edge_ids,
                         graph.rerouter(goal), junctions=graph.junctions())
            events.append(f'{sim.time:.1f}: to {goal}')
        done = seq.take_finished()
        if done:
            finished = done[0]
            outcome = 'success' if finished.state == SUCCEEDED else 'failed'
            break
    delivery = finished or (seq.queue[0] if seq.queue else None)
    wall = time.perf_counter() - wall0
    err = np.asarray(loc_err)
    return {'seed': seed, 'stations': chosen, 'outcome': outcome,
            'success': outcome == 'success',
            'delivered': list(delivery.completed) if delivery else [],
            'message': delivery.message if delivery else '',
            'sim_time_s': round(sim.time, 2), 'wall_s': round(wall, 2),
            'real_time_factor': round(sim.time / max(wall, 1e-9), 2),
            'route_length_m': round(sum(r.length for r in routes), 1),
            'pedestrians': len(world.actors), 'localization': localization,
            'localization_rmse_m': round(float(np.sqrt(np.mean(err ** 2))), 4)
            if len(err) else None,
            'localization_max_m': round(float(err.max()), 4) if len(err) else None,
            'min_clearance_m': round(min_clear, 3), 'events': events[-15:]}


def plot_missions(result: dict, path) -> None:
    """One PNG of a mission batch: outcomes, closest approach to people, localization
    error and real-time factor per mission."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = result['rows']
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    kinds = sorted({r['outcome'] for r in rows})
    ax = axes[0, 0]
    ax.bar(kinds, [sum(r['outcome'] == k for r in rows) for k in kinds],
           color=['tab:green' if k == 'success' else 'tab:red' for k in kinds])
    ax.set_title(f"{result['missions']} missions: success rate {result['success_rate']:.3f}")
    ax.set_ylabel('missions')
    ax = axes[0, 1]
    clear = np.array([min(r['min_clearance_m'], 5.0) for r in rows])
    ax.hist(clear, bins=30, color='tab:purple')
    ax.axvline(0.5, color='tab:red', ls=':', label='0.5 m')
    ax.set_title('closest approach to a pedestrian per mission (capped at 5 m)')
    ax.set_xlabel('m')
    ax.legend()
    ax = axes[1, 0]
    rmse = [r['localization_rmse_m'] for r in rows if r['localization_rmse_m'] is not None]
    if rmse:
        ax.hist(rmse, bins=30, color='tab:orange')
    ax.set_title(f"localization RMSE per mission (all: {result['localization_rmse_m']} m)")
    ax.set_xlabel('m')
    ax = axes[1, 1]
    ax.scatter([r['sim_time_s'] for r in rows], [r['real_time_factor'] for r in rows], s=10)
    ax.set_title(f"real-time factor per mission (batch: {result['real_time_factor']}x per worker)")
    ax.set_xlabel('simulated s')
    ax.set_ylabel('x real time')
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@functools.lru_cache(maxsize=1)
def campus_map() -> OccupancyMap:
    """The campus map, loaded once per process (and its distance transform with it)."""
    return load_map(share_path('worlds', 'campus_map.yaml'))


def graph_station(graph: RouteGraph, name: str) -> str:
    graph.station(name)                   # RouteGraphError naming the known ones
    return name


def evaluate_missions(missions: int, seed: int = 0, workers: int = 1, stations: int = 3,
                      pedestrians: int | None = None, localization: bool = True,
                      progress=None, handover_time: float | None = None,
                      checkpoint: str | None = None) -> dict:
    """`missions` missions (seeds seed * 100003 + i); the summary and per-mission rows.
    real_time_factor: simulated seconds per wall second of one worker (the sum of the
    missions' simulated time over the sum of their wall time). checkpoint: a file that
    keeps every finished mission; a batch started again with it runs only the missing
    ones (evaluation/batch.py)."""
    seeds = [seed * 100003 + i for i in range(missions)]
    run = functools.partial(run_mission, stations=stations, pedestrians=pedestrians,
                            localization=localization, handover_time=handover_time)
    rows = run_seeds(run, seeds, workers, progress, checkpoint, 'campus_missions',
                     {'seed': seed, 'stations': stations, 'pedestrians': pedestrians,
                      'localization': localization, 'handover_time': handover_time})
    sq = [r['localization_rmse_m'] ** 2 for r in rows if r['localization_rmse_m'] is not None]
    return {'scenario': 'campus_missions', 'missions': len(rows), 'seed': seed,
            'stations_per_mission': stations, 'localization': localization,
            'success_rate': round(sum(r['success'] for r in rows) / len(rows), 4),
            'collisions': sum(r['outcome'] == 'collision' for r in rows),
            'struck_while_stopped': sum(r['outcome'] == 'struck_while_stopped' for r in rows),
            'timeouts': sum(r['outcome'] == 'timeout' for r in rows),
            'failures': sum(r['outcome'] == 'failed' for r in rows),
            'real_time_factor': round(sum(r['sim_time_s'] for r in rows)
                                      / max(sum(r['wall_s'] for r in rows), 1e-9), 2),
            'localization_rmse_m': round(math.sqrt(float(np.mean(sq))), 4) if sq else None,
            'min_clearance_m': round(min(r['min_clearance_m'] for r in rows), 3),
            'rows': rows}
