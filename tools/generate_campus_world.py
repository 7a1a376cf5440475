#!/usr/bin/env python3
"""Writes worlds/campus.sdf, the campus world, from the layout tables below.

The SDF file is the source of truth that Gazebo, the embedded simulator and the map tool
read; this script is only how it was made (deterministic: same tables, same file). Edit the
tables, run `python3 tools/generate_campus_world.py`, then `delivery-nav make-map
worlds/campus.sdf -o worlds/campus_map.yaml`, and commit all three.

Layout: a 320 m x 220 m campus (x east, y north, origin at the central plaza) cut by 6 m
walkways into blocks; buildings sit in the blocks with their delivery station 2 m outside the
entrance facing the walkway; street furniture lines the walkways; low planters and curbs
(below the 0.35 m lidar plane) stand at walkway edges; pedestrians walk the walkways.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / 'worlds' / 'campus.sdf'
SEED = 20261124

HALF_X, HALF_Y = 160.0, 110.0
WALKWAY_WIDTH = 6.0
WALKWAYS_X = (-120.0, -60.0, 0.0, 60.0, 120.0)   # north-south walkways at these x
WALKWAYS_Y = (-60.0, 0.0, 60.0)                  # east-west walkways at these y

# name, centre x, centre y, size x, size y, height, entrance side (n/s/e/w)
BUILDINGS = [
    ('depot', -140.0, -85.0, 24.0, 18.0, 6.0, 'n'),
    ('library', -90.0, 30.0, 36.0, 30.0, 18.0, 's'),
    ('engineering', -30.0, 30.0, 34.0, 28.0, 22.0, 'e'),
    ('physics', 30.0, 30.0, 30.0, 26.0, 20.0, 's'),
    ('chemistry', 90.0, 30.0, 32.0, 26.0, 16.0, 'w'),
    ('student_union', -90.0, -30.0, 38.0, 30.0, 12.0, 'n'),
    ('mathematics', -30.0, -30.0, 28.0, 24.0, 14.0, 'w'),
    ('biology', 30.0, -30.0, 30.0, 28.0, 18.0, 'n'),
    ('medicine', 90.0, -30.0, 36.0, 30.0, 24.0, 'e'),
    ('dorm_north', -30.0, 85.0, 40.0, 18.0, 30.0, 's'),
    ('dorm_east', 140.0, 85.0, 24.0, 20.0, 26.0, 's'),
    ('arts', 90.0, 85.0, 30.0, 18.0, 12.0, 's'),
    ('sports_hall', 90.0, -85.0, 40.0, 22.0, 14.0, 'n'),
    ('admin', -90.0, -85.0, 30.0, 18.0, 10.0, 'n'),
    ('cafeteria', -140.0, 30.0, 24.0, 22.0, 8.0, 'e'),
]

# Pedestrian routes: lists of (x, y) corners along walkways, walked there and back.
# The offset puts each walker in a lane left or right of the walkway centreline.
PEDESTRIAN_ROUTES = [
    [(-150, 0), (150, 0)], [(150, 0), (-150, 0)], [(-150, 60), (150, 60)],
    [(150, -60), (-150, -60)], [(-120, -100), (-120, 100)], [(-60, 100), (-60, -100)],
    [(0, -100), (0, 100)], [(0, 100), (0, -100)], [(60, -100), (60, 100)],
    [(120, 100), (120, -100)], [(-60, 0), (60, 0), (60, 60)], [(0, 60), (-120, 60), (-120, 0)],
    [(120, -60), (60, -60), (60, 0)], [(-60, -60), (0, -60), (0, 0)], [(-150, 60), (-60, 60)],
    [(60, 60), (150, 60)], [(-120, -60), (-120, 0), (0, 0)], [(120, 0), (120, 60), (0, 60)],
    [(-150, -60), (-60, -60), (-60, 60)], [(60, -100), (60, -60), (150, -60)],
    [(-30, 0), (30, 0)], [(0, -30), (0, 30)], [(-90, 60), (-30, 60)], [(90, -60), (30, -60)],
]


def pose(x=0.0, y=0.0, z=0.0, roll=0.0, pitch=0.0, yaw=0.0) -> str:
    return f'<pose>{x:.3f} {y:.3f} {z:.3f} {roll:.4f} {pitch:.4f} {yaw:.4f}</pose>'


def material(r, g, b) -> str:
    return (f'<material><ambient>{r} {g} {b} 1</ambient><diffuse>{r} {g} {b} 1</diffuse>'
            '</material>')


def box_model(name, x, y, sx, sy, sz, color, yaw=0.0, z0=0.0) -> str:
    geo = f'<geometry><box><size>{sx:.3f} {sy:.3f} {sz:.3f}</size></box></geometry>'
    return (f'<model name="{name}"><static>true</static>{pose(x, y, z0 + sz / 2, yaw=yaw)}'
            f'<link name="link"><collision name="collision">{geo}</collision>'
            f'<visual name="visual">{geo}{material(*color)}</visual></link></model>')


def cylinder_model(name, x, y, radius, length, color, z0=0.0) -> str:
    geo = f'<geometry><cylinder><radius>{radius}</radius><length>{length}</length></cylinder></geometry>'
    return (f'<model name="{name}"><static>true</static>{pose(x, y, z0 + length / 2)}'
            f'<link name="link"><collision name="collision">{geo}</collision>'
            f'<visual name="visual">{geo}{material(*color)}</visual></link></model>')


def tree_model(name, x, y) -> str:
    trunk = '<geometry><cylinder><radius>0.2</radius><length>3.0</length></cylinder></geometry>'
    crown = '<geometry><sphere><radius>1.6</radius></sphere></geometry>'
    return (f'<model name="{name}"><static>true</static>{pose(x, y)}<link name="link">'
            f'<collision name="trunk">{pose(z=1.5)}{trunk}</collision>'
            f'<visual name="trunk">{pose(z=1.5)}{trunk}{material(0.4, 0.26, 0.13)}</visual>'
            f'<collision name="crown">{pose(z=4.2)}{crown}</collision>'
            f'<visual name="crown">{pose(z=4.2)}{crown}{material(0.15, 0.5, 0.15)}</visual>'
            '</link></model>')


def station_frame(name, bx, by, sx, sy, side) -> tuple[str, float, float]:
    """A named world frame 2 m outside the entrance, facing the building."""
    offset = 2.0
    x, y, yaw = {
        'n': (bx, by + sy / 2 + offset, -math.pi / 2),
        's': (bx, by - sy / 2 - offset, math.pi / 2),
        'e': (bx + sx / 2 + offset, by, math.pi),
        'w': (bx - sx / 2 - offset, by, 0.0),
    }[side]
    frame_name = 'depot' if name == 'depot' else f'station_{name}'
    return f'<frame name="{frame_name}">{pose(x, y, yaw=yaw)}</frame>', x, y


def walkway_visuals() -> str:
    """Paved walkways: visual only, so Gazebo shows them and nothing collides with them."""
    visuals = []
    for i, x in enumerate(WALKWAYS_X):
        geo = f'<geometry><box><size>{WALKWAY_WIDTH} {2 * HALF_Y} 0.02</size></box></geometry>'
        visuals.append(f'<visual name="ns_{i}">{pose(x, 0, 0.01)}{geo}{material(0.6, 0.6, 0.6)}</visual>')
    for i, y in enumerate(WALKWAYS_Y):
        geo = f'<geometry><box><size>{2 * HALF_X} {WALKWAY_WIDTH} 0.02</size></box></geometry>'
        visuals.append(f'<visual name="ew_{i}">{pose(0, y, 0.01)}{geo}{material(0.6, 0.6, 0.6)}</visual>')
    return (f'<model name="walkways"><static>true</static><link name="link">{"".join(visuals)}'
            '</link></model>')


def perimeter() -> list[str]:
    """A 1.2 m fence around the campus with gaps nowhere: the robot stays inside."""
    t, h = 0.3, 1.2
    return [
        box_model('fence_north', 0, HALF_Y + t / 2, 2 * HALF_X + 2 * t, t, h, (0.3, 0.3, 0.3)),
        box_model('fence_south', 0, -HALF_Y - t / 2, 2 * HALF_X + 2 * t, t, h, (0.3, 0.3, 0.3)),
        box_model('fence_east', HALF_X + t / 2, 0, t, 2 * HALF_Y, h, (0.3, 0.3, 0.3)),
        box_model('fence_west', -HALF_X - t / 2, 0, t, 2 * HALF_Y, h, (0.3, 0.3, 0.3)),
    ]


def street_furniture(rng: random.Random) -> list[str]:
    """Lamp poles, trees, benches and bike racks beside the walkways, clear of crossings."""
    models = []
    edge = WALKWAY_WIDTH / 2 + 0.8           # just off the paved walkway

    def clear_of_crossings(x, y):
        near_x = min(abs(x - wx) for wx in WALKWAYS_X)
        near_y = min(abs(y - wy) for wy in WALKWAYS_Y)
        return near_x > 8.0 and near_y > 8.0 or (near_x > 8.0) != (near_y > 8.0)

    stations = [station_frame(*b[:3], *b[3:5], b[6])[1:] for b in BUILDINGS]

    def clear_of_station_spurs(x, y):
        # keep the straight approach from each station to its walkway free
        return all(abs(x - sx) > 4.0 and abs(y - sy) > 4.0 for sx, sy in stations)

    def far_from_buildings(x, y, margin=2.0):
        return all(abs(x - bx) > sx / 2 + margin or abs(y - by) > sy / 2 + margin
                   for _, bx, by, sx, sy, _, _ in BUILDINGS)

    n = 0
    for wx in WALKWAYS_X:
        for y in range(-100, 101, 20):
            for side in (-1, 1):
                x = wx + side * edge
                if not (clear_of_crossings(x, y) and far_from_buildings(x, y)
                        and clear_of_station_spurs(x, y)):
                    continue
                kind = rng.choice(('pole', 'tree', 'tree', 'bench', 'bike_rack'))
                models.append(furniture(kind, f'{kind}_{n}', x, y + rng.uniform(-3, 3), 0.0))
                n += 1
    for wy in WALKWAYS_Y:
        for x in range(-150, 151, 20):
            for side in (-1, 1):
                y = wy + side * edge
                if not (clear_of_crossings(x, y) and far_from_buildings(x, y)
                        and clear_of_station_spurs(x, y)):
                    continue
                kind = rng.choice(('pole', 'tree', 'tree', 'bench', 'bike_rack'))
                models.append(furniture(kind, f'{kind}_{n}', x + rng.uniform(-3, 3), y,
                                        math.pi / 2))
                n += 1
    return models


def furniture(kind, name, x, y, yaw) -> str:
    if kind == 'pole':
        return cylinder_model(name, x, y, 0.1, 4.0, (0.2, 0.2, 0.2))
    if kind == 'tree':
        return tree_model(name, x, y)
    if kind == 'bench':
        return box_model(name, x, y, 0.5, 1.8, 0.45, (0.5, 0.3, 0.1), yaw=yaw)
    return box_model(name, x, y, 0.6, 2.0, 0.8, (0.7, 0.7, 0.75), yaw=yaw)


def low_obstacles() -> list[str]:
    """Planters and curbs lower than the lidar plane (0.35 m): only the depth camera sees
    them. They stand inside the paved walkway, 2.2-3.0 m off its centreline, clear of the
    pedestrian lanes (1.8 m off)."""
    out = []
    planters = [(-90, 2.6), (30, -2.6), (-30, 62.6), (90, -57.4)]
    for i, (x, y) in enumerate(planters):
        out.append(box_model(f'planter_low_{i}', x, y, 1.0, 0.8, 0.25, (0.45, 0.3, 0.2)))
    curbs = [(-62.7, -30, 0.3, 8.0), (57.3, 30, 0.3, 8.0), (-30, -62.7, 8.0, 0.3)]
    for i, (x, y, sx, sy) in enumerate(curbs):
        out.append(box_model(f'curb_low_{i}', x, y, sx, sy, 0.15, (0.75, 0.75, 0.7)))
    return out


def actors(rng: random.Random) -> list[str]:
    out = []
    for i, route in enumerate(PEDESTRIAN_ROUTES):
        speed = rng.uniform(0.9, 1.5)
        lane = 1.8                              # m right of the walkway centreline
        there = [(float(x), float(y)) for x, y in route]
        points = there + there[-2::-1]          # walk the route and back
        # each leg in the walker's right-hand lane: both ends offset perpendicular to it
        corners = []                            # (x, y, heading)
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            heading = math.atan2(y1 - y0, x1 - x0)
            ox, oy = lane * math.sin(heading), -lane * math.cos(heading)
            corners += [(x0 + ox, y0 + oy, heading), (x1 + ox, y1 + oy, heading)]
        # close the loop: cross back to the start at walking speed, or the looped script
        # jumps the walker across the walkway at every wrap (here and in Gazebo)
        corners.append(corners[0])
        waypoints, t = [], 0.0
        for k, (px, py, heading) in enumerate(corners):
            if k:
                t += max(math.hypot(px - corners[k - 1][0], py - corners[k - 1][1]) / speed, 0.5)
            waypoints.append(f'<waypoint><time>{t:.2f}</time>'
                             f'{pose(px, py, 1.0, yaw=heading)}</waypoint>')
        out.append(
            f'<actor name="pedestrian_{i}">{pose()}'
            '<skin><filename>https://fuel.gazebosim.org/1.0/Mingfei/models/actor/tip/files/meshes/walk.dae</filename>'
            '<scale>1.0</scale></skin>'
            '<animation name="walking"><filename>https://fuel.gazebosim.org/1.0/Mingfei/models/actor/tip/files/meshes/walk.dae</filename>'
            '<scale>1.0</scale><interpolate_x>true</interpolate_x></animation>'
            f'<script><loop>true</loop><delay_start>{rng.uniform(0, 5):.2f}</delay_start>'
            '<auto_start>true</auto_start><trajectory id="0" type="walking">'
            f'{"".join(waypoints)}</trajectory></script></actor>')
    return out


def main():
    rng = random.Random(SEED)
    parts = ['<?xml version="1.0"?>', '<sdf version="1.9">', '<world name="campus">',
             '<physics name="1ms" type="ignored"><max_step_size>0.001</max_step_size>'
             '<real_time_factor>1.0</real_time_factor></physics>',
             '<plugin filename="gz-sim-physics-system" name="gz::sim::systems::Physics"/>',
             '<plugin filename="gz-sim-user-commands-system" name="gz::sim::systems::UserCommands"/>',
             '<plugin filename="gz-sim-scene-broadcaster-system" name="gz::sim::systems::SceneBroadcaster"/>',
             '<plugin filename="gz-sim-sensors-system" name="gz::sim::systems::Sensors">'
             '<render_engine>ogre2</render_engine></plugin>',
             '<plugin filename="gz-sim-imu-system" name="gz::sim::systems::Imu"/>',
             '<plugin filename="gz-sim-navsat-system" name="gz::sim::systems::NavSat"/>',
             '<spherical_coordinates><surface_model>EARTH_WGS84</surface_model>'
             '<world_frame_orientation>ENU</world_frame_orientation>'
             '<latitude_deg>47.3769</latitude_deg><longitude_deg>8.5417</longitude_deg>'
             '<elevation>410</elevation><heading_deg>0</heading_deg></spherical_coordinates>',
             '<light type="directional" name="sun"><cast_shadows>true</cast_shadows>'
             f'{pose(0, 0, 50)}<diffuse>0.9 0.9 0.9 1</diffuse><specular>0.2 0.2 0.2 1</specular>'
             '<direction>-0.5 0.1 -0.9</direction></light>',
             '<model name="ground_plane"><static>true</static><link name="link">'
             '<collision name="collision"><geometry><plane><normal>0 0 1</normal>'
             f'<size>{2 * HALF_X + 40} {2 * HALF_Y + 40}</size></plane></geometry></collision>'
             '<visual name="visual"><geometry><plane><normal>0 0 1</normal>'
             f'<size>{2 * HALF_X + 40} {2 * HALF_Y + 40}</size></plane></geometry>'
             f'{material(0.3, 0.55, 0.25)}</visual></link></model>',
             walkway_visuals()]
    parts += perimeter()
    for name, x, y, sx, sy, h, side in BUILDINGS:
        parts.append(box_model(f'building_{name}', x, y, sx, sy, h, (0.75, 0.7, 0.6)))
        frame, _, _ = station_frame(name, x, y, sx, sy, side)
        parts.append(frame)
    parts += street_furniture(rng)
    parts += low_obstacles()
    parts += actors(rng)
    parts += ['</world>', '</sdf>', '']
    OUT.write_text('\n'.join(parts))
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
