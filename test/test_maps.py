"""Map rasterization and map_server files."""
import numpy as np
import pytest

from delivery_robot_nav.common.maps import (FREE, OCCUPIED, MapError, load_map, rasterize_world,
                                            save_map)
from delivery_robot_nav.common.world import load_world


def test_box_and_low_obstacle_rasterize_at_lidar_height(write_sdf, tmp_path):
    world = load_world(write_sdf('''
      <model name="wall"><static>1</static><pose>2 0 1 0 0 0</pose><link name="l">
        <collision name="c"><geometry><box><size>1 2 2</size></box></geometry></collision>
      </link></model>
      <model name="planter"><static>1</static><pose>-2 0 0.1 0 0 0</pose><link name="l">
        <collision name="c"><geometry><box><size>1 1 0.2</size></box></geometry></collision>
      </link></model>
      <model name="pole"><static>1</static><pose>0 3 2 0 0 0</pose><link name="l">
        <collision name="c"><geometry><cylinder><radius>0.02</radius><length>4</length>
        </cylinder></geometry></collision></link></model>'''))
    m = rasterize_world(world, 0.1, 0.35)
    assert m.occupied_at(2.0, 0.0) and m.occupied_at(1.55, 0.95)
    assert not m.occupied_at(1.3, 0.0) and not m.occupied_at(2.0, 1.3)
    assert not m.occupied_at(-2.0, 0.0)           # planter below the lidar plane
    assert m.occupied_at(0.0, 3.0)                # a 4 cm pole still marks its cell
    area = (m.grid == OCCUPIED).sum() * m.resolution ** 2
    assert area == pytest.approx(1.0 * 2.0, rel=0.25)


def test_map_server_round_trip(write_sdf, tmp_path):
    world = load_world(write_sdf('''
      <model name="b"><static>1</static><pose>1 1 1 0 0 0.3</pose><link name="l">
        <collision name="c"><geometry><box><size>2 1 2</size></box></geometry></collision>
      </link></model>'''))
    m = rasterize_world(world, 0.05, 0.35)
    pgm = save_map(m, tmp_path / 'map.yaml')
    assert pgm.read_bytes().startswith(b'P5')
    loaded = load_map(tmp_path / 'map.yaml')
    assert np.array_equal(loaded.grid, m.grid)
    assert loaded.origin == pytest.approx(m.origin) and loaded.resolution == 0.05
    assert set(np.unique(loaded.grid)) <= {FREE, OCCUPIED}


def test_committed_campus_map_is_rasterized_from_the_campus_world(repo):
    """The map is derived from the one world file; a stale map fails here."""
    committed = load_map(repo / 'worlds' / 'campus_map.yaml')
    fresh = rasterize_world(load_world(repo / 'worlds' / 'campus.sdf'), committed.resolution, 0.35)
    assert committed.origin == pytest.approx(fresh.origin)
    assert np.array_equal(committed.grid, fresh.grid)


def test_bad_map_files(tmp_path):
    (tmp_path / 'a.yaml').write_text('image: a.png\nresolution: 0.1\norigin: [0, 0, 0]\n')
    with pytest.raises(MapError, match='only PGM'):
        load_map(tmp_path / 'a.yaml')
    (tmp_path / 'b.yaml').write_text('resolution: 0.1\n')
    with pytest.raises(MapError, match='missing field "image"'):
        load_map(tmp_path / 'b.yaml')
    (tmp_path / 'c.pgm').write_bytes(b'P5\n4 4\n255\n' + bytes(5))
    (tmp_path / 'c.yaml').write_text('image: c.pgm\nresolution: 0.1\norigin: [0, 0, 0]\n')
    with pytest.raises(MapError, match='truncated image'):
        load_map(tmp_path / 'c.yaml')
