"""The public surface is what it says: every package's ``__all__`` lists exactly its public names."""

import __future__

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import kdverify

SUBPACKAGES = sorted(info.name for info in pkgutil.walk_packages(kdverify.__path__, "kdverify.") if info.ispkg)
PACKAGES = ["kdverify", *SUBPACKAGES]


def public_names(package: ModuleType) -> set[str]:
    """Names a user sees in the package: not underscored, not a submodule, not a ``__future__``
    feature, and not an object imported from outside the package for its own use (``Any``,
    ``InvalidArgument``); names it loads on first use (``_LAZY``) and ``__version__`` count too."""
    prefix = package.__name__
    names = set(getattr(package, "_LAZY", {})) | ({"__version__"} & set(vars(package)))
    for name, value in vars(package).items():
        if name.startswith("_") or inspect.ismodule(value) or isinstance(value, __future__._Feature):
            continue
        home = getattr(value, "__module__", None)
        if isinstance(home, str) and not (home == prefix or home.startswith(prefix + ".")):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    declared = getattr(package, "__all__", None)
    assert declared is not None, f"{name} declares no __all__"
    assert len(declared) == len(set(declared)), f"{name}.__all__ repeats a name"
    assert set(declared) == public_names(package), name
    for entry in declared:
        assert getattr(package, entry) is not None
