"""Two `delivery-nav evaluate --json` results side by side: the tuning loop's last step
(edit a YAML -> evaluate -> compare). Summary numbers with their change, and the trips,
worlds or missions whose outcome changed (matched by seed, world or mission index)."""
from __future__ import annotations

import json
from pathlib import Path

# a row's identity in each kind of result
_ROW_KEYS = ('seed', 'world', 'mission')


def load_result(path: str | Path) -> dict:
    """The summary an evaluate --json file holds (a list of one, as written). ValueError
    naming the file when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f'{path}: not a readable JSON file ({exc})') from exc
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict) or not any(isinstance(v, (int, float)) for v in data.values()):
        raise ValueError(f'{path}: expected the JSON summary `delivery-nav evaluate --json` '
                         f'writes')
    return data


def _row_id(row: dict):
    for key in _ROW_KEYS:
        if key in row:
            return key, row[key]
    return None


def compare(before: dict, after: dict) -> tuple[list, list]:
    """(summary lines [(key, before, after, change)], changed rows [(id, before outcome,
    after outcome)])."""
    lines = []
    for key, b in before.items():
        a = after.get(key)
        if isinstance(b, bool) or isinstance(a, bool):
            continue
        if isinstance(b, (int, float)) and isinstance(a, (int, float)):
            lines.append((key, b, a, a - b))
    rows_b = {_row_id(r): r for r in before.get('rows', []) if _row_id(r)}
    rows_a = {_row_id(r): r for r in after.get('rows', []) if _row_id(r)}
    changed = [(rid, rows_b[rid].get('outcome'), rows_a[rid].get('outcome'))
               for rid in rows_b if rid in rows_a
               and rows_b[rid].get('outcome') != rows_a[rid].get('outcome')]
    return lines, changed


def format_comparison(before: dict, after: dict) -> str:
    lines, changed = compare(before, after)
    out = [f'{"":28s} {"before":>12s} {"after":>12s} {"change":>12s}']
    for key, b, a, d in lines:
        out.append(f'{key:28s} {b:12.4g} {a:12.4g} {d:+12.4g}')
    if changed:
        out.append(f'{len(changed)} outcome(s) changed:')
        out += [f'  {k} {v}: {b} -> {a}' for (k, v), b, a in changed]
    else:
        out.append('no outcome changed')
    return '\n'.join(out)
