"""Seeded batches with a checkpoint: resumed, extended, refused, repaired."""
import json
import time

import pytest

from delivery_robot_nav.evaluation import batch
from delivery_robot_nav.evaluation.batch import CheckpointError, run_seeds


def square(seed: int) -> dict:
    """A run: a row that depends on its seed alone (module level: workers pickle it)."""
    return {'seed': seed, 'outcome': 'success', 'value': seed * seed}


RAN = {}          # the folder square_but_not_4 marks its runs in (forked workers inherit it)


def square_but_not_4(seed: int) -> dict:
    (RAN['dir'] / str(seed)).touch()
    if seed == 4:
        raise RuntimeError('run 4 failed')
    time.sleep(0.05)
    return square(seed)


class Counting:
    def __init__(self):
        self.seeds = []

    def __call__(self, seed):
        self.seeds.append(seed)
        return square(seed)


SETTINGS = {'seed': 0, 'pedestrians': 10}


def test_a_checkpointed_batch_runs_only_the_seeds_it_lacks(tmp_path):
    path = tmp_path / 'runs' / 'trips.jsonl'
    first = Counting()
    rows = run_seeds(first, [5, 3, 9], checkpoint=path, kind='campus_trips', settings=SETTINGS)
    assert rows == [square(s) for s in (5, 3, 9)] and first.seeds == [5, 3, 9]
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])['kind'] == 'campus_trips' and len(lines) == 4
    # started again with more seeds: the three kept, two run, rows in the asked order
    again, seen = Counting(), []
    rows = run_seeds(again, [5, 3, 9, 1, 7], progress=seen.append, checkpoint=path,
                     kind='campus_trips', settings=SETTINGS)
    assert again.seeds == [1, 7]
    assert rows == [square(s) for s in (5, 3, 9, 1, 7)]
    assert sorted(r['seed'] for r in seen) == [1, 3, 5, 7, 9]      # resumed ones reported too
    assert len(path.read_text().splitlines()) == 6
    # fewer seeds than the file holds: only those asked for, nothing run
    third = Counting()
    assert run_seeds(third, [9, 5], checkpoint=path, kind='campus_trips',
                     settings=SETTINGS) == [square(9), square(5)]
    assert third.seeds == []


def test_workers_fill_the_checkpoint_as_runs_end(tmp_path):
    path = tmp_path / 'm.jsonl'
    rows = run_seeds(square, list(range(6)), workers=2, checkpoint=path, kind='k',
                     settings=SETTINGS)
    assert rows == [square(s) for s in range(6)]
    kept = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert sorted(r['seed'] for r in kept) == list(range(6))
    # and without a checkpoint, the same rows
    assert run_seeds(square, list(range(6)), workers=2) == rows


def test_a_run_that_raises_stops_the_batch_and_keeps_what_ended(tmp_path):
    """The error comes out at once (the runs not started are dropped, not run to the end
    of a long batch first); the rows that ended before it stay in the checkpoint."""
    path = tmp_path / 'm.jsonl'
    RAN['dir'] = tmp_path / 'ran'
    RAN['dir'].mkdir()
    with pytest.raises(RuntimeError, match='run 4 failed'):
        run_seeds(square_but_not_4, list(range(200)), workers=2, checkpoint=path, kind='k',
                  settings=SETTINGS)
    kept = [json.loads(line)['seed'] for line in path.read_text().splitlines()[1:]]
    assert 4 not in kept and len(kept) < 50
    assert len(list(RAN['dir'].iterdir())) < 50            # the other 150 never ran
    assert all(json.loads(line) == square(json.loads(line)['seed'])
               for line in path.read_text().splitlines()[1:])


def test_another_batchs_checkpoint_is_refused_naming_what_differs(tmp_path, monkeypatch):
    path = tmp_path / 'trips.jsonl'
    run_seeds(square, [1, 2], checkpoint=path, kind='campus_trips', settings=SETTINGS)
    before = path.read_text()
    with pytest.raises(CheckpointError, match=r"pedestrians 10 \(this batch: 4\)"):
        run_seeds(square, [1, 2], checkpoint=path, kind='campus_trips',
                  settings={'seed': 0, 'pedestrians': 4})
    with pytest.raises(CheckpointError, match="holds 'campus_trips' rows"):
        run_seeds(square, [1, 2], checkpoint=path, kind='campus_missions', settings=SETTINGS)
    # the stack changed since (here: its fingerprint)
    monkeypatch.setattr(batch, 'stack_fingerprint', lambda: 'another')
    with pytest.raises(CheckpointError, match='another version of the stack'):
        run_seeds(square, [1, 2], checkpoint=path, kind='campus_trips', settings=SETTINGS)
    assert path.read_text() == before                        # and nothing was written
    bad = tmp_path / 'notes.txt'
    bad.write_text('my notes\n')
    with pytest.raises(CheckpointError, match='notes.txt: line 1'):
        run_seeds(square, [1], checkpoint=bad, kind='k', settings=SETTINGS)


def test_a_row_cut_short_is_run_again_and_a_damaged_one_refused(tmp_path):
    path = tmp_path / 'trips.jsonl'
    run_seeds(square, [1, 2, 3], checkpoint=path, kind='k', settings=SETTINGS)
    text = path.read_text()
    path.write_text(text[:-9])                    # killed while writing seed 3's row
    again = Counting()
    assert run_seeds(again, [1, 2, 3], checkpoint=path, kind='k',
                     settings=SETTINGS) == [square(s) for s in (1, 2, 3)]
    assert again.seeds == [3]
    assert path.read_text() == text               # the cut line replaced, not appended to
    # a whole last row without its line end is kept, and the next row goes on a new line
    path.write_text(text[:-1])
    more = Counting()
    run_seeds(more, [1, 2, 3, 4], checkpoint=path, kind='k', settings=SETTINGS)
    assert more.seeds == [4]
    assert [json.loads(x)['seed'] for x in path.read_text().splitlines()[1:]] == [1, 2, 3, 4]
    # a damaged row that is not the last is an error with its line number
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:5]
    path.write_text('\n'.join(lines) + '\n')
    with pytest.raises(CheckpointError, match='line 3'):
        run_seeds(square, [1], checkpoint=path, kind='k', settings=SETTINGS)


def test_the_stack_fingerprint_follows_the_config_files(tmp_path, monkeypatch):
    """A changed parameter file changes the fingerprint: a checkpoint of the old
    configuration is not resumed by the new one."""
    import shutil

    from delivery_robot_nav.common import paths

    share = tmp_path / 'share'
    for folder in ('config', 'worlds'):
        shutil.copytree(paths.share_path(folder), share / folder)
    monkeypatch.setattr(batch, 'share_path', lambda *p: share.joinpath(*p))
    before = batch.stack_fingerprint()
    assert batch.stack_fingerprint() == before
    f = share / 'config' / 'path_following.yaml'
    f.write_text(f.read_text().replace('max_decel: 1.5', 'max_decel: 1.4'))
    assert batch.stack_fingerprint() != before
