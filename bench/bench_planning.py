#!/usr/bin/env python3
"""Benchmark `route_query_10k`: one route query on a 10,000-node route graph.

The graph: a 100 x 100 street lattice, 10 m apart, with every edge two-way and random
speed limits (0.5-1.5 m/s); start and goal are random positions off the nodes (snapped onto
edges, as the robot's and the goal's positions are). Reference in the same run: networkx's
A* (Euclidean heuristic at the top speed) between the same nodes.

    python bench/bench_planning.py [--json]
"""
import os

for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from delivery_robot_nav.planning.route_graph import RouteGraph  # noqa: E402


def lattice(n: int, spacing: float, rng) -> dict:
    feats = []
    for i in range(n):
        for j in range(n):
            feats.append({'type': 'Feature', 'geometry': {
                'type': 'Point', 'coordinates': [i * spacing, j * spacing]},
                'properties': {'id': i * n + j, 'frame': 'map'}})
    k = n * n
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = i * n + j, (i + di) * n + j + dj
                    speed = float(rng.uniform(0.5, 1.5))
                    for u, v in ((a, b), (b, a)):
                        feats.append({'type': 'Feature', 'geometry': {'type': 'MultiLineString'},
                                      'properties': {'id': k, 'startid': u, 'endid': v,
                                                     'metadata': {'speed_limit': speed}}})
                        k += 1
    return {'type': 'FeatureCollection', 'features': feats}


def stats(samples_ms, **extra) -> dict:
    s = np.asarray(samples_ms)
    return {'median_ms': round(float(np.median(s)), 4),
            'p99_ms': round(float(np.percentile(s, 99)), 4), **extra}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, spacing = 100, 10.0
    graph = RouteGraph.from_geojson(lattice(n, spacing, rng), 'lattice')
    g = graph.graph
    for _, _, d in g.edges(data=True):
        d['time'] = d['length'] / d['speed']
    top = max(d['speed'] for _, _, d in g.edges(data=True))

    def h(a, b):
        pa, pb = g.nodes[a]['xy'], g.nodes[b]['xy']
        return math.hypot(*(pa - pb)) / top

    ours, ref = [], []
    for _ in range(60):
        start = rng.uniform(0, (n - 1) * spacing, 2)
        goal = rng.uniform(0, (n - 1) * spacing, 2)
        t0 = time.perf_counter()
        graph.plan(start, goal)
        ours.append((time.perf_counter() - t0) * 1e3)
        a = graph._nodes[int(np.argmin(np.hypot(*(graph._xy - start).T)))]
        b = graph._nodes[int(np.argmin(np.hypot(*(graph._xy - goal).T)))]
        t0 = time.perf_counter()
        nx.astar_path(g, a, b, heuristic=h, weight='time')
        ref.append((time.perf_counter() - t0) * 1e3)
    results = {'route_query_10k': stats(
        ours, nodes=g.number_of_nodes(), edges=g.number_of_edges(),
        reference_networkx_astar_median_ms=round(float(np.median(ref)), 4),
        ratio_to_networkx_astar=round(float(np.median(ours) / np.median(ref)), 3))}
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(key, value)


if __name__ == '__main__':
    main()
