"""``sg.define``: a user's element-wise op, derived and proven at run time by the same
pipeline ``make generate`` runs, then loaded like the generated ops.

The rendered module is cached on disk (``$SYMGRAD_CACHE_DIR``, else the user's cache
directory), named by a hash of the declaration and symgrad's version: a second process
loads it with NumPy only. Deriving needs SymPy (``pip install symgrad[derive]``).
"""

import hashlib
import os
import pathlib
import re
import tempfile

from symgrad.tensor import apply

VERSION = "0.1.0"  # part of the cache key: a new symgrad derives again (pyproject's, tested)


class DerivationError(ValueError):
    """A rule of a defined op failed a check: ``op``, ``input`` and ``point`` say where."""

    def __init__(self, message, op=None, input=None, point=None):
        super().__init__(message)
        self.op, self.input, self.point = op, input, point


class DefinedOp:
    """A derived element-wise op: call it on tensors, arrays or numbers (broadcasting,
    float32 or float64); ``.source`` is its rendered class text, ``.rules`` its derived
    backward rule per input."""

    def __init__(self, name, inputs, params, cls, source):
        self.name, self.inputs, self.params = name, tuple(inputs), dict(params)
        self.cls, self.source = cls, source
        self.rules = {
            found.group(1): found.group(2)
            for found in re.finditer(r"^\s*grad_(\w+) = (.*)$", cls.__doc__ or "", re.M)
        }
        self.__doc__ = cls.__doc__

    def __call__(self, *args, **kwargs):
        if len(args) > len(self.inputs):
            raise TypeError(f"{self.name}: takes {len(self.inputs)} inputs, given {len(args)}")
        values = dict(zip(self.inputs, args))
        for key, value in kwargs.items():
            if key not in (*self.inputs, *self.params) or key in values:
                raise TypeError(f"{self.name}: unexpected or repeated argument {key!r}")
            values[key] = value
        missing = [n for n in self.inputs if n not in values]
        if missing:
            raise TypeError(f"{self.name}: missing input {', '.join(missing)}")
        params = tuple(values.get(n, default) for n, default in self.params.items())
        return apply(self.cls, tuple(values[n] for n in self.inputs), params)

    def __repr__(self):
        return f"<symgrad op {self.name}({', '.join((*self.inputs, *self.params))})>"


def define(name, forward, inputs=("x",), params=None, domain=None, kinks=None, kernel=None):
    """Derive, prove and load the element-wise op ``name``.

    forward: the definition, a string (``"x*tanh(log(1 + exp(x)))"``, which may call the
        table's ops by name: ``"x*sigmoid(beta*x)"``) or a SymPy expression.
    inputs: the input names, in call order. params: {name: default} (keyword arguments).
    domain: {input: (low, high)} where the op is defined (the checks stay inside).
    kinks: (at, grads) or (at, grads, why) tuples: the derivative's value where it is a
        convention, e.g. ``({"x": 0}, {"x": 0})``.
    kernel: a numerically stable form of forward to evaluate, checked equal to it.

    Raises DerivationError naming the op, the input and the point when no derived rule
    passes the checks; ImportError without SymPy.
    """
    if not name.isidentifier():
        raise ValueError(f"define: the name must be an identifier, not {name!r}")
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    params, domain, kinks = dict(params or {}), dict(domain or {}), list(kinks or ())
    declaration = _declaration(name, forward, inputs, params, domain, kinks, kernel)
    path = cache_directory() / f"{name}-{hashlib.sha256(declaration.encode()).hexdigest()[:20]}.py"
    if path.exists():
        source = path.read_text()
    else:
        source = _derive(name, forward, inputs, params, domain, kinks, kernel)
        _write(path, source)
    return DefinedOp(name, inputs, params, _load(name, source), source)


def cache_directory():
    """Where derived ops are kept: ``$SYMGRAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgrad``,
    else ``~/.cache/symgrad``."""
    if os.environ.get("SYMGRAD_CACHE_DIR"):
        return pathlib.Path(os.environ["SYMGRAD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "symgrad"


def _declaration(name, forward, inputs, params, domain, kinks, kernel):
    """The declaration as text: the cache key (with symgrad's version)."""
    parts = [VERSION, name, _text(forward), repr(inputs), repr(sorted(params.items()))]
    parts += [repr(sorted(domain.items())), repr([_text(k) for k in kinks]), _text(kernel)]
    return "\n".join(parts)


def _text(value):
    """A deterministic text of a definition: SymPy's srepr where SymPy made it."""
    if hasattr(value, "free_symbols"):
        import sympy

        return sympy.srepr(value)
    return repr(value)


def _derive(name, forward, inputs, params, domain, kinks, kernel):
    try:
        from symgrad.codegen import define as derivation
        from symgrad.codegen.verify.policy import CheckError
    except ImportError as error:
        raise ImportError(
            f"define: deriving {name!r} needs SymPy and Jinja2: pip install symgrad[derive]"
        ) from error
    forward = derivation.parse(name, forward, inputs, params)
    kernel = None if kernel is None else derivation.parse(name, kernel, inputs, params)
    try:
        source, _ = derivation.derive(name, forward, inputs, params, domain, kinks, kernel)
    except CheckError as error:
        raise DerivationError(str(error), error.op, error.input_name, error.point) from None
    return source


def _write(path, source):
    """Write ``source`` whole or not at all (another process may be reading the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(source)
    os.replace(f.name, path)


def _load(name, source):
    """The op's class from its module text; the table's kernels it calls come from the
    generated module (the ones it was verified with)."""
    from symgrad.codegen.verify.loading import load_one
    from symgrad.generated import elementwise

    kernels = {
        key: value
        for key, value in vars(elementwise).items()
        if callable(value) and not isinstance(value, type) and not key.startswith("_")
    }
    module = load_one(name, source, namespace=kernels)
    class_name = "".join(part.capitalize() for part in name.split("_")) + "Backward"
    return getattr(module, class_name)
