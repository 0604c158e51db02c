"""``Sequential`` and ``ModuleList``: modules held in order."""

from collections import OrderedDict

from symgrad.nn.modules.module import Module


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b)(x)`` is ``b(a(x))``. Takes
    modules, or one OrderedDict of named modules."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(modules[index]))
        return modules[_checked(index, len(modules), "Sequential")][1]

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered (their parameters are the owner's) but not called in
    any order of its own."""

    def __init__(self, modules=None):
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_checked(index, len(modules), "ModuleList")]

    def __setitem__(self, index, module):
        self.add_module(str(_checked(index, len(self._modules), "ModuleList")), module)


def _checked(index, length, name):
    if not -length <= index < length:
        raise IndexError(f"{name}: index {index} is out of range for {length} modules")
    return index % length
