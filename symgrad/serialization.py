"""``sg.save`` and ``sg.load``: state dicts (of modules, optimizers, or any nesting of
dicts and lists of tensors, arrays and numbers) in NumPy's ``.npz`` format, read with
``allow_pickle=False``: loading a file from elsewhere runs no code.

Each value is one array of the archive, named by its path in the nesting; the path
records what each level was (a dict's string or integer key, a list's or a tuple's
index) and what the value was (a tensor, an array, a number or None), so that ``load``
gives back what was saved (an optimizer's ``betas`` stay a tuple).
"""

import os
import zipfile
from collections import OrderedDict

import numpy

from symgrad.tensor import Tensor

# a path's steps: "d:name" (dict key), "i:3" (dict int key), "l:3" (list index), "u:3"
# (tuple index); an empty container is the step "{}", "[]" or "()" after its path (not
# "d:", which is the step of the key "")
_SEPARATOR = "/"
_EMPTY = {dict: "{}", list: "[]", tuple: "()"}
# the value's kind, after the path: a tensor, an array, a Python number (or str), None
_KINDS = {"t", "a", "s", "n"}


def save(obj, f):
    """Write ``obj`` (a mapping, as ``module.state_dict()`` or
    ``optimizer.state_dict()``) to ``f``, a path or a binary file."""
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state dict), not {type(obj).__name__}")
    arrays = {}
    _flatten(obj, [], arrays)
    if isinstance(f, str | os.PathLike):
        # opened here: given a path, numpy.savez would add ".npz" to a name without it,
        # and load("model.pt") would not find what save("model.pt") wrote
        with open(f, "wb") as file:
            numpy.savez(file, **arrays)
    else:
        numpy.savez(f, **arrays)


def load(f):
    """What ``save`` wrote: the same nesting, tensors as tensors (leaves that do not
    require grad), arrays as arrays, numbers as numbers."""
    try:
        archive = numpy.load(f, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        # NumPy takes any file that is neither .npy nor .npz for a pickle, and refuses it
        raise ValueError(f"load: {f!r} is not a file sg.save wrote (an .npz archive)") from error
    if not isinstance(archive, numpy.lib.npyio.NpzFile):  # a .npy file: one array
        raise ValueError(f"load: {f!r} is not a file sg.save wrote (a .npy array, not an .npz)")
    with archive:
        # an object array raises here: NumPy refuses it under allow_pickle=False
        items = [(name, archive[name]) for name in archive.files]
    root = OrderedDict()
    for name, array in items:
        path, _, kind = name.rpartition("@")
        _put(root, path.split(_SEPARATOR), _value(kind, array))
    return _tuples(root)


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
            arrays[_SEPARATOR.join([*path, _EMPTY[dict]]) + "@n"] = numpy.zeros(0)
    elif isinstance(value, list | tuple):
        tag = "u" if isinstance(value, tuple) else "l"
        for index, item in enumerate(value):
            _flatten(item, [*path, f"{tag}:{index}"], arrays)
        if not value:
            empty = _EMPTY[tuple if isinstance(value, tuple) else list]
            arrays[_SEPARATOR.join([*path, empty]) + "@n"] = numpy.zeros(0)
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
        if step in _EMPTY.values():  # the marker of an empty container: made on the way
            return
        tag, _, key = step.partition(":")
        if tag not in ("d", "i", "l", "u") or not _fits(tag, key):
            raise ValueError(f"load: not a file sg.save wrote (path step {step!r})")
        key = key if tag == "d" else int(key)
        if number == len(steps) - 1:
            _set(node, key, value)
            return
        child = (
            node.get(key) if isinstance(node, dict) else (node[key] if key < len(node) else None)
        )
        if child is None:
            child = _container(steps[number + 1])
            _set(node, key, child)
        node = child


class _Tuple(list):
    """A tuple while it is being filled; made a tuple by ``_tuples``."""


def _container(step):
    """The empty container whose first step (an index or key into it) is ``step``."""
    if step.startswith("l:") or step == _EMPTY[list]:
        return []
    if step.startswith("u:") or step == _EMPTY[tuple]:
        return _Tuple()
    return OrderedDict()


def _tuples(value):
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _tuples(item)
        return value
    if isinstance(value, list):
        items = [_tuples(item) for item in value]
        return tuple(items) if isinstance(value, _Tuple) else items
    return value


def _fits(tag, key):
    """A dict's key is any text or int; a list's or a tuple's index a natural number."""
    if tag == "d":
        return True
    return (key[1:] if tag == "i" and key.startswith("-") else key).isdigit()


def _set(node, key, value):
    if isinstance(node, dict):
        node[key] = value
    else:
        node.extend([None] * (key + 1 - len(node)))
        node[key] = value
