#!/usr/bin/env python3
"""Generate config/campus_route_graph.geojson (Nav2 Route Server format) for the campus.

The walkway layout comes from the world generator (tools/generate_campus_world.py, the one
source of the campus): a node wherever walkways meet, at the foot of every station's
spur and at most `--spacing` m apart along the walkways; two-way edges along the walkway
centrelines (speed limit `--walkway-speed`) and from each walkway to each station and the
depot (`--spur-speed`). Every edge is checked against the campus map: a straight edge
closer than `--clearance` m to a mapped obstacle is an error, so the graph never leads
into a wall.

Crossings: where people walk across a walkway away from its junctions (at the ends of
their rounds), the graph has a node with metadata {"crossing": true}: a node of its own,
on no edge, or the node already there (a walkway's end) marked so. Path
following treats it as it treats a junction (people may cross there; the robot waits
before it rather than in it). They come from a survey of the campus's people: their
walks in the world (the simulator's truth, standing in for a pedestrian count or the
fleet's logged tracks) over `--survey-hours`, every place where at least
`--crossings-per-hour` of them crossed a walkway's centre line more than `--junction-clear`
m from a junction.

    .venv/bin/python tools/make_route_graph.py [-o config/campus_route_graph.geojson]
"""
import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

from delivery_robot_nav.common.maps import load_map
from delivery_robot_nav.common.world import load_world
from delivery_robot_nav.perception.static_map import StaticMap
from delivery_robot_nav.planning.route_graph import RouteGraph

ROOT = Path(__file__).resolve().parents[1]


def world_layout():
    spec = importlib.util.spec_from_file_location('campus', ROOT / 'tools' / 'generate_campus_world.py')
    campus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(campus)
    return campus


def build(spacing: float, walkway_speed: float, spur_speed: float, margin: float,
          survey: dict) -> tuple[dict, list]:
    campus = world_layout()
    world = load_world(ROOT / 'worlds' / 'campus.sdf')
    x0, x1 = -campus.HALF_X + margin, campus.HALF_X - margin
    y0, y1 = -campus.HALF_Y + margin, campus.HALF_Y - margin
    lines = ([('y', y, x0, x1) for y in campus.WALKWAYS_Y]
             + [('x', x, y0, y1) for x in campus.WALKWAYS_X])
    stops = {i: {lo, hi} for i, (_, _, lo, hi) in enumerate(lines)}
    for i, (axis, c, lo, hi) in enumerate(lines):       # where walkways meet
        for j, (axis2, c2, lo2, hi2) in enumerate(lines):
            if axis != axis2 and lo <= c2 <= hi and lo2 <= c <= hi2:
                stops[i].add(c2)
    spurs = []
    for name, pose in sorted(world.stations.items()):
        p = pose[:2]
        best = None
        for i, (axis, c, lo, hi) in enumerate(lines):
            along = float(np.clip(p[0] if axis == 'y' else p[1], lo, hi))
            foot = np.array([along, c]) if axis == 'y' else np.array([c, along])
            d = float(np.hypot(*(p - foot)))
            if best is None or d < best[0]:
                best = (d, i, along, foot)
        _, i, along, foot = best
        stops[i].add(round(along, 3))
        spurs.append((name.replace('station_', ''), p, foot))
    nodes, edges = {}, []

    def node(xy, station=None):
        key = (round(float(xy[0]), 3), round(float(xy[1]), 3))
        if key not in nodes:
            nodes[key] = {'id': len(nodes), 'xy': key, 'station': station}
        elif station:
            nodes[key]['station'] = station
        return nodes[key]['id']

    for i, (axis, c, lo, hi) in enumerate(lines):
        cuts = sorted(stops[i])
        points = [cuts[0]]
        for a, b in zip(cuts[:-1], cuts[1:]):
            n = max(1, int(np.ceil((b - a) / spacing)))
            points += list(np.linspace(a, b, n + 1)[1:])
        ids = [node((v, c) if axis == 'y' else (c, v)) for v in points]
        edges += [(a, b, walkway_speed) for a, b in zip(ids[:-1], ids[1:])]
    for name, p, foot in spurs:
        edges.append((node(foot), node(p, name), spur_speed))
    # the junctions as path following takes them (the graph so far has no crossings)
    junctions = RouteGraph.from_geojson(to_geojson(nodes, edges), 'generated graph').junctions()
    # (a crossing at an existing node marks it; elsewhere it is a node of its own)
    for xy in survey_crossings(world.actors, lines, junctions, survey):
        node(xy)
        nodes[(round(xy[0], 3), round(xy[1], 3))]['crossing'] = True
    return nodes, edges


def survey_crossings(actors, lines, junctions: np.ndarray, survey: dict) -> list:
    """Where people cross the walkways (lines: (axis, coordinate, lo, hi) centre lines)
    more than survey['junction_clear'] m from any junction, at least
    survey['per_hour'] times an hour over survey['hours'] h of their walks (sampled every
    0.1 s): the crossing points on the centre lines, rounded to 0.1 m, sorted."""
    t = np.arange(0.0, 3600.0 * survey['hours'], 0.1)
    events = []
    for actor in actors:
        xy = actor.positions_at(t)
        for axis, c, lo, hi in lines:
            along, side = (xy[:, 0], xy[:, 1] - c) if axis == 'y' else (xy[:, 1], xy[:, 0] - c)
            # a step from one side of the centre line to the other, on the walkway
            left = side >= 0.0
            flip = (left[:-1] != left[1:]) & (np.abs(side[:-1]) < 3.0) & \
                (along[:-1] >= lo) & (along[:-1] <= hi)
            for k in flip.nonzero()[0]:
                a = float(along[k] + (along[k + 1] - along[k]) * side[k] / (side[k] - side[k + 1]))
                events.append((a, c) if axis == 'y' else (c, a))
    events = np.array(events).reshape(-1, 2)
    if len(junctions):
        far = np.hypot(*(events[:, None, :] - junctions[None, :, :]).transpose(2, 0, 1)).min(axis=1)
        events = events[far > survey['junction_clear']]
    sites = []
    while len(events):
        near = np.hypot(*(events - events[0]).T) <= 2.0
        if near.sum() >= survey['per_hour'] * survey['hours']:
            sites.append(tuple(round(float(v), 1) for v in events[near].mean(axis=0)))
        events = events[~near]
    return sorted(sites)


def to_geojson(nodes, edges) -> dict:
    feats = []
    for n in sorted(nodes.values(), key=lambda n: n['id']):
        props = {'id': n['id'], 'frame': 'map'}
        meta = {'station': n['station']} if n['station'] else {}
        if n.get('crossing'):
            meta['crossing'] = True
        if meta:
            props['metadata'] = meta
        feats.append({'type': 'Feature', 'geometry': {'type': 'Point',
                                                      'coordinates': list(n['xy'])},
                      'properties': props})
    xy = {n['id']: n['xy'] for n in nodes.values()}
    next_id = len(nodes)
    for a, b, speed in edges:
        for u, v in ((a, b), (b, a)):                  # two-way
            feats.append({'type': 'Feature', 'geometry': {
                'type': 'MultiLineString', 'coordinates': [[list(xy[u]), list(xy[v])]]},
                'properties': {'id': next_id, 'startid': u, 'endid': v, 'cost': 0.0,
                               'overridable': True, 'metadata': {'speed_limit': speed}}})
            next_id += 1
    return {'type': 'FeatureCollection', 'name': 'campus_route_graph', 'features': feats}


def check_clearance(doc: dict, clearance: float):
    occ = load_map(ROOT / 'worlds' / 'campus_map.yaml')
    sm = StaticMap(occ, max_distance=clearance + 1.0)
    graph = RouteGraph.from_geojson(doc, 'generated graph')
    for u, v, data in graph.graph.edges(data=True):
        a, b = graph.graph.nodes[u]['xy'], graph.graph.nodes[v]['xy']
        pts = a + np.linspace(0, 1, int(np.hypot(*(b - a)) / 0.05) + 2)[:, None] * (b - a)
        d = sm.distance(pts)
        if d.min() < clearance:
            k = int(np.argmin(d))
            raise SystemExit(f'edge {data["id"]} ({u} -> {v}) passes {d[k]:.2f} m from a '
                             f'mapped obstacle at ({pts[k, 0]:.1f}, {pts[k, 1]:.1f}); '
                             f'need {clearance} m')
    return graph


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-o', '--output', default=str(ROOT / 'config' / 'campus_route_graph.geojson'))
    parser.add_argument('--spacing', type=float, default=20.0, help='m between nodes (20)')
    parser.add_argument('--walkway-speed', type=float, default=1.4, help='m/s (1.4)')
    parser.add_argument('--spur-speed', type=float, default=0.8, help='m/s (0.8)')
    parser.add_argument('--margin', type=float, default=10.0,
                        help='m between walkway ends and the campus fence (10)')
    parser.add_argument('--clearance', type=float, default=0.6,
                        help='m an edge must keep from mapped obstacles (0.6)')
    parser.add_argument('--survey-hours', type=float, default=1.0,
                        help="h of the people's walks surveyed for crossings (1)")
    parser.add_argument('--crossings-per-hour', type=float, default=4.0,
                        help='crossings an hour that make a place a crossing (4)')
    parser.add_argument('--junction-clear', type=float, default=6.0,
                        help='m from a junction (a walkway wide) where crossings are '
                             "the junction's (6)")
    args = parser.parse_args()
    survey = {'hours': args.survey_hours, 'per_hour': args.crossings_per_hour,
              'junction_clear': args.junction_clear}
    nodes, edges = build(args.spacing, args.walkway_speed, args.spur_speed, args.margin, survey)
    doc = to_geojson(nodes, edges)
    graph = check_clearance(doc, args.clearance)
    Path(args.output).write_text(json.dumps(doc, indent=1) + '\n')
    print(f'wrote {args.output}: {graph.graph.number_of_nodes()} nodes, '
          f'{graph.graph.number_of_edges()} edges, stations {sorted(graph.stations)}, '
          f'crossings {[tuple(map(float, xy)) for xy in graph.crossings()]}')


if __name__ == '__main__':
    main()
