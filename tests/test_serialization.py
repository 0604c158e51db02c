"""sg.save and sg.load through real files: a model's and an optimizer's state dicts come
back equal (training resumed from them takes the same steps), every kind of value and
nesting keeps its type, and a file sg.save did not write (another .npz, a .npy, text, an
archive holding a pickled object) is refused with a clear error, running no code."""

import io

import numpy as np
import pytest

import symgrad as sg
from symgrad import nn


def model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))


def train(net, optimizer, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        optimizer.zero_grad()
        out = net(sg.tensor(rng.standard_normal((5, 3)).astype(np.float32)))
        out.backward(rng.standard_normal(out.shape).astype(np.float32))
        optimizer.step()


def assert_same(a, b):
    """Equal values of the same types, at every level of the nesting."""
    assert type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, sg.Tensor | np.ndarray):
        a, b = np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b))
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_model_and_optimizer_round_trip_then_training_resumes_alike(tmp_path):
    sg.manual_seed(0)
    net = model()
    optimizer = sg.optim.Adam(net.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True)
    train(net, optimizer, 3, seed=1)
    sg.save(net.state_dict(), tmp_path / "model.npz")
    sg.save(optimizer.state_dict(), tmp_path / "optimizer.npz")

    loaded = sg.load(tmp_path / "model.npz")
    assert_same(dict(net.state_dict()), dict(loaded))
    assert all(isinstance(v, sg.Tensor) and not v.requires_grad for v in loaded.values())
    state = sg.load(tmp_path / "optimizer.npz")
    assert_same(optimizer.state_dict(), state)
    assert state["param_groups"][0]["betas"] == (0.8, 0.99)  # a tuple, as saved

    sg.manual_seed(5)  # other initial weights, overwritten by the loaded ones
    copy = model()
    copy_optimizer = sg.optim.Adam(copy.parameters(), lr=0.5)
    copy.load_state_dict(loaded)
    copy_optimizer.load_state_dict(state)
    train(net, optimizer, 3, seed=2)
    train(copy, copy_optimizer, 3, seed=2)
    for (name, a), b in zip(net.state_dict().items(), copy.state_dict().values()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_the_path_is_the_one_given(tmp_path):
    """numpy.savez adds .npz to a path without it; sg.save writes where it is told, as
    torch.save, so that load finds it."""
    path = tmp_path / "model.pt"
    sg.save({"w": sg.tensor(np.arange(3.0))}, str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    np.testing.assert_array_equal(sg.load(str(path))["w"].data, np.arange(3.0))


def test_every_kind_of_value_and_nesting_comes_back():
    state = {
        "tensor": sg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "int_tensor": sg.tensor(np.array(7, np.int64)),
        "array": np.array([[True, False]]),
        "scalar_array": np.array(2.5),
        "int": 3,
        "float": 0.25,
        "bool": False,
        "text": "adam",
        "none": None,
        "list": [1, [2.0, None], {"inner": np.ones(2)}],
        "tuple": (0.9, (1, 2), ()),
        "empty_dict": {},
        "empty_list": [],
        "": "an empty key",
        "d:tricky": 1,
        7: {-1: "negative int key", 0: [np.zeros((0, 3))]},
    }
    buffer = io.BytesIO()
    sg.save(state, buffer)
    buffer.seek(0)
    loaded = sg.load(buffer)
    assert_same(state, loaded)
    assert isinstance(loaded["tensor"], sg.Tensor) and isinstance(loaded["array"], np.ndarray)


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ([1, 2], TypeError, r"expected a dict \(a state dict\), not list"),
        ({"a/b": 1}, ValueError, r"may not hold '/' or '@': 'a/b'"),
        ({"a@t": 1}, ValueError, r"may not hold '/' or '@'"),
        ({1.5: 1}, TypeError, r"keys must be str or int, not float"),
        ({"a": {"b": object()}}, TypeError, r"save: a/b: cannot save a object"),
        ({"a": np.array([object()])}, TypeError, r"object arrays are not saved"),
    ],
)
def test_save_refuses_what_it_cannot_write(tmp_path, state, error, match):
    with pytest.raises(error, match=match):
        sg.save(state, tmp_path / "x.npz")


def test_load_refuses_files_sg_save_did_not_write(tmp_path):
    np.savez(tmp_path / "plain.npz", weights=np.ones(2))
    np.save(tmp_path / "array.npy", np.ones(2))
    (tmp_path / "text.txt").write_text("not an archive")
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / "torn.zip").write_bytes(b"PK\x03\x04 a torn zip")
    np.savez(tmp_path / "steps.npz", **{"l:x@s": np.ones(1)})
    for name in ("plain.npz", "array.npy", "text.txt", "empty.bin", "torn.zip", "steps.npz"):
        with pytest.raises(ValueError, match=r"not a file sg.save wrote"):
            sg.load(tmp_path / name)


class _Payload:
    """Unpickled, it would create a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_an_object_array_is_never_unpickled(tmp_path):
    witness = tmp_path / "code-ran"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(witness)
    # a well-formed sg.save name, holding a pickle NumPy would run with allow_pickle=True
    np.savez(tmp_path / "crafted.npz", **{"d:weight@a": payload})
    with np.load(tmp_path / "crafted.npz", allow_pickle=True) as archive:
        archive["d:weight@a"]  # the payload is real: loaded unsafely, it runs
    assert witness.exists()
    witness.unlink()
    with pytest.raises(ValueError, match=r"allow_pickle=False"):
        sg.load(tmp_path / "crafted.npz")
    assert not witness.exists()
