"""sg.gradcheck: compare backward's gradients with central finite differences."""

import numpy

from symgrad.autograd import grad as autograd_grad
from symgrad.grad_mode import no_grad


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True if the gradients of ``fn(*inputs)`` match finite differences.

    ``inputs`` are tensors (those with requires_grad are checked, best in float64);
    ``fn`` returns a tensor. The output is reduced with a fixed random cotangent, so every
    output element is checked. On a mismatch, raises (or returns False) naming the input
    and the element.
    """
    inputs = tuple(inputs) if isinstance(inputs, list | tuple) else (inputs,)
    checked = [t for t in inputs if getattr(t, "requires_grad", False)]
    out = fn(*inputs)
    cotangent = numpy.random.default_rng(0).standard_normal(out.shape)
    analytic = autograd_grad(out, checked, grad_outputs=cotangent.astype(out.dtype))
    for index, (tensor, got) in enumerate(zip(checked, analytic, strict=True)):
        numeric = _numeric_gradient(fn, inputs, tensor, cotangent, eps)
        bad = ~numpy.isclose(got.data, numeric, rtol=rtol, atol=atol)
        if bad.any():
            where = tuple(int(i) for i in numpy.argwhere(bad)[0])
            message = (
                f"gradcheck: input {index}, element {where}: backward gives "
                f"{got.data[where]!r}, finite differences {numeric[where]!r}"
            )
            if raise_exception:
                raise AssertionError(message)
            return False
    return True


def _numeric_gradient(fn, inputs, tensor, cotangent, eps):
    original = tensor.data
    result = numpy.zeros(original.shape, dtype=numpy.float64)
    with no_grad():
        for index in numpy.ndindex(original.shape):
            values = []
            for sign in (1.0, -1.0):
                moved = original.copy()
                moved[index] += sign * eps
                tensor.data = moved
                values.append(numpy.vdot(cotangent, fn(*inputs).data))
            result[index] = (values[0] - values[1]) / (2 * eps)
    tensor.data = original
    return result
