"""Obstacle-detection building blocks without ROS: segmentation, static filter, tracker,
depth extraction, rolling costmap, and the pipeline on synthetic scans."""
import math

import numpy as np
import pytest

from delivery_robot_nav.common.maps import OCCUPIED, OccupancyMap
from delivery_robot_nav.perception.costmap import (INSCRIBED, LETHAL, CostmapConfig,
                                                   RollingCostmap)
from delivery_robot_nav.perception.depth import CameraModel, DepthConfig, DepthObstacleExtractor
from delivery_robot_nav.perception.detector import DetectorConfig, ObstacleDetector
from delivery_robot_nav.perception.lidar import (SegmentationConfig, centers, is_full_circle,
                                                 partly_hidden, scan_points, segment,
                                                 summarize)
from delivery_robot_nav.perception.static_map import StaticMap, static_fraction
from delivery_robot_nav.perception.tracker import (CLASS_PEDESTRIAN, CLASS_STATIC, Detection,
                                                   Tracker, TrackerConfig)

BEAMS = 720
INC = 2 * math.pi / BEAMS
ANGLES = -math.pi + INC * np.arange(BEAMS)


def cast_circles(circles, sensor=(0.0, 0.0), noise=0.0, rng=None, walls=()):
    """Ranges of a 720-beam scan from `sensor` (heading 0) to circles (x, y, r) and
    axis-aligned wall segments ((x0, y0), (x1, y1)); +inf where nothing is hit."""
    ranges = np.full(BEAMS, np.inf)
    d = np.column_stack([np.cos(ANGLES), np.sin(ANGLES)])
    o = np.asarray(sensor, dtype=float)
    for cx, cy, r in circles:
        oc = o - (cx, cy)
        b = d @ oc
        disc = b * b - (oc @ oc - r * r)
        t = -b - np.sqrt(np.maximum(disc, 0.0))
        hit = (disc >= 0) & (t > 0)
        ranges = np.where(hit, np.minimum(ranges, t), ranges)
    for (x0, y0), (x1, y1) in walls:
        p, q = np.array([x0, y0]) - o, np.array([x1 - x0, y1 - y0])
        den = d[:, 0] * q[1] - d[:, 1] * q[0]
        with np.errstate(divide='ignore', invalid='ignore'):
            t = (p[0] * q[1] - p[1] * q[0]) / den
            u = (p[0] * d[:, 1] - p[1] * d[:, 0]) / den
        hit = np.isfinite(t) & (t > 0) & (u >= 0) & (u <= 1)
        ranges = np.where(hit, np.minimum(ranges, t), ranges)
    if noise:
        ranges = ranges + rng.normal(0.0, noise, BEAMS)
    return ranges


def clusters_of(ranges, method='scan_order', pose=(0.0, 0.0, 0.0)):
    cfg = SegmentationConfig(method=method)
    pts = scan_points(ranges, ANGLES, (0.0, 0.0, 0.0), pose, 0.1, 30.0)
    return pts, summarize(pts, segment(pts, INC, BEAMS, cfg), cfg.min_points)


# ------------------------------------------------------------------ segmentation

@pytest.mark.parametrize('method', ['scan_order', 'kdtree'])
def test_two_people_one_behind_the_other_are_two_clusters(method):
    """Seen along one line of sight, 2.8 m apart: the gap has no returns (the lidar saw
    through it), so they are separate even though the missing beams span a wide angle."""
    ranges = cast_circles([(4.0, 0.0, 0.3), (6.9, 1.18, 0.3)])     # ~6 empty beams between
    _, cl = clusters_of(ranges, method)
    assert len(cl) == 2
    assert np.all(cl.width < 0.7)


def test_scan_order_wraps_around_the_back_of_a_360_scan():
    ranges = cast_circles([(-3.0, 0.0, 0.3)])          # straight behind: beams 0 and 719
    _, cl = clusters_of(ranges)
    assert len(cl) == 1 and cl.count[0] > 10


def test_a_field_of_view_of_360_degrees_to_a_few_digits_wraps_too():
    # the simulated lidar's 6.2832 rad (config/sim.yaml) is not 2 pi to 1e-6: until
    # 2026-12-02 a person straight behind was two clusters at the seam, two tracks
    cfg = SegmentationConfig()
    ranges = cast_circles([(-3.0, 0.0, 0.3)])
    for fov in (2.0 * math.pi, 6.2832, 6.283):
        inc = fov / BEAMS
        pts = scan_points(ranges, -math.pi + inc * np.arange(BEAMS), (0.0, 0.0, 0.0),
                          (0.0, 0.0, 0.0), 0.1, 30.0)
        assert len(summarize(pts, segment(pts, inc, BEAMS, cfg), cfg.min_points)) == 1, fov
    # a 270-degree fan does not wrap: its ends are a quarter circle apart
    assert not is_full_circle(BEAMS, 1.5 * math.pi / (BEAMS - 1))
    assert is_full_circle(BEAMS, -2.0 * math.pi / BEAMS)       # counter-clockwise scans too


def test_wall_is_one_wide_cluster_and_round_objects_get_their_centre_back():
    ranges = cast_circles([(3.0, 0.0, 0.3)], walls=[((-5.0, 4.0), (5.0, 4.0))])
    pts, cl = clusters_of(ranges)
    assert len(cl) == 2
    person = int(np.argmin(cl.width))
    assert cl.width[person] == pytest.approx(0.6, abs=0.06)
    assert cl.width[1 - person] > 5.0
    # beams are uniform in bearing, so the points' centroid is pi r / 4 = 0.24 m short of
    # the centre; centers() moves it back
    assert cl.centroid[person, 0] == pytest.approx(3.0 - 0.24, abs=0.03)
    assert centers(cl, pts.sensor_world, 1.0)[person] == pytest.approx([3.0, 0.0], abs=0.04)


def test_non_finite_and_out_of_range_returns_are_not_points():
    ranges = cast_circles([(2.0, 0.0, 0.3)])
    ranges[::11] = np.nan                             # single dropouts do not split it
    ranges[4::11] = -np.inf
    ranges[8::11] = 0.01                              # below range_min
    pts, cl = clusters_of(ranges)
    assert np.all(np.isfinite(pts.world)) and np.all(pts.ranges >= 0.1)
    assert len(cl) == 1


def test_a_person_partly_behind_a_nearer_one_is_partly_hidden_and_the_nearer_one_is_not():
    # the nearer one (4 m) hides the left part of the farther one (7 m) behind it
    ranges = cast_circles([(4.0, 0.0, 0.3), (7.0, -0.5, 0.3), (3.0, 3.0, 0.3)])
    pts, cl = clusters_of(ranges)
    assert len(cl) == 3
    hidden = partly_hidden(cl, pts, ranges, 0.1, 0.2, True)
    far = int(np.argmax(cl.centroid[:, 0]))
    assert hidden[far] and cl.width[far] < 0.45
    assert hidden.sum() == 1                    # the nearer one and the free one: whole
    # so does something too near to measure beside it (a return below range_min)
    ranges = cast_circles([(3.0, 3.0, 0.3)])
    pts, cl = clusters_of(ranges)
    edge = int(pts.beam.max())
    assert not partly_hidden(cl, pts, ranges, 0.1, 0.2, True)[0]
    ranges[edge + 1] = -np.inf
    assert partly_hidden(cl, pts, ranges, 0.1, 0.2, True)[0]


def test_partly_hidden_finds_the_edges_of_a_cluster_over_the_seam_of_a_360_scan():
    # straight behind (beams 0 and 719), hidden on one side by a nearer post
    ranges = cast_circles([(-3.0, 0.0, 0.3)])
    pts, cl = clusters_of(ranges)
    assert len(cl) == 1 and not partly_hidden(cl, pts, ranges, 0.1, 0.2, True)[0]
    seen = np.flatnonzero(np.isfinite(ranges))
    first = int(seen[seen > BEAMS // 2].min())  # the cluster's edge at the seam's far side
    ranges[first - 1] = 1.0
    pts, cl = clusters_of(ranges)
    assert partly_hidden(cl, pts, ranges, 0.1, 0.2, True)[0]
    # a sector scan's first beam has no neighbour before it: the wrap is not a neighbour
    ranges = np.full(BEAMS, np.inf)
    ranges[:5] = 3.0
    ranges[-1] = 1.0
    pts, cl = clusters_of(ranges)
    assert not partly_hidden(cl, pts, ranges, 0.1, 0.2, False)[0]
    assert partly_hidden(cl, pts, ranges, 0.1, 0.2, True)[0]


# ------------------------------------------------------------------ static map

def test_points_on_mapped_walls_are_static_and_a_person_beside_them_is_not():
    grid = np.zeros((200, 200), dtype=np.int8)
    grid[180:182, :] = OCCUPIED                       # wall at y = 9.0 .. 9.1 (0.05 m cells)
    occ = OccupancyMap(grid, 0.05, (-5.0, 0.0))
    sm = StaticMap(occ)
    ranges = cast_circles([(1.0, 8.3, 0.3)], sensor=(0.0, 0.0),
                          walls=[((-5.0, 9.0), (5.0, 9.0))])
    pts, cl = clusters_of(ranges)
    frac = static_fraction(cl.point_cluster, sm.explained(pts.world, 0.25), len(cl))
    person = int(np.argmin(np.hypot(*(cl.centroid - [1.0, 8.3]).T)))
    assert cl.width[person] < 0.7 and frac[person] < 0.1
    others = np.arange(len(cl)) != person                # the wall, split by the person
    assert others.sum() >= 1 and np.all(frac[others] > 0.9)


# ------------------------------------------------------------------ tracker

def walk(tracker, people, seconds, rate=10.0, noise=0.03, seed=0, miss=()):
    """Detections of people (x0, y0, vx, vy) for `seconds`; returns the track ids each
    person was assigned at every step."""
    rng = np.random.default_rng(seed)
    ids = []
    for k in range(int(seconds * rate)):
        t = k / rate
        xy = np.array([[x + vx * t, y + vy * t] for x, y, vx, vy in people])
        keep = [i for i in range(len(people)) if (k, i) not in miss]
        det = Detection(xy[keep] + rng.normal(0, noise, (len(keep), 2)),
                        np.full(len(keep), 0.55), np.full(len(keep), 0.2))
        tracks = tracker.update(t, det)
        ids.append({i: tracker.last_assignment.get(j) for j, i in enumerate(keep)})
    return tracks, ids


def test_tracker_estimates_velocity_and_keeps_identities_of_crossing_people():
    tracker = Tracker(TrackerConfig())
    people = [(0.0, 0.0, 1.3, 0.0), (8.0, 0.6, -1.3, 0.0)]     # pass each other 0.6 m apart
    tracks, ids = walk(tracker, people, 6.0)
    assert len(tracks.ids) == 2
    for i, (x, y, vx, vy) in enumerate(people):
        j = int(np.argmin(np.hypot(*(tracks.xy - [x + vx * 5.9, y + vy * 5.9]).T)))
        assert tracks.velocity[j] == pytest.approx([vx, vy], abs=0.15)
        assert tracks.classification[j] == CLASS_PEDESTRIAN
    # each person kept one id from confirmation to the end
    for i in range(2):
        assert len({step[i] for step in ids[5:]}) == 1


def test_tracks_coast_through_short_misses_then_die_and_ids_are_never_reused():
    tracker = Tracker(TrackerConfig(max_coast_time=1.0))
    miss = {(k, 0) for k in range(20, 26)}                    # 0.6 s unseen
    _, ids = walk(tracker, [(0.0, 0.0, 1.0, 0.0)], 4.0, miss=miss)
    assert len({s[0] for s in ids[5:] if 0 in s}) == 1        # same id after the gap
    first = ids[-1][0]
    tracker.update(6.0, Detection(np.zeros((0, 2)), np.zeros(0), np.zeros(0)))
    assert len(tracker.confirmed_tracks().ids) == 0           # gone after 2 s unseen
    tracks, ids = walk(tracker, [(0.0, 0.0, 1.0, 0.0)], 1.0)
    assert all(s[0] > first for s in ids)


def test_a_partly_hidden_detection_hardly_moves_the_track_it_updates():
    # trip 197: a walker seen only as a 0.14 m sliver past the one in front of it; its
    # centre was 0.2 m off to the side, and the track's velocity jumped to 1.9 m/s across
    # the robot's way. Marked partly hidden, the sliver's centre counts for little
    def after_sliver(partial):
        tracker = Tracker(TrackerConfig())
        walk(tracker, [(0.0, 0.0, 1.2, 0.0)], 3.0)
        t = 3.0
        sliver = Detection(np.array([[1.2 * t, 0.25]]), np.array([0.14]), np.array([0.1]),
                           np.array([partial]))
        tracks = tracker.update(t, sliver)
        assert len(tracks.ids) == 1
        return tracks.velocity[0], tracks.size[0, 0]

    v_whole, size_whole = after_sliver(False)
    v_partial, size_partial = after_sliver(True)
    assert abs(v_whole[1]) > 0.3                    # believed, the sliver turns the walk
    assert abs(v_partial[1]) < 0.1                  # marked, it hardly does
    assert size_partial > size_whole                # nor shrinks the walker's size


def test_a_single_spurious_detection_never_becomes_a_track():
    tracker = Tracker(TrackerConfig())
    tracker.update(0.0, Detection(np.array([[3.0, 3.0]]), np.array([0.4]), np.array([0.2])))
    for k in range(1, 10):
        tracks = tracker.update(k * 0.1, Detection(np.zeros((0, 2)), np.zeros(0), np.zeros(0)))
    assert len(tracks.ids) == 0 and len(tracker.tracks) == 0


def test_a_wide_object_that_stays_put_is_classified_static():
    tracker = Tracker(TrackerConfig())
    for k in range(30):
        tracks = tracker.update(k * 0.1, Detection(np.array([[5.0, 1.0]]), np.array([1.6]),
                                                   np.array([0.4])))
    assert tracks.classification[0] == CLASS_STATIC
    assert np.hypot(*tracks.velocity[0]) < 0.1


def test_time_going_backwards_resets_the_tracker():
    tracker = Tracker(TrackerConfig())
    walk(tracker, [(0.0, 0.0, 1.0, 0.0)], 1.0)
    tracker.update(0.05, Detection(np.zeros((0, 2)), np.zeros(0), np.zeros(0)))
    assert len(tracker.tracks) == 0


# ------------------------------------------------------------------ costmap

def test_costmap_cells_stay_in_place_in_the_world_when_the_window_rolls():
    cm = RollingCostmap(CostmapConfig(size=4.0, resolution=0.1))
    cm.recenter(0.0, 0.0)
    cm.mark('lidar', np.array([[1.05, 0.55]]), 1.0)
    cm.recenter(1.5, -0.3)                                  # 15 and 3 cells
    row, col, inside = cm.world_to_cell(np.array([[1.05, 0.55]]))
    assert inside[0] and cm.layers['lidar'][row[0], col[0]] == 1.0
    assert np.sum(np.isfinite(cm.layers['lidar'])) == 1
    cm.recenter(50.0, 50.0)                                 # far away: everything falls out
    assert not np.isfinite(cm.layers['lidar']).any()


def test_costmap_clears_what_a_scan_sees_through_and_inflates_like_nav2():
    cfg = CostmapConfig(size=6.0, resolution=0.05, inscribed_radius=0.3, inflation_radius=0.9)
    cm = RollingCostmap(cfg)
    cm.recenter(0.0, 0.0)
    cm.mark('lidar', np.array([[1.0, 0.0], [2.0, 1.0]]), 0.0)
    # a polygon covering (1, 0) but stopping short of (2, 1)
    cm.clear_polygon('lidar', np.array([[0.0, -1.0], [1.5, -1.0], [1.5, 0.5], [0.0, 0.5]]))
    costs = cm.costs(0.5)
    row, col, _ = cm.world_to_cell(np.array([[1.0, 0.0], [2.0, 1.0], [2.0, 1.2], [2.0, 1.7],
                                             [2.0, 2.5]]))
    c = costs[row, col]
    assert c[0] == 0 and c[1] == LETHAL and c[2] == INSCRIBED
    assert 0 < c[3] < INSCRIBED and c[4] == 0
    assert cm.costs(20.0).max() == 0                        # faded after the persistence


def test_objects_layer_holds_only_the_latest_points():
    cm = RollingCostmap(CostmapConfig(size=4.0, resolution=0.1))
    cm.recenter(0.0, 0.0)
    cm.replace('objects', np.array([[1.0, 1.0]]), 1.0)
    cm.replace('objects', np.array([[1.0, -1.0]]), 1.1)
    occupied = cm.obstacles(1.1)
    row, col, _ = cm.world_to_cell(np.array([[1.0, 1.0], [1.0, -1.0]]))
    assert not occupied[row[0], col[0]] and occupied[row[1], col[1]]


# ------------------------------------------------------------------ depth camera

def camera_setup(width=160, height=120, pitch=0.45, z=0.6):
    """Camera at (0.3, 0, z) in base_link pitched down; optical frame z forward."""
    from delivery_robot_nav.common.geometry import pose_matrix
    base_T_cam = pose_matrix((0.3, 0.0, z), (0.0, pitch, 0.0))
    cam_T_opt = pose_matrix((0, 0, 0), (-math.pi / 2, 0.0, -math.pi / 2))
    fx = (width / 2) / math.tan(1.5184 / 2)
    return CameraModel(width, height, fx, fx, (width - 1) / 2, (height - 1) / 2), \
        base_T_cam @ cam_T_opt


def render(camera, base_T_opt, boxes):
    """Depth image of the ground plane z = 0 and boxes (xmin, xmax, ymin, ymax, zmax)."""
    u, v = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy,
                     np.ones(u.shape)], -1) @ base_T_opt[:3, :3].T       # per unit depth
    o = base_T_opt[:3, 3]
    depth = np.full(u.shape, np.inf)
    with np.errstate(divide='ignore', invalid='ignore'):
        t = -o[2] / rays[..., 2]
    depth = np.where((rays[..., 2] < 0) & (t > 0), t, depth)
    for x0, x1, y0, y1, z1 in boxes:                        # slab intersection
        tmin, tmax = np.zeros(u.shape), np.full(u.shape, np.inf)
        for axis, lo, hi in ((0, x0, x1), (1, y0, y1), (2, 0.0, z1)):
            with np.errstate(divide='ignore', invalid='ignore'):
                a = (lo - o[axis]) / rays[..., axis]
                b = (hi - o[axis]) / rays[..., axis]
            tmin = np.maximum(tmin, np.nan_to_num(np.minimum(a, b), nan=-np.inf))
            tmax = np.minimum(tmax, np.nan_to_num(np.maximum(a, b), nan=np.inf))
        hit = tmax >= tmin
        depth = np.where(hit & (tmin < depth), tmin, depth)
    return depth.astype(np.float32)


def test_depth_finds_a_curb_below_the_lidar_and_leaves_a_tall_obstacle_to_the_lidar():
    camera, T = camera_setup()
    depth = render(camera, T, [(2.5, 2.8, -1.0, 1.0, 0.15),          # curb, 15 cm
                               (3.0, 3.3, 1.5, 1.8, 1.5)])             # a post: lidar's
    rng = np.random.default_rng(0)
    finite = np.isfinite(depth)
    depth[finite] += (0.01 * depth[finite] ** 2 * rng.normal(0, 1, finite.sum())).astype(np.float32)
    depth[rng.random(depth.shape) < 0.02] = np.nan                     # dropouts
    obs = DepthObstacleExtractor(DepthConfig(), camera, T).extract(depth)
    assert obs.ground_fit
    assert len(obs.xy) > 20
    # only the curb (depth noise at 2.5 m: 6 cm)
    assert np.all((obs.xy[:, 0] > 2.25) & (obs.xy[:, 0] < 3.05))
    assert np.all(np.abs(obs.xy[:, 1]) < 1.2)
    assert np.ptp(obs.xy[:, 1]) > 1.5                                  # along its length
    assert len(obs.free_polygon) > 10


def test_depth_image_of_the_wrong_size_is_refused_with_both_sizes():
    camera, T = camera_setup()
    with pytest.raises(ValueError, match='160x120'):
        DepthObstacleExtractor(DepthConfig(), camera, T).extract(np.zeros((10, 10)))


# ------------------------------------------------------------------ pipeline

def test_pipeline_tracks_a_walker_beside_a_mapped_wall_and_leaves_no_ghost():
    grid = np.zeros((400, 400), dtype=np.int8)
    grid[300:302, :] = OCCUPIED                             # wall at y = 5.0 (0.05 m cells)
    occ = OccupancyMap(grid, 0.05, (-10.0, -10.0))
    det = ObstacleDetector(DetectorConfig(costmap=CostmapConfig(size=12.0)), occ)
    rng = np.random.default_rng(1)
    # walks straight at the robot (the cells it leaves are hidden behind it)
    for k in range(40):
        t = k * 0.1
        person = (3.5 - 1.0 * t * 0.5, 1.0)
        ranges = cast_circles([(*person, 0.3)], noise=0.015, rng=rng,
                              walls=[((-10.0, 5.0), (10.0, 5.0))])
        res = det.on_scan(t, ranges, ANGLES, (0.0, 0.0, 0.0), INC, 0.1, 30.0)
    assert len(res.tracks.ids) == 1                         # the wall is not an object
    assert res.tracks.velocity[0] == pytest.approx([-0.5, 0.0], abs=0.15)
    occupied = det.costmap.obstacles(det.t)
    row, col, _ = det.costmap.world_to_cell(np.array([[3.0, 1.0], [2.5, 1.0]]))
    assert not occupied[row, col].any()                     # where it was: no ghost
    row, col, _ = det.costmap.world_to_cell(np.array([[1.5, 5.02]]))
    assert occupied[row[0], col[0]]                         # the wall is in the costmap


def test_depth_leaves_a_post_right_in_front_of_the_camera_to_the_lidar():
    """A post 0.3 m ahead (partly nearer than range_min) still reaches the lidar plane in
    the image: it is not a low obstacle."""
    camera, T = camera_setup()
    depth = render(camera, T, [(0.62, 0.75, -0.1, 0.1, 1.5)])          # post 0.3 m ahead
    obs = DepthObstacleExtractor(DepthConfig(), camera, T).extract(depth)
    assert len(obs.xy) == 0


def test_depth_points_on_an_object_the_lidar_tracks_are_left_to_the_tracker():
    camera, T = camera_setup()
    det = ObstacleDetector(DetectorConfig(), None)
    person = (2.5, 0.6)
    for k in range(5):                          # the lidar tracks a person standing there
        det.on_scan(k * 0.1, cast_circles([(*person, 0.3)]), ANGLES, (0.0, 0.0, 0.0), INC)
    # the camera sees something low at the person's feet and a curb elsewhere
    depth = render(camera, T, [(2.3, 2.6, 0.45, 0.75, 0.2), (2.5, 2.8, -1.5, -0.5, 0.15)])
    info = det.on_depth(0.45, depth, camera, T, (0.0, 0.0, 0.0))
    assert info['points'] > 0
    cm = det.costmap
    rows, cols = np.nonzero(cm.obstacles(0.45) & np.isfinite(cm.layers['depth']))
    xy = cm.origin + (np.column_stack([cols, rows]) + 0.5) * cm.cfg.resolution
    on_curb = (xy[:, 0] > 2.4) & (xy[:, 0] < 2.9) & (xy[:, 1] > -1.6) & (xy[:, 1] < -0.4)
    assert on_curb.sum() >= 10                    # the curb
    assert np.hypot(*(xy - person).T).min() > 0.5  # nothing at the tracked person


def test_crowd_pedestrians_keep_apart_and_a_short_crowd_run_is_tracked(repo):
    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.demo.config import load_driver_params, route_points
    from delivery_robot_nav.evaluation.perception_eval import crowd_actors, run_crowd
    route = route_points(load_driver_params())
    people = crowd_actors(route, 12, np.random.default_rng(3), horizon=120.0)
    grid = np.arange(0.0, 120.0, 0.05)
    paths = [a.poses_at(grid)[:, :2] for a in people]
    gaps = [np.hypot(*(paths[i] - paths[j]).T).min()
            for i in range(len(paths)) for j in range(i + 1, len(paths))]
    assert min(gaps) >= 0.7
    result = run_crowd(seed=1, duration=40.0, pedestrians=20,
                       occ=load_map(repo / 'worlds' / 'campus_map.yaml'), depth=False)
    assert result['pedestrian_scans_visible'] > 50
    assert result['recall'] > 0.9 and result['precision'] > 0.9


def test_occupancy_grid_message_round_trip_and_a_bad_one_is_named():
    from delivery_robot_nav.common import conversions as conv
    grid = np.zeros((30, 40), dtype=np.int8)
    grid[5:8, 10:30] = OCCUPIED
    msg = conv.occupancy_grid_msg(grid, 0.1, (-2.0, 3.0), 'map', 1.0)
    occ = conv.occupancy_map(msg)
    assert np.array_equal(occ.grid, grid) and occ.resolution == pytest.approx(0.1)
    assert occ.origin == pytest.approx((-2.0, 3.0))
    msg.info.width = 41
    with pytest.raises(ValueError, match='1200 cells for 41 x 30'):
        conv.occupancy_map(msg)


def test_a_post_that_stood_still_is_remembered_behind_a_270_degree_lidar():
    # a small unmapped post is tracked while in view; standing still, it stays in the
    # costmap when the robot turns its back on it (the lidar's blind sector), after its
    # track is gone, and the fan of free space does not clear behind the sensor
    fov = np.abs(ANGLES) <= 0.75 * math.pi + 1e-9
    angles = ANGLES[fov]
    det = ObstacleDetector(DetectorConfig(costmap=CostmapConfig(size=12.0)), None)
    post = (2.0, 0.0, 0.1)
    rng = np.random.default_rng(2)
    t = 0.0
    for k in range(30):                                     # 3 s facing it
        t = k * 0.1
        ranges = cast_circles([post], noise=0.01, rng=rng)[fov]
        det.on_scan(t, ranges, angles, (0.0, 0.0, 0.0), INC, 0.1, 30.0)
    assert det.costmap.obstacles(t)[det.costmap.world_to_cell(np.array([[1.9, 0.0]]))[:2]]
    for k in range(50):                                     # 5 s facing away: it is behind
        t = 3.0 + k * 0.1
        ranges = np.full(BEAMS, np.inf)[fov]
        res = det.on_scan(t, ranges, angles, (0.0, 0.0, math.pi), INC, 0.1, 30.0)
    assert len(res.tracks.ids) == 0                         # the track died long ago
    row, col, _ = det.costmap.world_to_cell(np.array([[1.9, 0.0]]))
    assert det.costmap.obstacles(t)[row[0], col[0]]
    # what the lidar sees while facing away is cleared as usual
    row, col, _ = det.costmap.world_to_cell(np.array([[-2.0, 0.0]]))
    assert not det.costmap.obstacles(t)[row[0], col[0]]
