"""Threads (DESIGN.md, "In place, and values saved for backward"): grad mode is per thread,
backward switches no process-wide flag, and gradients reaching one leaf from several
threads are all summed. Two threads may train two models at once.

Python switches threads every 5 ms by default, which hides most races; these tests switch
every microsecond (``many_switches``) and start their threads together (a barrier).
"""

import sys
import threading

import numpy as np
import pytest

import symgrad as sg

STEPS = 50
LEARNING_RATE = 0.1


@pytest.fixture
def many_switches():
    """Let Python switch threads as often as it can, so that interleavings are many."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def records_graph():
    """Whether ops record a graph in the calling thread, seen through the public API."""
    probe = sg.tensor(1.0, requires_grad=True)
    return (probe * 2.0).grad_fn is not None


def run_threads(target, count):
    """Run ``target(index)`` in ``count`` threads; re-raise the first error in this thread."""
    errors = []

    def body(index):
        try:
            target(index)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


# ---- two models trained at once ---------------------------------------------------------


def make_problem(seed, sizes):
    """A 2-layer MLP's initial parameters and a regression data set, from ``seed``."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    params = {
        "W1": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in),
        "b1": 0.1 * rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": 0.1 * rng.standard_normal(n_out),
    }
    x = rng.standard_normal((16, n_in))
    y = rng.standard_normal((16, n_out))
    return params, x, y


def numpy_gradients(params, x, y):
    """The MSE loss of tanh(x W1 + b1) W2 + b2 against y, and its gradients, by hand."""
    h = np.tanh(x @ params["W1"] + params["b1"])
    pred = h @ params["W2"] + params["b2"]
    loss = np.mean((pred - y) ** 2)
    d_pred = 2.0 * (pred - y) / pred.size
    d_h = (d_pred @ params["W2"].T) * (1.0 - h * h)
    grads = {
        "W1": x.T @ d_h,
        "b1": d_h.sum(axis=0),
        "W2": h.T @ d_pred,
        "b2": d_pred.sum(axis=0),
    }
    return loss, grads


def train(params, x, y, steps, barrier=None):
    """SGD on the MLP with symgrad; returns every step's loss and gradients (copies).

    Each step also runs an evaluation under no_grad and backward, the two things that
    used to switch a process-wide grad mode."""
    tensors = {name: sg.tensor(value, requires_grad=True) for name, value in params.items()}
    x, y = sg.tensor(x), sg.tensor(y)
    history = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()
        assert records_graph()
        h = sg.tanh(x @ tensors["W1"] + tensors["b1"])
        pred = h @ tensors["W2"] + tensors["b2"]
        loss = ((pred - y) ** 2).mean()
        assert loss.grad_fn is not None
        loss.backward()
        history.append((loss.item(), {n: t.grad.copy() for n, t in tensors.items()}))
        with sg.no_grad():
            check = ((sg.tanh(x @ tensors["W1"] + tensors["b1"]) @ tensors["W2"]) ** 2).sum()
            assert check.grad_fn is None
            for tensor in tensors.values():
                tensor.data -= LEARNING_RATE * tensor.grad
                tensor.grad = None
    return history


def assert_same_history(got, want):
    assert len(got) == len(want)
    for step, ((loss, grads), (want_loss, want_grads)) in enumerate(zip(got, want)):
        assert loss == pytest.approx(want_loss, rel=1e-12), f"step {step}: loss"
        for name, value in want_grads.items():
            np.testing.assert_allclose(
                grads[name], value, rtol=1e-12, atol=1e-15, err_msg=f"step {step}: d{name}"
            )


def test_reference_training_matches_hand_written_numpy():
    params, x, y = make_problem(0, (3, 8, 2))
    history = train(params, x, y, steps=5)
    for loss, grads in history:
        want_loss, want_grads = numpy_gradients(params, x, y)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        for name, value in want_grads.items():
            np.testing.assert_allclose(grads[name], value, rtol=1e-10, atol=1e-14)
            params[name] = params[name] - LEARNING_RATE * value


def test_two_threads_train_two_models_at_once(many_switches):
    problems = [make_problem(1, (3, 8, 2)), make_problem(2, (5, 6, 3))]
    references = [train(*problem, steps=STEPS) for problem in problems]  # one thread
    barrier = threading.Barrier(len(problems))
    results = [None] * len(problems)

    def worker(index):
        results[index] = train(*problems[index], steps=STEPS, barrier=barrier)

    run_threads(worker, len(problems))
    for got, want in zip(results, references):
        assert_same_history(got, want)


# ---- grad mode is per thread ---------------------------------------------------------------


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    inside, done = threading.Event(), threading.Event()

    def quiet():
        with sg.no_grad():
            assert not records_graph()
            inside.set()
            done.wait(timeout=30)
            assert not records_graph()
        assert records_graph()

    thread = threading.Thread(target=quiet)
    thread.start()
    try:
        assert inside.wait(timeout=30)
        x = sg.tensor([1.0, 2.0], requires_grad=True)
        y = (sg.exp(x) * x).sum()
        assert y.grad_fn is not None
        y.backward()
        np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]) * (1.0 + np.array([1.0, 2.0])))
    finally:
        done.set()
        thread.join(timeout=30)


def test_a_thread_starts_with_grad_mode_on_even_if_started_inside_no_grad():
    seen = []
    with sg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(records_graph()))
        thread.start()
        thread.join(timeout=30)
        assert not records_graph()
    assert seen == [True]


def test_one_no_grad_function_called_from_many_threads(many_switches):
    # All threads are inside the one decorated function at once, and leave it in turn:
    # each must find grad mode on when it returns, while the others are still inside.
    count = 6
    barrier = threading.Barrier(count)
    turns = [threading.Event() for _ in range(count)]

    @sg.no_grad()
    def evaluate(index):
        barrier.wait(timeout=30)
        assert not records_graph()
        turns[index].wait(timeout=30)
        assert not records_graph()
        return index

    def worker(index):
        for _ in range(3):
            assert records_graph()
            evaluate(index)
            assert records_graph()
            if index + 1 < count:
                turns[index + 1].set()  # let the next thread leave after this one
        assert records_graph()

    turns[0].set()
    run_threads(worker, count)
    assert records_graph()


def test_backward_in_one_thread_leaves_no_grad_of_another_alone(many_switches):
    # backward used to switch a process-wide mode: on while it ran (with create_graph),
    # and back to the mode it found at the end.
    stop = threading.Event()
    failures = []

    def quiet():
        with sg.no_grad():
            while not stop.is_set():
                if records_graph():
                    failures.append("recorded inside no_grad")

    thread = threading.Thread(target=quiet)
    thread.start()
    try:
        for _ in range(200):
            x = sg.tensor([0.5, 1.5], requires_grad=True)
            y = (sg.sin(x) * x).sum()
            (g,) = sg.grad(y, x, create_graph=True)
            g.sum().backward()
            assert records_graph()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failures


# ---- a leaf shared between threads -------------------------------------------------------


def test_concurrent_backward_into_one_leaf_sums_every_contribution(many_switches):
    # NOTE: a large leaf: NumPy lets other threads run while it adds large arrays, so
    # an unguarded `leaf.grad = leaf.grad + grad` loses updates
    count, repeats, size = 4, 100, 20_000
    shared = sg.tensor(np.zeros(size), requires_grad=True)
    pattern = np.arange(size) % 7.0
    barrier = threading.Barrier(count)

    def worker(index):
        # integers: every sum is exact, whatever order the threads add in
        weight = pattern * (index + 1)
        barrier.wait(timeout=30)
        for _ in range(repeats):
            (shared * weight).sum().backward()

    run_threads(worker, count)
    total = sum(range(1, count + 1)) * repeats
    np.testing.assert_array_equal(shared.grad, pattern * total)
