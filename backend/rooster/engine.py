"""The one door to the planning engine: the CP-SAT solver (``backend/rooster/solver.py``) and the
independent checker (``backend/rooster/checker.py``), imported lazily so the API, the pages and their tests do
not depend on them being importable (or on OR-Tools loading) until a plan is solved or checked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from shared.rooster import Assignment, PlanningProblem, PlanningResult, Violation

Progress = Callable[[float, float, float], None]  # objective, bound, elapsed seconds (from the solver thread)


class EngineMissing(RuntimeError):
    """The solver or the checker cannot be imported in this installation."""


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"backend.rooster.{name}")
    except ImportError as exc:
        raise EngineMissing(f"backend.rooster.{name} is not available: {exc}") from exc


def has_solver() -> bool:
    try:
        _module("solver")
    except EngineMissing:
        return False
    return True


def has_checker() -> bool:
    try:
        _module("checker")
    except EngineMissing:
        return False
    return True


async def solve(problem: PlanningProblem, progress: Progress | None = None) -> PlanningResult:
    """Solve off the event loop (the solver's own thread); `progress` is called from that thread."""
    solver: Any = _module("solver")
    result: PlanningResult = await solver.solve_off_loop(problem, progress=progress)
    return result


def check(problem: PlanningProblem, assignments: list[Assignment]) -> list[Violation]:
    """Every rule the assignments break (Dutch text, the article), by the plain-Python checker."""
    checker: Any = _module("checker")
    found: list[Violation] = checker.check(problem, assignments)
    return found
