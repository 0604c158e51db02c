"""The graph behind a tensor, drawn: ``to_dot`` gives Graphviz's DOT text, ``to_svg``
runs Graphviz's ``dot`` program on it where that is installed.

One box per op (its node's class, ``MultiplyBackward``, and the shape of what it
computed), one per leaf (its shape, and whether it requires grad), one per constant,
and the output; an edge runs from each input to the op that used it. Boxes are
numbered in the order a breadth-first walk from the output meets them, so the same
graph always gives the same text. A node whose part of the graph backward has freed
(no ``retain_graph=True``) is drawn dashed, saying so, with nothing behind it.
"""

import shutil
import subprocess
from collections import deque

import numpy

from symgrad.function import sources
from symgrad.tensor import Tensor

_STYLES = {
    "op": 'fillcolor="lightgray"',
    "leaf": 'fillcolor="lightblue"',
    "constant": 'fillcolor="white"',
    "output": 'fillcolor="darkolivegreen1"',
    "freed": 'fillcolor="white", style="dashed"',
}


def to_dot(tensor, show_shapes=True, params=None):
    """The graph that computed ``tensor``, as DOT text. ``params`` ({name: tensor}, as
    ``dict(module.named_parameters())``) names leaves in the drawing."""
    names = {id(value): name for name, value in (params or {}).items()}
    drawing = _Drawing(show_shapes, names)
    drawing.draw(tensor)
    return drawing.text()


def to_svg(tensor, path=None, show_shapes=True, params=None):
    """The graph of ``tensor`` as SVG text, drawn by Graphviz's ``dot``; written to
    ``path`` too if one is given."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "to_svg: Graphviz's dot program is not installed (the graphviz package); "
            "sg.viz.to_dot(tensor) gives the DOT text without it"
        )
    result = subprocess.run(
        [dot, "-Tsvg"],
        input=to_dot(tensor, show_shapes, params),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"to_svg: dot failed: {result.stderr.strip()}")
    if path is not None:
        with open(path, "w", encoding="utf-8") as file:
            file.write(result.stdout)
    return result.stdout


class _Drawing:
    """The boxes and edges met so far, in the order they were met."""

    def __init__(self, show_shapes, names):
        self.show_shapes = show_shapes
        self.names = names
        self.ids = {}  # id(node or leaf tensor) -> box id
        self.keep = []  # what the ids are of, alive while drawing (ids are not reused)
        self.boxes = []  # (box id, label, style)
        self.edges = []  # (from box, to box)

    def draw(self, tensor):
        output = self.box(None, self.describe("output", tensor), "output")
        if tensor.grad_fn is None:
            self.edges.append((self.input_box(tensor), output))
            return
        queue = deque([tensor.grad_fn])
        self.edges.append((self.op_box(tensor.grad_fn, tensor), output))
        while queue:
            node = queue.popleft()
            if node.inputs is None:
                continue  # freed: drawn dashed, nothing known behind it
            for value, source in zip(node.inputs, sources(node)):
                if value is None:  # an optional input left out (a convolution's bias)
                    continue
                if source is None:
                    self.edges.append((self.input_box(value), self.ids[id(node)]))
                    continue
                new = id(source) not in self.ids
                self.edges.append((self.op_box(source, value), self.ids[id(node)]))
                if new:
                    queue.append(source)

    def op_box(self, node, value):
        """The box of ``node``, which computed ``value``."""
        if id(node) in self.ids:
            return self.ids[id(node)]
        name = type(node).__name__
        if node.inputs is None:
            label = self.describe(name, value) + "\\n(freed by backward)"
            return self.box(node, label, "freed")
        return self.box(node, self.describe(name, value), "op")

    def input_box(self, value):
        """The box of a leaf tensor, or of a constant (one per use)."""
        if isinstance(value, Tensor):
            if id(value) in self.ids:
                return self.ids[id(value)]
            name = self.names.get(id(value), "leaf")
            label = self.describe(name, value) + f"\\nrequires_grad={value.requires_grad}"
            return self.box(value, label, "leaf" if value.requires_grad else "constant")
        if numpy.ndim(value) == 0:
            return self.box(None, _escape(repr(_number(value))), "constant")
        return self.box(None, self.describe("constant", value), "constant")

    def describe(self, name, value):
        if not self.show_shapes:
            return _escape(name)
        data = value.data if isinstance(value, Tensor) else numpy.asarray(value)
        return _escape(f"{name}\n{data.shape} {data.dtype}").replace("\n", "\\n")

    def box(self, thing, label, style):
        box_id = f"n{len(self.boxes)}"
        if thing is not None:
            self.ids[id(thing)] = box_id
            self.keep.append(thing)
        self.boxes.append((box_id, label, style))
        return box_id

    def text(self):
        lines = [
            "digraph symgrad {",
            '    node [shape="box", style="filled", fontname="Helvetica", fontsize="10"];',
        ]
        for box, label, style in self.boxes:
            lines.append(f'    {box} [label="{label}", {_STYLES[style]}];')
        lines += [f"    {start} -> {end};" for start, end in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"


def _number(value):
    """A 0-d constant as the Python number it holds."""
    return value.item() if isinstance(value, numpy.ndarray | numpy.generic) else value


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')
