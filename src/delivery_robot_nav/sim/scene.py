"""The world as a MuJoCo model: ray casting for range sensors and robot contact detection.

MuJoCo does no dynamics here (the base is a kinematic differential-drive model in
motion.py); it is the geometry engine: `mj_multiRay` for the lidar and the depth camera,
`mj_collision` for the robot's body against everything else.

Geom groups: 0 static obstacles that cross the lidar plane, 1 pedestrians, 2 ground planes,
3 the robot body, 4 static obstacles wholly above or below the lidar plane (tree crowns,
planters, curbs). The base drives on flat ground, so the lidar plane is at a fixed height
and its rays skip group 4; the depth camera sees every group but the robot. The sensors
cast into a second model of the same geoms (`ray_model`, see `_build_ray_model`), whose
group 5 holds two bounding markers no sensor sees.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from delivery_robot_nav.common.world import Shape, World

GROUP_STATIC, GROUP_ACTORS, GROUP_GROUND, GROUP_ROBOT, GROUP_OFF_PLANE = 0, 1, 2, 3, 4
GROUP_UNCAST = 5       # in the ray model only: bounding markers no sensor casts into
PLANE_MARGIN = 0.05    # m: a shape within this of the lidar plane counts as crossing it


def _quat_wxyz(m: np.ndarray) -> str:
    x, y, z, w = Rotation.from_matrix(m[:3, :3]).as_quat()
    return f'{w:.9g} {x:.9g} {y:.9g} {z:.9g}'


def _pos(m: np.ndarray) -> str:
    return f'{m[0, 3]:.9g} {m[1, 3]:.9g} {m[2, 3]:.9g}'


def _vertical_extent(shape: Shape) -> tuple[float, float]:
    """Lowest and highest z of a box, cylinder or sphere (bounding-box corners)."""
    if shape.kind == 'sphere':
        r = shape.size[0]
        return shape.xyz[2] - r, shape.xyz[2] + r
    half = (np.array(shape.size) / 2.0 if shape.kind == 'box'
            else np.array([shape.size[0], shape.size[0], shape.size[1] / 2.0]))
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half
    z = (shape.pose[:3, :3] @ corners.T)[2] + shape.xyz[2]
    return float(z.min()), float(z.max())


def _geom_xml(shape: Shape, index: int, lidar_height: float) -> str:
    """One MJCF geom for an SDF collision shape, in the world body."""
    pose = shape.pose
    collide = 'contype="0" conaffinity="1"'         # the robot touches it; nothing else does
    if shape.kind == 'plane':   # rotate z onto the SDF normal; size 0 means infinite
        normal = np.asarray(shape.size[:3], dtype=float)
        align, _ = Rotation.align_vectors([normal / np.linalg.norm(normal)], [[0.0, 0.0, 1.0]])
        pose = pose.copy()
        pose[:3, :3] = pose[:3, :3] @ align.as_matrix()
        kind, size = 'plane', f'{shape.size[3] / 2:.9g} {shape.size[4] / 2:.9g} 1'
        collide, group = 'contype="0" conaffinity="0"', GROUP_GROUND
    else:
        kind, size = shape.kind, {
            'box': lambda: ' '.join(f'{v / 2:.9g}' for v in shape.size),
            'cylinder': lambda: f'{shape.size[0]:.9g} {shape.size[1] / 2:.9g}',
            'sphere': lambda: f'{shape.size[0]:.9g}'}[shape.kind]()
        low, high = _vertical_extent(shape)
        crosses = low <= lidar_height + PLANE_MARGIN and high >= lidar_height - PLANE_MARGIN
        group = GROUP_STATIC if crosses else GROUP_OFF_PLANE
    return (f'<geom name="s{index}" type="{kind}" size="{size}" pos="{_pos(pose)}" '
            f'quat="{_quat_wxyz(pose)}" group="{group}" {collide}/>')


@dataclass
class Contact:
    other: str          # the SDF scoped name of the shape, or the actor's name
    depth: float        # penetration, m (>= 0)


class Scene:
    """MuJoCo geometry of one world, its pedestrians and the robot's collision boxes."""

    def __init__(self, world: World, robot_boxes: list[tuple[np.ndarray, np.ndarray]],
                 actor_radius: float, actor_height: float, lidar_height: float):
        # non-static models stand where the world puts them: the base is kinematic and
        # pushes nothing, so they behave as fixed obstacles (docs/ARCHITECTURE.md)
        shapes = list(world.shapes)
        geoms = [_geom_xml(s, i, lidar_height) for i, s in enumerate(shapes)]
        actor_bodies = [
            f'<body name="a{i}" mocap="true" pos="0 0 -100"><geom name="a{i}" type="cylinder" '
            f'size="{actor_radius:.6g} {actor_height / 2:.6g}" pos="0 0 {actor_height / 2:.6g}" '
            f'group="{GROUP_ACTORS}" contype="0" conaffinity="1"/></body>'
            for i in range(len(world.actors))]
        robot_geoms = [
            f'<geom name="robot{i}" type="box" size="{" ".join(f"{v / 2:.6g}" for v in size)}" '
            f'pos="{_pos(m)}" quat="{_quat_wxyz(m)}" group="{GROUP_ROBOT}" contype="1" '
            'conaffinity="0"/>' for i, (m, size) in enumerate(robot_boxes)]
        xml = (
            '<mujoco model="world"><compiler angle="radian"/>'
            '<option timestep="0.01" gravity="0 0 0"/>'
            '<size memory="64M"/>'
            f'<worldbody>{"".join(geoms)}{"".join(actor_bodies)}'
            f'<body name="robot"><freejoint/>{"".join(robot_geoms)}</body>'
            '</worldbody></mujoco>')
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self._build_ray_model(world, geoms, actor_radius, actor_height)
        self.shape_names = [s.name for s in shapes]
        self.actor_names = [a.name for a in world.actors]
        self.n_static = len(shapes)
        self._actor_geom0 = self.n_static
        self._robot_geom0 = self.n_static + len(world.actors)
        self._geomid = np.zeros(0, dtype=np.int32)
        self._dist = np.zeros(0)
        self.lidar_groups = np.array([1, 1, 0, 0, 0, 0], dtype=np.uint8)
        self.camera_groups = np.array([1, 1, 1, 0, 1, 0], dtype=np.uint8)

    def _build_ray_model(self, world: World, geoms: list[str], actor_radius: float,
                         actor_height: float):
        """The model the sensors' rays are cast in: the same static geoms, and each
        pedestrian as a geom of the world body (moved by writing its position) instead of a
        body of its own.

        mj_multiRay tests every ray against every body's bounding sphere before looking at
        the body's geoms, so 80 pedestrian bodies cost more per ray than the 200 static
        geoms, which it skips by distance. As world geoms they are skipped by distance too.
        The hits are the same: the same geoms, at the same poses, in the same order (static
        shapes, then pedestrians). Two marker geoms in a group no sensor casts into stretch
        the world body's bounding box over every place a pedestrian can be, as mj_multiRay
        skips a whole body whose bounding sphere a ray misses. (Only geoms that could
        collide count towards those bounds, hence conaffinity; nothing collides in this
        model, it is never given to mj_collision.)"""
        half = actor_height / 2.0
        actor_geoms = [
            f'<geom name="a{i}" type="cylinder" size="{actor_radius:.6g} {half:.6g}" '
            f'pos="0 0 {half - 100.0:.6g}" group="{GROUP_ACTORS}" contype="0" conaffinity="1"/>'
            for i in range(len(world.actors))]
        markers = []
        if world.actors:
            xy = np.concatenate([a.poses[:, :2] for a in world.actors])
            low = xy.min(axis=0) - actor_radius
            high = xy.max(axis=0) + actor_radius
            markers = [f'<geom name="bound{i}" type="sphere" size="0.01" '
                       f'pos="{p[0]:.9g} {p[1]:.9g} {z:.9g}" group="{GROUP_UNCAST}" '
                       'contype="0" conaffinity="1"/>'
                       for i, (p, z) in enumerate(((low, -100.0), (high, actor_height)))]
        xml = ('<mujoco model="rays"><compiler angle="radian"/><size memory="16M"/>'
               f'<worldbody>{"".join(geoms)}{"".join(actor_geoms)}{"".join(markers)}'
               '</worldbody></mujoco>')
        self.ray_model = mujoco.MjModel.from_xml_string(xml)
        self.ray_data = mujoco.MjData(self.ray_model)
        mujoco.mj_kinematics(self.ray_model, self.ray_data)
        n0 = len(geoms)
        self._ray_actor_xpos = self.ray_data.geom_xpos[n0:n0 + len(world.actors)]
        self._actor_half_height = half

    def set_actor_positions(self, xy: np.ndarray):
        """Place pedestrians (n, 2) on the ground."""
        if len(xy):
            self.data.mocap_pos[:, :2] = xy
            self.data.mocap_pos[:, 2] = 0.0
            self._ray_actor_xpos[:, :2] = xy
            self._ray_actor_xpos[:, 2] = self._actor_half_height

    def set_robot_pose(self, x: float, y: float, yaw: float):
        q = self.data.qpos
        q[0], q[1], q[2] = x, y, 0.0
        q[3], q[4], q[5], q[6] = math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)

    def update(self):
        """Propagate robot and pedestrian placements to the geoms (no dynamics)."""
        mujoco.mj_kinematics(self.model, self.data)

    def cast(self, origin: np.ndarray, directions: np.ndarray, cutoff: float,
             groups: np.ndarray) -> np.ndarray:
        """Distance along each unit direction (n, 3) to the first hit, NaN for none.

        Geoms farther than cutoff are skipped, but hits beyond it are still reported:
        callers clip to their sensor's range.
        """
        n = len(directions)
        if len(self._dist) != n:
            self._geomid = np.zeros(n, dtype=np.int32)
            self._dist = np.zeros(n)
        mujoco.mj_multiRay(self.ray_model, self.ray_data, np.asarray(origin, dtype=float),
                           np.ascontiguousarray(directions, dtype=float).ravel(), groups, 1, -1,
                           self._geomid, self._dist, None, n, cutoff)
        out = self._dist.copy()
        out[self._geomid < 0] = np.nan
        return out

    def last_hit_actors(self) -> np.ndarray:
        """For the rays of the last cast: the index of the pedestrian each hit, -1 for
        anything else (simulator truth, for evaluation only)."""
        g = self._geomid
        actor = (g >= self._actor_geom0) & (g < self._robot_geom0)
        return np.where(actor, g - self._actor_geom0, -1).astype(np.int16)

    def robot_contacts(self) -> list[Contact]:
        """Shapes and pedestrians the robot body penetrates now (after update())."""
        mujoco.mj_collision(self.model, self.data)
        contacts = []
        for k in range(self.data.ncon):
            c = self.data.contact[k]
            other = c.geom1 if c.geom1 < self._robot_geom0 else c.geom2
            if other >= self._robot_geom0:
                continue
            name = (self.shape_names[other] if other < self._actor_geom0
                    else self.actor_names[other - self._actor_geom0])
            contacts.append(Contact(name, max(0.0, -float(c.dist))))
        return contacts
