"""`delivery-nav`: the package's command line (one entry point, one subcommand per job)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from delivery_robot_nav.common.paths import share_path

DESCRIPTION = """\
Campus delivery robot navigation: simulation, maps, benchmarks.

subcommands:
  demo        drive the campus loop over real DDS (sim_node + scripted_driver processes)
              and write a report (PNG + JSON)
  run         drive the same loop in the lockstep simulator (no DDS, faster than real time)
              and write the same report
  make-map    rasterize a world's static obstacles at lidar height into a map_server map
  world-info  summarize an SDF world (obstacles, actors, bounds, named frames)
  bench       run the benchmarks in bench/ and collect their numbers as JSON
  evaluate-localization
              localization accuracy against ground truth in the lockstep simulator
  evaluate-perception
              obstacle detection and tracking against ground truth (lockstep)
  evaluate    path following: the BARN benchmark worlds, or campus station-to-station
              trips among pedestrians (lockstep, with the real perception in the loop)
  compare     two evaluate --json results side by side (summary changes, changed outcomes)
  deliver     send a delivery (stations in order) to a running mission node and follow it
"""


def _robot_lidar_height() -> float:
    from delivery_robot_nav.sim.robot_model import load_robot_model
    robot = load_robot_model(share_path('urdf', 'delivery_robot.urdf'))
    return float(robot.frame('laser_link')[2, 3])


def cmd_world_info(args) -> int:
    from delivery_robot_nav.common.world import load_world
    info = load_world(args.world).info()
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f'{key}: {value}')
    return 0


def cmd_make_map(args) -> int:
    from delivery_robot_nav.common.maps import rasterize_world, save_map
    from delivery_robot_nav.common.world import load_world
    height = args.height if args.height is not None else _robot_lidar_height()
    occ = rasterize_world(load_world(args.world), args.resolution, height)
    pgm = save_map(occ, args.output)
    h, w = occ.shape
    print(f'wrote {args.output} and {pgm}: {w} x {h} cells of {args.resolution} m, '
          f'obstacles sliced at z = {height:.3f} m')
    return 0


def cmd_run(args) -> int:
    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.common.geometry import se2_compose
    from delivery_robot_nav.demo.config import driver_config, load_driver_params, route_points
    from delivery_robot_nav.demo.route_driver import LockstepRouteController, RouteDriver
    from delivery_robot_nav.evaluation.report import RunRecord, write_report
    from delivery_robot_nav.sim.core import Simulator
    from delivery_robot_nav.sim.scenario import run_scenario
    import numpy as np

    overrides = {'seed': args.seed}
    if args.no_depth:
        overrides['depth_camera.enabled'] = False
    sim = Simulator.from_files(args.sim_config, overrides=overrides)
    values = load_driver_params(args.demo_config)
    driver = RouteDriver(route_points(values), driver_config(
        values, sim.robot.footprint[2], float(sim.robot.frame('laser_link')[0, 3])))
    controller = LockstepRouteController(driver, values['control_rate_hz'], sim.cfg.step_rate_hz)
    log = run_scenario(sim, controller, args.max_sim_time, done=lambda: driver.done,
                       progress=lambda t: print(f'  sim time {t:6.0f} s', end='\r'))
    log.save(args.output)
    start = np.array(sim.cfg.start_pose)
    odom = np.array([[o[0], *se2_compose(start, o[1:])[:2]] for o in log.odom])
    summary = log.summary()
    stats = {k: v for k, v in summary.items() if k not in ('collisions', 'collision_events')}
    stats['outcome'] = 'route_complete' if log.outcome == 'done' else log.outcome
    stats['transport'] = 'lockstep (no DDS)'
    record = RunRecord(title='Campus loop, lockstep simulator: scripted route driver',
                       truth=np.column_stack([log.time, log.truth[:, :2]]),
                       odom=odom if len(odom) else None, actors=log.actors,
                       collisions=summary['collision_events'], stations=sim.world.stations,
                       stats=stats)
    occ = load_map(share_path('worlds', 'campus_map.yaml')) \
        if Path(sim.cfg.world_file).name == 'campus.sdf' else None
    report = write_report(record, occ, args.output)
    _print_report(report, args.output)
    return 0 if report['outcome'] == 'route_complete' else 1


DEMO_STATIONS = ('admin', 'student_union', 'library')


def cmd_demo(args) -> int:
    from delivery_robot_nav.demo.ros_demo import run_demo
    try:
        report = run_demo(Path(args.output), args.stations, args.handover_time,
                          args.real_time_factor, args.max_sim_time, args.max_wall_time,
                          args.domain_id, return_to_depot=not args.no_return)
    except (ValueError, RuntimeError) as exc:
        print(f'demo: {exc}', file=sys.stderr)
        return 2
    _print_demo_report(report, args.output)
    return 0 if report['outcome'] == 'delivered' else 1


def _print_demo_report(report: dict, output) -> None:
    loc = report.get('localization', {})
    people = report.get('people_clearance', {})
    lat = report.get('scan_via_obstacles_to_cmd_vel_latency', {})
    lat_scan = report.get('scan_to_cmd_vel_latency', {})
    lat_od = report.get('scan_to_obstacles_latency', {})
    rows = [('outcome', report['outcome']),
            ('delivered', ', '.join(report['delivered']) or '-'),
            ('failed', ', '.join(report['failed']) or '-'),
            ('distance', f"{report.get('distance_m', 0):.0f} m in {report.get('sim_time_s', 0):.0f} s"
                         f" simulated, {report['wall_time_s']:.0f} s wall "
                         f"({report['real_time_factor_achieved']}x)"),
            ('collisions', report['collisions']),
            ('closest pedestrian', f"{people.get('min_m', float('nan')):.2f} m"),
            ('localization error', f"RMSE {loc.get('rmse_m', float('nan')):.3f} m, "
                                   f"max {loc.get('max_m', float('nan')):.3f} m"),
            ('scan -> obstacles -> cmd_vel', f"p50 {lat.get('p50_ms', float('nan'))} ms, "
                                             f"p95 {lat.get('p95_ms', float('nan'))} ms"),
            ('  of which scan -> obstacles', f"p50 {lat_od.get('p50_ms', float('nan'))} ms, "
                                             f"p95 {lat_od.get('p95_ms', float('nan'))} ms"),
            ('scan -> cmd_vel (monitor)', f"p50 {lat_scan.get('p50_ms', float('nan'))} ms, "
                                          f"p95 {lat_scan.get('p95_ms', float('nan'))} ms"),
            ('CPU', f"{report.get('cpu_cores_used')} cores: " + ', '.join(
                f'{name} {x:.0f} s' for name, x in report.get('cpu_s', {}).items())),
            ('bag', f"{Path(output) / 'bag'} ({report['bag']['messages']} messages, MCAP)")]
    print()
    for k, v in rows:
        print(f'  {k:30s} {v}')
    print(f'report: {Path(output)}/{{map,speed,localization_error,clearance}}.png, '
          f'{Path(output) / "metrics.json"}')


def _print_report(report: dict, output) -> None:
    keys = ('outcome', 'transport', 'distance_m', 'sim_time_s', 'wall_time_s',
            'real_time_factor_achieved', 'real_time_factor', 'collisions',
            'min_center_clearance_m', 'odom_final_position_error_m', 'localization_rmse_m',
            'localization_max_error_m', 'localization_inside_2sigma_fraction')
    print()
    for k in keys:
        if k in report:
            print(f'  {k:32s} {report[k]}')
    print(f'report: {Path(output) / "report.png"}, {Path(output) / "report.json"}')


def bench_keys(script: Path) -> tuple:
    """The keys a bench script measures (its module-level KEYS tuple, read without running
    it)."""
    import ast
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', '') == 'KEYS'
                                                for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def cmd_bench(args) -> int:
    bench_dir = Path(args.bench_dir) if args.bench_dir else share_path('bench')
    scripts = sorted(bench_dir.glob('bench_*.py'))
    if not scripts:
        print(f'no bench_*.py scripts in {bench_dir}', file=sys.stderr)
        return 2
    keys = {script: bench_keys(script) for script in scripts}
    runs: dict[Path, list[str] | None] = {}      # script -> keys to measure (None: all)
    for token in args.only or ():
        owner = [sc for sc, ks in keys.items() if token in ks]
        named = [sc for sc in scripts if token in sc.stem]
        if owner:
            if runs.get(owner[0], []) is not None:
                runs.setdefault(owner[0], []).append(token)
        elif named:
            runs.update({sc: None for sc in named})
        else:
            known = sorted(k for ks in keys.values() for k in ks)
            print(f'delivery-nav bench: no benchmark key or script "{token}" (keys: '
                  f'{", ".join(known)})', file=sys.stderr)
            return 2
    if not args.only:
        runs = {sc: None for sc in scripts}
    results = {}
    for script, only in runs.items():
        print(f'running {script.name}' + (f' --only {" ".join(only)}' if only else '') + ' ...',
              file=sys.stderr)
        cmd = [sys.executable, str(script), '--json'] + (['--only', *only] if only else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            print(f'{script.name} failed (exit {proc.returncode})', file=sys.stderr)
            return 1
        results.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    text = json.dumps(results, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    print(text)
    return 0


def cmd_evaluate_localization(args) -> int:
    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.evaluation.localization_eval import SCENARIOS, evaluate
    occ = load_map(args.map or share_path('worlds', 'campus_map.yaml'))
    return _emit(args.json, (evaluate(scenario, args.duration, seed, occ)
                             for scenario in args.scenario or list(SCENARIOS)
                             for seed in args.seeds))


def cmd_evaluate_perception(args) -> int:
    from delivery_robot_nav.common.maps import load_map
    from delivery_robot_nav.evaluation.perception_eval import evaluate
    occ = load_map(args.map or share_path('worlds', 'campus_map.yaml'))
    return _emit(args.json, (evaluate(scenario, seed, occ, args.duration, args.pedestrians,
                                      args.pose, args.segmentation, depth=not args.no_depth)
                             for scenario in args.scenario or ['crowd', 'low_obstacles']
                             for seed in args.seeds))


def cmd_evaluate(args) -> int:
    from tqdm import tqdm

    from delivery_robot_nav.evaluation import navigation_eval as nav_eval
    from delivery_robot_nav.evaluation.batch import CheckpointError

    if args.scenario == 'barn':
        if args.checkpoint:
            print('error: --checkpoint is for campus trips and missions (50 BARN worlds take '
                  'minutes)', file=sys.stderr)
            return 2
        worlds = Path(args.worlds) if args.worlds else \
            share_path().parent / 'shared' / 'benchmarks' / 'barn' / 'worlds'
        total, unit = len(list(worlds.glob('world_*.world'))), 'world'
        if args.limit:
            total = min(total, args.limit)
    elif args.missions:
        total, unit = args.missions, 'mission'
    else:
        total, unit = args.trips, 'trip'
    # the bar on stderr; a line per finished run above it (the rows are in --json)
    bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
    counts: dict[str, int] = {}

    def progress(row):
        counts[row['outcome']] = counts.get(row['outcome'], 0) + 1
        keys = ('world', 'seed', 'from', 'to', 'stations', 'outcome', 'time_s', 'sim_time_s',
                'score', 'speed_ratio', 'real_time_factor', 'min_clearance_m')
        bar.write(json.dumps({k: row[k] for k in keys if k in row}), file=sys.stderr)
        bar.set_postfix_str(', '.join(f'{k} {n}' for k, n in sorted(counts.items())),
                            refresh=False)
        bar.update()

    try:
        if args.scenario == 'barn':
            result = nav_eval.evaluate_barn(str(worlds), args.config, args.workers, args.seed,
                                            args.limit, progress)
        elif args.missions:
            from delivery_robot_nav.evaluation.mission_eval import (evaluate_missions,
                                                                    plot_missions)
            result = evaluate_missions(args.missions, args.seed, args.workers, args.stations,
                                       args.pedestrians, not args.no_localization, progress,
                                       checkpoint=args.checkpoint)
        else:
            result = nav_eval.evaluate_campus_trips(
                args.trips, args.seed, 10 if args.pedestrians is None else args.pedestrians,
                args.workers, progress, args.checkpoint)
    except CheckpointError as exc:
        bar.close()
        print(f'error: {exc}', file=sys.stderr)
        return 2
    finally:
        bar.close()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
        if args.missions:
            png = Path(args.json).with_suffix('.png')
            plot_missions(result, png)
            print(f'plots: {png}', file=sys.stderr)
    print(json.dumps({k: v for k, v in result.items() if k != 'rows'}, indent=2))
    return 0


def _emit(json_path: str | None, results) -> int:
    """Print each result as a JSON line as it comes; also write them all to json_path."""
    collected = []
    for result in results:
        collected.append(result)
        print(json.dumps(result), flush=True)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(collected, indent=2))
    return 0


def cmd_compare(args) -> int:
    from delivery_robot_nav.evaluation.compare import format_comparison, load_result
    try:
        before, after = load_result(args.before), load_result(args.after)
    except ValueError as exc:
        print(f'delivery-nav compare: {exc}', file=sys.stderr)
        return 2
    print(format_comparison(before, after))
    return 0


def cmd_deliver(args) -> int:
    from delivery_robot_nav.mission.ros_client import deliver
    return deliver(args.stations, args.id, not args.no_return, not args.no_wait,
                   args.server_timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='delivery-nav', description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    p = sub.add_parser('demo', help='a delivery by the whole stack over DDS, with a report',
                       description='Start localization, obstacle_detection, path_following, '
                       'mission and sim_node as processes (DDS on localhost only, a private '
                       'ROS_DOMAIN_ID), deliver to the stations and return to the depot, '
                       'record every topic into a rosbag2 (MCAP), and write map.png, '
                       'speed.png, localization_error.png, clearance.png and metrics.json.')
    p.add_argument('--output', default='out/demo', help='report directory (default: out/demo)')
    p.add_argument('--stations', nargs='+', default=list(DEMO_STATIONS),
                   help=f'stations in delivery order (default: {" ".join(DEMO_STATIONS)})')
    p.add_argument('--no-return', action='store_true', help='stay at the last station')
    p.add_argument('--handover-time', type=float, default=10.0,
                   help='s waited at each station for the parcel to be taken (default: 10)')
    p.add_argument('--real-time-factor', type=float, default=2.0,
                   help='simulated seconds per wall second (default: 2; five Python nodes '
                   'and the recorder share two cores here)')
    p.add_argument('--max-sim-time', type=float, default=900.0,
                   help='stop after this many simulated seconds (default: 900)')
    p.add_argument('--max-wall-time', type=float, default=600.0,
                   help='stop after this many wall seconds (default: 600)')
    p.add_argument('--domain-id', type=int, default=None,
                   help='ROS_DOMAIN_ID (default: inherited, else derived from the pid)')
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser('run', help='campus loop in the lockstep simulator with a report',
                       description='Drive the demo route with the scripted driver in the '
                       'lockstep simulator (no DDS) and write the same report as demo.')
    p.add_argument('--output', default='out/run', help='report directory (default: out/run)')
    p.add_argument('--seed', type=int, default=0, help='noise seed (default: 0)')
    p.add_argument('--max-sim-time', type=float, default=900.0)
    p.add_argument('--no-depth', action='store_true', help='disable the depth camera')
    p.add_argument('--sim-config', default=None, help='simulator YAML (default: config/sim.yaml)')
    p.add_argument('--demo-config', default=None, help='driver YAML (default: config/demo.yaml)')
    p.set_defaults(func=cmd_run)

    p = sub.add_parser('make-map', help='rasterize a world into a map_server map',
                       description='Rasterize the static obstacles of an SDF world in the '
                       'horizontal plane of the lidar into a map_server map (YAML + PGM, '
                       'trinary). Obstacles wholly above or below that plane are left out, '
                       'as the lidar does not see them.')
    p.add_argument('world', help='SDF world file')
    p.add_argument('-o', '--output', required=True, help='map YAML to write (PGM beside it)')
    p.add_argument('--resolution', type=float, default=0.1, help='m per cell (default: 0.1)')
    p.add_argument('--height', type=float, default=None,
                   help='slice height in m (default: the URDF laser_link height)')
    p.set_defaults(func=cmd_make_map)

    p = sub.add_parser('world-info', help='summarize an SDF world',
                       description='Load an SDF world with the simulator\'s loader and print '
                       'its static obstacle count, actor count, bounds and named frames.')
    p.add_argument('world', help='SDF world file')
    p.add_argument('--json', action='store_true', help='print one JSON object')
    p.set_defaults(func=cmd_world_info)

    p = sub.add_parser('bench', help='run the benchmarks and collect JSON',
                       description='Run every bench/bench_*.py script (each prints '
                       '{key: {"median_ms": ..., "p99_ms": ..., ...}}) and merge the results.')
    p.add_argument('--json', default=None, help='write the merged results to this file')
    p.add_argument('--only', nargs='+', metavar='KEY',
                   help='measure only these keys (e.g. controller_cycle), or run the scripts '
                   'whose name contains these words (e.g. planning)')
    p.add_argument('--bench-dir', default=None, help='benchmark directory (default: bench/)')
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser('evaluate-localization', help='localization accuracy vs ground truth',
                       description='Drive the campus loop in the lockstep simulator (sensor '
                       'noise on) while the localizer runs on the simulated sensors, and '
                       'compare its estimate with ground truth at every odometry stamp. '
                       'Scenarios: drive (all sensors), no_lidar, kidnap, outage. Prints one '
                       'JSON line per scenario and seed.')
    p.add_argument('--scenario', nargs='*', choices=['drive', 'no_lidar', 'kidnap', 'outage'])
    p.add_argument('--duration', type=float, default=600.0, help='simulated seconds (600)')
    p.add_argument('--seeds', type=int, nargs='*', default=[0])
    p.add_argument('--map', default=None, help='map YAML (default: worlds/campus_map.yaml)')
    p.add_argument('--json', default=None, help='also write all results to this file')
    p.set_defaults(func=cmd_evaluate_localization)

    p = sub.add_parser('evaluate-perception', help='obstacle detection vs ground truth',
                       description='Obstacle detection in the lockstep simulator (sensor noise '
                       'on) against ground truth. crowd: the campus loop among the campus '
                       'pedestrians and --pedestrians more walking along the route; recall, '
                       'precision, velocity error, identity switches, costmap ghosts. '
                       'low_obstacles: drive at every obstacle below the lidar plane; is it '
                       'in the costmap within 3 m? Prints one JSON line per scenario and seed.')
    p.add_argument('--scenario', nargs='*', choices=['crowd', 'low_obstacles'])
    p.add_argument('--duration', type=float, default=300.0, help='simulated seconds (300)')
    p.add_argument('--seeds', type=int, nargs='*', default=[0])
    p.add_argument('--pedestrians', type=int, default=40,
                   help='pedestrians added along the route (40)')
    p.add_argument('--pose', choices=['truth', 'estimate'], default='truth',
                   help='place scans with the true pose or the localizer\'s estimate')
    p.add_argument('--segmentation', choices=['scan_order', 'kdtree'], default=None,
                   help='override the configured segmentation method')
    p.add_argument('--no-depth', action='store_true',
                   help='crowd without the depth camera (faster)')
    p.add_argument('--map', default=None, help='map YAML (default: worlds/campus_map.yaml)')
    p.add_argument('--json', default=None, help='also write all results to this file')
    p.set_defaults(func=cmd_evaluate_perception)

    p = sub.add_parser('evaluate', help='path following: BARN worlds or campus trips',
                       description='Path following in the lockstep simulator (sensor noise on) '
                       'with the obstacle detector and the navigator the nodes run. barn: every '
                       'world_*.world in --worlds with the Jackal-sized robot of '
                       'config/barn_jackal.yaml, scored as the BARN challenge does. campus: '
                       '--trips random station-to-station trips on the route graph among the '
                       'campus pedestrians and --pedestrians more. Prints the summary; --json '
                       'also writes per-world / per-trip rows.')
    p.add_argument('--scenario', choices=['barn', 'campus'], required=True)
    p.add_argument('--worlds', default=None,
                   help='BARN world directory (default: ../shared/benchmarks/barn/worlds)')
    p.add_argument('--config', default=None,
                   help='BARN robot parameters (default: config/barn_jackal.yaml)')
    p.add_argument('--limit', type=int, default=None, help='only the first N BARN worlds')
    p.add_argument('--trips', type=int, default=200, help='campus trips (200)')
    p.add_argument('--missions', type=int, default=None,
                   help='campus: delivery missions instead of trips (depot -> --stations '
                   'random stations with hand-overs -> depot, localization in the loop)')
    p.add_argument('--stations', type=int, default=3, help='stations per mission (3)')
    p.add_argument('--no-localization', action='store_true',
                   help='missions on ground-truth poses instead of the localizer\'s')
    p.add_argument('--pedestrians', type=int, default=None,
                   help='pedestrians added along each campus trip (default 10; the campus has '
                   '24) or each mission leg (default: 5-12, drawn per mission)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=1, help='parallel processes (1)')
    p.add_argument('--json', default=None, help='write the summary and rows to this file')
    p.add_argument('--checkpoint', default=None, metavar='FILE',
                   help='campus: append each finished trip or mission to FILE (JSON lines) and, '
                   'started again with it, run only the ones it lacks (also after raising '
                   '--trips / --missions); refused when FILE was written with other settings '
                   'or another version of the stack')
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser('compare', help='two evaluate --json results side by side',
                       description='Summary numbers of two `evaluate --json` results with '
                                   'their change, and the trips / worlds / missions whose '
                                   'outcome changed: the last step of tuning (edit a YAML '
                                   '-> evaluate -> compare).')
    p.add_argument('before')
    p.add_argument('after')
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser('deliver', help='send a delivery to the mission node',
                       description='Send the Deliver action to a running mission node (same '
                       'ROS_DOMAIN_ID) and print its progress until it ends; Ctrl-C cancels '
                       'it. Exit 0: delivered (or accepted, with --no-wait); 1: failed or '
                       'canceled; 2: refused or no mission node.')
    p.add_argument('stations', nargs='+', help='station names of the route graph, in order')
    p.add_argument('--id', default=None, help='delivery id (default: a random cli-XXXXXXXX)')
    p.add_argument('--no-return', action='store_true', help='stay at the last station')
    p.add_argument('--no-wait', action='store_true', help='exit once the delivery is accepted')
    p.add_argument('--server-timeout', type=float, default=10.0,
                   help='seconds to wait for the mission node (default: 10)')
    p.set_defaults(func=cmd_deliver)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from delivery_robot_nav.common.maps import MapError
    from delivery_robot_nav.common.params import ParamError
    from delivery_robot_nav.common.world import WorldError
    from delivery_robot_nav.sim.robot_model import RobotModelError
    try:
        return args.func(args)
    except (WorldError, MapError, ParamError, RobotModelError, FileNotFoundError) as exc:
        print(f'delivery-nav {args.command}: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
