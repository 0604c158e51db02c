"""pyproject.toml lists its packages one by one: every package directory of symgrad must
be there, or an install that is not editable leaves it out (symgrad.nn.modules and
symgrad.utils were, so ``import symgrad.nn`` failed from a wheel)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "symgrad").rglob("__init__.py")
    }
    assert found | {"symgrad.generated"} == listed
