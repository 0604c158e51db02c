"""Op specifications: the forward definitions every backward rule is derived from.

Importing this package imports SymPy; the runtime never does.
"""
