"""``Module``: PyTorch's way of holding a model's weights. A module
keeps its parameters, buffers and submodules in three ordered dicts, filled by plain
attribute assignment (``self.weight = Parameter(...)``), and walks them for
``parameters()``, ``state_dict()``, ``train()`` and ``repr``."""

from collections import OrderedDict, namedtuple

import numpy

from symgrad.function import note_changed
from symgrad.grad_mode import no_grad
from symgrad.nn.parameter import Parameter
from symgrad.tensor import Tensor

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """The base of every layer and model: subclasses set their parameters, buffers and
    submodules as attributes in ``__init__`` and compute in ``forward``."""

    training = True

    def __init__(self):
        # NOTE: object.__setattr__: our __setattr__ files values into these dicts
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration ------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() (call super().__init__())"
            )
        # As PyTorch: a Parameter or a Module is registered (under no other kind); a name
        # already registered keeps its kind, so that ``bn.running_mean = t`` stays a saved
        # buffer and ``linear.weight = t`` (a plain tensor) is refused instead of taking
        # the weight out of parameters() and state_dict() without a word.
        if isinstance(value, Parameter):
            self._unregister(name, keep=self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._unregister(name, keep=self._modules)
            self._modules[name] = value
        elif name in self._parameters:
            self._check_kind(name, value, "parameter", Parameter)
            self._parameters[name] = None
        elif name in self._modules:
            self._check_kind(name, value, "child module", Module)
            self._modules[name] = None
        elif name in self._buffers:
            self._check_kind(name, value, "buffer", Tensor)
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _unregister(self, name, keep):
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent.discard(name)

    def _check_kind(self, name, value, kind, expected):
        if value is not None and not isinstance(value, expected):
            raise TypeError(
                f"cannot assign a {type(value).__name__} as {kind} {name!r} of "
                f"{type(self).__name__} ({expected.__name__} or None expected)"
            )

    def __getattr__(self, name):
        # runs only for names not found the usual way
        for table in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(table)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an absent one) as ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None")
        self._check_name("register_parameter", name, self._parameters)
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add ``tensor`` as the state ``name`` that is not a parameter (BatchNorm's
        running statistics): saved in ``state_dict`` unless not ``persistent``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        self._check_name("register_buffer", name, self._buffers)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None")
        self._check_name("add_module", name, self._modules)
        self.__dict__.pop(name, None)
        self._modules[name] = module

    def _check_name(self, what, name, table):
        """As PyTorch: a name that a state_dict key can hold, not yet another kind of
        attribute (a parameter registered as a buffer too would be saved twice)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{what}: name must be a non-empty string without '.', not {name!r}")
        if name not in table and hasattr(self, name):
            raise KeyError(f"{what}: attribute {name!r} already exists")

    register_module = add_module

    # ---- walking -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named(self, table, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn`` on every submodule, then on this module; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("train: mode is expected to be a bool")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad[...] = 0

    def to(self, dtype):
        """Parameters and floating buffers cast to ``dtype`` (the same objects, new
        data), as ``float()`` and ``double()``."""
        dtype = numpy.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to: only floating dtypes, not {dtype}")
        with no_grad():
            for tensor in (*self.parameters(), *self.buffers()):
                if tensor.data.dtype.kind == "f" and tensor.data.dtype != dtype:
                    tensor.data = tensor.data.astype(dtype)
                    tensor.grad = None
                    note_changed(tensor)
        return self

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer by dotted name (each
        key starting with ``prefix``), as tensors sharing their data (detached, unless
        ``keep_vars``). A module held under two names is saved under both, as PyTorch
        does (``parameters()`` gives its tensors once)."""
        state = OrderedDict()
        self._save_to(state, prefix, keep_vars)
        return state

    def _save_to(self, state, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                state[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                state[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module._save_to(state, f"{prefix}{name}.", keep_vars)

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict``'s values (arrays or tensors) into the parameters and
        buffers of the same names, in place (an optimizer's references stay valid).
        Names missing or unexpected (with ``strict``) and shapes that differ raise a
        RuntimeError naming every one of them, and nothing is changed."""
        own = self.state_dict(keep_vars=True)
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        wrong = []
        for name, target in own.items():
            if name in state_dict:
                value = numpy.asarray(getattr(state_dict[name], "data", state_dict[name]))
                if value.shape != target.shape:
                    wrong.append(f"{name}: shape {value.shape} in the state, {target.shape} here")
                # checked before anything is copied: copyto would raise half-way through
                elif not numpy.can_cast(value.dtype, target.dtype, "same_kind"):
                    wrong.append(f"{name}: dtype {value.dtype} in the state, {target.dtype} here")
        problems = wrong + (
            [f"missing: {', '.join(missing)}"] * bool(missing)
            + [f"unexpected: {', '.join(unexpected)}"] * bool(unexpected)
            if strict
            else []
        )
        if problems:
            raise RuntimeError(
                f"load_state_dict: {type(self).__name__} does not fit the state:\n  "
                + "\n  ".join(problems)
            )
        with no_grad():
            for name, target in own.items():
                if name in state_dict:
                    value = getattr(state_dict[name], "data", state_dict[name])
                    numpy.copyto(target.data, value, casting="same_kind")
                    note_changed(target)
        return _IncompatibleKeys(missing, unexpected)

    # ---- repr ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indented(repr(module)) for name, module in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"

    def __dir__(self):
        names = [*super().__dir__(), *self._parameters, *self._buffers, *self._modules]
        return sorted(set(names))


def _indented(text):
    return text.replace("\n", "\n  ")
