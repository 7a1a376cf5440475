"""Which lidar points the static map explains (given the current pose estimate).

A point within `tolerance` of an occupied map cell is explained by the map: walls, poles,
trees. The tolerance covers the pose estimate's error and the map's cells; a cluster is
static when most of its points are explained. Distances come from the map's Euclidean
distance transform (common/maps.py), looked up per point.
"""
from __future__ import annotations

import numpy as np

from delivery_robot_nav.common.maps import OccupancyMap, distance_to_occupied


class StaticMap:
    def __init__(self, occ: OccupancyMap, max_distance: float = 2.0):
        self.resolution = occ.resolution
        self.origin = np.array(occ.origin, dtype=float)
        self.max_distance = max_distance
        # one-cell border at max_distance: lookups clip their indices into it
        self._dist = np.pad(distance_to_occupied(occ, max_distance), 1,
                            constant_values=max_distance)

    def distance(self, xy: np.ndarray) -> np.ndarray:
        """Distance (m) from points (n, 2) to the nearest mapped obstacle, clipped;
        outside the map: max_distance."""
        h, w = self._dist.shape
        col = np.clip(np.floor((xy[:, 0] - self.origin[0]) / self.resolution) + 1, 0, w - 1)
        row = np.clip(np.floor((xy[:, 1] - self.origin[1]) / self.resolution) + 1, 0, h - 1)
        return self._dist[row.astype(np.intp), col.astype(np.intp)]

    def explained(self, xy: np.ndarray, tolerance: float) -> np.ndarray:
        return self.distance(xy) <= tolerance


def static_fraction(point_cluster: np.ndarray, explained: np.ndarray, k: int) -> np.ndarray:
    """Per cluster (0..k-1): the fraction of its points the map explains."""
    inside = point_cluster >= 0
    labels = point_cluster[inside]
    total = np.bincount(labels, minlength=k)
    hits = np.bincount(labels, weights=explained[inside].astype(float), minlength=k)
    return hits / np.maximum(total, 1)
