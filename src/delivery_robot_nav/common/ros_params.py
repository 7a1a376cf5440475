"""Declare a node's parameters from its schema (common/params.py) and validate changes."""
from __future__ import annotations

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                ParameterType, SetParametersResult)
from rclpy.node import Node

from delivery_robot_nav.common.params import ParamError, ParamSpec, check_value

_ROS_TYPES = {float: ParameterType.PARAMETER_DOUBLE, int: ParameterType.PARAMETER_INTEGER,
              bool: ParameterType.PARAMETER_BOOL, str: ParameterType.PARAMETER_STRING,
              list: ParameterType.PARAMETER_DOUBLE_ARRAY}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    d = ParameterDescriptor(description=spec.full_description(), type=_ROS_TYPES[spec.type],
                            read_only=spec.read_only)
    if spec.type is float and spec.min is not None and spec.max is not None:
        d.floating_point_range = [FloatingPointRange(from_value=float(spec.min),
                                                     to_value=float(spec.max))]
    if spec.type is int and spec.min is not None and spec.max is not None:
        d.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max))]
    if spec.choices:
        d.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    return d


def declare_parameters(node: Node, specs: list[ParamSpec], defaults: dict) -> dict:
    """Declare every spec (default from the package's YAML; --params-file and -p override),
    validate the values the node starts with, and reject invalid live changes.

    Returns the validated starting values by name. Raises ParamError naming the parameter.
    """
    values = {}
    for spec in specs:
        param = node.declare_parameter(spec.name, defaults[spec.name], descriptor(spec))
        values[spec.name] = check_value(spec, param.value, f'node {node.get_name()}')
    by_name = {s.name: s for s in specs}

    def on_set(params):
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue
            try:
                check_value(spec, p.value)
            except ParamError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values
