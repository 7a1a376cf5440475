"""Parameter schemas: one declaration per tunable number (name, type, unit, range, text).

The values live in config/*.yaml (ros2 params format); the schema says what they mean and
which values are valid. The same schema serves three readers:
- `load_params_file` reads a YAML file without ROS (lockstep simulator, batch evaluation,
  tests) and rejects missing, unknown, mistyped and out-of-range values by file and name;
- node wrappers declare each parameter with a ParameterDescriptor built from it and
  validate live changes with `check_value`;
- `markdown_table` writes the parameter table of the docs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml


class ParamError(ValueError):
    """A parameter file or value that does not match its schema."""


_TYPE_NAMES = {float: 'double', int: 'integer', bool: 'bool', str: 'string',
               list: 'double array'}


@dataclass(frozen=True)
class ParamSpec:
    name: str                       # dotted ros2 name, e.g. 'lidar.rate_hz'
    type: type                      # float, int, bool, str, or list (of floats)
    description: str
    unit: str = ''
    min: float | None = None
    max: float | None = None
    read_only: bool = False
    list_multiple_of: int = 1       # for list: the length must be a multiple of this
    choices: tuple = ()             # for str: the accepted values (empty: any)

    def full_description(self) -> str:
        return f'{self.description} [{self.unit}]' if self.unit else self.description


def check_value(spec: ParamSpec, value, source: str = ''):
    """Return `value` converted to the spec's type, or raise ParamError naming the field."""
    where = f'{source}: ' if source else ''

    def fail(why: str):
        raise ParamError(f'{where}parameter "{spec.name}": {why} (got {value!r})')

    if spec.type is bool:
        if not isinstance(value, bool):
            fail('expected true or false')
        return value
    if spec.type is str:
        if not isinstance(value, str):
            fail('expected a string')
        if spec.choices and value not in spec.choices:
            fail(f'expected one of {", ".join(spec.choices)}')
        return value
    if spec.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail('expected an integer')
        numbers = [value]
    elif spec.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail('expected a number')
        value = float(value)
        numbers = [value]
    elif spec.type is list:
        if not isinstance(value, (list, tuple)) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
            fail('expected a list of numbers')
        value = [float(v) for v in value]
        if len(value) % spec.list_multiple_of:
            fail(f'expected a multiple of {spec.list_multiple_of} numbers')
        numbers = value
    else:  # pragma: no cover - schema error
        raise TypeError(f'unsupported parameter type {spec.type}')
    for v in numbers:
        if not math.isfinite(v):
            fail('expected a finite number')
        if spec.min is not None and v < spec.min:
            fail(f'must be >= {spec.min}')
        if spec.max is not None and v > spec.max:
            fail(f'must be <= {spec.max}')
    return value


def flatten(tree: dict, prefix: str = '') -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1} (ros2 nested parameter names)."""
    out = {}
    for key, value in tree.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            out.update(flatten(value, f'{name}.'))
        else:
            out[name] = value
    return out


def load_params_file(path: str | Path, node_name: str, specs: list[ParamSpec],
                     overrides: dict | None = None) -> dict:
    """Read and validate `node_name`'s ros__parameters from a ros2 params YAML file.

    Every parameter of the schema must be present (the YAML is the one source of the
    values); unknown names are errors (a typo must not silently fall back to a default).
    `overrides` (dotted names) replace file values before validation.
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ParamError(f'{path}: cannot read parameter file ({exc})') from exc
    except yaml.YAMLError as exc:
        raise ParamError(f'{path}: not valid YAML: {exc}') from exc
    if not isinstance(doc, dict):
        raise ParamError(f'{path}: expected a mapping of node names at the top level')
    section = doc.get(node_name, doc.get('/**'))
    if not isinstance(section, dict) or not isinstance(section.get('ros__parameters'), dict):
        raise ParamError(f'{path}: expected "{node_name}: ros__parameters: ..." '
                         f'(found top-level keys {sorted(doc)})')
    values = flatten(section['ros__parameters'])
    values.update(overrides or {})
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ParamError(f'{path}: unknown parameter(s) for {node_name}: {", ".join(unknown)}')
    missing = sorted(set(by_name) - set(values))
    if missing:
        raise ParamError(f'{path}: missing parameter(s) for {node_name}: {", ".join(missing)}')
    return {name: check_value(by_name[name], values[name], str(path)) for name in by_name}


def markdown_table(specs: list[ParamSpec], values: dict) -> str:
    """Parameter table for docs: name | type | default | unit | range | description."""
    rows = ['| name | type | default | unit | range | description |',
            '| --- | --- | --- | --- | --- | --- |']
    for s in specs:
        lo = '' if s.min is None else f'{s.min:g}'
        hi = '' if s.max is None else f'{s.max:g}'
        rng = f'[{lo}, {hi}]' if (lo or hi) else ''
        if s.choices:
            rng = ' / '.join(f'`{c}`' for c in s.choices)
        rows.append(f'| `{s.name}` | {_TYPE_NAMES[s.type]} | `{values.get(s.name)!r}` | '
                    f'{s.unit} | {rng} | {s.description} |')
    return '\n'.join(rows)
