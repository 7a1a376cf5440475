"""The robot as the simulator and tf_static need it, read from the one URDF (urdf/)."""
from __future__ import annotations

import functools
import io
import math
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from urdf_parser_py.urdf import URDF

from delivery_robot_nav.common.geometry import pose_matrix


class RobotModelError(ValueError):
    """A URDF that lacks what the simulator needs."""


@dataclass(frozen=True)
class FixedTransform:
    parent: str
    child: str
    matrix: np.ndarray      # parent_T_child, 4x4


@dataclass(frozen=True)
class RobotModel:
    name: str
    base_frame: str
    fixed_transforms: list[FixedTransform]     # every fixed joint, for tf_static
    frames: dict[str, np.ndarray]              # base_T_frame for every fixed-connected link
    wheel_radius: float
    wheel_separation: float
    collision_boxes: list[tuple[np.ndarray, np.ndarray]]   # (base_T_box, size xyz)

    @functools.cached_property
    def footprint(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the collision boxes projected on the ground, m
        (computed once: the evaluations ask for it at every simulator step)."""
        pts = []
        for m, size in self.collision_boxes:
            half = np.asarray(size) / 2.0
            corners = np.array([[sx * half[0], sy * half[1], sz * half[2], 1.0]
                                for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
            pts.append((m @ corners.T).T[:, :2])
        allp = np.vstack(pts)
        return (float(allp[:, 0].min()), float(allp[:, 1].min()),
                float(allp[:, 0].max()), float(allp[:, 1].max()))

    @property
    def height(self) -> float:
        return max(float(m[2, 3] + size[2] / 2.0) for m, size in self.collision_boxes)

    def frame(self, name: str) -> np.ndarray:
        try:
            return self.frames[name]
        except KeyError:
            raise RobotModelError(f'URDF "{self.name}" has no frame "{name}" fixed to '
                                  f'{self.base_frame} (has: {sorted(self.frames)})') from None


def _origin(joint_or_elem) -> np.ndarray:
    origin = getattr(joint_or_elem, 'origin', None)
    if origin is None:
        return np.eye(4)
    return pose_matrix(origin.xyz or [0, 0, 0], origin.rpy or [0, 0, 0])


def load_robot_model(path: str | Path, base_frame: str = 'base_link',
                     left_wheel_joint: str = 'left_wheel_joint',
                     right_wheel_joint: str = 'right_wheel_joint') -> RobotModel:
    path = Path(path)
    try:
        xml = path.read_text()
    except OSError as exc:
        raise RobotModelError(f'{path}: cannot read URDF ({exc})') from exc
    # urdf_parser_py prints a line per element it does not model (<gazebo>, <sensor>)
    with redirect_stderr(io.StringIO()):
        try:
            urdf = URDF.from_xml_string(xml)
        except Exception as exc:
            raise RobotModelError(f'{path}: not a valid URDF: {exc}') from exc
    if base_frame not in urdf.link_map:
        raise RobotModelError(f'{path}: no link "{base_frame}"')

    fixed = [FixedTransform(j.parent, j.child, _origin(j))
             for j in urdf.joints if j.type == 'fixed']
    frames = {base_frame: np.eye(4)}
    grew = True
    while grew:  # walk fixed joints outward from the base
        grew = False
        for t in fixed:
            if t.parent in frames and t.child not in frames:
                frames[t.child] = frames[t.parent] @ t.matrix
                grew = True

    joints = {j.name: j for j in urdf.joints}
    wheels = []
    for name in (left_wheel_joint, right_wheel_joint):
        j = joints.get(name)
        if j is None or j.type != 'continuous' or j.parent != base_frame:
            raise RobotModelError(f'{path}: expected continuous joint "{name}" on {base_frame}')
        link = urdf.link_map[j.child]
        cylinders = [c.geometry for c in link.collisions if hasattr(c.geometry, 'radius')
                     and hasattr(c.geometry, 'length')]
        if not cylinders:
            raise RobotModelError(f'{path}: wheel link "{link.name}" needs a cylinder collision')
        wheels.append((np.array(j.origin.xyz), cylinders[0].radius))
    separation = float(abs(wheels[0][0][1] - wheels[1][0][1]))
    radius = float(wheels[0][1])
    if not (separation > 0 and radius > 0 and math.isclose(radius, wheels[1][1])):
        raise RobotModelError(f'{path}: wheels must have equal positive radius and separation')

    boxes = []
    for link_name, base_T_link in frames.items():
        for col in urdf.link_map[link_name].collisions:
            if hasattr(col.geometry, 'size'):
                boxes.append((base_T_link @ _origin(col), np.array(col.geometry.size, dtype=float)))
    if not boxes:
        raise RobotModelError(f'{path}: no box collision fixed to {base_frame} (body footprint)')
    return RobotModel(urdf.name, base_frame, fixed, frames, radius, separation, boxes)
