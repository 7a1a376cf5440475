"""Plane and space geometry helpers on plain numpy (REP 103: metres, radians, x forward)."""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation


def wrap_angle(angle):
    """Wrap an angle (scalar or array) to [-pi, pi)."""
    return (np.asarray(angle) + math.pi) % (2.0 * math.pi) - math.pi


def pose_matrix(xyz, rpy) -> np.ndarray:
    """4x4 homogeneous transform from a position and fixed-axis roll, pitch, yaw (SDF/URDF)."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler('xyz', rpy).as_matrix()
    m[:3, 3] = xyz
    return m


def matrix_rpy(m: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (fixed axes x-y-z) of a 4x4 transform's rotation."""
    return Rotation.from_matrix(m[:3, :3]).as_euler('xyz')


def yaw_of(m: np.ndarray) -> float:
    """Heading (rotation about z) of a 4x4 transform."""
    return math.atan2(m[1, 0], m[0, 0])


def quaternion_xyzw_from_yaw(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a pure rotation about z."""
    return 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def quaternion_xyzw_from_matrix(m: np.ndarray) -> np.ndarray:
    """Quaternion (x, y, z, w) of a 3x3 or 4x4 matrix's rotation."""
    return Rotation.from_matrix(np.asarray(m)[:3, :3]).as_quat()


def se2_compose(a, b) -> np.ndarray:
    """a (+) b for planar poses (x, y, yaw): b expressed in a's frame, result in a's parent."""
    ax, ay, ath = a
    bx, by, bth = b
    c, s = math.cos(ath), math.sin(ath)
    return np.array([ax + c * bx - s * by, ay + s * bx + c * by, float(wrap_angle(ath + bth))])


def se2_inverse(a) -> np.ndarray:
    """Inverse of a planar pose (x, y, yaw)."""
    x, y, th = a
    c, s = math.cos(th), math.sin(th)
    return np.array([-c * x - s * y, s * x - c * y, float(wrap_angle(-th))])
