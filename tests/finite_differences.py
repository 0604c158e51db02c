"""Central finite differences: the tests' reference for gradients, independent of the
generated code."""

import numpy as np


def numeric_vjp(f, arrays, cotangent, eps=1e-3):
    """Central finite differences of <cotangent, f(arrays)> for each array."""
    grads = []
    for k, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            values = []
            for sign in (1.0, -1.0):
                moved = [a.copy() for a in arrays]
                moved[k][index] += sign * eps
                values.append(np.vdot(cotangent, f(moved)))
            grad[index] = (values[0] - values[1]) / (2 * eps)
        grads.append(grad)
    return grads
