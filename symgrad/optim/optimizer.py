"""The base class of the optimizers: parameter groups, per-parameter state, zero_grad and
state_dict, as PyTorch's ``torch.optim.Optimizer``.

An optimizer changes its parameters' data in place (the same ndarray, so views and other
tensors sharing it see the change) and tells the version counter, so that a graph built
before a step refuses to run its backward after it. Nothing is recorded in a graph: the
updates are NumPy operations on ``.data`` arrays, one pass over each parameter per term,
never a Python loop over elements.
"""

import copy
import math
import numbers
import warnings

import numpy

from symgrad.function import note_changed
from symgrad.grad_mode import enable_grad
from symgrad.tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (a list of dicts: ``"params"``, a list of leaf tensors, and
    the options, each group's own or else the optimizer's ``defaults``) and ``state`` (a
    dict from parameter to a dict of its arrays and numbers, made at its first update).

    A subclass sets its defaults, checks a group's options in ``_check_options`` and
    updates one group in ``_update_group``.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):  # as PyTorch: a list here, though a group may hold one
            raise TypeError("params must be an iterable of tensors or of dicts, not a Tensor")
        groups = _as_param_list(params, "params")
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join([*lines, ")"])

    # ---- the groups ------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters, with options of its own; an option it does not give
        is the optimizer's default. A parameter may be in one group only."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, not {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group has no 'params'")
        params = _as_param_list(param_group["params"], "param_group['params']")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is a "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; each is "
                "updated once per appearance",
                UserWarning,
                stacklevel=2,
            )
        if any(id(p) in ids for other in self.param_groups for p in other["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_options(self, group):
        """Raise ValueError naming an option of ``group`` that is out of range."""

    # ---- a step ------------------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that has a gradient (one whose ``.grad`` is None is left
        as it is). ``closure``, if given, is called first with grad mode on (it recomputes
        the loss and its gradients); its result is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set each ``.grad`` to None (the default: the next backward
        makes new arrays, and a step skips what backward did not reach), or, with
        ``set_to_none=False``, fill the arrays with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif isinstance(grad, numpy.ndarray) and grad.flags.writeable:
                    grad.fill(0)
                else:  # a read-only array someone else owns: a new one instead
                    p.grad = numpy.zeros_like(grad)

    # ---- saving ------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as plain values: ``{"state": {index: {name: array or
        number}}, "param_groups": [{option: value, "params": [index, ...]}]}``, parameters
        numbered in the order the groups hold them. The arrays are copies, so the dict is
        a snapshot that later steps leave as it is (PyTorch's holds references)."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {
                name: value.copy() if isinstance(value, numpy.ndarray) else value
                for name, value in values.items()
            }
            for p, values in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take the options and state of ``state_dict`` (from ``state_dict()`` of an
        optimizer over parameters of the same shapes, in the same groups). Arrays are
        copied and cast to their parameter's dtype. On a mismatch nothing changes."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: {len(saved_groups)} parameter groups given, the "
                f"optimizer has {len(self.param_groups)}"
            )
        by_index = {}
        groups = []
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters, the optimizer's has {len(mine['params'])}"
                )
            by_index.update(zip((int(k) for k in saved["params"]), mine["params"]))
            group = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            group["params"] = mine["params"]
            self._check_options(group)
            groups.append(group)
        state = {}
        for key, values in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"load_state_dict: state for parameter {key}, in no group")
            state[p] = {name: _state_value(value, p, name) for name, value in values.items()}
        self.param_groups = groups
        self.state = state


# ---- helpers the optimizers share -------------------------------------------------------------
def _as_param_list(params, what):
    """``params`` as a list, from one tensor or an iterable with an order (a set has none,
    and state_dict numbers the parameters by their order)."""
    if isinstance(params, Tensor):
        return [params]
    if isinstance(params, set | frozenset | dict):
        raise TypeError(
            f"{what} must be an iterable of tensors or of dicts with a fixed order, "
            f"not a {type(params).__name__}"
        )
    try:
        return list(params)
    except TypeError:
        raise TypeError(
            f"{what} must be an iterable of tensors or of dicts, not {type(params).__name__}"
        ) from None


def _state_value(value, p, name):
    """A loaded state entry: a number as it is, an array copied, floating arrays cast to
    the parameter's dtype (as its updates keep them)."""
    if isinstance(value, numbers.Number):
        return value
    array = numpy.array(value, copy=True)
    if array.ndim == 0:
        return array.item()
    if array.shape != p.shape:
        raise ValueError(
            f"load_state_dict: state {name!r} of shape {array.shape} for a parameter of "
            f"shape {p.shape}"
        )
    if numpy.issubdtype(array.dtype, numpy.floating):
        array = array.astype(p.dtype, copy=False)
    return array


def check_number(name, value, low=0.0, high=math.inf, high_open=False):
    """Raise ValueError naming ``name`` unless ``low <= value <= high`` (``< high`` if
    ``high_open``); NaN is out of every range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    inside = low <= value < high if high_open else low <= value <= high
    if not inside:
        bound = f"< {high}" if high_open else f"<= {high}"
        limits = f">= {low}" if high == math.inf else f">= {low} and {bound}"
        raise ValueError(f"Invalid {name}: {value!r} (must be {limits})")


def with_grad(group):
    """The group's parameters that have a gradient: the ones a step updates."""
    return [p for p in group["params"] if p.grad is not None]


def direction(data, grad, weight_decay, maximize):
    """The gradient as the update uses it: negated to maximize, plus ``weight_decay *
    data`` (L2 regularisation). Returns the array and whether it is a new one, which the
    caller may then overwrite (else it is ``grad`` itself, which must stay as it is)."""
    if weight_decay:
        d = numpy.multiply(data, weight_decay)
        if maximize:
            d -= grad
        else:
            d += grad
        return d, True
    if maximize:
        return numpy.negative(grad, dtype=data.dtype), True
    return grad, False


def subtract_scaled(p, step, lr, step_is_new):
    """``p.data -= lr * step`` in place, in ``step`` itself when it is a new array, and
    noted as a change of ``p``."""
    if step_is_new:
        step *= lr
        p.data -= step
    else:
        p.data -= lr * step
    note_changed(p)
