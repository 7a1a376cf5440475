"""Local ENU <-> WGS84 geodetic conversion around a reference point (campus scale).

A local tangent plane with the WGS84 meridian and prime-vertical radii of curvature at the
reference latitude; over a few kilometres the error stays below a centimetre, far under any
GNSS receiver's noise. Gazebo's NavSat sensor uses the same reference
(`<spherical_coordinates>` of the world, ENU orientation).
"""
from __future__ import annotations

import math

import numpy as np

WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)


def _radii(lat_rad: float) -> tuple[float, float]:
    s = math.sin(lat_rad)
    w = math.sqrt(1.0 - WGS84_E2 * s * s)
    meridian = WGS84_A * (1.0 - WGS84_E2) / w ** 3
    prime_vertical = WGS84_A / w
    return meridian, prime_vertical


def enu_to_geodetic(east, north, up, ref_lat_deg: float, ref_lon_deg: float, ref_alt: float):
    """ENU metres -> (latitude deg, longitude deg, altitude m); accepts arrays."""
    lat0 = math.radians(ref_lat_deg)
    m, n = _radii(lat0)
    lat = ref_lat_deg + np.degrees(np.asarray(north) / m)
    lon = ref_lon_deg + np.degrees(np.asarray(east) / (n * math.cos(lat0)))
    return lat, lon, ref_alt + np.asarray(up)


def geodetic_to_enu(lat_deg, lon_deg, alt, ref_lat_deg: float, ref_lon_deg: float,
                    ref_alt: float):
    """(latitude deg, longitude deg, altitude m) -> ENU metres; inverse of enu_to_geodetic."""
    lat0 = math.radians(ref_lat_deg)
    m, n = _radii(lat0)
    north = np.radians(np.asarray(lat_deg) - ref_lat_deg) * m
    east = np.radians(np.asarray(lon_deg) - ref_lon_deg) * n * math.cos(lat0)
    return east, north, np.asarray(alt) - ref_alt
