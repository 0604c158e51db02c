"""symgrad: NumPy autodiff whose backward rules are derived by SymPy, checked, and
generated (see generated/). At run time it needs NumPy only.

    import symgrad as sg
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    sg.sigmoid(x * 3).sum().backward()
    x.grad

The public API (symgrad/api.py) is loaded on first use of one of its names, ``__all__``
included (PEP 562), not by ``import symgrad`` itself: the generator, ``symgrad.codegen``,
is in this package too, and must run while the generated code the API imports is missing
or stale. A submodule (``from symgrad import special``) is imported without the API.
"""

import importlib
import importlib.util
import sys
import types

# API functions named like a submodule: `sg.tensor` is the function, as `sg.gradcheck`.
_FUNCTIONS_NAMED_LIKE_MODULES = frozenset(("gradcheck", "tensor"))


def __getattr__(name):
    # Runs only for a name this module does not hold (yet).
    if not name.isidentifier() or (name.startswith("_") and name != "__all__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _FUNCTIONS_NAMED_LIKE_MODULES and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f"{__name__}.{name}")
    _load_api()
    if name in globals():
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    _load_api()
    return sorted(globals())


def _load_api():
    api = importlib.import_module(f"{__name__}.api")
    globals().update({name: getattr(api, name) for name in api.__all__})
    globals()["__all__"] = api.__all__


class _Package(types.ModuleType):
    # NOTE: the import system sets a submodule, once imported, as an attribute of its
    # package: `symgrad.tensor` would then be the module, not the API's function, when
    # the runtime was imported before the API was first used (`import symgrad.nn`).
    # Those two names are left to __getattr__, which loads the API.
    def __setattr__(self, name, value):
        if name in _FUNCTIONS_NAMED_LIKE_MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
