"""The one door to the planning engine: the CP-SAT solver (``backend/rooster/solver.py``) and the
independent checker (``backend/rooster/checker.py``). The routes and jobs call these two functions only, so
the solver's thread and the checker's plain Python stay behind one seam.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.rooster import checker, solver
from shared.rooster import Assignment, PlanningProblem, PlanningResult, Violation

Progress = Callable[[float, float, float], None]  # objective, bound, elapsed seconds (from the solver thread)


async def solve(problem: PlanningProblem, progress: Progress | None = None) -> PlanningResult:
    """Solve off the event loop (the solver's own thread); `progress` is called from that thread."""
    return await solver.solve_off_loop(problem, progress=progress)


def check(problem: PlanningProblem, assignments: list[Assignment]) -> list[Violation]:
    """Every rule the assignments break (Dutch text, the article), by the plain-Python checker."""
    return checker.check(problem, assignments)
