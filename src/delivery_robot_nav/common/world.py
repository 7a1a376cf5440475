"""Loader for the subset of Gazebo SDF (1.6 to 1.11) that the embedded simulator simulates.

One world file is the source of truth for Gazebo, the embedded simulator and the map. This
module reads it into plain data: collision shapes in world coordinates, actors with their
waypoint trajectories, named frames (delivery stations, the depot).

Supported (everything else that changes what the robot could hit or see is an error that
names the element and its line):
- `<world>` with `<model>`, `<actor>`, `<frame>`, `<state>`; rendering, physics, lighting,
  GUI and plugin elements are read past (they do not change geometry).
- `<model>`: `<static>`, `<pose>`, `<link>`, nested `<model>`; `<link>`: `<pose>`,
  `<collision>` (its `<visual>` is read past: the collision geometry is what is sensed);
  `<collision>`: `<pose>`, `<geometry>` of box / cylinder / sphere / plane.
- `<pose>` as six numbers `x y z roll pitch yaw`, optional `degrees="true"`, relative to the
  parent element (`relative_to` naming anything else is an error).
- `<actor>`: `<pose>`, `<script>` with `<loop>`, `<delay_start>`, `<auto_start>` and one
  `<trajectory>` of `<waypoint>`s (time, pose); waypoint poses are relative to the actor's
  pose. Positions are interpolated linearly, headings by the shortest turn.
- `<state>` (as saved by Gazebo, e.g. the BARN worlds): the model poses it lists replace the
  models' own; insertions and deletions are errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lxml import etree

from delivery_robot_nav.common.geometry import matrix_rpy, pose_matrix, wrap_angle, yaw_of


class WorldError(ValueError):
    """A world file that is malformed or uses SDF outside the supported subset."""


# World children read past: they do not change geometry.
_IGNORED_WORLD_CHILDREN = {
    'light', 'physics', 'scene', 'gravity', 'magnetic_field', 'atmosphere', 'wind',
    'gui', 'plugin', 'audio',
}
# Children each element may have; those not interpreted below are read past.
_MODEL_CHILDREN = {
    'plugin', 'self_collide', 'allow_auto_disable', 'enable_wind', 'gripper', 'static',
    'pose', 'link', 'model', 'frame',
}
_LINK_CHILDREN = {
    'visual', 'inertial', 'self_collide', 'kinematic', 'gravity', 'enable_wind',
    'must_be_base_link', 'velocity_decay', 'pose', 'collision', 'sensor', 'light',
    'audio_source', 'audio_sink', 'battery', 'particle_emitter', 'projector', 'frame',
}
_COLLISION_CHILDREN = {'surface', 'max_contacts', 'laser_retro', 'pose', 'geometry'}
_ACTOR_CHILDREN = {'skin', 'animation', 'plugin', 'pose', 'script'}
_SUPPORTED_GEOMETRY = ('box', 'cylinder', 'sphere', 'plane')


@dataclass(frozen=True)
class Shape:
    """One collision geometry, posed in the world frame.

    kind is 'box' (size = sx, sy, sz), 'cylinder' (radius, length, axis along the pose's z),
    'sphere' (radius,) or 'plane' (nx, ny, nz, size_x, size_y).
    """
    name: str
    kind: str
    size: tuple[float, ...]
    pose: np.ndarray = field(repr=False)   # 4x4 world transform
    static: bool = True

    @property
    def xyz(self) -> np.ndarray:
        return self.pose[:3, 3]


@dataclass(frozen=True)
class Actor:
    """A scripted moving person: waypoint times (s) and world poses (x, y, z, yaw)."""
    name: str
    times: np.ndarray
    poses: np.ndarray
    loop: bool = True
    delay_start: float = 0.0
    auto_start: bool = True

    @property
    def duration(self) -> float:
        return float(self.times[-1])

    def pose_at(self, t: float) -> np.ndarray:
        """World pose (x, y, z, yaw) at simulation time t."""
        return self.poses_at(np.array([t]))[0]

    def poses_at(self, t: np.ndarray) -> np.ndarray:
        """Vectorized pose_at for an array of times."""
        i, a = self._segments_at(t)
        p0, p1 = self.poses[i], self.poses[i + 1]
        out = p0 + a * (p1 - p0)
        out[:, 3] = wrap_angle(p0[:, 3] + a[:, 0] * wrap_angle(p1[:, 3] - p0[:, 3]))
        return out

    def positions_at(self, t: np.ndarray) -> np.ndarray:
        """(n, 2) world x, y at the times t: poses_at's first two columns, without the
        heading (the crowd's spacing check samples whole walks every 0.05 s)."""
        i, a = self._segments_at(t)
        p0, p1 = self.poses[i, :2], self.poses[i + 1, :2]
        return p0 + a * (p1 - p0)

    def _segments_at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Waypoint index of the segment each time falls in, and the fraction (n, 1) of
        the way along it."""
        local = np.asarray(t, dtype=float) - self.delay_start
        if not self.auto_start:
            local = np.zeros_like(local)
        local = np.maximum(local, 0.0)
        if self.loop and self.duration > 0.0:
            local = np.mod(local, self.duration)
        local = np.minimum(local, self.duration)
        i = np.clip(np.searchsorted(self.times, local, side='right') - 1, 0, len(self.times) - 2)
        t0, t1 = self.times[i], self.times[i + 1]
        a = np.where(t1 > t0, (local - t0) / np.where(t1 > t0, t1 - t0, 1.0), 1.0)[:, None]
        return i, a

    def velocity_at(self, t: float, dt: float = 1e-3) -> np.ndarray:
        """World velocity (vx, vy) at time t, by central difference."""
        p = self.poses_at(np.array([t - dt, t + dt]))
        return (p[1, :2] - p[0, :2]) / (2.0 * dt)


@dataclass
class World:
    """Everything the simulator and the map tool take from one SDF world file."""
    name: str
    source: str
    shapes: list[Shape]
    actors: list[Actor]
    frames: dict[str, np.ndarray]      # named world frames (4x4): stations, depot
    # WGS84 latitude (deg), longitude (deg), altitude (m) of the world origin; x east, y north
    geodetic_origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def obstacles(self) -> list[Shape]:
        """Static collision shapes the robot can hit: everything but ground planes."""
        return [s for s in self.shapes if s.static and s.kind != 'plane']

    @property
    def dynamic_shapes(self) -> list[Shape]:
        return [s for s in self.shapes if not s.static and s.kind != 'plane']

    @property
    def stations(self) -> dict[str, np.ndarray]:
        """Delivery stations and the depot as planar poses (x, y, yaw), by name."""
        return {name: np.array([m[0, 3], m[1, 3], yaw_of(m)])
                for name, m in self.frames.items()}

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of obstacles and actor paths, metres."""
        pts = [footprint_corners(s) for s in self.obstacles]
        pts += [a.poses[:, :2] for a in self.actors]
        pts += [m[None, :2, 3] for m in self.frames.values()]
        if not pts:
            return 0.0, 0.0, 0.0, 0.0
        allp = np.vstack(pts)
        return (float(allp[:, 0].min()), float(allp[:, 1].min()),
                float(allp[:, 0].max()), float(allp[:, 1].max()))

    def info(self) -> dict:
        return {
            'name': self.name,
            'static_obstacles': len(self.obstacles),
            'dynamic_obstacles': len(self.dynamic_shapes),
            'actors': len(self.actors),
            'frames': sorted(self.frames),
            'bounds_m': [round(v, 3) for v in self.bounds()],
        }


def footprint_corners(shape: Shape) -> np.ndarray:
    """Ground-plane (x, y) points bounding a shape's footprint (for bounds and rasterizing)."""
    if shape.kind == 'box':
        hx, hy, hz = (v / 2.0 for v in shape.size)
        local = np.array([[sx * hx, sy * hy, sz * hz, 1.0]
                          for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        return (shape.pose @ local.T).T[:, :2]
    r = shape.size[0]
    return shape.xyz[:2] + np.array([[-r, -r], [r, r]])


# ----------------------------------------------------------------------------- parsing

def load_world(path: str | Path) -> World:
    """Parse an SDF world file. Raises WorldError naming file, line and element."""
    path = Path(path)
    try:
        tree = etree.parse(str(path), etree.XMLParser(remove_comments=True))
    except OSError as exc:
        raise WorldError(f'{path}: cannot read world file ({exc})') from exc
    except etree.XMLSyntaxError as exc:
        raise WorldError(f'{path}:{exc.lineno}: not well-formed XML: {exc.msg}') from exc
    return _Parser(path).world(tree.getroot())


class _Parser:
    def __init__(self, path: Path):
        self.path = path

    def error(self, el, message: str) -> WorldError:
        return WorldError(f'{self.path}:{el.sourceline}: <{el.tag}>: {message}')

    # --- leaves

    def floats(self, el, n: int | None = None) -> list[float]:
        try:
            values = [float(v) for v in (el.text or '').split()]
        except ValueError:
            raise self.error(el, f'expected numbers, got {el.text!r}') from None
        if n is not None and len(values) != n:
            raise self.error(el, f'expected {n} numbers, got {len(values)}')
        if not all(math.isfinite(v) for v in values):
            raise self.error(el, f'non-finite number in {el.text!r}')
        return values

    def number(self, parent, tag: str, default: float | None = None) -> float:
        el = parent.find(tag)
        if el is None:
            if default is None:
                raise self.error(parent, f'missing <{tag}>')
            return default
        return self.floats(el, 1)[0]

    def boolean(self, parent, tag: str, default: bool) -> bool:
        el = parent.find(tag)
        if el is None:
            return default
        text = (el.text or '').strip().lower()
        if text in ('1', 'true'):
            return True
        if text in ('0', 'false'):
            return False
        raise self.error(el, f'expected true/false/1/0, got {el.text!r}')

    def pose(self, parent) -> np.ndarray:
        """The 4x4 transform of a parent's `<pose>` child (identity when absent)."""
        el = parent.find('pose')
        if el is None:
            return np.eye(4)
        relative_to = el.get('relative_to', '') or el.get('frame', '')
        if relative_to:
            raise self.error(el, f'relative_to/frame="{relative_to}" is not supported; '
                                 'give poses relative to the parent element')
        if el.get('rotation_format', 'euler_rpy') != 'euler_rpy':
            raise self.error(el, 'only rotation_format="euler_rpy" is supported')
        v = self.floats(el, 6)
        rpy = np.radians(v[3:]) if el.get('degrees', 'false') in ('true', '1') else v[3:]
        return pose_matrix(v[:3], rpy)

    def check_children(self, el, allowed: set[str], what: str):
        for child in el:
            if not isinstance(child.tag, str):
                continue  # processing instructions
            if child.tag not in allowed:
                raise self.error(child, f'unsupported element in {what} '
                                        f'"{el.get("name", "")}" (supported SDF subset: see '
                                        'docs/ARCHITECTURE.md, "World files")')

    # --- structure

    def world(self, root) -> World:
        if root.tag != 'sdf':
            raise self.error(root, 'root element must be <sdf>')
        worlds = root.findall('world')
        if len(worlds) != 1:
            raise self.error(root, f'expected exactly one <world>, found {len(worlds)}')
        w = worlds[0]
        shapes: list[Shape] = []
        actors: list[Actor] = []
        frames: dict[str, np.ndarray] = {}
        models = {}
        origin = (0.0, 0.0, 0.0)
        for child in w:
            if not isinstance(child.tag, str) or child.tag in _IGNORED_WORLD_CHILDREN:
                continue
            if child.tag == 'model':
                models[self.name(child)] = child
            elif child.tag == 'actor':
                actors.append(self.actor(child))
            elif child.tag == 'frame':
                frames[self.name(child)] = self.frame(child)
            elif child.tag == 'state':
                continue  # applied below, once all models are known
            elif child.tag == 'spherical_coordinates':
                origin = self.spherical_coordinates(child)
            else:
                raise self.error(child, 'unsupported element in <world> (supported SDF subset: '
                                        'model, actor, frame, state; see docs/ARCHITECTURE.md)')
        overrides = {}
        for state in w.findall('state'):
            overrides.update(self.state(state, models))
        for name, el in models.items():
            base = overrides.get(name)
            shapes.extend(self.model(el, np.eye(4), name, static=False, pose_override=base))
        return World(name=w.get('name', 'default'), source=str(self.path), shapes=shapes,
                     actors=actors, frames=frames, geodetic_origin=origin)

    def spherical_coordinates(self, el) -> tuple[float, float, float]:
        model = el.find('surface_model')
        if model is not None and (model.text or '').strip() != 'EARTH_WGS84':
            raise self.error(model, 'only EARTH_WGS84 is supported')
        orientation = el.find('world_frame_orientation')
        if orientation is not None and (orientation.text or '').strip() != 'ENU':
            raise self.error(orientation, 'only ENU world frame orientation is supported')
        if self.number(el, 'heading_deg', 0.0) != 0.0:
            raise self.error(el.find('heading_deg'), 'only heading_deg 0 is supported')
        return (self.number(el, 'latitude_deg', 0.0), self.number(el, 'longitude_deg', 0.0),
                self.number(el, 'elevation', 0.0))

    def name(self, el) -> str:
        name = el.get('name')
        if not name:
            raise self.error(el, 'missing name attribute')
        return name

    def frame(self, el) -> np.ndarray:
        attached = el.get('attached_to', '')
        if attached and attached != 'world':
            raise self.error(el, f'attached_to="{attached}" is not supported for world frames')
        self.check_children(el, {'pose'}, 'frame')
        return self.pose(el)

    def state(self, el, models) -> dict[str, np.ndarray]:
        for tag in ('insertions', 'deletions'):
            found = el.find(tag)
            if found is not None and len(found):
                raise self.error(found, f'<state> with {tag} is not supported')
        out = {}
        for m in el.findall('model'):
            name = self.name(m)
            if name not in models:
                raise self.error(m, f'<state> names model "{name}" that the world does not have')
            out[name] = self.pose(m)
        return out

    def model(self, el, parent: np.ndarray, scoped: str, static: bool,
              pose_override: np.ndarray | None = None) -> list[Shape]:
        self.check_children(el, _MODEL_CHILDREN, 'model')
        static = static or self.boolean(el, 'static', False)
        world_T_model = pose_override if pose_override is not None else parent @ self.pose(el)
        shapes = []
        for link in el.findall('link'):
            shapes.extend(self.link(link, world_T_model, f'{scoped}::{self.name(link)}', static))
        for nested in el.findall('model'):
            shapes.extend(self.model(nested, world_T_model,
                                     f'{scoped}::{self.name(nested)}', static))
        return shapes

    def link(self, el, world_T_model, scoped: str, static: bool) -> list[Shape]:
        self.check_children(el, _LINK_CHILDREN, 'link')
        world_T_link = world_T_model @ self.pose(el)
        shapes = []
        for col in el.findall('collision'):
            self.check_children(col, _COLLISION_CHILDREN, 'collision')
            world_T_col = world_T_link @ self.pose(col)
            geometry = col.find('geometry')
            if geometry is None:
                raise self.error(col, 'missing <geometry>')
            kind, size = self.geometry(geometry)
            shapes.append(Shape(f'{scoped}::{self.name(col)}', kind, size, world_T_col, static))
        return shapes

    def geometry(self, el) -> tuple[str, tuple[float, ...]]:
        kinds = [c for c in el if isinstance(c.tag, str)]
        if len(kinds) != 1:
            raise self.error(el, f'expected one geometry, found {len(kinds)}')
        g = kinds[0]
        if g.tag not in _SUPPORTED_GEOMETRY:
            raise self.error(g, f'unsupported geometry (supported: {", ".join(_SUPPORTED_GEOMETRY)})')
        if g.tag == 'box':
            size_el = g.find('size')
            if size_el is None:
                raise self.error(g, 'missing <size>')
            size = tuple(self.floats(size_el, 3))
        elif g.tag == 'cylinder':
            size = (self.number(g, 'radius'), self.number(g, 'length'))
        elif g.tag == 'sphere':
            size = (self.number(g, 'radius'),)
        else:
            normal_el, size_el = g.find('normal'), g.find('size')
            normal = self.floats(normal_el, 3) if normal_el is not None else [0.0, 0.0, 1.0]
            extent = self.floats(size_el, 2) if size_el is not None else [0.0, 0.0]
            size = tuple(normal + extent)
        if g.tag != 'plane' and any(v <= 0.0 for v in size):
            raise self.error(g, f'dimensions must be positive, got {size}')
        return g.tag, size

    def actor(self, el) -> Actor:
        name = self.name(el)
        self.check_children(el, _ACTOR_CHILDREN, 'actor')
        world_T_actor = self.pose(el)
        script = el.find('script')
        if script is None:
            raise self.error(el, f'actor "{name}" has no <script>: only scripted actors are '
                                 'supported')
        self.check_children(script, {'loop', 'delay_start', 'auto_start', 'trajectory'}, 'script')
        trajectories = script.findall('trajectory')
        if len(trajectories) != 1:
            raise self.error(script, f'expected one <trajectory>, found {len(trajectories)}')
        times, poses = [], []
        for wp in trajectories[0].findall('waypoint'):
            t = self.number(wp, 'time')
            m = world_T_actor @ self.pose(wp)
            times.append(t)
            poses.append([m[0, 3], m[1, 3], m[2, 3], matrix_rpy(m)[2]])
        if len(times) < 2:
            raise self.error(trajectories[0], 'a trajectory needs at least two waypoints')
        if any(b < a for a, b in zip(times, times[1:])) or times[0] < 0:
            raise self.error(trajectories[0], 'waypoint times must be >= 0 and non-decreasing')
        return Actor(name=name, times=np.array(times), poses=np.array(poses),
                     loop=self.boolean(script, 'loop', True),
                     delay_start=self.number(script, 'delay_start', 0.0),
                     auto_start=self.boolean(script, 'auto_start', True))
