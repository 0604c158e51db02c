"""Tensor: an ndarray that remembers how it was computed; ``apply``, the one place where
an op runs forward and, if a gradient is wanted, records its node; and what a backward
pass needs of tensors (its seed, and the replay of a node for create_graph)."""

import numbers

import numpy

from symgrad import engine, hooks
from symgrad.function import note_changed, rebased, share_version
from symgrad.generated import elementwise as ew
from symgrad.generated import structural
from symgrad.grad_mode import is_grad_enabled
from symgrad.saved import frozen

FLOAT_KINDS = "f"
# What a tensor, or a constant in an op, may hold: booleans, integers and floats. No rule
# is derived for complex numbers, and NumPy would carry them through an op silently (a
# complex result); object arrays fail deep inside an op, or turn None into nan.
DATA_KINDS = "biuf"


class Tensor:
    """An n-dimensional array in a graph of operations (PyTorch's autograd semantics)."""

    # NOTE: _version and _rebased are set only by a change in place (symgrad/function.py),
    # _hooks by register_hook and retain_grad (symgrad/hooks.py): unset, they cost no op
    # anything
    __slots__ = (
        "__weakref__",
        "_grad",
        "_hooks",
        "_rebased",
        "_requires_grad",
        "_version",
        "data",
        "grad_fn",
    )

    # NOTE: a higher priority than ndarray's makes `ndarray * tensor` call our reflected
    # operators instead of NumPy broadcasting over an object array.
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False):
        # Copy: the tensor never aliases (so never mutates) the caller's array.
        data = numpy.array(data, dtype=dtype)
        if data.dtype.kind not in DATA_KINDS:
            raise TypeError(
                f"tensor: dtype {data.dtype} is not supported (booleans, integers and floats)"
            )
        self.data = data
        self._grad = None
        self.grad_fn = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    # ---- gradient bookkeeping -------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and self.data.dtype.kind not in FLOAT_KINDS:
            raise TypeError(
                f"only floating-point tensors can require gradients, not {self.data.dtype}"
            )
        if not value and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be switched off on a leaf; use detach()")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        """The gradient accumulated by backward: an ndarray shaped and typed as ``data``,
        or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # NOTE: checked when set, so that a wrong one is not found at the next backward
        if value is not None:
            value = value.data if isinstance(value, Tensor) else numpy.asarray(value)
            if value.shape != self.data.shape:
                raise ValueError(
                    f"grad: shape {value.shape} assigned to a tensor of shape {self.data.shape}"
                )
        self._grad = value

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (after its
        hooks, if it has any)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            hooks.add(self, None, hooks.RETAIN)

    @property
    def retains_grad(self):
        """Whether this non-leaf tensor keeps its gradient in ``.grad`` (retain_grad())."""
        return (
            self.grad_fn is not None and self.grad_fn.watched is self and hooks.retains_grad(self)
        )

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever a backward pass (or ``sg.grad``) computes this
        tensor's gradient: for a non-leaf once, with the sum over all its uses, before
        its node passes it on; for a leaf before it is added into ``.grad``. What the
        hook returns, if not None, is used instead. ``grad`` is a read-only ndarray (a
        Tensor under ``create_graph=True``). Returns a handle whose ``remove()`` takes
        the hook off. Hooks run in the order they were registered."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if not callable(hook):
            raise TypeError(f"register_hook: {type(hook).__name__} is not callable")
        key = hooks.add(self, hook)
        return hooks.RemovableHandle(self._hooks, key)

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        seed = backward_seed(self, grad, create_graph)
        engine.backward([self], [seed], retain_graph, replay if create_graph else None)

    def detach(self):
        """The same data, cut from the graph (shares memory, like PyTorch): a change in
        place of either is a change of both for the nodes that saved them."""
        detached = wrap(self.data)
        share_version(self, detached)
        return detached

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    # ---- array attributes ------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    @property
    def T(self):
        """The axes reversed, as NumPy's ``.T``."""
        return apply(structural.TransposeBackward, (self,), (None,))

    def transpose(self, *axes):
        """NumPy's form: ``t.transpose()``, ``t.transpose(1, 0)`` or ``t.transpose((1, 0))``."""
        return apply(structural.TransposeBackward, (self,), (_varargs(axes) or None,))

    def reshape(self, *shape):
        """NumPy's form: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return apply(structural.ReshapeBackward, (self,), (_varargs(shape),))

    def flatten(self):
        """The elements as one axis (a reshape)."""
        return apply(structural.ReshapeBackward, (self,), ((-1,),))

    def astype(self, dtype, copy=True):
        """The elements in ``dtype``: between floating dtypes a differentiable cast (the
        gradient is cast back); to any other dtype a new tensor out of the graph, as
        PyTorch's ``.to``."""
        dtype = numpy.dtype(dtype)
        if dtype == self.data.dtype and not copy:
            return self
        if dtype.kind not in FLOAT_KINDS:
            return Tensor(self.data.astype(dtype))
        return apply(structural.AstypeBackward, (self,), (dtype,))

    def __getitem__(self, index):
        """NumPy indexing: basic (ints, slices with any step, None, Ellipsis), integer
        arrays (the gradient of a repeated index accumulates), boolean masks, and mixes;
        tensors in the index stand for their data."""
        if type(index) is tuple:
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, Tensor):
            index = index.data
        return apply(structural.GetitemBackward, (self,), (index,))

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = numpy.array2string(self.data, separator=", ", prefix="tensor(")
        extra = f", grad_fn=<{type(self.grad_fn).__name__}>" if self.grad_fn else ""
        if not extra and self._requires_grad:
            extra = ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    # ---- in place ------------------------------------------------------------------------
    # The optimizer's idiom, `with sg.no_grad(): p -= lr * p.grad`, changes p's data in
    # place. In a graph (grad mode on, a gradient involved), a change in place is recorded
    # as the op it is: the tensor then stands for the op's result, and what used it before
    # still differentiates its value from before. A node that saved a tensor's data, which
    # then changed, refuses to run its backward (symgrad/function.py keeps the count).
    def __iadd__(self, other):
        return self._in_place(numpy.add, ew.AddBackward, other, "+=")

    def __isub__(self, other):
        return self._in_place(numpy.subtract, ew.SubtractBackward, other, "-=")

    def __imul__(self, other):
        return self._in_place(numpy.multiply, ew.MultiplyBackward, other, "*=")

    def __itruediv__(self, other):
        return self._in_place(numpy.true_divide, ew.DivideBackward, other, "/=")

    def __ipow__(self, other):
        return self._in_place(numpy.power, ew.PowerBackward, other, "**=")

    def __setitem__(self, index, value):
        """``t[index] = value`` in place, NumPy's indexing. In a graph the overwritten
        elements pass no gradient to what t was, and ``value`` gets the gradient of
        where it went."""
        if type(index) is tuple:
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, Tensor):
            index = index.data
        if self._records("t[index] = value", value):
            before = self._before_change()
            result = apply(structural.SetitemBackward, (before, value), (index,))
            self._becomes(result, before)
            return
        self._keep_saved_out()
        try:
            self.data[index] = _data(value)
        except ValueError as error:
            raise ValueError(
                f"t[index] = value: {error} (a tensor of shape {self.shape})"
            ) from None
        note_changed(self)

    def _in_place(self, ufunc, fcn, other, symbol):
        if self._records(symbol, other):
            before = self._before_change()
            result = apply_binary(fcn, before, other)
            if result.shape != self.shape:
                raise ValueError(
                    f"{symbol}: the result's shape {result.shape} is not the tensor's {self.shape}"
                )
            self._becomes(result, before)
            return self
        self._keep_saved_out()
        try:
            ufunc(self.data, _data(other), out=self.data, casting="same_kind")
        except (ValueError, TypeError) as error:
            # NOTE: the base class: NumPy's own subclasses take other arguments
            kind = TypeError if isinstance(error, TypeError) else ValueError
            raise kind(f"{symbol}: {error} (a tensor of shape {self.shape})") from None
        note_changed(self)
        return self

    def _records(self, what, other):
        """Whether a change in place is recorded in the graph: grad mode is on and a
        gradient is involved. A leaf that requires grad is never changed so, and a
        constant must hold real numbers."""
        if not isinstance(other, Tensor):
            check_constant(what, other)
        involved = self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
        if not involved or not is_grad_enabled():
            return False
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{what}: in place on a leaf tensor that requires grad; under sg.no_grad() "
                "it changes the data (an optimizer's step), else write it out of place"
            )
        return True

    def _before_change(self):
        """What the tensor was, as a tensor of its own: a copy of its data (the change's
        op may save it for its backward), in the graph where the tensor was."""
        before = wrap(self.data.copy(), self.grad_fn)
        before._requires_grad = self._requires_grad
        if self.grad_fn is not None and self.grad_fn.out is self.data:
            self.grad_fn.out = before.data  # the output its own backward reads, unchanged
        return before

    def _keep_saved_out(self):
        """Before the data changes: the node that computed it keeps its own copy, if its
        backward reads its output."""
        if self.grad_fn is not None and self.grad_fn.out is self.data:
            self.grad_fn.out = self.data.copy()

    def _becomes(self, result, before):
        """The change in place done: the tensor's data (the same array: its views see
        the change) holds the result, and the tensor stands for the result's node. The
        nodes that used the tensor before still send their gradients where it was."""
        try:
            numpy.copyto(self.data, result.data, casting="same_kind")
        except TypeError as error:
            raise TypeError(f"in place: {error} (a tensor of {self.dtype})") from None
        note_changed(self)
        rebased(self, before.grad_fn, result.grad_fn)
        self.grad_fn = result.grad_fn
        self._requires_grad = True

    # ---- operators (each one generated op) ---------------------------------------------
    def __add__(self, other):
        return apply_binary(ew.AddBackward, self, other)

    def __radd__(self, other):
        return apply_binary(ew.AddBackward, other, self)

    def __sub__(self, other):
        return apply_binary(ew.SubtractBackward, self, other)

    def __rsub__(self, other):
        return apply_binary(ew.SubtractBackward, other, self)

    def __mul__(self, other):
        return apply_binary(ew.MultiplyBackward, self, other)

    def __rmul__(self, other):
        return apply_binary(ew.MultiplyBackward, other, self)

    def __truediv__(self, other):
        return apply_binary(ew.DivideBackward, self, other)

    def __rtruediv__(self, other):
        return apply_binary(ew.DivideBackward, other, self)

    def __mod__(self, other):
        return apply_binary(ew.ModBackward, self, other)

    def __rmod__(self, other):
        return apply_binary(ew.ModBackward, other, self)

    def __pow__(self, other):
        return apply_binary(ew.PowerBackward, self, other)

    def __rpow__(self, other):
        return apply_binary(ew.PowerBackward, other, self)

    # NOTE: symgrad.linalg (NumPy's matmul semantics) builds on this module; its matmul
    # is found where numpy.matmul on tensors dispatches to, filled in by symgrad.methods.
    def __matmul__(self, other):
        return DISPATCH[numpy.matmul](self, other)

    def __rmatmul__(self, other):
        return DISPATCH[numpy.matmul](other, self)

    def __neg__(self):
        return apply(ew.NegativeBackward, (self,))

    def __pos__(self):
        return self

    def __abs__(self):
        return apply(ew.AbsBackward, (self,))

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other):
        return self.data < _data(other)

    def __le__(self, other):
        return self.data <= _data(other)

    def __gt__(self, other):
        return self.data > _data(other)

    def __ge__(self, other):
        return self.data >= _data(other)

    def __eq__(self, other):
        return self.data == _data(other)

    def __ne__(self, other):
        return self.data != _data(other)

    __hash__ = object.__hash__

    # ---- NumPy protocols ----------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        """``numpy.asarray(t)``: the data, outside the graph (as ``t.numpy()``). Without
        it NumPy would take a tensor for a sequence (it has ``__getitem__``) and build an
        object array of one-element tensors."""
        if copy:
            return numpy.array(self.data, dtype=dtype)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    # NumPy functions called on tensors run the matching symgrad op, so that a backward
    # rule (NumPy code) builds a graph when it is given tensors (create_graph=True).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            if ufunc in DISPATCH:
                return DISPATCH[ufunc](*inputs)
            if ufunc in CONSTANT_UFUNCS:
                return ufunc(*(_data(x) for x in inputs))
        raise TypeError(f"numpy.{ufunc.__name__}.{method} is not differentiable by symgrad")

    def __array_function__(self, func, types, args, kwargs):
        if func in DISPATCH:
            return DISPATCH[func](*args, **kwargs)
        if func in CONSTANT_FUNCTIONS:
            kwargs = {key: _data(value) for key, value in kwargs.items()}
            return func(*(_data(x) for x in args), **kwargs)
        raise TypeError(f"numpy.{func.__name__} is not differentiable by symgrad")

    @staticmethod
    def _special_dispatch(name, *inputs):
        """symgrad.special functions called on tensors (see special.py)."""
        return DISPATCH[name](*inputs)


# NumPy function (or special function name) -> symgrad function; filled in by
# symgrad/methods.py from the generated function table.
DISPATCH = {}
# NumPy functions whose result has no gradient to carry (comparisons, steps, indices,
# tests, I/O): called on tensors, they run on the data and return what NumPy returns.
CONSTANT_UFUNCS = frozenset(
    getattr(numpy, name)
    for name in [
        "heaviside",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "equal",
        "not_equal",
        "logical_and",
        "logical_or",
        "logical_not",
        "logical_xor",
        "isfinite",
        "isnan",
        "isinf",
        "signbit",
        "floor_divide",
        "rint",
        "trunc",
    ]
)
CONSTANT_FUNCTIONS = frozenset(
    getattr(numpy, name)
    for name in [
        "zeros_like",
        "ones_like",
        "empty_like",
        "full_like",
        "shape",
        "ndim",
        "size",
        "argmax",
        "argmin",
        "argsort",
        "argpartition",
        "argwhere",
        "nonzero",
        "flatnonzero",
        "count_nonzero",
        "searchsorted",
        "digitize",
        "bincount",
        "histogram",
        "unique",
        "allclose",
        "isclose",
        "array_equal",
        "array_equiv",
        "any",
        "all",
        "round",
        "around",
        "fix",
        "isreal",
        "iscomplex",
        "isrealobj",
        "iscomplexobj",
        "result_type",
        "may_share_memory",
        "shares_memory",
        "save",
        "savez",
        "savez_compressed",
        "savetxt",
        "array2string",
        "array_repr",
        "array_str",
    ]
)


def _varargs(values):
    """NumPy methods take a shape or axes as one sequence or as several arguments."""
    if len(values) == 1 and isinstance(values[0], tuple | list):
        return tuple(values[0])
    return values


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def data_of(value):
    """The array a tensor holds, or the value itself (a constant)."""
    return value.data if isinstance(value, Tensor) else value


def as_tensor(value):
    """A tensor as it is, anything else as a new constant tensor (a copy)."""
    return value if isinstance(value, Tensor) else Tensor(value)


def tensor(data, dtype=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (dtype as NumPy infers it)."""
    return Tensor(_data(data), dtype=dtype, requires_grad=requires_grad)


def wrap(data, grad_fn=None):
    """A tensor around an array the library just computed (no copy, no checks), the
    output of ``grad_fn`` if given. NOTE: a plain function, not a classmethod: it runs
    once per op."""
    tensor = _new_object(Tensor)
    tensor.data = data if type(data) is numpy.ndarray else numpy.asarray(data)
    tensor._grad = None
    tensor.grad_fn = grad_fn
    tensor._requires_grad = grad_fn is not None
    return tensor


_new_object = object.__new__


def apply(fcn, inputs, params=()):
    """Run the op ``fcn`` (a generated BackwardFcn class) forward on ``inputs``, tensors
    or constants, and record a node when any tensor input requires a gradient (and grad
    mode is on in this thread). The node keeps read-only copies of the arrays among the
    constants and params (symgrad/saved.py), never the caller's arrays themselves."""
    # NOTE: this runs once per op; it is written for speed on small arrays (one loop
    # instead of comprehensions, which are function calls of their own in Python 3.11).
    datas, needs = [], []
    constants = False
    for x in inputs:
        if isinstance(x, Tensor):
            datas.append(x.data)
            needs.append(x._requires_grad)
        else:
            if type(x) in _SEQUENCES and holds_tensor(x):
                # a (nested) list of tensors: stacked into one, its graph kept
                return apply(fcn, tuple(stacked(i) for i in inputs), params)
            if x is not None and type(x) not in _NUMBERS:  # (None: a convolution's bias)
                check_constant(fcn.name, x)
            datas.append(x)
            needs.append(False)
            constants = True
    if fcn.value_params:
        for value in params:
            if type(value) not in _NUMBERS:
                check_constant(fcn.name, value, "a parameter")
    saved = None
    try:
        if fcn.forward_saving is None:
            out = fcn.forward(*datas, *params)
        else:
            out, saved = fcn.forward_saving(*datas, *params)
    except ValueError as error:
        raise _explain(fcn, datas, error) from None
    if True not in needs or not is_grad_enabled():
        return wrap(out)
    if False in fcn.differentiable:
        needs = [n and d for n, d in zip(needs, fcn.differentiable, strict=True)]
    if constants and (fcn.saves_inputs or fcn.saves_out):
        # NOTE: a node that keeps neither reads no constant: `x - target` copies nothing
        inputs = tuple(x if isinstance(x, Tensor) else frozen(x) for x in inputs)
        datas = [x.data if isinstance(x, Tensor) else x for x in inputs]
    if params:
        params = frozen(params)
    return wrap(out, fcn(inputs, datas, out, params, needs, saved))


_SEQUENCES = (list, tuple)


def holds_tensor(value):
    """Whether a (nested) list or tuple holds a tensor anywhere."""
    return any(
        isinstance(item, Tensor) or (type(item) in _SEQUENCES and holds_tensor(item))
        for item in value
    )


def stacked(value):
    """``value``, a (nested) list of tensors, numbers and arrays, as NumPy's array of it
    would be: one tensor, stacked (expand_dims and concatenate) so that the graph of
    each tensor in it is kept. Anything else is returned as it is."""
    if type(value) not in _SEQUENCES or not holds_tensor(value):
        return value
    rows = [apply(structural.ExpandDimsBackward, (stacked(item),), (0,)) for item in value]
    return apply(structural.ConcatenateBackward, tuple(rows), (0,))


def apply_binary(fcn, a, b):
    """``apply(fcn, (a, b))`` unrolled, for the arithmetic operators: the hot path of
    graphs of many small ops (each line here is paid once per op)."""
    a_is_tensor, b_is_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    x = a.data if a_is_tensor else a
    y = b.data if b_is_tensor else b
    if not (a_is_tensor or type(x) in _NUMBERS):
        check_constant(fcn.name, x)
    if not (b_is_tensor or type(y) in _NUMBERS):
        check_constant(fcn.name, y)
    try:
        out = fcn.forward(x, y)
    except ValueError as error:
        raise _explain(fcn, (x, y), error) from None
    if is_grad_enabled():
        need_a = a_is_tensor and a._requires_grad
        need_b = b_is_tensor and b._requires_grad
        if need_a or need_b:
            # a constant operand that can change (an ndarray, not a number)
            if not b_is_tensor and type(y) not in _NUMBERS:
                b = y = _kept(fcn, y)
            elif not a_is_tensor and type(x) not in _NUMBERS:
                a = x = _kept(fcn, x)
            return wrap(out, fcn((a, b), (x, y), out, (), (need_a, need_b)))
    return wrap(out)


_NUMBERS = frozenset((float, int, bool))


def check_constant(name, value, what="an input"):
    """Refuse a constant (an array, a list, a NumPy or complex number) of a dtype outside
    DATA_KINDS, naming the op ``name`` and the dtype, before anything runs."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, numpy.dtype):
        try:
            dtype = numpy.asarray(value).dtype
        except ValueError:  # a ragged list: the op itself says what is wrong with it
            return
    if dtype.kind not in DATA_KINDS:
        raise TypeError(
            f"{name}: {what} of dtype {dtype}; symgrad's ops take booleans, integers and floats"
        )


def _kept(fcn, constant):
    """What a node of ``fcn`` keeps of a constant operand: a frozen copy, if the node keeps
    its inputs or its output (else no rule reads the constant)."""
    return frozen(constant) if fcn.saves_inputs or fcn.saves_out else constant


def _explain(fcn, datas, error):
    if fcn.broadcasts:
        shapes = [numpy.shape(d) for d in datas if not isinstance(d, numbers.Number)]
        try:
            numpy.broadcast_shapes(*shapes)
        except ValueError:
            listed = " and ".join(str(s) for s in shapes)
            return ValueError(f"{fcn.name}: shapes {listed} cannot be broadcast together")
    message = str(error).removeprefix(f"{fcn.name}: ")  # NumPy's may name the function
    shapes = [numpy.shape(d) for d in datas if isinstance(d, numpy.ndarray)]
    of = " and ".join(str(shape) for shape in shapes)
    kind = ValueError
    if isinstance(error, numpy.exceptions.AxisError):
        kind = numpy.exceptions.AxisError
    return kind(f"{fcn.name}: {message} (inputs of shape {of})")


# ---- what a backward pass needs of tensors ---------------------------------------------
def backward_seed(root, grad, create_graph):
    """The gradient a backward pass starts ``root`` with: 1 for a scalar, else ``grad``,
    checked, as an array of root's dtype that cannot be written through (the caller's own
    array is never changed by the pass); a tensor with create_graph."""
    if not root._requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicit only for a scalar output, not shape {root.shape}"
            )
        # NOTE: not numpy.ones, a Python function (empty + copyto): two C calls instead
        grad = numpy.array(1, dtype=root.data.dtype).reshape(root.data.shape)
    elif not (create_graph and isinstance(grad, Tensor)):  # (such a tensor is kept as is)
        check_constant("backward", _data(grad))  # before a cast drops an imaginary part
        grad = numpy.asarray(_data(grad), dtype=root.data.dtype).view()
        grad.flags.writeable = False
    if grad.shape != root.shape:
        raise RuntimeError(f"backward: grad has shape {grad.shape}, the output {root.shape}")
    if create_graph and not isinstance(grad, Tensor):
        grad = wrap(grad)
    return grad


def replay(node):
    """For create_graph: the node's inputs as tensors, and its output recomputed from them,
    so that a rule using ``out`` is differentiated through it."""
    out = apply(type(node), node.inputs, node.params) if node.saves_out else None
    return node.inputs, out
