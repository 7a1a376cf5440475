"""Helpers of the launch files: params files for namespaced nodes (plain Python), and the
robot_state_publisher node gazebo.launch.py and robot.launch.py both start.

A ros2 params file keys its sections by node name (`path_following: ros__parameters:`),
and ROS reads a bare key as the node in the root namespace: a node launched in namespace
`robot1` silently ignores it and runs on its defaults. `for_namespace` writes a copy whose
node sections are keyed by the fully qualified name (`/robot1/path_following`), so the
same file serves every namespace. Wildcard sections (`/**`, `/**/x`) and already fully
qualified ones are kept as they are.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import yaml


def qualified_key(key: str, namespace: str) -> str:
    """The params-file section key for node section `key` of nodes in `namespace`."""
    ns = namespace.strip('/')
    if not ns or key.startswith('/'):
        return key
    return f'/{ns}/{key}'


def for_namespace(path: str | Path, namespace: str, out_dir: str | Path | None = None) -> str:
    """`path` itself when `namespace` is empty; otherwise a rewritten copy (in `out_dir`,
    default the temp directory) keyed for `namespace`. Raises ValueError naming the file
    when it is not a ros2 params file."""
    if not namespace.strip('/'):
        return str(path)
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f'{path}: cannot read the params file ({exc})') from exc
    if not isinstance(doc, dict):
        raise ValueError(f'{path}: expected a mapping of node names to ros__parameters')
    rewritten = {qualified_key(str(k), namespace): v for k, v in doc.items()}
    text = yaml.safe_dump(rewritten, sort_keys=False)
    digest = hashlib.sha1(f'{path.resolve()}|{namespace}|{text}'.encode()).hexdigest()[:12]
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f'{path.stem}.{namespace.strip("/").replace("/", "_")}.{digest}.yaml'
    out.write_text(text)
    return str(out)


def robot_state_publisher(urdf_file: str | Path):
    """robot_state_publisher with the URDF's text, its tf topics relative (so a launch
    namespace moves them with everything else). Imports launch_ros: for launch files."""
    from launch_ros.actions import Node

    return Node(package='robot_state_publisher', executable='robot_state_publisher',
                name='robot_state_publisher', output='screen',
                parameters=[{'robot_description': Path(urdf_file).read_text()}],
                remappings=[('/tf', 'tf'), ('/tf_static', 'tf_static')])
