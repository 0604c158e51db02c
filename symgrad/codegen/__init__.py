"""The generator: derive, check and render backward rules (``python -m symgrad.codegen``).

Needs SymPy and Jinja2; nothing here is imported by the runtime.
"""
