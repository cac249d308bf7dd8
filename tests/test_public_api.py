"""The public surface is what it says: every package's ``__all__`` lists exactly its public names, the
command's help says its descriptions to their end, and the progress bar fits the terminal."""

import __future__

import importlib
import inspect
import io
import pkgutil
from types import ModuleType

import pytest

import kdverify
from kdverify._util.progress import ProgressBar
from kdverify.cli import build_parser

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(kdverify.__path__, "kdverify.") if "__main__" not in info.name
)
SUBPACKAGES = [name for name in MODULES if hasattr(importlib.import_module(name), "__path__")]
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


@pytest.mark.parametrize("name", MODULES)
def test_every_module_all_names_what_it_has(name: str) -> None:
    """A module's ``__all__`` (where it declares one) names objects it has, each once."""
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", [])
    assert len(declared) == len(set(declared)), f"{name}.__all__ repeats a name"
    assert [entry for entry in declared if not hasattr(module, entry)] == [], name


def test_help_texts_are_whole_sentences() -> None:
    """``kdverify --help`` and every verb's help say their description to its end, not cut off."""
    parser = build_parser()
    verbs = next(action for action in parser._actions if action.dest == "verb").choices
    for name, command in [("kdverify", parser), *verbs.items()]:
        description = command.description
        assert description is None or description.rstrip().endswith((".", ")")), (name, description)


@pytest.mark.parametrize("columns", [20, 40, 80, 200])
def test_progress_bar_fits_the_terminal(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every redraw is at most the terminal's width less one column, so it never wraps."""
    monkeypatch.setenv("COLUMNS", str(columns))
    stream = io.StringIO()
    with ProgressBar(1000, "hunt", stream=stream, enabled=True) as bar:
        for done in (0, 500, 1000):
            bar._last_draw = 0.0  # redraw every time
            bar.update(done, "risk-bound on gaussian-mixture: 12 examples, 3 undecided")
    lines = [line for line in stream.getvalue().split("\r") if line.strip()]
    assert lines and all(len(line.rstrip("\n")) <= columns - 1 for line in lines)
    assert lines[-1].startswith("hunt [")
