"""Import rendered source text as the generated package imports it, so that what is
verified is the text itself, never what generated/ holds on disk.

Rendered modules import their siblings relatively (``from .unbroadcast import
unbroadcast``). Here each batch of texts is imported as a package of its own, under a
private name that is in ``sys.modules`` only while its modules execute.
"""

import itertools
import sys
import types

_packages = itertools.count()


def load(texts, namespace=None):
    """{name: module} for {name: source text}, executed in the order given (a module
    after the siblings it imports); ``namespace`` gives each module globals defined
    before it runs (the kernels of earlier ops that a rendered class calls)."""
    package_name = f"_symgrad_rendered_{next(_packages)}"
    package = types.ModuleType(package_name)
    package.__path__ = []
    names = [package_name]
    sys.modules[package_name] = package
    try:
        modules = {}
        for name, text in texts.items():
            module = types.ModuleType(f"{package_name}.{name}")
            module.__package__ = package_name
            module.__dict__.update(namespace or {})
            sys.modules[module.__name__] = module
            names.append(module.__name__)
            exec(compile(text, f"<rendered {name}.py>", "exec"), module.__dict__)
            setattr(package, name, module)
            modules[name] = module
        return modules
    finally:
        for name in names:
            sys.modules.pop(name, None)


def load_one(name, text, namespace=None):
    """The module of one rendered text (see load)."""
    return load({name: text}, namespace)[name]
