"""Route graph: Nav2 GeoJSON loading and validation, routing, snapping, closed edges."""
import copy
import json

import networkx as nx
import numpy as np
import pytest

from delivery_robot_nav.planning.route_graph import RouteGraph, RouteGraphError


@pytest.fixture(scope='module')
def campus(repo):
    return RouteGraph.from_file(repo / 'config' / 'campus_route_graph.geojson')


def square(speed=1.0):
    """Four nodes on a 10 m square, two-way edges; node 0 is station 'a', node 2 'c'."""
    pts = [(0, 0), (10, 0), (10, 10), (0, 10)]
    feats = [{'type': 'Feature', 'geometry': {'type': 'Point', 'coordinates': list(p)},
              'properties': {'id': i, 'frame': 'map',
                             **({'metadata': {'station': {0: 'a', 2: 'c'}[i]}} if i in (0, 2)
                                else {})}}
             for i, p in enumerate(pts)]
    k = 10
    for a in range(4):
        b = (a + 1) % 4
        for u, v in ((a, b), (b, a)):
            feats.append({'type': 'Feature', 'geometry': {'type': 'MultiLineString'},
                          'properties': {'id': k, 'startid': u, 'endid': v,
                                         'metadata': {'speed_limit': speed}}})
            k += 1
    return {'type': 'FeatureCollection', 'features': feats}


def test_every_station_is_reachable_from_the_depot_and_back(campus):
    depot = campus.station('depot')
    assert len(campus.stations) == 15
    for name in campus.stations:
        there = campus.plan(depot, name)
        back = campus.plan(campus.station(name), 'depot')
        assert np.allclose(there.points[-1], campus.station(name))
        assert np.allclose(back.points[-1], depot)
        assert there.length >= np.hypot(*(campus.station(name) - depot)) - 1e-6
        assert np.all(there.speed_limits > 0) and len(there.speed_limits) == len(there) - 1


def test_routes_are_the_fastest_networkx_finds(campus):
    """The sparse-matrix search agrees with networkx's Dijkstra on travel time."""
    g = campus.graph
    for u, v, d in g.edges(data=True):
        d['time'] = d['length'] / d['speed'] + d['cost']
    rng = np.random.default_rng(0)
    nodes = [n for n in g.nodes if g.degree(n)]        # (crossings are nodes on no edge)
    for _ in range(30):
        a, b = (nodes[i] for i in rng.choice(len(nodes), 2, replace=False))
        route = campus.plan(g.nodes[a]['xy'], g.nodes[b]['xy'])
        expected = nx.dijkstra_path_length(g, a, b, weight='time')
        assert route.time == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_junctions_are_the_nodes_where_three_or_more_walkways_meet():
    doc = square()
    assert len(RouteGraph.from_geojson(copy.deepcopy(doc)).junctions()) == 0   # corners only
    # a spur from node 1 to a new node 4, one way only: node 1 now joins three walkways
    doc['features'].append({'type': 'Feature',
                            'geometry': {'type': 'Point', 'coordinates': [20, 0]},
                            'properties': {'id': 4, 'frame': 'map'}})
    doc['features'].append({'type': 'Feature', 'geometry': {'type': 'MultiLineString'},
                            'properties': {'id': 99, 'startid': 1, 'endid': 4,
                                           'metadata': {'speed_limit': 1.0}}})
    np.testing.assert_allclose(RouteGraph.from_geojson(doc).junctions(), [[10.0, 0.0]])


def test_crossings_are_nodes_marked_so_and_count_where_people_cross():
    doc = square()
    # a crossing in the bottom edge's middle (a node on no edge) and one at corner 3
    doc['features'].append({'type': 'Feature',
                            'geometry': {'type': 'Point', 'coordinates': [5, 0]},
                            'properties': {'id': 4, 'frame': 'map',
                                           'metadata': {'crossing': True}}})
    doc['features'][3]['properties']['metadata'] = {'crossing': True}
    g = RouteGraph.from_geojson(copy.deepcopy(doc))
    np.testing.assert_allclose(g.crossings(), [[0.0, 10.0], [5.0, 0.0]])
    np.testing.assert_allclose(g.junctions(), [[0.0, 10.0], [5.0, 0.0]])
    assert len(g.junctions(with_crossings=False)) == 0
    # routes do not go through a crossing node: it is on no edge
    assert np.allclose(g.plan((0.0, 0.0), (10.0, 0.0)).points, [[0, 0], [10, 0]])
    again = RouteGraph.from_geojson(json.loads(json.dumps(g.to_geojson())))
    np.testing.assert_allclose(again.crossings(), g.crossings())
    assert again.stations == g.stations
    doc['features'][-1]['properties']['metadata'] = {'crossing': 'yes'}
    with pytest.raises(RouteGraphError, match=r'feature 12 \(id 4\): metadata "crossing" '
                                              'must be true or false'):
        RouteGraph.from_geojson(doc)


def test_the_campus_survey_finds_where_people_cross_walkways_away_from_junctions(repo):
    """tools/make_route_graph.py's survey: a walker whose round ends with a crossing of
    the walkway in its middle and one that crosses at a junction; only the first makes a
    crossing, and only when it happens often enough."""
    import importlib.util

    from delivery_robot_nav.common.world import Actor

    spec = importlib.util.spec_from_file_location('make_route_graph',
                                                  repo / 'tools' / 'make_route_graph.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lines = [('y', 0.0, -50.0, 50.0), ('x', 0.0, -50.0, 50.0)]          # junction (0, 0)
    junctions = np.array([[0.0, 0.0]])

    def walker(x_end):   # along y = -1.8 from x = -20 to x_end, across, and back at y = 1.8
        yaw = np.zeros(5)
        poses = np.array([[-20, -1.8], [x_end, -1.8], [x_end, 1.8], [-20, 1.8], [-20, -1.8]])
        t = np.cumsum([0.0, x_end + 20, 3.0, x_end + 20, 3.0])
        return Actor('w', t, np.column_stack([poses, np.ones(5), yaw]))

    survey = {'hours': 1.0, 'per_hour': 4.0, 'junction_clear': 6.0}
    # the walk ends at x = 25 (and x = -20: both ends count), about 38 rounds an hour
    found = tool.survey_crossings([walker(25.0)], lines, junctions, survey)
    assert found == [(-20.0, 0.0), (25.0, 0.0)]
    assert tool.survey_crossings([walker(2.0)], lines, junctions, survey) == [(-20.0, 0.0)]
    assert tool.survey_crossings([walker(25.0)], lines, junctions,
                                 {**survey, 'per_hour': 50.0}) == []


def test_start_and_goal_are_snapped_onto_edges_in_either_direction():
    g = RouteGraph.from_geojson(square(), 'square')
    r = g.plan((3.0, 0.4), (7.0, -0.2))                 # both on the bottom edge
    assert np.allclose(r.points, [[3, 0], [7, 0]]) and r.length == pytest.approx(4.0)
    r = g.plan((7.0, 0.1), (3.0, 0.0))                  # backwards along it
    assert np.allclose(r.points, [[7, 0], [3, 0]])
    r = g.plan((5.0, 0.0), 'c')                         # around a corner
    assert r.length == pytest.approx(15.0) and np.allclose(r.points[-1], [10, 10])


def test_closing_an_edge_reroutes_and_closing_every_way_is_a_clear_error():
    g = RouteGraph.from_geojson(square(), 'square')
    assert g.plan((0.0, 0.0), 'c').length == pytest.approx(20.0)
    bottom = g.graph.edges[0, 1]['id']
    g.close_edge(bottom)
    r = g.plan((0.0, 0.0), (10.0, 0.0))
    assert r.length == pytest.approx(30.0)              # the long way round
    assert g.graph.edges[0, 1]['id'] not in r.edge_ids
    g.close_edge(g.graph.edges[2, 3]['id'])             # left and right sides now apart
    with pytest.raises(RouteGraphError, match='no open route.*closed edges'):
        g.plan((0.0, 5.0), (10.0, 5.0))
    g.open_edge(bottom)
    assert g.plan((0.0, 0.0), (10.0, 0.0)).length == pytest.approx(10.0)


def test_rerouter_closes_the_blocked_edges_and_plans_from_the_robot():
    g = RouteGraph.from_geojson(square(), 'square')
    reroute = g.rerouter('c')
    right = g.graph.edges[1, 2]['id']
    pts, speeds, edges = reroute(np.array([10.0, 1.0]), [right])   # on the way up the right
    assert right in g.closed_edges() and right not in edges
    # from the robot snapped onto the nearest open edge (the bottom), round the left side
    assert np.allclose(pts[0], [10.0, 0.0]) and np.allclose(pts[-1], [10.0, 10.0])
    assert len(speeds) == len(pts) - 1
    assert sum(np.hypot(*np.diff(pts, axis=0).T)) == pytest.approx(30.0)
    assert reroute(np.array([10.0, 1.0]), [g.graph.edges[3, 2]['id']]) is None  # none left
    with pytest.raises(RouteGraphError, match='station "c" is cut off'):
        g.plan((0.0, 0.0), 'c')


@pytest.mark.parametrize('edit, message', [
    (lambda d: d['features'][-1]['properties'].update(endid=99), 'endid 99 is not a node \\(dangling'),
    (lambda d: d['features'][-1]['properties'].update(id=2), 'duplicate id'),
    (lambda d: d['features'][-1]['properties']['metadata'].update(speed_limit=-1), 'speed_limit'),
    (lambda d: d['features'][0]['geometry'].update(coordinates=['a', 0]), 'coordinates'),
    (lambda d: d['features'][0]['geometry'].update(type='Polygon'), "geometry type 'Polygon'"),
    (lambda d: d['features'][2]['properties']['metadata'].update(station='a'), 'station "a"'),
    (lambda d: d.update(type='Feature'), 'FeatureCollection'),
])
def test_bad_graph_files_are_refused_naming_the_feature(edit, message):
    doc = copy.deepcopy(square())
    edit(doc)
    with pytest.raises(RouteGraphError, match=message):
        RouteGraph.from_geojson(doc, 'bad.geojson')


def test_unknown_station_lists_the_known_ones_and_bad_positions_are_refused():
    g = RouteGraph.from_geojson(square(), 'square')
    with pytest.raises(RouteGraphError, match='unknown station "z".*a, c'):
        g.plan((0.0, 0.0), 'z')
    with pytest.raises(RouteGraphError, match='finite'):
        g.plan((float('nan'), 0.0), 'c')
    with pytest.raises(RouteGraphError, match='from the route graph'):
        g.plan((50.0, 50.0), 'c', max_snap_distance=5.0)


def test_geojson_round_trip(campus, tmp_path):
    path = tmp_path / 'g.geojson'
    path.write_text(json.dumps(campus.to_geojson()))
    again = RouteGraph.from_file(path)
    assert again.stations == campus.stations
    assert sorted(again.graph.edges) == sorted(campus.graph.edges)


def test_shipped_graph_is_what_the_generator_makes(repo):
    """config/campus_route_graph.geojson is generated from the world; stale means wrong."""
    import subprocess
    import sys
    out = repo / 'config' / 'campus_route_graph.geojson'
    fresh = subprocess.run([sys.executable, str(repo / 'tools' / 'make_route_graph.py'), '-o',
                            '/dev/stdout'], capture_output=True, text=True, check=True).stdout
    assert json.loads(fresh.split('\nwrote')[0]) == json.loads(out.read_text())
