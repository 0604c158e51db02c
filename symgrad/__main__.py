"""``python -m symgrad``: the ops and their derived rules, from the command line.

    python -m symgrad ops                 every op: name, kind, definition
    python -m symgrad explain sigmoid     one op: definition, rules, conventions, code

Read from the installed generated classes' docstrings and code (symgrad/reference.py):
no SymPy needed. docs/ops.md is the same reference as a page.
"""

import argparse
import difflib
import importlib
import inspect
import sys
import textwrap

from symgrad import reference

WIDTH = 100  # the ops table is cut to this many columns


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m symgrad",
        description="symgrad's ops and the backward rules the generator derived for them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ops = commands.add_parser("ops", help="list every op: its name, kind and definition")
    ops.add_argument("--kind", choices=reference.ORDER, help="only the ops of this kind")
    explain = commands.add_parser(
        "explain", help="an op's definition, derived rules, conventions and generated code"
    )
    explain.add_argument("name", help="an op (sigmoid, sum, nn.functional.conv2d) or a class")
    args = parser.parse_args(argv)

    found = reference.installed()
    if args.command == "ops":
        print(ops_table(found, args.kind))
        return 0
    entry = found.find(args.name)
    if entry is None:
        close = difflib.get_close_matches(args.name, found.names(), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see python -m symgrad ops"
        print(f"symgrad explain: no op named {args.name!r}{hint}", file=sys.stderr)
        return 2
    print(explain_text(entry, found))
    return 0


def ops_table(found, kind=None):
    """One line per op: name, kind, one-line definition (cut to WIDTH columns)."""
    ops = [op for op in found.ops if kind in (None, op.kind)]
    name_width = max(len(op.name) for op in ops)
    kind_width = max(len(k) for k in reference.ORDER)
    lines = []
    for op in ops:
        line = f"{op.name:<{name_width}}  {op.kind:<{kind_width}}  {_plain(op.summary)}"
        lines.append(line if len(line) <= WIDTH else line[: WIDTH - 3] + "...")
    return "\n".join(lines)


def explain_text(entry, found):
    """What ``explain`` prints for an Op or a Node."""
    if isinstance(entry, reference.Node):
        return _node_text(entry, "")
    op = entry
    head = [f"{op.name}: {_a(op.kind)} op", f"    sg.{op.name}{op.signature}"]
    also = [f"sg.{alias}" for alias in op.aliases]
    if op.method:
        also.append(f"t.{op.name}(...)")
    if also:
        head.append(f"    also {', '.join(also)}")
    parts = ["\n".join(head)]
    if op.doc:
        parts.append(_plain(op.doc))
    if op.calls:
        parts.append("calls (by name): " + ", ".join(op.calls))
    parts += [_node_text(found.nodes[name], "records ") for name in op.nodes]
    if not op.function.startswith("_") and op.module != reference.FUNCTIONS:
        # a composite: its own code (a generated function is one apply() call)
        parts.append(f"{op.module}.{op.function}:\n\n{_source(op.module, op.function)}")
    return "\n\n".join(parts)


def _node_text(node, verb):
    lines = [f"{verb}{node.module}.{node.class_name}, {_a(node.kind)} node", ""]
    lines += ["definition:", f"    {node.definition}", "derived backward rules, per input:"]
    lines += [f"    {rule}" for rule in node.rules]
    lines += ["conventions:", *(f"    {c}" for c in node.conventions or ["(none)"])]
    if node.domain:
        lines += ["checked for:", *(f"    {d}" for d in node.domain)]
    if node.notes:
        lines += ["notes:", *(f"    {note}" for note in node.notes)]
    lines += ["", "the generated class:", "", _source(node.module, node.class_name)]
    return "\n".join(lines)


def _source(module, name):
    return textwrap.indent(
        inspect.getsource(getattr(importlib.import_module(module), name)), "    "
    )


def _plain(text):
    """reStructuredText's inline code (a docstring's) as plain text."""
    return text.replace("``", "`")


def _a(kind):
    return ("an " if kind[0] in "aeiou" else "a ") + kind


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `python -m symgrad ops | head`: the reader left early
        sys.stderr.close()
        sys.exit(1)
