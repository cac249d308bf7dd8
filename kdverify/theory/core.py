"""What a derivation is: assumptions, steps, named results, claimed identities and numpy twins.

A :class:`Derivation` is cheap to create; its sympy work runs in its ``build`` function the first
time a result is asked for (builders are ``functools.cache``-d), so registering a derivation costs
nothing. :meth:`Derivation.check` reduces the residual ``lhs − rhs`` of every claimed
:class:`Identity` and reports which ones reduce to zero; a wrong formula leaves a nonzero residual.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from kdverify.errors import InvalidArgument
from kdverify.theory.reduce import is_zero, reduce_residual
from kdverify.theory.symbols import readable

__all__ = [
    "CheckReport",
    "Derivation",
    "Derived",
    "FunctionSpec",
    "Identity",
    "IdentityCheck",
    "Reducer",
    "Step",
]

Reducer = Callable[[Any], Any]


@dataclass(frozen=True)
class Step:
    """One step that matters: a sentence and, optionally, the formula it produces."""

    text: str
    expr: Any = None


@dataclass(frozen=True)
class Identity:
    """The claim ``lhs = rhs`` (scalars or matrices). ``reducer`` maps the residual
    ``lhs − rhs`` to a canonical form; the default is :func:`reduce_residual`."""

    text: str
    lhs: Any
    rhs: Any = 0
    reducer: Reducer | None = None

    def residual(self) -> Any:
        """The reduced residual ``lhs − rhs`` (zero exactly when the identity is confirmed)."""
        difference = sp.sympify(self.lhs) - sp.sympify(self.rhs)
        return (self.reducer or reduce_residual)(difference)


@dataclass(frozen=True)
class IdentityCheck:
    """Outcome of one identity: its text, the reduced residual and whether it is zero."""

    identity: str
    residual: Any
    confirmed: bool


@dataclass(frozen=True)
class CheckReport:
    """Outcome of every identity a derivation claims."""

    derivation: str
    results: tuple[IdentityCheck, ...]

    @property
    def confirmed(self) -> bool:
        """True when there is at least one identity and every residual reduced to zero."""
        return bool(self.results) and all(result.confirmed for result in self.results)

    @property
    def failures(self) -> tuple[IdentityCheck, ...]:
        """The identities whose residual did not reduce to zero."""
        return tuple(result for result in self.results if not result.confirmed)


@dataclass(frozen=True)
class FunctionSpec:
    """A result to turn into a numpy function: ``lambdify(args, expr)``. ``args`` may nest
    (a matrix argument is a list of rows of symbols, so a ``(d, n)`` array unpacks into it)."""

    args: tuple[Any, ...]
    expr: Any
    doc: str


@dataclass(frozen=True)
class Derived:
    """Everything a builder produces."""

    expressions: Mapping[str, Any]
    steps: tuple[Step, ...]
    identities: tuple[Identity, ...]
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Derivation:
    """A named derivation (id as in THEORY.md) whose sympy work runs lazily in ``build``."""

    id: str
    title: str
    assumptions: tuple[str, ...]
    build: Callable[[], Derived] = field(repr=False)

    @property
    def derived(self) -> Derived:
        """The builder's output (computed once, then cached by the builder)."""
        return self.build()

    @property
    def expressions(self) -> Mapping[str, Any]:
        """Named sympy results."""
        return self.derived.expressions

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps that matter, in order."""
        return self.derived.steps

    @property
    def identities(self) -> tuple[Identity, ...]:
        """Every identity the derivation claims."""
        return self.derived.identities

    @property
    def function_names(self) -> tuple[str, ...]:
        """Names accepted by :meth:`numpy_function`."""
        return tuple(self.derived.functions)

    def check(self) -> CheckReport:
        """Reduce every claimed identity's residual (cached)."""
        return _check(self)

    def numpy_function(self, name: str) -> Callable[..., Any]:
        """The numpy twin of the result ``name`` (lambdified once, then cached)."""
        return _lambdified(self, self._function_name(name))

    def reference(self, name: str, *args: Any, digits: int = 30) -> Any:
        """The result ``name`` at ``args`` in ``digits``-digit arithmetic (``evalf``): a reference
        for its numpy twins. Float arguments enter at their exact binary value; returns a float,
        or a float array for a matrix result."""
        spec = self.derived.functions[self._function_name(name)]
        values: dict[sp.Symbol, sp.Float] = {}
        _bind(spec.args, args, values, digits)
        result = sp.sympify(spec.expr).xreplace(values)
        if isinstance(result, sp.MatrixBase):
            return np.array(result.evalf(digits).tolist(), dtype=np.float64)
        return float(result.evalf(digits))

    def _function_name(self, name: str) -> str:
        if name not in self.derived.functions:
            raise InvalidArgument(
                f"name={name!r} is not a function of derivation {self.id!r}; "
                f"choose one of {', '.join(self.function_names)}."
            )
        return name

    def latex(self) -> str:
        """A LaTeX rendering: assumptions, steps, results and the outcome of every check.

        Prose keeps its Unicode symbols (θ, ≤, …): compile with XeLaTeX or LuaLaTeX."""
        lines = [rf"\subsection*{{\texttt{{{self.id}}}: {_latex_text(self.title)}}}", r"\paragraph{Assumptions.}"]
        lines += [r"\begin{itemize}", *(rf"\item {_latex_text(text)}" for text in self.assumptions)]
        lines += [r"\end{itemize}", r"\paragraph{Steps.}", r"\begin{enumerate}"]
        for step in self.steps:
            formula = f" \\[ {sp.latex(readable(step.expr))} \\]" if step.expr is not None else ""
            lines.append(rf"\item {_latex_text(step.text)}{formula}")
        lines += [r"\end{enumerate}", r"\paragraph{Results.}"]
        lines += [
            rf"\[ \mathrm{{{_latex_text(name)}}} = {sp.latex(readable(expr))} \]"
            for name, expr in self.expressions.items()
        ]
        lines += [r"\paragraph{Checks.}", r"\begin{itemize}"]
        for result in self.check().results:
            mark = r"\checkmark" if result.confirmed else r"\times"
            lines.append(
                rf"\item ${mark}$ {_latex_text(result.identity)}: residual ${sp.latex(result.residual)}$"
            )
        lines.append(r"\end{itemize}")
        return "\n".join(lines)


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%", "#": r"\#",
    "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
}


def _latex_text(text: str) -> str:
    """``text`` with LaTeX's special characters escaped, for use in running text."""
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


def _bind(symbols: Any, values: Any, into: dict[sp.Symbol, sp.Float], digits: int) -> None:
    """Pair (possibly nested) argument symbols with numbers of the same nesting."""
    if isinstance(symbols, (list, tuple)):
        values = list(values)
        if len(values) != len(symbols):
            raise InvalidArgument(f"expected {len(symbols)} argument(s) here, got {len(values)}.")
        for symbol, value in zip(symbols, values, strict=True):
            _bind(symbol, value, into, digits)
    else:
        into[symbols] = sp.Float(float(values), digits)


@functools.cache
def _check(derivation: Derivation) -> CheckReport:
    results = []
    for identity in derivation.identities:
        residual = identity.residual()
        results.append(IdentityCheck(identity.text, residual, is_zero(residual)))
    return CheckReport(derivation.id, tuple(results))


@functools.cache
def _lambdified(derivation: Derivation, name: str) -> Callable[..., Any]:
    spec = derivation.derived.functions[name]
    function = sp.lambdify(spec.args, spec.expr, modules=["scipy", "numpy"])
    function.__doc__ = spec.doc
    return function
