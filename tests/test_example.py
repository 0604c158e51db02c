"""examples/digits.py, the training example, and its bundled data.

The example runs in a subprocess, as a user runs it: once for a short epoch (the progress
lines, the saved and reloaded weights), once without tqdm and matplotlib (the plain path),
and once for the full 10 epochs of the default run, which must reach 97% test accuracy.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgrad as sg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPT = EXAMPLES / "digits.py"

# Runs the example with tqdm and matplotlib unimportable (a None in sys.modules makes
# `import` raise ImportError), whether or not they are installed.
WITHOUT_EXTRAS = """
import runpy, sys
sys.modules["tqdm"] = sys.modules["matplotlib"] = None
sys.argv = [sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_example(*args, without_extras=False):
    prefix = ["-c", WITHOUT_EXTRAS] if without_extras else []
    result = subprocess.run(
        [sys.executable, *prefix, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def final_accuracy(output):
    match = re.search(r"final test accuracy: ([\d.]+)% after (\d+) epochs", output)
    assert match, output
    return float(match[1]) / 100, int(match[2])


def test_data_is_the_uci_digits_with_a_fixed_stratified_split():
    with np.load(EXAMPLES / "data" / "digits.npz") as data:
        images, labels = data["images"], data["labels"]
        train, test = data["train_index"], data["test_index"]
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert images.max() == 16 and labels.max() == 9
    assert len(train) == 1437 and len(test) == 360
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    assert np.array_equal(np.bincount(labels[test]), np.full(10, 36))


def test_a_short_epoch_trains_saves_and_reloads(tmp_path):
    output = run_example("--epochs", 1, "--limit-batches", 5, "--out", tmp_path)
    assert re.search(r"epoch  1/1  loss [\d.]+ .* test accuracy +[\d.]+%", output), output
    accuracy, epochs = final_accuracy(output)
    assert epochs == 1 and 0.0 <= accuracy <= 1.0
    assert "(identical)" in output
    assert "s per epoch" in output

    # the weights of the two convolutions and two linear layers, as Sequential names them
    # (the example itself reloaded them and compared the predictions: "identical")
    weights = sg.load(tmp_path / "digits_cnn.npz")
    shapes = {name: tuple(t.shape) for name, t in weights.items()}
    assert shapes == {
        "0.weight": (32, 1, 3, 3),
        "0.bias": (32,),
        "3.weight": (64, 32, 3, 3),
        "3.bias": (64,),
        "7.weight": (128, 256),
        "7.bias": (128,),
        "9.weight": (10, 128),
        "9.bias": (10,),
    }


def test_runs_without_tqdm_and_matplotlib(tmp_path):
    output = run_example(
        "--epochs", 2, "--limit-batches", 2, "--out", tmp_path, without_extras=True
    )
    # a plain line an epoch, and no plot, saying so
    assert len(re.findall(r"^epoch +\d/2 ", output, flags=re.MULTILINE)) == 2, output
    assert "matplotlib is not installed: no plot drawn" in output
    assert not (tmp_path / "digits_curves.png").exists()


def test_draws_the_curves_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    output = run_example("--epochs", 2, "--limit-batches", 2, "--out", tmp_path)
    png = tmp_path / "digits_curves.png"
    assert f"loss and accuracy curves: {png}" in output
    assert png.read_bytes().startswith(b"\x89PNG")


def test_the_default_run_reaches_97_percent(tmp_path):
    accuracy, epochs = final_accuracy(run_example("--out", tmp_path))
    assert epochs == 10 and accuracy >= 0.97


def test_the_define_example_derives_trains_and_differentiates_twice(tmp_path, monkeypatch):
    pytest.importorskip("sympy")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("define_ops", EXAMPLES / "define_ops.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    ops = example.define_all()
    assert sorted(ops) == sorted(name for name, *_ in example.DEFINITIONS)
    assert example.train(ops) < 0.05
    (hvp, hvp_numeric), (jvp, jvp_numeric) = example.second_and_forward_mode(ops)
    np.testing.assert_allclose(hvp, hvp_numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jvp, jvp_numeric, rtol=1e-6, atol=1e-8)
