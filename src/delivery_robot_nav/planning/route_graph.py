"""Campus route graph: Nav2 Route Server's GeoJSON format, validated, searched fast.

File format (nav2_route's GeoJSON parser): a FeatureCollection; nodes are `Point`
features with properties `id` (int), `frame`, optional `metadata`; edges are
`MultiLineString` (or `LineString`) features with properties `id`, `startid`, `endid`,
optional `cost`, `overridable` and `metadata`. Edges are directed (a two-way walkway is two
edges); ids are unique across nodes and edges. This package reads from `metadata`:
`speed_limit` on edges (m/s, absolute: nav2_route's SpeedLimit operation with
`limit_is_percentage: false`) and `station` on nodes (a delivery station's name).

The graph is held in networkx (model, validation, closing edges); queries run on a
compressed sparse copy with scipy's C Dijkstra (a route on a 10,000-node graph in a few
milliseconds, where networkx's pure-Python A* needs ~10 ms). Start and goal poses are
snapped onto the nearest open edge (shapely's STRtree), so a route begins and ends where
the robot and the goal are, not at the nearest node.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra


class RouteGraphError(ValueError):
    """A route graph file or request that cannot be used; the message names what."""


@dataclass
class Route:
    """A route: polyline from start to goal with the speed limit of each segment."""
    points: np.ndarray            # (k, 2) map frame, start ... goal
    speed_limits: np.ndarray      # (k - 1,) m/s per segment
    edge_ids: list[int]           # graph edges used, in order (partial ones included)
    nodes: list[int]              # graph nodes passed
    length: float                 # m
    time: float                   # s at the speed limits

    def __len__(self) -> int:
        return len(self.points)


@dataclass
class _Snap:
    edge: int                     # index into the edge arrays
    point: np.ndarray
    fraction: float
    distance: float


@dataclass
class RouteGraph:
    graph: nx.DiGraph
    frame: str = 'map'
    source: str = ''
    stations: dict[str, int] = field(default_factory=dict)
    default_speed: float = 1.0

    def __post_init__(self):
        self._rebuild()

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_file(cls, path: str | Path, default_speed: float = 1.0) -> RouteGraph:
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except OSError as exc:
            raise RouteGraphError(f'{path}: cannot read route graph ({exc})') from exc
        except json.JSONDecodeError as exc:
            raise RouteGraphError(f'{path}: not valid JSON: {exc}') from exc
        return cls.from_geojson(doc, str(path), default_speed)

    @classmethod
    def from_geojson(cls, doc: dict, source: str = '<geojson>',
                     default_speed: float = 1.0) -> RouteGraph:
        def fail(why: str):
            raise RouteGraphError(f'{source}: {why}')

        if not isinstance(doc, dict) or doc.get('type') != 'FeatureCollection' or \
                not isinstance(doc.get('features'), list):
            fail('expected a GeoJSON FeatureCollection with a "features" list')
        g = nx.DiGraph()
        seen_ids: dict[int, str] = {}
        stations: dict[str, int] = {}
        frames = set()
        edges = []
        for k, feature in enumerate(doc['features']):
            where = f'feature {k}'
            props = feature.get('properties') if isinstance(feature, dict) else None
            geom = feature.get('geometry') if isinstance(feature, dict) else None
            if not isinstance(props, dict) or not isinstance(geom, dict):
                fail(f'{where}: expected "properties" and "geometry" objects')
            fid = props.get('id')
            if isinstance(fid, bool) or not isinstance(fid, int):
                fail(f'{where}: "id" must be an integer, got {fid!r}')
            where = f'feature {k} (id {fid})'
            if fid in seen_ids:
                fail(f'{where}: duplicate id (also a {seen_ids[fid]}); ids must be unique '
                     'across nodes and edges')
            meta = props.get('metadata') or {}
            if not isinstance(meta, dict):
                fail(f'{where}: "metadata" must be an object')
            kind = geom.get('type')
            if kind == 'Point':
                seen_ids[fid] = 'node'
                xy = geom.get('coordinates')
                if not (isinstance(xy, list) and len(xy) >= 2 and
                        all(isinstance(v, (int, float)) and math.isfinite(v) for v in xy[:2])):
                    fail(f'{where}: node coordinates must be two finite numbers, got {xy!r}')
                frames.add(props.get('frame', 'map'))
                crossing = meta.get('crossing', False)
                if not isinstance(crossing, bool):
                    fail(f'{where}: metadata "crossing" must be true or false, got {crossing!r}')
                g.add_node(fid, xy=np.array(xy[:2], dtype=float), crossing=crossing)
                name = meta.get('station')
                if name is not None:
                    if not isinstance(name, str) or not name:
                        fail(f'{where}: metadata "station" must be a non-empty string')
                    if name in stations:
                        fail(f'{where}: station "{name}" is also node {stations[name]}')
                    stations[name] = fid
            elif kind in ('MultiLineString', 'LineString'):
                seen_ids[fid] = 'edge'
                start, end = props.get('startid'), props.get('endid')
                speed = meta.get('speed_limit', default_speed)
                if isinstance(speed, bool) or not isinstance(speed, (int, float)) or \
                        not (math.isfinite(speed) and speed > 0):
                    fail(f'{where}: metadata "speed_limit" must be a number > 0 (m/s), '
                         f'got {speed!r}')
                cost = props.get('cost', 0.0)
                if isinstance(cost, bool) or not isinstance(cost, (int, float)) or \
                        not (math.isfinite(cost) and cost >= 0):
                    fail(f'{where}: "cost" must be a number >= 0, got {cost!r}')
                edges.append((where, fid, start, end, float(speed), float(cost)))
            else:
                fail(f'{where}: geometry type {kind!r}: expected Point (node) or '
                     'MultiLineString (edge)')
        for where, fid, start, end, speed, cost in edges:
            for name, ref in (('startid', start), ('endid', end)):
                if ref not in g.nodes:
                    fail(f'{where}: {name} {ref!r} is not a node (dangling edge)')
            if start == end:
                fail(f'{where}: startid and endid are the same node {start}')
            if g.has_edge(start, end):
                fail(f'{where}: a second edge from {start} to {end} '
                     f'(first: id {g.edges[start, end]["id"]})')
            length = float(np.hypot(*(g.nodes[end]['xy'] - g.nodes[start]['xy'])))
            g.add_edge(start, end, id=fid, length=length, speed=speed, cost=cost, closed=False)
        if not g.number_of_edges():
            fail('no edges')
        if len(frames) > 1:
            fail(f'nodes in several frames {sorted(frames)}: expected one')
        return cls(g, frames.pop() if frames else 'map', source, stations, default_speed)

    def to_geojson(self) -> dict:
        """The graph in Nav2 Route Server's GeoJSON format."""
        feats = []
        names = {n: s for s, n in self.stations.items()}
        for n, data in self.graph.nodes(data=True):
            props = {'id': int(n), 'frame': self.frame}
            meta = {'station': names[n]} if n in names else {}
            if data.get('crossing'):
                meta['crossing'] = True
            if meta:
                props['metadata'] = meta
            feats.append({'type': 'Feature', 'geometry': {
                'type': 'Point', 'coordinates': [round(float(v), 3) for v in data['xy']]},
                'properties': props})
        for u, v, data in self.graph.edges(data=True):
            a, b = self.graph.nodes[u]['xy'], self.graph.nodes[v]['xy']
            feats.append({'type': 'Feature', 'geometry': {
                'type': 'MultiLineString',
                'coordinates': [[[round(float(c), 3) for c in a], [round(float(c), 3) for c in b]]]},
                'properties': {'id': int(data['id']), 'startid': int(u), 'endid': int(v),
                               'cost': data['cost'], 'overridable': True,
                               'metadata': {'speed_limit': data['speed']}}})
        return {'type': 'FeatureCollection', 'name': 'graph', 'features': feats}

    # ------------------------------------------------------------------ live changes
    def _edge_by_id(self, edge_id: int) -> tuple[int, int]:
        if edge_id not in self._edge_index:
            raise RouteGraphError(f'{self.source}: no edge with id {edge_id}')
        k = self._edge_index[edge_id]
        return int(self._u[k]), int(self._v[k])

    def close_edge(self, edge_id: int, both_directions: bool = True):
        """Take an edge out of routing (blocked walkway); its reverse too by default."""
        self._set_closed(edge_id, True, both_directions)

    def open_edge(self, edge_id: int, both_directions: bool = True):
        self._set_closed(edge_id, False, both_directions)

    def _set_closed(self, edge_id: int, closed: bool, both: bool):
        u, v = self._edge_by_id(edge_id)
        self.graph.edges[u, v]['closed'] = closed
        if both and self.graph.has_edge(v, u):
            self.graph.edges[v, u]['closed'] = closed
        self._rebuild()

    def closed_edges(self) -> list[int]:
        return sorted(d['id'] for _, _, d in self.graph.edges(data=True) if d['closed'])

    def _rebuild(self):
        """Arrays and the sparse matrix the queries use (after loading or a change)."""
        nodes = list(self.graph.nodes)
        self._nodes = np.array(nodes)
        self._node_index = {n: i for i, n in enumerate(nodes)}
        self._xy = np.array([self.graph.nodes[n]['xy'] for n in nodes]).reshape(-1, 2)
        rows = list(self.graph.edges(data=True))
        self._u = np.array([u for u, _, _ in rows])
        self._v = np.array([v for _, v, _ in rows])
        self._ids = np.array([d['id'] for _, _, d in rows])
        self._edge_index = {int(i): k for k, i in enumerate(self._ids)}
        self._speed = np.array([d['speed'] for _, _, d in rows])
        self._length = np.array([d['length'] for _, _, d in rows])
        self._cost = np.array([d['cost'] for _, _, d in rows])
        self._open = ~np.array([d['closed'] for _, _, d in rows], dtype=bool)
        self._a = self._xy[[self._node_index[u] for u in self._u]]
        self._b = self._xy[[self._node_index[v] for v in self._v]]
        # travel time at the speed limit plus the edge's own cost, in seconds
        weight = self._length / self._speed + self._cost
        # nearest-edge lookups go through an R-tree of the open edges (shapely's STRtree)
        self._open_index = np.flatnonzero(self._open)
        self._tree = shapely.STRtree(shapely.linestrings(
            np.stack([self._a[self._open_index], self._b[self._open_index]], axis=1)))
        ui = np.array([self._node_index[u] for u in self._u])
        vi = np.array([self._node_index[v] for v in self._v])
        sel = self._open
        n = len(nodes)
        # one extra node (index n), the query's start: its two out-edges (the two ways off
        # the start's edge) are the matrix's last two entries, rewritten per query, so one
        # Dijkstra run serves both. csgraph reads explicit zeros as "no edge": weights > 0.
        body = csr_matrix((np.maximum(weight[sel], 1e-9), (ui[sel], vi[sel])), shape=(n, n))
        body.sum_duplicates()
        self._matrix = csr_matrix(
            (np.concatenate([body.data, [1.0, 1.0]]),
             np.concatenate([body.indices, [0, n]]).astype(body.indices.dtype),
             np.concatenate([body.indptr, [body.indptr[-1] + 2]])), shape=(n + 1, n + 1))
        self._ui, self._vi = ui, vi
        self._max_speed = float(self._speed.max()) if len(self._speed) else 1.0

    # ------------------------------------------------------------------ queries
    def snap(self, xy) -> _Snap:
        """Nearest point on an open edge."""
        p = np.asarray(xy, dtype=float)
        if p.shape != (2,) or not np.all(np.isfinite(p)):
            raise RouteGraphError(f'position must be two finite numbers, got {xy!r}')
        if not self._open.any():
            raise RouteGraphError(f'{self.source}: every edge is closed')
        k = int(self._open_index[self._tree.query_nearest(shapely.Point(p), all_matches=False)[0]])
        a, d = self._a[k], self._b[k] - self._a[k]
        f = float(np.clip(np.dot(p - a, d) / max(float(np.dot(d, d)), 1e-12), 0.0, 1.0))
        q = a + f * d
        return _Snap(k, q, f, float(np.hypot(*(q - p))))

    def junctions(self, with_crossings: bool = True) -> np.ndarray:
        """(n, 2) positions of the places where people cross the robot's way: the nodes
        where three or more walkways meet (either direction counts once), then (unless
        with_crossings is false) those marked as crossings (`crossings()`)."""
        und = self.graph.to_undirected(as_view=True)
        xy = [self.graph.nodes[n]['xy'] for n in self.graph.nodes if und.degree(n) >= 3]
        if with_crossings:
            xy += [self.graph.nodes[n]['xy'] for n in self.graph.nodes
                   if self.graph.nodes[n].get('crossing') and und.degree(n) < 3]
        return np.array(xy, dtype=float).reshape(-1, 2)

    def crossings(self) -> np.ndarray:
        """(n, 2) positions of the nodes marked {"crossing": true}: places away from the
        junctions where people walk across a walkway (a node of its own, on no edge, or
        one on the walkway)."""
        xy = [d['xy'] for _, d in self.graph.nodes(data=True) if d.get('crossing')]
        return np.array(xy, dtype=float).reshape(-1, 2)

    def station(self, name: str) -> np.ndarray:
        if name not in self.stations:
            raise RouteGraphError(f'unknown station "{name}" (known: '
                                  f'{", ".join(sorted(self.stations))})')
        return self.graph.nodes[self.stations[name]]['xy'].copy()

    def plan(self, start_xy, goal, max_snap_distance: float = math.inf) -> Route:
        """Fastest route (time at the speed limits) from a position to a position or a
        station name; start and goal are snapped onto open edges."""
        goal_xy = self.station(goal) if isinstance(goal, str) else np.asarray(goal, float)
        s, g = self.snap(start_xy), self.snap(goal_xy)
        if isinstance(goal, str) and g.distance > 1e-6:
            # a station is a node: snapping it onto another edge would end the route
            # somewhere else
            raise RouteGraphError(f'station "{goal}" is cut off: every edge at it is closed '
                                  f'(closed edges: {self.closed_edges()})')
        for what, snap in (('start', s), ('goal', g)):
            if snap.distance > max_snap_distance:
                raise RouteGraphError(f'{what} is {snap.distance:.1f} m from the route graph '
                                      f'(at most {max_snap_distance:.1f} m)')
        # leaving the start edge: forwards to its end, or backwards if the reverse is open
        sources = [(self._vi[s.edge], (1 - s.fraction) * self._edge_time(s.edge), 'fwd')]
        rev_s = self._reverse(s.edge)
        if rev_s is not None:
            sources.append((self._ui[s.edge], s.fraction * self._edge_time(s.edge), 'rev'))
        # reaching the goal edge: at its start node (then along it), or at its end node
        # and back along its reverse
        targets = [(self._ui[g.edge], g.fraction * self._edge_time(g.edge), 'fwd')]
        rev_g = self._reverse(g.edge)
        if rev_g is not None:
            targets.append((self._vi[g.edge], (1 - g.fraction) * self._edge_time(g.edge), 'rev'))
        best = (math.inf, None)
        # both on one walkway segment (either direction of it): straight there
        pos_g = {s.edge: g.fraction}
        if rev_s is not None:
            pos_g[rev_s] = 1.0 - g.fraction
        if g.edge in pos_g:
            along = pos_g[g.edge] if g.edge == s.edge else 1.0 - g.fraction
            if along >= s.fraction:
                best = ((along - s.fraction) * self._edge_time(s.edge), ('direct', s.edge))
            elif rev_s is not None:
                best = ((s.fraction - along) * self._edge_time(rev_s), ('direct', rev_s))
        n = len(self._nodes)
        slots = sorted((int(node), max(t0, 1e-9)) for node, t0, _ in sources)
        if len(slots) == 1:
            slots.append((n, 1.0))                      # unused slot: a self-loop
        self._matrix.indices[-2:] = [c for c, _ in slots]
        self._matrix.data[-2:] = [w for _, w in slots]
        dist, pred = dijkstra(self._matrix, indices=n, return_predecessors=True)
        first = {int(node): how for node, _, how in sources}
        for target, t1, how_g in targets:
            total = dist[target] + t1
            if total < best[0]:
                best = (total, ('graph', int(target), how_g))
        if not math.isfinite(best[0]):
            raise RouteGraphError(f'no open route from ({s.point[0]:.1f}, {s.point[1]:.1f}) '
                                  f'to ({g.point[0]:.1f}, {g.point[1]:.1f})'
                                  + (f' (closed edges: {self.closed_edges()})'
                                     if self.closed_edges() else ''))
        return self._assemble(best, s, g, pred, first)

    def rerouter(self, goal, max_snap_distance: float = math.inf):
        """The navigator's re-route callback towards `goal` (a position or station name):
        close the blocked edges, plan again from where the robot is; None when no route
        is left."""
        def reroute(xy, blocked_edges):
            for e in blocked_edges:
                self.close_edge(e)
            try:
                r = self.plan(xy, goal, max_snap_distance)
            except RouteGraphError:
                return None
            return r.points, r.speed_limits, r.edge_ids
        return reroute

    def _edge_time(self, k: int) -> float:
        return float(self._length[k] / self._speed[k] + self._cost[k])

    def _reverse(self, k: int) -> int | None:
        u, v = int(self._u[k]), int(self._v[k])
        if self.graph.has_edge(v, u) and not self.graph.edges[v, u]['closed']:
            return self._edge_index[self.graph.edges[v, u]['id']]
        return None

    def _assemble(self, best, s: _Snap, g: _Snap, pred, first) -> Route:
        if best[1][0] == 'direct':
            k = best[1][1]
            return self._route([s.point, g.point], [self._speed[k]], [int(self._ids[k])], [])
        _, target, how_g = best[1]
        n = len(self._nodes)
        chain = [target]
        while True:
            p = int(pred[chain[-1]])
            if p == n:
                break
            if p < 0:
                raise RouteGraphError('internal: broken predecessor chain')
            chain.append(p)
        chain.reverse()
        how_s = first[chain[0]]
        pts = [s.point, self._xy[chain[0]]]
        first = s.edge if how_s == 'fwd' else self._reverse(s.edge)
        speeds, edges = [self._speed[first]], [int(self._ids[first])]
        for a, b in zip(chain[:-1], chain[1:]):
            d = self.graph.edges[self._nodes[a], self._nodes[b]]
            pts.append(self._xy[b])
            speeds.append(d['speed'])
            edges.append(int(d['id']))
        last = g.edge if how_g == 'fwd' else self._reverse(g.edge)
        pts.append(g.point)
        speeds.append(self._speed[last])
        edges.append(int(self._ids[last]))
        return self._route(pts, speeds, edges, [int(self._nodes[i]) for i in chain])

    @staticmethod
    def _route(pts, speeds, edges, nodes) -> Route:
        pts = np.array(pts, dtype=float)
        speeds = np.array(speeds, dtype=float)
        seg = np.hypot(*np.diff(pts, axis=0).T)
        keep = np.concatenate([[True], seg > 1e-6])       # drop zero-length pieces
        pts = pts[keep]
        speeds = speeds[keep[1:]]
        seg = np.hypot(*np.diff(pts, axis=0).T)
        return Route(pts, speeds, edges, nodes, float(seg.sum()),
                     float(np.sum(seg / speeds)) if len(seg) else 0.0)
