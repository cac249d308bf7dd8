"""The ``kdverify`` command. Each verb lives in its own module exposing
``register(subparsers)``, which adds its parser and sets ``func``; this module only parses,
dispatches and turns kdverify errors into a message and exit status 2."""

from __future__ import annotations

from kdverify._util.threads import limit_blas_threads

limit_blas_threads()

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from kdverify.errors import KDVerifyError  # noqa: E402

__all__ = ["DESCRIPTION", "EPILOG", "EXIT_USAGE", "VERB_MODULES", "build_parser", "main"]

VERB_MODULES = ("families", "bound", "derive", "list_claims", "check", "hunt", "replay", "selftest", "curve", "report")

EXIT_USAGE = 2

DESCRIPTION = (
    "Property-based verification of the theory of knowledge distillation (Phuong & Lampert, ICML 2019): "
    "every claim of the theory checked on generated data, with a verdict and its evidence."
)
EPILOG = "`kdverify check` is the main job; `kdverify VERB --help` describes a verb."


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors go through :func:`main`'s exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with one sub-parser per verb module."""
    parser = _Parser(prog="kdverify", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f"kdverify.cli.{name}").register(subparsers)
    return parser


def _version() -> str:
    from kdverify import __version__

    return f"kdverify {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 a theorem falsified, 2 usage error),
    also for the usage errors argparse reports itself."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.func(args) or 0)
    except (KDVerifyError, ValueError) as exc:
        print(f"kdverify {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"kdverify {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped early (| head)
        sys.stderr.close()
        return 0
