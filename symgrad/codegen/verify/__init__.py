"""The one verification module. The generator runs it on the rendered text of every
class before anything is written; the tests run the same checks, at the same points and
tolerances, on the checked-in generated code, and add references of their own.

- ``policy``: the error a failed check raises, points, tolerances, warnings;
- ``loading``: rendered text imported as the generated package imports it;
- ``elementwise``: an element-wise class against SymPy's derivative of its definition.
"""
