"""Derive the adjoint of a structural op from its declared steps (``symgrad/ops/maps.py``).

A linear map composed of steps A1, ..., Ak has the adjoint Ak^T ... A1^T: the reverse
composition of the steps' transposes. Each kind of step has one transpose rule here, and
one NumPy form (a permutation prints as numpy.transpose, a broadcast's transpose as a
sum, a running sum's as the running sum from the end, a read's as a scatter-add, a window
gather's as a scatter-add per kernel offset); no op has a rule of its own. The transpose
of a step may need the shape the step was applied to: the first step's is the input's, saved by
the forward; each later one is the shape the step before gives, computed from the
declaration.
"""

import ast
import dataclasses

from symgrad.ops import maps


def transpose(step, shape):
    """The transpose of ``step``, applied to arrays of ``shape`` (code) in the forward."""
    match step:
        case maps.Transpose(axes, inverse):
            return maps.Transpose(axes, not inverse)
        case maps.Flip() | maps.SwapAxes():
            return step  # its own inverse, and a permutation: its own transpose
        case maps.Roll(shift, axis, inverse):
            return maps.Roll(shift, axis, not inverse)  # a permutation: its inverse
        case maps.Mask():
            return step  # a diagonal map of zeros and ones
        case maps.CumSum(axis, reverse):
            return maps.CumSum(axis, not reverse)  # a triangle of ones, transposed
        case maps.Cast():
            return maps.Cast("x_dtype")  # the identity, back in the input's precision
        case maps.Reshape():
            return maps.Reshape(shape)
        case maps.Broadcast():
            return maps.SumTo(shape)
        case maps.SumTo():
            return maps.Broadcast(shape)
        case maps.Read(index):
            return maps.ScatterAdd(index, shape)
        case maps.ScatterAdd(index, _):
            return maps.Read(index)
        case maps.Concat(axis):
            return maps.Split(axis, shape)
        case maps.Split(axis, _):
            return maps.Concat(axis)
        case maps.Gather(kernel, stride, padding, dilation):
            return maps.ScatterWindows(shape, kernel, stride, padding, dilation)
        case maps.ScatterWindows(_, kernel, stride, padding, dilation):
            return maps.Gather(kernel, stride, padding, dilation)
    raise TypeError(f"no transpose rule for {step!r}")


def apply(step, value):
    """NumPy code applying ``step`` to the array (code) ``value``."""
    match step:
        case maps.Transpose(axes, False):
            return f"numpy.transpose({value}, {axes})"
        case maps.Transpose(axes, True):
            return f"numpy.transpose({value}, inverse_axes({axes}, numpy.ndim({value})))"
        case maps.Flip(axis):
            return f"numpy.flip({value}, {axis})"
        case maps.Roll(shift, axis, False):
            return f"numpy.roll({value}, {shift}, {axis})"
        case maps.Roll(shift, axis, True):
            return f"numpy.roll({value}, numpy.negative({shift}), {axis})"
        case maps.Mask(mask):
            return f"numpy.where({mask}, {value}, 0)"
        case maps.Cast(dtype):
            return f"{value}.astype({dtype})"
        case maps.CumSum(axis, False):
            return f"numpy.cumsum({value}, {axis})"
        case maps.CumSum(axis, True):
            return f"reverse_cumsum({value}, {axis})"
        case maps.SwapAxes(axis1, axis2):
            return f"numpy.swapaxes({value}, {axis1}, {axis2})"
        case maps.Reshape(shape):
            return f"numpy.reshape({value}, {shape})"
        case maps.Broadcast(shape):
            return f"numpy.broadcast_to({value}, {shape})"
        case maps.SumTo(shape):
            return f"sum_to({value}, {shape})"
        case maps.Read(index):
            return f"{value}[{index}]"
        case maps.ScatterAdd(index, shape):
            return f"add_at({value}, {index}, {shape})"
        case maps.Concat(axis):
            return f"numpy.concatenate({value}, {axis})"
        case maps.Split(axis, shapes):
            return f"split_blocks({value}, {shapes}, {axis})"
        case maps.Gather(kernel, stride, padding, dilation):
            return f"gather_windows({value}, {kernel}, {stride}, {padding}, {dilation})"
        case maps.ScatterWindows(shape, kernel, stride, padding, dilation):
            return f"scatter_windows({value}, {shape}, {kernel}, {stride}, {padding}, {dilation})"
    raise TypeError(f"no NumPy form for {step!r}")


def result_shape(step, shape, name):
    """Code for the shape ``step`` gives, applied to arrays of ``shape`` (code), for a
    later step's transpose; only kinds whose result shape is known may come before
    another step."""
    match step:
        case maps.Transpose(axes, False):
            return f"permuted({shape}, {axes})"
        case maps.Flip() | maps.Roll() | maps.Mask() | maps.CumSum() | maps.Cast():
            return shape
        case maps.Broadcast(shape) | maps.SumTo(shape) | maps.ScatterAdd(_, shape):
            return shape
        case maps.Reshape(shape):
            return shape
        case maps.Concat(axis):
            return f"concatenated_shape({shape}, {axis})"
    raise ValueError(f"{name}: a {type(step).__name__} step can only be the last one")


def adjoint_lines(steps, first_shape, name):
    """Statements computing the adjoint of ``steps`` on ``grad`` into ``grad``: the
    shapes the transposed steps need (each step's input shape), then the transposed
    steps in reverse order."""
    if any(isinstance(step, maps.Cast) for step in steps[1:]):
        raise ValueError(f"{name}: only the first step may be a Cast")
    shapes, shape_lines = [first_shape], {}
    for number, step in enumerate(steps[:-1], start=1):
        shape = result_shape(step, shapes[-1], name)
        if "out_shape" in _names(shape):
            raise ValueError(f"{name}: only the last step may use out_shape, not {step!r}")
        shape_lines[f"shape{number}"] = f"shape{number} = {shape}"
        shapes.append(f"shape{number}")
    lines = [
        f"grad = {apply(transpose(step, shape), 'grad')}"
        for step, shape in reversed(list(zip(steps, shapes)))
    ]
    # the shapes the transposes use, and the shapes those are computed from
    needed, used = [], set().union(*(_names(line) for line in lines))
    for variable, line in reversed(shape_lines.items()):
        if variable in used:
            needed.insert(0, line)
            used |= _names(line.partition(" = ")[2])
    return needed + lines


def map_lines(steps):
    """Statements applying ``steps`` to ``x`` into ``x``: the declared map itself, which
    the checks compare with the op's NumPy forward."""
    return [f"x = {apply(step, 'x')}" for step in steps]


def describe(step):
    """``step`` as its kind and its arguments' code: ``Reshape(out_shape)``."""
    args = ", ".join(str(getattr(step, f.name)) for f in dataclasses.fields(step))
    return f"{type(step).__name__}({args})"


def _names(code):
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}
