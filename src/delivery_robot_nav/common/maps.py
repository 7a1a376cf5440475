"""Occupancy maps: rasterize a world at lidar height, read/write map_server YAML + PGM.

Grid convention (as nav_msgs/OccupancyGrid): row 0 is the lowest y, column 0 the lowest x;
values 0 free, 100 occupied, -1 unknown. The PGM on disk is stored top row first, as
map_server (nav2_map_server, "trinary" mode) reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.ndimage import distance_transform_edt

from delivery_robot_nav.common.world import World, footprint_corners

FREE, OCCUPIED, UNKNOWN = 0, 100, -1
_PGM_OCCUPIED, _PGM_FREE, _PGM_UNKNOWN = 0, 254, 205


class MapError(ValueError):
    """A map file that cannot be read or does not follow the map_server format."""


@dataclass
class OccupancyMap:
    grid: np.ndarray                 # int8 (height, width), row 0 at origin y
    resolution: float                # m per cell
    origin: tuple[float, float]      # world (x, y) of the lower-left corner of cell (0, 0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.grid.shape

    def world_to_cell(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) indices of world points (may fall outside the grid)."""
        col = np.floor((np.asarray(x) - self.origin[0]) / self.resolution).astype(int)
        row = np.floor((np.asarray(y) - self.origin[1]) / self.resolution).astype(int)
        return row, col

    def cell_centers(self, rows, cols) -> tuple[np.ndarray, np.ndarray]:
        return (self.origin[0] + (np.asarray(cols) + 0.5) * self.resolution,
                self.origin[1] + (np.asarray(rows) + 0.5) * self.resolution)

    def occupied_at(self, x, y) -> np.ndarray:
        """True where the world point is in an occupied cell (outside the grid: False)."""
        row, col = self.world_to_cell(x, y)
        inside = (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])
        out = np.zeros(np.shape(row), dtype=bool)
        out[inside] = self.grid[row[inside], col[inside]] == OCCUPIED
        return out

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) for plotting."""
        h, w = self.shape
        return (self.origin[0], self.origin[0] + w * self.resolution,
                self.origin[1], self.origin[1] + h * self.resolution)


def distance_to_occupied(occ: OccupancyMap, max_distance: float) -> np.ndarray:
    """float32 grid: distance (m) from each cell centre to the nearest occupied cell's edge
    (half a cell nearer than its centre), clipped to max_distance. Euclidean distance
    transform (scipy)."""
    occupied = occ.grid == OCCUPIED
    if not occupied.any():
        return np.full(occ.shape, max_distance, dtype=np.float32)
    # the transform is kept on the map object (maps are not modified once made): a batch
    # evaluation builds a detector and a localizer on the same map for every run
    cached = occ.__dict__.get('_edt')
    if cached is None or cached[0] is not occ.grid:
        cached = (occ.grid, distance_transform_edt(~occupied))
        occ.__dict__['_edt'] = cached
    dist = cached[1] * occ.resolution - occ.resolution / 2.0
    return np.clip(dist, 0.0, max_distance).astype(np.float32)


def rasterize_world(world: World, resolution: float, height: float,
                    margin: float = 2.0) -> OccupancyMap:
    """Occupancy of the world's static obstacles in the horizontal plane z = height.

    A cell is occupied when its centre lies inside an obstacle's 3-D collision shape at
    that height, so the occupied region's edge lies on the true surface on average (no
    bias for scan matching); the cell under each obstacle's centre is always marked, so
    obstacles thinner than a cell do not vanish. Obstacles wholly above or below the plane
    (tree crowns, planters, curbs) do not appear, exactly as a planar lidar at that height
    does not see them.
    """
    if resolution <= 0:
        raise MapError(f'resolution must be positive, got {resolution}')
    xmin, ymin, xmax, ymax = world.bounds()
    origin = (np.floor((xmin - margin) / resolution) * resolution,
              np.floor((ymin - margin) / resolution) * resolution)
    width = int(np.ceil((xmax + margin - origin[0]) / resolution))
    rows = int(np.ceil((ymax + margin - origin[1]) / resolution))
    grid = np.zeros((rows, width), dtype=np.int8)
    m = OccupancyMap(grid, resolution, (round(float(origin[0]), 9), round(float(origin[1]), 9)))
    for shape in world.obstacles:
        corners = footprint_corners(shape)
        r0, c0 = m.world_to_cell(corners[:, 0].min(), corners[:, 1].min())
        r1, c1 = m.world_to_cell(corners[:, 0].max(), corners[:, 1].max())
        r0, c0 = max(int(r0), 0), max(int(c0), 0)
        r1, c1 = min(int(r1), rows - 1), min(int(c1), width - 1)
        if r1 < r0 or c1 < c0:
            continue
        rr, cc = np.mgrid[r0:r1 + 1, c0:c1 + 1]
        xs, ys = m.cell_centers(rr.ravel(), cc.ravel())
        inside = _inside(shape, xs, ys, height)
        grid[rr.ravel()[inside], cc.ravel()[inside]] = OCCUPIED
        if _inside(shape, *shape.xyz[:2, None], height).any():   # crosses the plane
            rc, cc0 = m.world_to_cell(shape.xyz[0], shape.xyz[1])
            if 0 <= rc < rows and 0 <= cc0 < width:
                grid[rc, cc0] = OCCUPIED
    return m


def _inside(shape, xs, ys, z) -> np.ndarray:
    """Which points (xs, ys, z) lie inside the shape."""
    inv = np.linalg.inv(shape.pose)
    p = inv[:3, :3] @ np.vstack([xs, ys, np.full_like(xs, z)]) + inv[:3, 3:4]
    if shape.kind == 'box':
        half = np.asarray(shape.size)[:, None] / 2.0
        return np.all(np.abs(p) <= half, axis=0)
    if shape.kind == 'cylinder':
        r, length = shape.size
        return (np.hypot(p[0], p[1]) <= r) & (np.abs(p[2]) <= length / 2.0)
    if shape.kind == 'sphere':
        r = shape.size[0]
        return np.linalg.norm(p, axis=0) <= r
    return np.zeros(len(xs), dtype=bool)


def save_map(m: OccupancyMap, yaml_path: str | Path) -> Path:
    """Write map_server YAML + PGM (same stem). Returns the PGM path."""
    yaml_path = Path(yaml_path)
    pgm_path = yaml_path.with_suffix('.pgm')
    img = np.full(m.grid.shape, _PGM_FREE, dtype=np.uint8)
    img[m.grid == OCCUPIED] = _PGM_OCCUPIED
    img[m.grid == UNKNOWN] = _PGM_UNKNOWN
    img = img[::-1]   # top row first
    h, w = img.shape
    with open(pgm_path, 'wb') as f:
        f.write(f'P5\n# delivery_robot_nav make-map\n{w} {h}\n255\n'.encode())
        f.write(img.tobytes())
    meta = {'image': pgm_path.name, 'mode': 'trinary', 'resolution': float(m.resolution),
            'origin': [float(m.origin[0]), float(m.origin[1]), 0.0], 'negate': 0,
            'occupied_thresh': 0.65, 'free_thresh': 0.25}
    yaml_path.write_text(yaml.safe_dump(meta, sort_keys=False))
    return pgm_path


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    tokens, pos = [], 0
    while len(tokens) < 4:                      # magic, width, height, maxval
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            pos = data.index(b'\n', pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        tokens.append(data[pos:end].decode())
        pos = end
    if tokens[0] != 'P5':
        raise MapError(f'{path}: expected a binary PGM (P5), found {tokens[0]!r}')
    w, h, maxval = (int(t) for t in tokens[1:])
    if maxval > 255:
        raise MapError(f'{path}: 16-bit PGM is not supported')
    pixels = np.frombuffer(data[pos + 1:pos + 1 + w * h], dtype=np.uint8)
    if pixels.size != w * h:
        raise MapError(f'{path}: truncated image: expected {w * h} pixels, found {pixels.size}')
    return pixels.reshape(h, w)


def load_map(yaml_path: str | Path) -> OccupancyMap:
    """Read a map_server map (trinary or scale mode, PGM image)."""
    yaml_path = Path(yaml_path)
    try:
        meta = yaml.safe_load(yaml_path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MapError(f'{yaml_path}: cannot read map YAML ({exc})') from exc
    for key in ('image', 'resolution', 'origin'):
        if not isinstance(meta, dict) or key not in meta:
            raise MapError(f'{yaml_path}: missing field "{key}"')
    image = yaml_path.parent / meta['image']
    if image.suffix.lower() != '.pgm':
        raise MapError(f'{yaml_path}: field "image": only PGM images are supported, got {image.name}')
    try:
        img = _read_pgm(image)[::-1].astype(float)
    except OSError as exc:
        raise MapError(f'{yaml_path}: field "image": cannot read {image} ({exc})') from exc
    occ = (255.0 - img) / 255.0 if not meta.get('negate', 0) else img / 255.0
    grid = np.full(img.shape, UNKNOWN, dtype=np.int8)
    grid[occ > meta.get('occupied_thresh', 0.65)] = OCCUPIED
    grid[occ < meta.get('free_thresh', 0.25)] = FREE
    origin = meta['origin']
    if len(origin) != 3 or origin[2] != 0:
        raise MapError(f'{yaml_path}: field "origin": expected [x, y, 0] (rotated maps are not '
                       f'supported), got {origin}')
    return OccupancyMap(grid, float(meta['resolution']), (float(origin[0]), float(origin[1])))
