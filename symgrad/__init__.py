"""symgrad: NumPy autodiff whose backward rules are derived by SymPy, checked, and
generated (see generated/). At run time it needs NumPy only.

    import symgrad as sg
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    sg.sigmoid(x * 3).sum().backward()
    x.grad
"""

import os as _os

# NOTE: the generator (python -m symgrad.codegen) sets this: the runtime imports what
# the generator writes, so the generator must be able to run while that is missing.
if _os.environ.get("SYMGRAD_CODEGEN") != "1":
    from symgrad import memory as _memory  # noqa: F401 - sets how malloc keeps memory
    from symgrad.api import *  # noqa: F403
    from symgrad.api import __all__  # noqa: F401
