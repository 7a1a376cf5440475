"""Seeded runs (campus trips, missions; BARN worlds) over worker processes, with an
optional checkpoint.

A long batch has to survive being stopped: 1000 missions take about 17 hours on two cores
today. With a checkpoint file, every run that ends is appended to it at once, as one JSON
line. A batch started again with the same file runs only the seeds it lacks, and its
result is the one an uninterrupted batch gives: each run depends on its seed alone. A batch
asked for more runs than the file holds (`--missions 1000` after `--missions 50`) adds the
missing seeds.

The file's first line says what its rows are: the kind of run, the batch's settings and a
fingerprint of the stack (the package's Python sources and its config/ and worlds/ files).
A file written by another stack, or with other settings, is refused with the field that
differs, never mixed in. A last line cut short (the batch was killed while writing it) is
dropped and its seed run again.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from delivery_robot_nav.common.paths import share_path

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed: another batch's, or damaged."""


def stack_fingerprint() -> str:
    """sha256 over the package's Python sources and its config/ and worlds/ files (paths
    and contents): any change to what a run computes changes it."""
    package = Path(__file__).resolve().parents[1]
    files = [(f'src/{p.relative_to(package.parent)}', p) for p in package.rglob('*.py')]
    for folder in ('config', 'worlds'):
        root = share_path(folder)
        files += [(f'{folder}/{p.relative_to(root)}', p) for p in root.rglob('*')
                  if p.is_file()]
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode() + b'\0' + path.read_bytes() + b'\0')
    return digest.hexdigest()


def run_seeds(fn: Callable, seeds: list, workers: int = 1,
              progress: Callable[[dict], None] | None = None,
              checkpoint: str | Path | None = None, kind: str = '',
              settings: dict | None = None) -> list[dict]:
    """fn(seed) for every seed (any hashable run argument: a seed, a world file), in
    `workers` processes (fn picklable when workers > 1); the rows in the order of `seeds`.
    checkpoint: the file that keeps the finished rows of the batch described by kind and
    settings (JSON values), each row holding its seed under 'seed'; rows already there are
    not run again. progress(row) after each row, resumed ones first."""
    header = {'checkpoint': FORMAT, 'kind': kind, 'settings': settings or {},
              'stack': stack_fingerprint() if checkpoint is not None else None}
    done: dict = {}
    out = None
    if checkpoint is not None:
        done = _resume(Path(checkpoint), header)
        out = open(checkpoint, 'a', encoding='utf-8')
    try:
        rows = {s: done[s] for s in seeds if s in done}
        if progress:
            for row in rows.values():
                progress(row)
        todo = [s for s in seeds if s not in rows]

        def finished(seed, row: dict):
            rows[seed] = row
            if out is not None:
                out.write(json.dumps(row) + '\n')
                out.flush()
                os.fsync(out.fileno())
            if progress:
                progress(row)

        if workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(workers) as pool:
                jobs = {pool.submit(fn, s): s for s in todo}
                try:
                    for job in as_completed(jobs):
                        finished(jobs[job], job.result())
                except BaseException:
                    # a run that raised, Ctrl-C: the runs not started are not started
                    # (leaving the pool would otherwise wait for all of them)
                    for job in jobs:
                        job.cancel()
                    raise
        else:
            for s in todo:
                finished(s, fn(s))
    finally:
        if out is not None:
            out.close()
    return [rows[s] for s in seeds]


def _resume(path: Path, header: dict) -> dict[int, dict]:
    """The rows in the checkpoint at path, by seed; a new file gets the header. Raises
    CheckpointError for another batch's file or a damaged one."""
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(header) + '\n', encoding='utf-8')
        return {}
    text = path.read_text(encoding='utf-8')
    lines = text.split('\n')
    try:
        theirs = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f'{path}: line 1 is not a checkpoint header ({exc})') from exc
    if not isinstance(theirs, dict) or theirs.get('checkpoint') != FORMAT:
        raise CheckpointError(f'{path}: line 1 is not a checkpoint header of format {FORMAT}')
    again = 'Use another file, or delete this one to start over'
    if theirs.get('kind') != header['kind']:
        raise CheckpointError(f'{path}: holds {theirs.get("kind")!r} rows, this batch runs '
                              f'{header["kind"]!r}. {again}')
    ours, old = header['settings'], theirs.get('settings') or {}
    differ = [k for k in sorted(set(ours) | set(old)) if ours.get(k) != old.get(k)]
    if differ:
        said = ', '.join(f'{k} {old.get(k)!r} (this batch: {ours.get(k)!r})' for k in differ)
        raise CheckpointError(f'{path}: written by a batch with {said}. {again}')
    if theirs.get('stack') != header['stack']:
        raise CheckpointError(f'{path}: written by another version of the stack (its Python '
                              f'sources, config/ or worlds/ differ), so its rows are not this '
                              f'stack\'s. {again}')
    rows: dict[int, dict] = {}
    good = len(lines[0].encode('utf-8')) + 1        # bytes of the lines kept so far
    cut = False
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            good += 1
            continue
        try:
            row = json.loads(line)
            seed = row['seed']
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            if number == len(lines) and not text.endswith('\n'):
                cut = True                           # cut short while being written
                break
            raise CheckpointError(f'{path}: line {number} is not a run\'s row ({exc})') from exc
        rows[seed] = row
        good += len(line.encode('utf-8')) + 1
    if cut:
        with open(path, 'r+b') as f:                 # drop the cut line before appending
            f.truncate(good)
    elif not text.endswith('\n'):
        with open(path, 'a', encoding='utf-8') as f:     # a whole last row without its end
            f.write('\n')
    return rows
