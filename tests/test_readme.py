"""The README's code runs as written, and the documentation links stay inside the
repository (a user of an installed copy has nothing else)."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_the_first_example_computes_a_gradient():
    namespace = {}
    exec(python_blocks(ROOT / "README.md")[0], namespace)
    assert namespace["x"].grad.shape == (5,)


def test_the_quick_start_trains_saves_and_reloads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves xor.npz where it runs
    namespace = {}
    exec(python_blocks(ROOT / "README.md")[1], namespace)
    assert namespace["accuracy"] > 0.9
    assert (tmp_path / "xor.npz").exists()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_links_point_inside_the_repository(path):
    for target in re.findall(r"\]\(([^)#]+)\)", path.read_text()):
        if "://" not in target:
            assert (path.parent / target).resolve().exists(), target
    assert "shared/" not in path.read_text()


def test_the_define_example_derives_mish(tmp_path, monkeypatch):
    pytest.importorskip("sympy")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))
    namespace = {"sg": __import__("symgrad")}  # as imported by the examples before it
    exec(python_blocks(ROOT / "README.md")[2], namespace)
    assert namespace["mish"].rules["x"].startswith("grad*(x*(1 - tanh(softplus(x))**2)")
    assert namespace["y"].shape == (3,)
