"""Solving a plan as a background job: one job per plan at a time, its progress readable while it runs.

`POST /api/rooster/plans/{id}/solve` (and ``herplan``) start a job and answer its id at once; the solver runs
in its own thread (``engine.solve``), calling back with objective, bound and elapsed seconds; when it is done
the job writes the result into the plan's draft (pins kept as they are) and keeps the summary for ``GET``.
Jobs live in this process (a restart forgets a running one; the draft is only written when a job finishes).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from shared.rooster import PlanningProblem, PlanningResult

log = logging.getLogger(__name__)

JobState = Literal["bezig", "klaar", "mislukt"]
KEEP_DONE = 50  # finished jobs remembered per registry (the page reads the last one)


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    plan_id: int
    kind: str  # "plan" or "herplan"
    state: JobState
    time_limit_s: float
    elapsed_s: float
    objective: float | None
    bound: float | None
    status: str | None = None  # the solver's: optimaal, haalbaar, onhaalbaar, onbekend
    assignments: int | None = None
    uncovered: int | None = None  # boa's missing from demanded duos
    changed: int | None = None  # assignments changed against the published version
    error: str | None = None


@dataclass
class Job:
    id: str
    plan_id: int
    org_id: int
    kind: str
    time_limit_s: float
    started: float = field(default_factory=time.monotonic)
    state: JobState = "bezig"
    objective: float | None = None
    bound: float | None = None
    elapsed_s: float = 0.0
    result: PlanningResult | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = None

    def progress(self, objective: float, bound: float, elapsed_s: float) -> None:
        """Called from the solver's thread: plain attribute writes, read by the loop."""
        self.objective, self.bound, self.elapsed_s = float(objective), float(bound), float(elapsed_s)

    def view(self) -> JobView:
        elapsed = self.elapsed_s if self.state != "bezig" else time.monotonic() - self.started
        result = self.result
        return JobView(
            id=self.id,
            plan_id=self.plan_id,
            kind=self.kind,
            state=self.state,
            time_limit_s=self.time_limit_s,
            elapsed_s=round(elapsed, 2),
            objective=self.objective,
            bound=self.bound,
            status=result.status if result else None,
            assignments=len(result.assignments) if result else None,
            uncovered=sum(u.missing for u in result.uncovered) if result else None,
            changed=result.changed if result else None,
            error=self.error,
        )


Solve = Callable[[PlanningProblem, Callable[[float, float, float], None]], Awaitable[PlanningResult]]
Store = Callable[[PlanningResult], Awaitable[None]]


class Busy(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(f"plan {job.plan_id} is being solved (job {job.id})")
        self.job = job


class Jobs:
    """The jobs of one app instance (kept on its state)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._running: dict[int, Job] = {}

    def get(self, job_id: str, org_id: int) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.org_id == org_id else None

    def latest(self, plan_id: int) -> Job | None:
        found = [j for j in self._jobs.values() if j.plan_id == plan_id]
        return found[-1] if found else None

    def start(
        self, *, plan_id: int, org_id: int, kind: str, problem: PlanningProblem, solve: Solve, store: Store
    ) -> Job:
        """Start solving `problem` for the plan; `store` writes a finished result. Busy when one runs."""
        running = self._running.get(plan_id)
        if running is not None:
            raise Busy(running)
        job = Job(
            id=uuid.uuid4().hex, plan_id=plan_id, org_id=org_id, kind=kind, time_limit_s=problem.time_limit_s
        )
        self._jobs[job.id] = job
        self._running[plan_id] = job
        job.task = asyncio.create_task(self._run(job, problem, solve, store), name=f"rooster-solve-{plan_id}")
        self._forget_old()
        return job

    async def _run(self, job: Job, problem: PlanningProblem, solve: Solve, store: Store) -> None:
        try:
            result = await solve(problem, job.progress)
            job.objective, job.bound = result.objective, result.bound
            if result.status in ("optimaal", "haalbaar"):
                await store(result)
            job.result = result
            job.state = "klaar"
            if result.status not in ("optimaal", "haalbaar"):
                job.error = f"geen rooster gevonden ({result.status})"
        except Exception as exc:  # the job reports what went wrong; the server goes on
            log.exception("solving plan %s failed", job.plan_id)
            job.state, job.error = "mislukt", f"{type(exc).__name__}: {exc}"
        finally:
            job.elapsed_s = time.monotonic() - job.started
            self._running.pop(job.plan_id, None)

    def _forget_old(self) -> None:
        done = [j for j in self._jobs.values() if j.state != "bezig"]
        for job in done[: max(0, len(done) - KEEP_DONE)]:
            del self._jobs[job.id]

    async def stop(self) -> None:
        """Wait for running jobs (their solver threads stop at their time limit)."""
        tasks = [j.task for j in self._running.values() if j.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
