#!/usr/bin/env python3
"""Print what the robot did, control cycle by control cycle, in a time window of one
campus trip or mission from the batch evaluation: the truth pose and speed, the command,
what limited the speed, and the nearest people with their true clearance to the footprint.
For finding out why a trip or mission in `delivery-nav evaluate` failed or came close.

The seeds are the ones in the evaluation's rows (`"seed"`): trip i of `--seed S` is
S * 100003 + i, and so is mission i.

    .venv/bin/python tools/trace_run.py --trip 100040 --from 136 --to 146
    .venv/bin/python tools/trace_run.py --mission 16 --from 392 --to 406 --every 4
    .venv/bin/python tools/trace_run.py --trip 197 --closest      # when and with whom
    .venv/bin/python tools/trace_run.py --trip 197 --from 139.5 --to 140.5 --tracks 7

`--tracks R` adds, under each printed cycle, the tracked obstacles within R m that the
controller was given: id, position, velocity with its standard deviation, age and time
since the last detection (a phantom velocity shows there).
"""
import argparse
import math

import numpy as np

from delivery_robot_nav.evaluation.mission_eval import run_mission
from delivery_robot_nav.evaluation.navigation_eval import footprint_clearance, run_campus_trip


def clearances(loop) -> np.ndarray:
    sim, s = loop.sim, loop.sim.state
    if not len(sim.actor_xy):
        return np.zeros(0)
    return footprint_clearance((s.x, s.y, s.yaw), sim.robot.footprint, sim.actor_xy,
                               sim.cfg.actors.radius)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument('--trip', type=int, metavar='SEED', help='a campus trip (ground truth)')
    which.add_argument('--mission', type=int, metavar='SEED',
                       help='a mission (localization in the loop)')
    ap.add_argument('--from', dest='t0', type=float, default=0.0, help='s of simulated time')
    ap.add_argument('--to', dest='t1', type=float, default=math.inf)
    ap.add_argument('--every', type=int, default=1, help='print every Nth control cycle')
    ap.add_argument('--people', type=int, default=3, help='nearest people shown')
    ap.add_argument('--tracks', type=float, default=0.0, metavar='R',
                    help='also print the tracks within R m of the robot')
    ap.add_argument('--closest', action='store_true',
                    help='print only the closest approach to a person over the whole run')
    args = ap.parse_args(argv)

    closest = [math.inf, '']
    count = [0]

    def observe(loop):
        sim, out, s = loop.sim, loop.out, loop.sim.state
        gap = clearances(loop)
        if args.closest:
            if len(gap) and gap.min() < closest[0]:
                i = int(gap.argmin())
                closest[0] = float(gap[i])
                closest[1] = (f'{sim.time:.2f} s: {gap[i]:.3f} m to person {i} at '
                              f'({sim.actor_xy[i, 0]:.2f}, {sim.actor_xy[i, 1]:.2f}); robot '
                              f'({s.x:.2f}, {s.y:.2f}, {math.degrees(s.yaw):.0f} deg) at '
                              f'{s.v:.2f} m/s, {out.reason if out else "-"}')
            return
        if not args.t0 <= sim.time <= args.t1:
            return
        count[0] += 1
        if (count[0] - 1) % args.every:
            return
        near = ' '.join(f'{i}:({sim.actor_xy[i, 0]:.1f},{sim.actor_xy[i, 1]:.1f}) {gap[i]:.2f}'
                        for i in np.argsort(gap)[:args.people])
        print(f'{sim.time:7.2f} ({s.x:7.2f},{s.y:7.2f},{math.degrees(s.yaw):6.1f}) '
              f'v {s.v:5.2f} cmd ({out.v:5.2f},{out.w:5.2f}) {out.reason[:28]:28s} {near}',
              flush=True)
        tr = loop.tracks
        if args.tracks > 0.0 and tr is not None:
            for i in np.flatnonzero(np.hypot(*(tr.xy - (s.x, s.y)).T) <= args.tracks):
                sd = np.sqrt(np.maximum(np.diag(tr.cov[i])[2:], 0.0))
                print(f'          track {tr.ids[i]:4d} ({tr.xy[i, 0]:7.2f},{tr.xy[i, 1]:7.2f}) '
                      f'v ({tr.velocity[i, 0]:5.2f},{tr.velocity[i, 1]:5.2f}) '
                      f'sd ({sd[0]:.2f},{sd[1]:.2f}) age {tr.age[i]:5.1f} s, '
                      f'seen {tr.time_since_update[i]:.2f} s ago')

    if args.trip is not None:
        row = run_campus_trip(args.trip, observer=observe)
    else:
        row = run_mission(args.mission, observer=observe)
    if args.closest:
        print(closest[1] or 'nobody was near')
    print({k: row[k] for k in ('outcome', 'time_s', 'events') if k in row})
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
