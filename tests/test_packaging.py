"""What ``pip install .`` installs: every package of the tree, and the runtime with
NumPy alone."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_package_of_the_tree_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "symgrad").rglob("__init__.py")
    }
    # generated/ and templates/ are installed as packages of symgrad, where they are mapped
    assert found | {"symgrad.generated", "symgrad.templates"} == listed
    assert config["tool"]["setuptools"]["package-dir"] == {
        "symgrad.generated": "generated",
        "symgrad.templates": "templates",
    }


def test_the_derive_extra_holds_what_generation_needs():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = {dep.split("==")[0] for dep in config["project"]["optional-dependencies"]["derive"]}
    assert extra == {"sympy", "jinja2"}
    assert config["project"]["dependencies"] == ["numpy>=2.1"]


def test_the_cache_key_version_is_the_projects():
    # sg.define's cache is keyed by it: a release must derive again
    from symgrad import user_ops

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["version"] == user_ops.VERSION
