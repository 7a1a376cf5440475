"""The delivery-nav command line, run as a user runs it (a subprocess)."""
import json
import subprocess
import sys

import pytest
import yaml

from delivery_robot_nav.common.maps import load_map


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, '-m', 'delivery_robot_nav.cli', *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_explains_each_subcommand():
    out = cli('--help').stdout
    for sub in ('demo', 'run', 'make-map', 'world-info', 'bench', 'evaluate', 'compare',
                'deliver'):
        assert sub in out
    assert 'map_server' in cli('make-map', '--help').stdout


def test_bench_only_measures_the_keys_asked_for(tmp_path):
    out = tmp_path / 'bench.json'
    proc = cli('bench', '--only', 'ekf_step', '--json', out)
    assert 'running bench_localization.py --only ekf_step' in proc.stderr
    results = json.loads(out.read_text())
    assert list(results) == ['ekf_step']
    assert results['ekf_step']['median_ms'] > 0 and \
        results['ekf_step']['p99_ms'] >= results['ekf_step']['median_ms']
    bad = cli('bench', '--only', 'warp_drive', check=False)
    assert bad.returncode == 2
    assert 'no benchmark key or script "warp_drive"' in bad.stderr
    for key in ('sim_lockstep', 'pf_update_1000x90', 'ekf_step', 'lidar_pipeline_720',
                'depth_frame_160x120', 'costmap_update', 'controller_cycle',
                'collision_monitor_720', 'route_query_10k', 'local_plan_240'):
        assert key in bad.stderr                    # every key the issues name is there


def test_world_info_json_on_barn(barn_dir):
    info = json.loads(cli('world-info', barn_dir / 'worlds' / 'world_0.world', '--json').stdout)
    assert info['static_obstacles'] == 209 and info['actors'] == 0
    xmin, ymin, xmax, ymax = info['bounds_m']
    assert xmin < xmax and ymin < ymax


def test_world_info_on_campus(repo):
    info = json.loads(cli('world-info', repo / 'worlds' / 'campus.sdf', '--json').stdout)
    assert info['actors'] >= 20 and info['static_obstacles'] > 100
    assert info['bounds_m'][2] - info['bounds_m'][0] >= 300


def test_make_map_writes_a_loadable_map(barn_dir, tmp_path):
    cli('make-map', barn_dir / 'worlds' / 'world_0.world', '-o', tmp_path / 'barn.yaml',
        '--resolution', '0.05')
    m = load_map(tmp_path / 'barn.yaml')
    assert m.resolution == 0.05 and (m.grid == 100).sum() > 0


def test_bad_world_is_exit_2_with_the_reason(tmp_path):
    bad = tmp_path / 'bad.sdf'
    bad.write_text('<sdf version="1.9"><world name="w"><road name="r"/></world></sdf>')
    proc = cli('world-info', bad, check=False)
    assert proc.returncode == 2
    assert 'bad.sdf:1: <road>: unsupported element' in proc.stderr


def test_run_writes_report_png_and_json(repo, tmp_path):
    demo = yaml.safe_load((repo / 'config' / 'demo.yaml').read_text())
    demo['scripted_driver']['ros__parameters']['route'] = [-140.0, -72.0, -140.0, -62.0,
                                                           -132.0, -60.0]
    short = tmp_path / 'short.yaml'
    short.write_text(yaml.safe_dump(demo))
    out = tmp_path / 'report'
    cli('run', '--output', out, '--demo-config', short, '--max-sim-time', '60', '--no-depth')
    report = json.loads((out / 'report.json').read_text())
    assert report['outcome'] == 'route_complete' and report['collisions'] == 0
    assert report['distance_m'] == pytest.approx(18.0, abs=2.0)
    assert (out / 'report.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (out / 'summary.json').is_file() and (out / 'log.npz').is_file()


def test_evaluate_barn_scores_the_first_worlds(barn_dir, tmp_path):
    """The BARN scenario end to end on two worlds: perception, navigator, scoring."""
    out = tmp_path / 'barn.json'
    proc = cli('evaluate', '--scenario', 'barn', '--worlds', barn_dir / 'worlds', '--limit', 2,
               '--json', out)
    summary = json.loads(proc.stdout)
    for key in ('worlds', 'success_rate', 'collision_rate', 'timeout_rate', 'mean_time_s',
                'mean_score'):
        assert key in summary
    assert summary['worlds'] == 2
    rows = json.loads(out.read_text())['rows']
    assert [r['world'] for r in rows] == ['world_0.world', 'world_6.world']
    for r in rows:   # the two easiest worlds: reached without touching anything
        assert r['outcome'] == 'success', r['events']
        assert 0.0 < r['score'] <= 0.5
        assert r['time_s'] < 100.0
    assert summary['collision_rate'] == 0.0


def test_evaluate_barn_reports_a_missing_world_directory(tmp_path):
    proc = cli('evaluate', '--scenario', 'barn', '--worlds', tmp_path / 'nowhere', check=False)
    assert proc.returncode == 2 and 'no world_*.world files' in proc.stderr


def test_evaluate_missions_writes_rows_plots_and_a_progress_bar(tmp_path):
    """One short mission (one station, three people per leg) through the command line."""
    out = tmp_path / 'missions.json'
    proc = cli('evaluate', '--scenario', 'campus', '--missions', 1, '--stations', 1,
               '--pedestrians', 3, '--seed', 2, '--json', out)
    summary = json.loads(proc.stdout)
    for key in ('missions', 'success_rate', 'collisions', 'timeouts', 'real_time_factor',
                'localization_rmse_m', 'min_clearance_m'):
        assert key in summary
    assert summary['missions'] == 1
    assert '1/1' in proc.stderr                         # the bar reached the end
    rows = json.loads(out.read_text())['rows']
    assert len(rows) == 1 and rows[0]['seed'] == 200006 and len(rows[0]['stations']) == 1
    assert rows[0]['sim_time_s'] > 0 and rows[0]['wall_s'] > 0
    assert (tmp_path / 'missions.png').stat().st_size > 20_000


def test_evaluate_with_a_checkpoint_runs_only_the_trips_it_lacks(tmp_path):
    """A batch stopped and started again (here: one trip, then two) keeps what it ran; a
    checkpoint of other settings is refused with the file and the setting."""
    ckpt, first, second = tmp_path / 'trips.jsonl', tmp_path / 'a.json', tmp_path / 'b.json'
    common = ('evaluate', '--scenario', 'campus', '--pedestrians', 2, '--checkpoint', ckpt)
    cli(*common, '--trips', 1, '--json', first)
    cli(*common, '--trips', 2, '--json', second)
    a, b = json.loads(first.read_text())['rows'], json.loads(second.read_text())['rows']
    assert [r['seed'] for r in b] == [0, 1]
    assert b[0] == a[0]                  # read back, not run again (its wall time is the same)
    assert len(ckpt.read_text().splitlines()) == 3
    proc = cli('evaluate', '--scenario', 'campus', '--pedestrians', 3, '--checkpoint', ckpt,
               '--trips', 2, check=False)
    assert proc.returncode == 2
    assert 'trips.jsonl' in proc.stderr and 'pedestrians 2 (this batch: 3)' in proc.stderr


def test_compare_shows_summary_changes_and_the_trips_whose_outcome_changed(tmp_path):
    """The tuning loop's last step, on two results in the shape evaluate --json writes."""
    def result(rate, speed, outcomes):
        return {'trips': len(outcomes), 'success_rate': rate, 'mean_speed_ratio': speed,
                'seed': 0, 'rows': [{'seed': i, 'outcome': o} for i, o in enumerate(outcomes)]}

    before, after = tmp_path / 'before.json', tmp_path / 'after.json'
    before.write_text(json.dumps(result(0.5, 0.8, ['success', 'collision'])))
    after.write_text(json.dumps([result(1.0, 0.75, ['success', 'success'])]))
    out = cli('compare', before, after).stdout
    rate = next(line for line in out.splitlines() if line.startswith('success_rate'))
    assert rate.split()[1:] == ['0.5', '1', '+0.5']
    speed = next(line for line in out.splitlines() if line.startswith('mean_speed_ratio'))
    assert speed.split()[-1] == '-0.05'
    assert '1 outcome(s) changed' in out and 'seed 1: collision -> success' in out
    bad = tmp_path / 'bad.json'
    bad.write_text('["not a result"]')
    proc = cli('compare', before, bad, check=False)
    assert proc.returncode == 2 and 'bad.json' in proc.stderr
