"""The op reference: every public op, its kind, signature, definition, derived backward
rules and conventions, as ``python -m symgrad explain`` and ``ops`` show them and
docs/ops.md lists them.

It is read from source text with ``ast``, never by importing: the generated classes'
docstrings (each states its definition, rules and conventions, one per line, in a fixed
form) and the generated function table, and for the composites their docstrings and
the ops their code names. So the generator builds docs/ops.md from the text it is about
to write (``build(read)``, ``read`` giving a module's text), and the command line from
the installed files (``installed()``); neither needs SymPy.
"""

import ast
import importlib.util
from dataclasses import dataclass, field

GENERATED = "symgrad.generated"
FUNCTIONS = f"{GENERATED}.functions"
# The generated modules that hold graph nodes (BackwardFcn classes), by kind of op.
KINDS = {
    "elementwise": "element-wise",
    "reductions": "reduction",
    "contractions": "contraction",
    "structural": "structural",
    "windows": "window",
}
COMPOSITE = "composite"
# Methods Tensor defines itself (NumPy's forms), beside the generated METHODS.
TENSOR_METHODS = ("reshape", "transpose")
ORDER = (*KINDS.values(), COMPOSITE)  # the kinds, in the order the reference lists them


@dataclass(frozen=True)
class Composites:
    """A module of composites: its public names (its ``__all__``, else its public
    functions), reached as ``sg.`` + prefix + name unless renamed."""

    module: str
    prefix: str = ""
    renamed: tuple = ()  # (name, public name) pairs


COMPOSITE_MODULES = (
    Composites("symgrad.shape"),
    Composites("symgrad.selection"),
    Composites("symgrad.scans"),
    Composites("symgrad.complex_parts"),
    Composites("symgrad.linalg", renamed=(("norm", "linalg.norm"),)),  # sg.norm: a reduction
    Composites("symgrad.nn.functional", prefix="nn.functional."),
)


@dataclass(frozen=True)
class Node:
    """A generated class (a node of the graph), as its docstring states it."""

    class_name: str
    module: str
    name: str  # its op's name in the tables (``name`` of the class)
    kind: str
    definition: str
    rules: tuple  # one line per input: grad_x = ..., x_bar[o, r] = ..., its adjoint
    conventions: tuple  # at a kink: the value its derivative takes there, and why
    domain: tuple  # where an element-wise op was checked, per input: "x in (0, inf)"
    notes: tuple  # the rest: how the forward is evaluated, a linear map's steps


@dataclass
class Op:
    """A public op: how it is called, and what it records or is built of."""

    name: str  # as called after ``sg.``: "sigmoid", "linalg.norm", "nn.functional.conv2d"
    kind: str
    signature: str
    module: str  # where its function is defined
    function: str  # the function's name there
    summary: str = ""
    doc: str = ""  # a composite's docstring
    nodes: tuple = ()  # the generated classes it records itself
    calls: tuple = ()  # the other public ops its code calls by name (a composite)
    aliases: list = field(default_factory=list)
    method: bool = False  # also a Tensor method

    @property
    def anchor(self):
        """The op's heading anchor in docs/ops.md (GitHub's: dots dropped)."""
        return self.name.lower().replace(".", "")


class Reference:
    """The ops, sorted by name, and the generated classes, by class name."""

    def __init__(self, ops, nodes):
        self.ops = sorted(ops, key=lambda op: op.name)
        self.nodes = nodes
        recorded = {node for op in self.ops for node in op.nodes}
        # classes no public function records itself (t[i], t.astype, t[i] = v, ...)
        self.other_nodes = [node for name, node in sorted(nodes.items()) if name not in recorded]
        self._lookup = {}
        for node in self.other_nodes:
            self._lookup.setdefault(node.name, node)
        for op in self.ops:
            for key in (op.name, *op.aliases):
                self._lookup[key] = op
        for op in self.ops:  # conv2d for nn.functional.conv2d, where no op is conv2d
            self._lookup.setdefault(op.name.rpartition(".")[2], op)
        for node in nodes.values():
            self._lookup.setdefault(node.class_name, node)

    def find(self, name):
        """The Op or Node called ``name`` (an op's name, alias or short name, a class
        name, or the name of a class no function records), or None."""
        return self._lookup.get(name)

    def names(self):
        return sorted(self._lookup)

    def by_kind(self):
        return [(kind, [op for op in self.ops if op.kind == kind]) for kind in ORDER]


def installed():
    """The reference of the installed symgrad."""
    return build(_read_installed)


def _read_installed(module):
    with open(importlib.util.find_spec(module).origin, encoding="utf-8") as file:
        return file.read()


def build(read):
    """The reference, from ``read(module name)``, the text of each module."""
    texts = _Texts(read)
    nodes = {}
    for stem, kind in KINDS.items():
        module = f"{GENERATED}.{stem}"
        for cls in texts.tree(module).body:
            if isinstance(cls, ast.ClassDef) and _assigned(cls, "name") is not None:
                nodes[cls.name] = _node(cls, module, kind)
    functions = _generated_functions(texts, nodes)
    ops = [op for op in functions.values() if not op.function.startswith("_")]
    for composites in COMPOSITE_MODULES:
        ops += _composites(texts, composites, functions, nodes)
    return Reference(ops, nodes)


# ---- the generated classes and functions ------------------------------------------------
def _node(cls, module, kind):
    first, *lines = ast.get_docstring(cls).splitlines()
    name, _, definition = first.partition(": ")
    rules, conventions, domain, notes = [], [], [], []
    for line in lines:
        if line.startswith(("grad_", "x_bar[", "its adjoint")):
            rules.append(line)
        elif line.startswith("at "):
            conventions.append(line)
        elif line.startswith("domain"):
            domain.append(line.partition(": ")[2])
        else:
            notes.append(line)
    parts = map(tuple, (rules, conventions, domain, notes))
    return Node(cls.name, module, name, kind, definition, *parts)


def _generated_functions(texts, nodes):
    """{function name: Op} of generated/functions.py, each with the class it applies;
    NumPy's other names as aliases, Tensor methods marked."""
    found, methods = {}, ()
    for statement in texts.tree(FUNCTIONS).body:
        if isinstance(statement, ast.FunctionDef):
            node = nodes[_applied_class(statement)]
            found[statement.name] = Op(
                statement.name,
                node.kind,
                f"({ast.unparse(statement.args)})",
                FUNCTIONS,
                statement.name,
                summary=node.definition,
                nodes=(node.class_name,),
            )
        elif _target(statement) == "METHODS":
            methods = ast.literal_eval(statement.value)
    for alias, name in _aliases(texts.tree(FUNCTIONS)):
        found[name].aliases.append(alias)
    for name in (*methods, *TENSOR_METHODS):
        if name in found:
            found[name].method = True
    return found


def _applied_class(function):
    """The class a generated function records: ``apply(module.Class, ...)``."""
    for call in ast.walk(function):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "apply":
            return call.args[0].attr
    raise ValueError(f"{function.name}: no apply(...) found")


# ---- the composites ---------------------------------------------------------------------
def _composites(texts, composites, functions, nodes):
    """The Ops of one module of composites."""
    renamed = dict(composites.renamed)
    public = {name: renamed.get(name, composites.prefix + name) for name in texts.names(composites)}
    aliases = dict(_aliases(texts.tree(composites.module)))
    ops = {}
    for name, public_name in public.items():
        if name in aliases:
            continue
        module, function = texts.definition(composites.module, name)
        calls, recorded = _Calls(texts, functions, nodes).of(module, function)
        calls.discard(public_name)
        kinds = {nodes[n].kind for n in recorded}
        doc = ast.get_docstring(function) or ""
        summary = nodes[next(iter(recorded))].definition if len(recorded) == 1 else _first(doc)
        ops[name] = Op(
            public_name,
            kinds.pop() if len(kinds) == 1 else COMPOSITE,
            f"({ast.unparse(function.args)})",
            module,
            function.name,
            summary=summary,
            doc=doc,
            nodes=tuple(sorted(recorded)),
            calls=tuple(sorted(calls)),
        )
    for alias, name in aliases.items():
        if alias in public:
            ops[name].aliases.append(public[alias])
    return list(ops.values())


class _Calls:
    """What a composite's code names: public ops (called as functions, or as Tensor
    methods), and generated classes it records itself. NOTE: operators (``a * b``) and
    indexing (``t[i]``) are not followed: the docstring says what it is built of."""

    def __init__(self, texts, functions, nodes):
        self.texts = texts
        self.functions = functions  # generated function name -> Op
        self.nodes = nodes
        self.methods = {name for name, op in functions.items() if op.method}
        self.methods |= set(TENSOR_METHODS)
        self.calls, self.recorded, self.seen = set(), set(), set()

    def of(self, module, function):
        self.follow(module, function)
        return self.calls, self.recorded

    def follow(self, module, function):
        if (module, function.name) in self.seen:
            return
        self.seen.add((module, function.name))
        imports = self.texts.imports(module)
        bound = _local_names(function)
        for item in ast.walk(function):
            if isinstance(item, ast.Name) and item.id not in bound:
                self.name(module, imports, item.id)
            elif isinstance(item, ast.Attribute):
                self.attribute(module, imports, item)

    def name(self, module, imports, name):
        if name in imports:
            source, original = imports[name]
            if source == FUNCTIONS:
                self.generated(original)
            elif source.startswith("symgrad.") and not source.startswith(GENERATED):
                self.composite(source, original)
        elif name in self.texts.functions(module):
            self.composite(module, name)

    def attribute(self, module, imports, item):
        owner = getattr(item.value, "id", None)
        source, original = imports.get(owner, (None, None))
        if source == GENERATED and original == "functions":
            self.generated(item.attr)
        elif source == GENERATED and item.attr in self.nodes:
            self.recorded.add(item.attr)
        elif owner is not None and source is None and item.attr in self.methods:
            self.generated(item.attr)  # a variable's method, t.reshape(...): no module's

    def generated(self, name):
        if name not in self.functions:
            return
        if name.startswith("_"):  # no public function: its class is recorded here
            self.recorded.update(self.functions[name].nodes)
        else:
            self.calls.add(name)

    def composite(self, module, name):
        """``name`` in ``module``: a public composite is a call; a helper is followed."""
        for composites in COMPOSITE_MODULES:
            if composites.module == module and name in self.texts.names(composites):
                self.calls.add(dict(composites.renamed).get(name, composites.prefix + name))
                return
        if module in self.texts.readable and name in self.texts.functions(module):
            self.follow(*self.texts.definition(module, name))


class _Texts:
    """The modules' syntax trees, read once each."""

    def __init__(self, read):
        self.read = read
        self.trees = {}
        # the modules whose helpers are followed: the composites' and what they import
        self.readable = {c.module for c in COMPOSITE_MODULES} | {"symgrad.nn.convolution"}

    def tree(self, module):
        if module not in self.trees:
            self.trees[module] = ast.parse(self.read(module))
        return self.trees[module]

    def functions(self, module):
        return {s.name: s for s in self.tree(module).body if isinstance(s, ast.FunctionDef)}

    def imports(self, module):
        """{local name: (module, name)} of the module's ``from ... import`` lines."""
        found = {}
        for statement in self.tree(module).body:
            if isinstance(statement, ast.ImportFrom) and statement.level == 0:
                for alias in statement.names:
                    found[alias.asname or alias.name] = (statement.module, alias.name)
        return found

    def names(self, composites):
        """A module's public names: its ``__all__``, else its public functions."""
        for statement in self.tree(composites.module).body:
            if _target(statement) == "__all__":
                return ast.literal_eval(statement.value)
        return [name for name in self.functions(composites.module) if not name.startswith("_")]

    def definition(self, module, name):
        """(module, FunctionDef) of ``name`` as ``module`` has it, imported or its own."""
        functions = self.functions(module)
        if name in functions:
            return module, functions[name]
        source, original = self.imports(module)[name]
        return self.definition(source, original)


def _local_names(function):
    """The names a function binds itself: its parameters and what it assigns."""
    arguments = function.args
    every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
    names = {a.arg for a in (*every, arguments.vararg, arguments.kwarg) if a is not None}
    stored = ast.walk(function)
    return names | {
        n.id for n in stored if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _target(statement):
    """The name a statement assigns to (``name = ...``), or None."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        return getattr(statement.targets[0], "id", None)
    return None


def _aliases(tree):
    """(alias, name) for each ``alias = name`` of a module: another name of a function."""
    return [
        (_target(s), s.value.id) for s in tree.body if _target(s) and isinstance(s.value, ast.Name)
    ]


def _assigned(cls, attribute):
    """The constant a class body assigns to ``attribute``, or None."""
    for statement in cls.body:
        if _target(statement) == attribute:
            return getattr(statement.value, "value", None)
    return None


def _first(doc):
    """A docstring's first sentence, on one line."""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]
