"""Delivery missions in the lockstep simulator: the sequencer, navigator, detector and
localizer together (no DDS)."""
from delivery_robot_nav.evaluation.mission_eval import evaluate_missions, run_mission


def test_a_short_mission_delivers_and_returns_on_the_localizer_s_pose():
    # admin is the station nearest the depot (78 m); a 2 s hand-over
    row = run_mission(3, ['admin'], pedestrians=3, localization=True, handover_time=2.0)
    assert row['outcome'] == 'success', row['events']
    assert row['delivered'] == ['admin'] and 'delivered to 1 of 1 station' in row['message']
    assert any('to admin' in e for e in row['events'])
    assert any('to depot' in e for e in row['events'])
    # the navigator drove on the estimate: close to the truth, but not the truth
    assert 0.0 < row['localization_rmse_m'] < 0.3
    assert row['sim_time_s'] > 2 * 78 / 1.5 and row['real_time_factor'] > 1.0
    assert row['min_clearance_m'] > 0.0


def test_the_summary_counts_outcomes_and_rates():
    # seed 9 draws admin, the station nearest the depot
    result = evaluate_missions(1, seed=9, stations=1, pedestrians=0, localization=False,
                               handover_time=2.0)
    [row] = result['rows']
    assert result['missions'] == 1 and row['seed'] == 9 * 100003 and row['stations'] == ['admin']
    assert result['success_rate'] == (1.0 if row['success'] else 0.0)
    assert result['collisions'] + result['timeouts'] + result['failures'] + \
        result['struck_while_stopped'] == (0 if row['success'] else 1)
    assert result['real_time_factor'] == round(row['sim_time_s'] / row['wall_s'], 2)
    assert row['localization_rmse_m'] == 0.0          # ground truth: no error
    assert result['min_clearance_m'] == row['min_clearance_m']
