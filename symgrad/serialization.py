"""``sg.save`` and ``sg.load``: state dicts (of modules, optimizers, or any nesting of
dicts and lists of tensors, arrays and numbers) in NumPy's ``.npz`` format, read with
``allow_pickle=False``: loading a file from elsewhere runs no code.

Each value is one array of the archive, named by its path in the nesting; the path
records what each level was (a dict's string or integer key, a list's index; a tuple
comes back as a list) and what the value was (a tensor, an array, a number or None), so
that ``load`` gives back what was saved.
"""

from collections import OrderedDict

import numpy

from symgrad.tensor import Tensor

# a path's steps: "d:name" (dict key), "i:3" (dict int key), "l:3" (list index); an
# empty container is the step "d:" or "l:" after its path
_SEPARATOR = "/"
# the value's kind, after the path: a tensor, an array, a Python number (or str), None
_KINDS = {"t", "a", "s", "n"}


def save(obj, f):
    """Write ``obj`` (a mapping, as ``module.state_dict()`` or
    ``optimizer.state_dict()``) to ``f``, a path or a binary file."""
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state dict), not {type(obj).__name__}")
    arrays = {}
    _flatten(obj, [], arrays)
    numpy.savez(f, **arrays)


def load(f):
    """What ``save`` wrote: the same nesting, tensors as tensors (leaves that do not
    require grad), arrays as arrays, numbers as numbers."""
    with numpy.load(f, allow_pickle=False) as archive:
        items = [(name, archive[name]) for name in archive.files]
    root = OrderedDict()
    for name, array in items:
        path, _, kind = name.rpartition("@")
        _put(root, path.split(_SEPARATOR), _value(kind, array))
    return root


def _flatten(value, path, arrays):
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                if _SEPARATOR in key or "@" in key:
                    raise ValueError(f"save: a key may not hold '/' or '@': {key!r}")
                step = f"d:{key}"
            elif isinstance(key, int) and not isinstance(key, bool):
                step = f"i:{key}"
            else:
                raise TypeError(f"save: keys must be str or int, not {type(key).__name__}")
            _flatten(item, [*path, step], arrays)
        if not value:
            arrays[_SEPARATOR.join([*path, "d:"]) + "@n"] = numpy.zeros(0)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _flatten(item, [*path, f"l:{index}"], arrays)
        if not value:
            arrays[_SEPARATOR.join([*path, "l:"]) + "@n"] = numpy.zeros(0)
    else:
        kind, array = _encoded(value, path)
        arrays[_SEPARATOR.join(path) + "@" + kind] = array


def _encoded(value, path):
    if value is None:
        return "n", numpy.zeros(0)
    if isinstance(value, Tensor):
        return "t", value.data
    if isinstance(value, numpy.ndarray):
        array = value
        kind = "a"
    elif isinstance(value, bool | int | float | str | numpy.generic):
        array = numpy.asarray(value)
        kind = "s"
    else:
        where = "/".join(step[2:] for step in path)
        raise TypeError(f"save: {where}: cannot save a {type(value).__name__}")
    if array.dtype.kind == "O":
        raise TypeError(f"save: {'/'.join(s[2:] for s in path)}: object arrays are not saved")
    return kind, array


def _value(kind, array):
    if kind not in _KINDS:
        raise ValueError(f"load: not a file sg.save wrote (value kind {kind!r})")
    if kind == "t":
        return Tensor(array)
    if kind == "s":
        return array.item()
    return None if kind == "n" else array


def _put(root, steps, value):
    """Set ``value`` at ``steps`` under ``root``, making the containers on the way (the
    kind of each from the step after it)."""
    node = root
    for number, step in enumerate(steps):
        tag, _, key = step.partition(":")
        if tag not in ("d", "i", "l"):
            raise ValueError(f"load: not a file sg.save wrote (path step {step!r})")
        if key == "":  # the marker of an empty container: made on the way here
            return
        key = key if tag == "d" else int(key)
        if number == len(steps) - 1:
            _set(node, key, value)
            return
        child = (
            node.get(key) if isinstance(node, dict) else (node[key] if key < len(node) else None)
        )
        if child is None:
            child = [] if steps[number + 1].startswith("l:") else OrderedDict()
            _set(node, key, child)
        node = child


def _set(node, key, value):
    if isinstance(node, dict):
        node[key] = value
    else:
        node.extend([None] * (key + 1 - len(node)))
        node[key] = value
