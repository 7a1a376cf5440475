"""Evaluate a ROS 2 Python launch file without `launch`/`launch_ros` (not on PyPI).

Stand-ins for the launch API the package's launch files use are put in sys.modules; each
takes the same arguments as the real class (unknown keyword arguments are errors, as
they are there). `evaluate(file, arguments)` runs generate_launch_description() and walks
the tree as `ros2 launch` would: launch arguments (defaults, or the values given),
groups with their scope, namespaces, SetParameter, conditions, opaque functions and
includes (this package's are evaluated in turn; other packages' are recorded). The result
lists every node with its package, executable, name, namespace, resolved parameters and
remappings, and every error found on the way (an undeclared launch configuration, an
argument without a description, ...). FindPackageShare of this package resolves to the
source checkout, whose layout is the installed share's.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = 'delivery_robot_nav'
REPO = Path(__file__).resolve().parents[1]


class LaunchCheckError(Exception):
    pass


# ----------------------------------------------------------------- substitutions
class Substitution:
    def perform(self, context) -> str:
        return resolve(self, context)


class LaunchConfiguration(Substitution):
    def __init__(self, variable_name, *, default=None):
        self.name, self.default = variable_name, default


class PathJoinSubstitution(Substitution):
    def __init__(self, substitutions):
        self.parts = list(substitutions)


class TextSubstitution(Substitution):
    def __init__(self, *, text):
        self.text = text


class FindPackageShare(Substitution):
    def __init__(self, package):
        self.package = package


def resolve(value, ctx) -> str:
    """A substitution (or text, or a list of them) as the string it performs to."""
    if value is None:
        return ''
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, (list, tuple)):
        return ''.join(resolve(v, ctx) for v in value)
    if isinstance(value, LaunchConfiguration):
        configs = ctx.launch_configurations
        if value.name in configs:
            return configs[value.name]
        if value.default is not None:
            return resolve(value.default, ctx)
        raise LaunchCheckError(f'launch configuration {value.name!r} is used but never '
                               f'declared or given')
    if isinstance(value, PathJoinSubstitution):
        return os.path.join(*[resolve(p, ctx) for p in value.parts])
    if isinstance(value, TextSubstitution):
        return value.text
    if isinstance(value, FindPackageShare):
        ctx.result.packages.add(value.package)
        return str(REPO) if value.package == PACKAGE else f'<share of {value.package}>'
    raise LaunchCheckError(f'cannot evaluate {type(value).__name__} statically')


# ----------------------------------------------------------------- conditions
class IfCondition:
    def __init__(self, predicate_expression):
        self.predicate = predicate_expression

    def holds(self, ctx) -> bool:
        return _truth(resolve(self.predicate, ctx))


class UnlessCondition(IfCondition):
    def holds(self, ctx) -> bool:
        return not _truth(resolve(self.predicate, ctx))


def _truth(text: str) -> bool:
    t = text.strip().lower()
    if t in ('true', '1'):
        return True
    if t in ('false', '0'):
        return False
    raise LaunchCheckError(f'a condition got {text!r}: expected true or false')


# ----------------------------------------------------------------- actions
class Action:
    KWARGS = {'condition'}

    def __init__(self, **kwargs):
        unknown = set(kwargs) - self.KWARGS
        if unknown:
            raise TypeError(f'{type(self).__name__}() got unexpected keyword argument(s) '
                            f'{sorted(unknown)}')
        self.condition = kwargs.get('condition')


class LaunchDescription:
    def __init__(self, initial_entities=None, *, deprecated_reason=None):
        self.entities = list(initial_entities or [])

    def add_action(self, action):
        self.entities.append(action)


class DeclareLaunchArgument(Action):
    def __init__(self, name, *, default_value=None, description=None, choices=None, **kwargs):
        super().__init__(**kwargs)
        self.name, self.default, self.description, self.choices = (name, default_value,
                                                                   description, choices)


class GroupAction(Action):
    KWARGS = Action.KWARGS | {'scoped', 'forwarding', 'launch_configurations'}

    def __init__(self, actions, **kwargs):
        super().__init__(**kwargs)
        self.actions = list(actions)
        self.scoped = kwargs.get('scoped', True)


class OpaqueFunction(Action):
    def __init__(self, *, function, args=None, kwargs=None, **other):
        super().__init__(**other)
        self.function, self.args, self.kwargs = function, args or [], kwargs or {}


class PythonLaunchDescriptionSource:
    def __init__(self, launch_file_path):
        self.path = launch_file_path


class IncludeLaunchDescription(Action):
    KWARGS = Action.KWARGS | {'launch_arguments'}

    def __init__(self, launch_description_source, **kwargs):
        super().__init__(**kwargs)
        self.source = launch_description_source
        self.arguments = list(kwargs.get('launch_arguments') or [])


class SetEnvironmentVariable(Action):
    def __init__(self, name, value, **kwargs):
        super().__init__(**kwargs)
        self.name, self.value = name, value


class PushRosNamespace(Action):
    def __init__(self, namespace, **kwargs):
        super().__init__(**kwargs)
        self.namespace = namespace


class SetParameter(Action):
    def __init__(self, name, value, **kwargs):
        super().__init__(**kwargs)
        self.name, self.value = name, value


class Node(Action):
    # launch_ros.actions.Node's own arguments, then ExecuteProcess's that it passes on
    KWARGS = Action.KWARGS | {
        'package', 'name', 'namespace', 'exec_name', 'parameters', 'remappings',
        'ros_arguments', 'arguments', 'output', 'respawn', 'respawn_delay',
        'respawn_max_retries', 'emulate_tty', 'env', 'additional_env', 'shell',
        'sigterm_timeout', 'sigkill_timeout', 'prefix', 'cwd', 'log_cmd', 'on_exit'}

    def __init__(self, *, executable, **kwargs):
        super().__init__(**kwargs)
        self.executable = executable
        self.kwargs = kwargs


# ----------------------------------------------------------------- evaluation
@dataclass
class NodeRecord:
    package: str
    executable: str
    name: str
    namespace: str
    parameters: list            # params-file paths (str) and dicts, resolved
    global_parameters: list     # (name, value) from SetParameter, in order
    remappings: list            # (from, to), resolved
    arguments: list             # resolved
    respawn: object
    launch_file: str


@dataclass
class Result:
    nodes: list = field(default_factory=list)
    arguments: dict = field(default_factory=dict)     # file -> {name: DeclareLaunchArgument}
    external_includes: list = field(default_factory=list)   # (package, path)
    included: list = field(default_factory=list)      # this package's launch files evaluated
    packages: set = field(default_factory=set)
    errors: list = field(default_factory=list)
    share_files: set = field(default_factory=set)     # this package's share paths named
    environment: dict = field(default_factory=dict)   # SetEnvironmentVariable


class Context:
    def __init__(self, result: Result, configs: dict, namespace: str = '',
                 parameters: list | None = None, file: str = ''):
        self.result = result
        self.launch_configurations = configs
        self.namespace = namespace
        self.parameters = parameters if parameters is not None else []
        self.file = file

    def child(self, scoped: bool) -> 'Context':
        if not scoped:
            return self
        return Context(self.result, dict(self.launch_configurations), self.namespace,
                       list(self.parameters), self.file)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f'launch_file_{path.stem.replace(".", "_")}',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _walk(entities, ctx: Context):
    for e in entities:
        if e is None:
            continue
        if isinstance(e, LaunchDescription):
            _walk(e.entities, ctx)
            continue
        if getattr(e, 'condition', None) is not None and not e.condition.holds(ctx):
            continue
        if isinstance(e, DeclareLaunchArgument):
            ctx.result.arguments.setdefault(ctx.file, {})[e.name] = e
            if not e.description or not str(e.description).strip():
                ctx.result.errors.append(f'{ctx.file}: argument {e.name!r} has no description')
            if e.name not in ctx.launch_configurations:
                if e.default is None:
                    ctx.result.errors.append(f'{ctx.file}: argument {e.name!r} has no default '
                                             f'and was not given')
                else:
                    ctx.launch_configurations[e.name] = resolve(e.default, ctx)
        elif isinstance(e, GroupAction):
            _walk(e.actions, ctx.child(e.scoped))
        elif isinstance(e, PushRosNamespace):
            ns = resolve(e.namespace, ctx).strip('/')
            ctx.namespace = (ctx.namespace.rstrip('/') + '/' + ns) if ns else ctx.namespace
        elif isinstance(e, SetParameter):
            ctx.parameters.append((e.name, resolve(e.value, ctx)))
        elif isinstance(e, SetEnvironmentVariable):
            value = resolve(e.value, ctx)
            ctx.result.environment[resolve(e.name, ctx)] = value
            if value.startswith(str(REPO)):
                ctx.result.share_files.add(Path(value))
        elif isinstance(e, OpaqueFunction):
            _walk(e.function(ctx, *e.args, **e.kwargs) or [], ctx)
        elif isinstance(e, IncludeLaunchDescription):
            _include(e, ctx)
        elif isinstance(e, Node):
            _node(e, ctx)
        else:
            raise LaunchCheckError(f'{ctx.file}: {type(e).__name__} is not something this '
                                   f'check knows')


def _include(e: IncludeLaunchDescription, ctx: Context):
    path = resolve(e.source.path, ctx)
    given = {resolve(k, ctx): resolve(v, ctx) for k, v in e.arguments}
    if path.startswith('<share of '):
        package = path[len('<share of '):path.index('>')]
        ctx.result.external_includes.append((package, path[path.index('>') + 1:].lstrip('/'),
                                             given))
        return
    p = Path(path)
    if not p.is_file():
        ctx.result.errors.append(f'{ctx.file}: includes {path}, which does not exist')
        return
    ctx.result.share_files.add(p)
    ctx.result.included.append(p.name)
    # an include sees the including file's configurations, plus what it is given
    configs = dict(ctx.launch_configurations)
    configs.update(given)
    _walk([_load(p).generate_launch_description()],
          Context(ctx.result, configs, ctx.namespace, ctx.parameters, p.name))


def _node(e: Node, ctx: Context):
    k = e.kwargs
    params = []
    for p in k.get('parameters') or []:
        if isinstance(p, dict):
            params.append({resolve(name, ctx): (v if isinstance(v, (bool, int, float))
                                                else resolve(v, ctx)) for name, v in p.items()})
        else:
            path = resolve(p, ctx)
            params.append(path)
            if Path(path).is_relative_to(REPO):
                ctx.result.share_files.add(Path(path))
    node_ns = resolve(k.get('namespace'), ctx).strip('/')
    namespace = '/'.join(x for x in (ctx.namespace.strip('/'), node_ns) if x)
    ctx.result.nodes.append(NodeRecord(
        package=resolve(k.get('package'), ctx), executable=resolve(e.executable, ctx),
        name=resolve(k.get('name'), ctx), namespace=namespace, parameters=params,
        global_parameters=list(ctx.parameters),
        remappings=[(resolve(a, ctx), resolve(b, ctx)) for a, b in k.get('remappings') or []],
        arguments=[resolve(a, ctx) for a in k.get('arguments') or []],
        respawn=k.get('respawn', False), launch_file=ctx.file))
    for a in k.get('arguments') or []:
        text = resolve(a, ctx)
        if text.startswith(str(REPO)):
            ctx.result.share_files.add(Path(text))


def _modules() -> dict:
    def module(name, **members):
        m = types.ModuleType(name)
        m.__dict__.update(members)
        return m

    launch = module('launch', LaunchDescription=LaunchDescription, Action=Action,
                    Substitution=Substitution)
    actions = module('launch.actions', DeclareLaunchArgument=DeclareLaunchArgument,
                     GroupAction=GroupAction, IncludeLaunchDescription=IncludeLaunchDescription,
                     OpaqueFunction=OpaqueFunction, SetEnvironmentVariable=SetEnvironmentVariable)
    subs = module('launch.substitutions', LaunchConfiguration=LaunchConfiguration,
                  PathJoinSubstitution=PathJoinSubstitution, TextSubstitution=TextSubstitution)
    conditions = module('launch.conditions', IfCondition=IfCondition,
                        UnlessCondition=UnlessCondition)
    sources = module('launch.launch_description_sources',
                     PythonLaunchDescriptionSource=PythonLaunchDescriptionSource)
    launch.actions, launch.substitutions, launch.conditions = actions, subs, conditions
    launch.launch_description_sources = sources
    launch_ros = module('launch_ros')
    ros_actions = module('launch_ros.actions', Node=Node, PushRosNamespace=PushRosNamespace,
                         SetParameter=SetParameter)
    ros_subs = module('launch_ros.substitutions', FindPackageShare=FindPackageShare)
    launch_ros.actions, launch_ros.substitutions = ros_actions, ros_subs
    return {'launch': launch, 'launch.actions': actions, 'launch.substitutions': subs,
            'launch.conditions': conditions, 'launch.launch_description_sources': sources,
            'launch_ros': launch_ros, 'launch_ros.actions': ros_actions,
            'launch_ros.substitutions': ros_subs}


@contextmanager
def stand_ins():
    """The stand-in launch modules in sys.modules for the duration."""
    saved = {name: sys.modules.get(name) for name in _modules()}
    sys.modules.update(_modules())
    try:
        yield
    finally:
        for name, m in saved.items():
            if m is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = m


def evaluate(launch_file: Path, arguments: dict | None = None) -> Result:
    """Every node `ros2 launch <launch_file> k:=v ...` would start, and the errors seen."""
    result = Result()
    with stand_ins():
        ld = _load(launch_file).generate_launch_description()
        ctx = Context(result, dict(arguments or {}), file=launch_file.name)
        _walk([ld], ctx)
    return result
