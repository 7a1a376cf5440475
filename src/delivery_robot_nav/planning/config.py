"""Schema of the path-following parameters (values: config/path_following.yaml; the
Jackal-sized BARN robot: config/barn_jackal.yaml)."""
from __future__ import annotations

from pathlib import Path

from delivery_robot_nav.common.params import ParamError, ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path
from delivery_robot_nav.planning.collision_monitor import CollisionMonitorConfig
from delivery_robot_nav.planning.controller import ControllerConfig
from delivery_robot_nav.planning.local_planner import LocalPlannerConfig
from delivery_robot_nav.planning.navigator import NavigatorConfig

NODE_NAME = 'path_following'
P = ParamSpec

# name, type, description, unit, min, max, (target config, field)
_SPECS = [
    ('route_graph_file', str, 'campus route graph (Nav2 Route Server GeoJSON); empty: the package graph', '', None, None, None),
    ('use_route_graph', bool, 'plan goals on the route graph (false: straight to the goal, detours in the costmap)', '', None, None, None),
    ('robot_description_file', str, 'URDF (footprint); empty: the package URDF', '', None, None, None),
    ('global_frame_id', str, 'frame of goals, odometry/filtered, the costmap and the plan', '', None, None, None),
    ('base_frame_id', str, 'robot base frame (scan points are transformed into it)', '', None, None, None),
    ('control_rate_hz', float, 'controller cycle rate', 'Hz', 1.0, 100.0, None),
    ('use_stamped_cmd_vel', bool, 'publish cmd_vel as TwistStamped instead of Twist', '', None, None, None),
    ('pose_timeout', float, 'an older pose stops the robot', 's', 0.01, 10.0, None),
    ('route.max_snap_distance', float, 'goals and starts farther from the graph are refused', 'm', 0.1, 1000.0, None),
    ('controller.max_speed', float, 'robot speed limit (edges may say less)', 'm/s', 0.05, 5.0, ('ctl', 'max_speed')),
    ('controller.max_angular_speed', float, 'yaw rate limit', 'rad/s', 0.1, 10.0, ('ctl', 'max_angular_speed')),
    ('controller.max_accel', float, 'acceleration limit', 'm/s^2', 0.05, 20.0, ('ctl', 'max_accel')),
    ('controller.max_decel', float, 'deceleration limit', 'm/s^2', 0.05, 20.0, ('ctl', 'max_decel')),
    ('controller.max_jerk', float, 'jerk limit', 'm/s^3', 0.1, 100.0, ('ctl', 'max_jerk')),
    ('controller.max_angular_accel', float, 'yaw acceleration limit', 'rad/s^2', 0.1, 50.0, ('ctl', 'max_angular_accel')),
    ('controller.lookahead_time', float, 'lookahead distance per m/s of speed', 's', 0.1, 10.0, ('ctl', 'lookahead_time')),
    ('controller.min_lookahead', float, 'shortest lookahead', 'm', 0.05, 10.0, ('ctl', 'min_lookahead')),
    ('controller.max_lookahead', float, 'longest lookahead', 'm', 0.1, 20.0, ('ctl', 'max_lookahead')),
    ('controller.regulated_min_radius', float, 'turns tighter than this slow down proportionally', 'm', 0.0, 20.0, ('ctl', 'regulated_min_radius')),
    ('controller.min_regulated_speed', float, 'floor of curvature and proximity regulation', 'm/s', 0.0, 5.0, ('ctl', 'min_regulated_speed')),
    ('controller.proximity_distance', float, 'obstacles nearer than this slow the robot', 'm', 0.0, 10.0, ('ctl', 'proximity_distance')),
    ('controller.rotate_gain', float, 'turn-in-place rate per radian of heading error', '1/s', 0.1, 20.0, ('ctl', 'rotate_gain')),
    ('controller.approach_speed', float, 'creep speed in the last centimetres to the goal', 'm/s', 0.0, 1.0, ('ctl', 'approach_speed')),
    ('controller.rotate_to_heading_angle', float, 'larger heading errors turn in place first', 'rad', 0.05, 3.2, ('ctl', 'rotate_to_heading_angle')),
    ('controller.yield_clearance', float, 'gap kept between the robot and a person', 'm', 0.0, 5.0, ('ctl', 'yield_clearance')),
    ('controller.turn_onto_path_distance', float, 'people whose walk comes this near the path ahead are also predicted to turn onto it towards the robot (0: constant velocity only)', 'm', 0.0, 5.0, ('ctl', 'turn_onto_path_distance')),
    ('controller.junction_radius', float, 'people walking past a walkway junction this near are also predicted to turn there and cross it (0: off; junctions are the route graph nodes of degree >= 3 and those marked as crossings)', 'm', 0.0, 10.0, ('ctl', 'junction_radius')),
    ('controller.junction_stop_distance', float, 'when going through the next junction would not keep yield_clearance to someone (constant velocity and the second guesses), the robot waits with its front this far before the junction centre, not in it (0: off; half a walkway plus the clearance: people walk up to 0.5 m from its edge)', 'm', 0.0, 10.0, ('ctl', 'junction_stop_distance')),
    ('controller.junction_release_margin', float, 'a robot held before a junction goes on only when the crossing keeps this much more than the clearance it was held for (hysteresis: a check that only just passes flips back with the next velocity estimate, too late to stop)', 'm', 0.0, 5.0, ('ctl', 'junction_release_margin')),
    ('controller.overtake_margin', float, 'a person walking ahead the same way within overtake_lateral of the side is overtaken only when the robot may go this much faster, else followed (0: off; lingering beside a walker who may turn across is what this avoids)', 'm/s', 0.0, 5.0, ('ctl', 'overtake_margin')),
    ('controller.overtake_lateral', float, 'people this near the footprint side (sideways) count for overtake_margin', 'm', 0.0, 10.0, ('ctl', 'overtake_lateral')),
    ('controller.yield_horizon', float, 'prediction horizon for people', 's', 0.0, 20.0, ('ctl', 'yield_horizon')),
    ('monitor.stop_margin', float, 'nothing may come closer to the footprint', 'm', 0.0, 2.0, ('mon', 'stop_margin')),
    ('monitor.slowdown_margin', float, 'points this near the footprint slow the robot', 'm', 0.0, 5.0, ('mon', 'slowdown_margin')),
    ('monitor.slowdown_ratio', float, 'speed factor in the slowdown zone', '', 0.0, 1.0, ('mon', 'slowdown_ratio')),
    ('monitor.min_points', int, 'scan points needed to trigger a zone (noise)', '', 1, 100, ('mon', 'min_points')),
    ('monitor.time_horizon', float, 'commanded motion checked ahead (swept footprint)', 's', 0.1, 10.0, ('mon', 'time_horizon')),
    ('planner.cost_weight', float, 'a step through cost 100 counts 1 + this times its length', '', 0.0, 100.0, ('pln', 'cost_weight')),
    ('planner.unknown_cost', int, 'cost given to unknown (-1) costmap cells', '', 0, 100, ('pln', 'unknown_cost')),
    ('planner.preferred_cost', int, 'cells at or above are avoided while a way without them exists (about the cost at the circumscribed radius)', '', 1, 100, ('pln', 'preferred_cost')),
    ('planner.blocked_cost', int, 'costmap cells at or above this cannot hold the robot centre', '', 1, 100, ('pln', 'blocked_cost')),
    ('navigation.goal_tolerance', float, 'distance to the goal that counts as arrived', 'm', 0.01, 5.0, ('nav', 'goal_tolerance')),
    ('navigation.check_horizon', float, 'path ahead checked against the costmap every cycle', 'm', 0.5, 50.0, ('nav', 'check_horizon')),
    ('navigation.detour_rejoin', float, 'a detour rejoins the route this far past the blockage', 'm', 0.1, 50.0, ('nav', 'detour_rejoin')),
    ('navigation.replan_period', float, 'time between re-plans while on a detour', 's', 0.05, 60.0, ('nav', 'replan_period')),
    ('navigation.switch_ratio', float, 'a new detour replaces a free one only if it costs less than this fraction of it', '', 0.1, 1.0, ('nav', 'switch_ratio')),
    ('navigation.detour_speed', float, 'speed limit on a detour', 'm/s', 0.05, 5.0, ('nav', 'detour_speed')),
    ('navigation.moving_speed', float, 'tracked objects faster than this are yielded to, not planned around', 'm/s', 0.0, 5.0, ('nav', 'moving_speed')),
    ('navigation.costmap_timeout', float, 'an older costmap stops the robot', 's', 0.05, 60.0, ('nav', 'costmap_timeout')),
    ('navigation.scan_timeout', float, 'an older scan stops the robot', 's', 0.05, 60.0, ('nav', 'scan_timeout')),
    ('navigation.pose_jump', float, 'a larger jump of the pose between cycles stops and re-plans', 'm', 0.05, 100.0, ('nav', 'pose_jump')),
    ('navigation.progress_distance', float, 'travel expected within progress_timeout', 'm', 0.01, 10.0, ('nav', 'progress_distance')),
    ('navigation.progress_timeout', float, 'time without progress before a recovery', 's', 0.5, 600.0, ('nav', 'progress_timeout')),
    ('navigation.held_timeout', float, 'time held in place by the collision monitor (wedged) before a recovery', 's', 0.1, 600.0, ('nav', 'held_timeout')),
    ('navigation.max_yield_time', float, 'time waiting for people before a recovery', 's', 0.5, 600.0, ('nav', 'max_yield_time')),
    ('navigation.evade_speed', float, 'at most this fast when making way for a person predicted to walk into the standing robot (0: never)', 'm/s', 0.0, 2.0, ('nav', 'evade_speed')),
    ('navigation.evade_horizon', float, 'how far ahead people are predicted when making way', 's', 0.2, 10.0, ('nav', 'evade_horizon')),
    ('navigation.evade_margin', float, 'once making way, go on until the gap to the person has this to spare', 'm', 0.0, 2.0, ('nav', 'evade_margin')),
    ('navigation.evade_clearance', float, 'a way that keeps this gap to everyone is good enough; among those, the one ending nearest the path', 'm', 0.0, 2.0, ('nav', 'evade_clearance')),
    ('navigation.evade_path_weight', float, 'making way: metres of distance from the path that one radian of heading off it counts as', 'm/rad', 0.0, 5.0, ('nav', 'evade_path_weight')),
    ('navigation.evade_guess_allowance', float, 'making way: a second guess about a walker (turning down the path or through a junction) counts as this much farther away', 'm', 0.0, 2.0, ('nav', 'evade_guess_allowance')),
    ('navigation.max_recoveries', int, 'recoveries before the goal fails', '', 0, 100, ('nav', 'max_recoveries')),
    ('navigation.backup_distance', float, 'backing-up recovery distance', 'm', 0.0, 5.0, ('nav', 'backup_distance')),
    ('navigation.rotate_angle', float, 'rotating recovery: turn this far', 'rad', 0.1, 6.3, ('nav', 'rotate_angle')),
    ('navigation.rotate_speed', float, 'rotating recovery: at this rate', 'rad/s', 0.05, 5.0, ('nav', 'rotate_speed')),
    ('navigation.backup_speed', float, 'backing-up speed', 'm/s', 0.01, 1.0, ('nav', 'backup_speed')),
]

LIVE_PARAMS = {name for name, *_, target in _SPECS if target is not None} | {'pose_timeout'}

PATH_FOLLOWING_PARAMS: list[ParamSpec] = [
    P(name, kind, text, unit, lo, hi, read_only=name not in LIVE_PARAMS)
    for name, kind, text, unit, lo, hi, _ in _SPECS]
_TARGETS = {name: target for name, *_, target in _SPECS if target is not None}


def default_config_path() -> Path:
    return share_path('config', 'path_following.yaml')


def load_path_following_params(path: str | Path | None = None,
                               overrides: dict | None = None) -> dict:
    return load_params_file(path or default_config_path(), NODE_NAME, PATH_FOLLOWING_PARAMS,
                            overrides)


def navigator_config(values: dict, robot) -> NavigatorConfig:
    """The navigator's configuration from validated parameters and the robot model: the
    footprint (the URDF's collision boxes) and the radius used in predictions."""
    parts = {'ctl': {}, 'mon': {}, 'pln': {}, 'nav': {}}
    for name, (target, field) in _TARGETS.items():
        parts[target][field] = values[name]
    xmin, ymin, xmax, ymax = robot.footprint
    footprint = ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax))
    ctl = ControllerConfig(footprint_box=(xmin, ymin, xmax, ymax), **parts['ctl'])
    if ctl.min_lookahead > ctl.max_lookahead:
        raise ParamError('controller.min_lookahead must not exceed controller.max_lookahead')
    return NavigatorConfig(controller=ctl, monitor=CollisionMonitorConfig(**parts['mon']),
                           planner=LocalPlannerConfig(**parts['pln']), footprint=footprint,
                           **parts['nav'])
