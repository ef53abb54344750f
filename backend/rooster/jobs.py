"""Solving a plan as a background job: one job per plan at a time, its progress readable while it runs, from
any instance.

`POST /api/rooster/plans/{id}/solve` (and ``herplan``) start a job and answer its id at once; the solver runs
in its own thread (``engine.solve``) on the instance that took the request, calling back with objective,
bound and elapsed seconds; when it is done the job writes the result into the plan's draft (pins kept as
they are). The job's state lives in ``rooster_jobs``: the running instance writes its progress and a
heartbeat every ``BEAT_S``, so ``GET /api/rooster/jobs/{id}`` through any instance (the load balancer picks
one) reads the same job. A job whose heartbeat stopped for ``dead_after_s`` (its instance died or lost the
database) is marked ``mislukt`` with a Dutch reason by whoever reads it, instead of ``bezig`` for ever; one
job per plan is enforced by the database (a partial unique index), not by one process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import msgspec

from backend.db.pool import Conn
from shared.rooster import PlanningProblem, PlanningResult

log = logging.getLogger(__name__)

JobState = Literal["bezig", "klaar", "mislukt"]
BEAT_S = 1.0  # the running instance writes progress and its heartbeat this often
DEAD_AFTER_S = 15.0  # a running job without a heartbeat this long: its instance is gone
KEEP_DAYS = 30  # finished jobs older than this are deleted when a new one starts
DIED = "de server die dit rooster berekende is uitgevallen; start het plannen opnieuw"


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
    """A job running on this instance: the solver thread's progress, written to the table by the loop."""

    id: str
    plan_id: int
    org_id: int
    kind: str
    time_limit_s: float
    started: float = field(default_factory=time.monotonic)
    objective: float | None = None
    bound: float | None = None
    elapsed_s: float = 0.0
    task: asyncio.Task[None] | None = None

    def progress(self, objective: float, bound: float, elapsed_s: float) -> None:
        """Called from the solver's thread: plain attribute writes, read by the loop."""
        self.objective, self.bound, self.elapsed_s = float(objective), float(bound), float(elapsed_s)


Solve = Callable[[PlanningProblem, Callable[[float, float, float], None]], Awaitable[PlanningResult]]
Store = Callable[[PlanningResult], Awaitable[None]]


class Busy(Exception):
    def __init__(self, job_id: str, plan_id: int) -> None:
        super().__init__(f"plan {plan_id} is being solved (job {job_id})")
        self.job_id = job_id


_COLUMNS = """id, plan_id, kind, state, time_limit_s, objective, bound, status, assignments, uncovered,
              changed, error,
              CASE WHEN state = 'bezig' THEN extract(epoch FROM clock_timestamp() - started_at)::float8
                   ELSE elapsed_s END AS elapsed"""


def _view(r: asyncpg.Record) -> JobView:
    return JobView(
        id=r["id"],
        plan_id=r["plan_id"],
        kind=r["kind"],
        state=r["state"],
        time_limit_s=r["time_limit_s"],
        elapsed_s=round(r["elapsed"], 2),
        objective=r["objective"],
        bound=r["bound"],
        status=r["status"],
        assignments=r["assignments"],
        uncovered=r["uncovered"],
        changed=r["changed"],
        error=r["error"],
    )


class Jobs:
    """The solve jobs of one database; the ones running on this instance are in `_running`."""

    def __init__(self, pool: asyncpg.Pool, dead_after_s: float = DEAD_AFTER_S) -> None:
        self.pool = pool
        self.dead_after_s = dead_after_s
        self._running: dict[str, Job] = {}

    async def _bury(self, conn: Conn, *, job_id: str | None = None, plan_id: int | None = None) -> None:
        """A running job whose instance stopped beating is failed, with the reason a team lead reads."""
        await conn.execute(
            """UPDATE rooster_jobs
               SET state = 'mislukt', error = $3,
                   elapsed_s = extract(epoch FROM beat_at - started_at)::float8
               WHERE state = 'bezig' AND (id = $1 OR plan_id = $2)
                 AND beat_at < clock_timestamp() - make_interval(secs => $4)""",
            job_id,
            plan_id,
            DIED,
            self.dead_after_s,
        )

    async def get(self, conn: Conn, job_id: str, org_id: int) -> JobView | None:
        await self._bury(conn, job_id=job_id)
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM rooster_jobs WHERE id = $1 AND org_id = $2", job_id, org_id
        )
        return None if row is None else _view(row)

    async def latest(self, conn: Conn, plan_id: int) -> JobView | None:
        await self._bury(conn, plan_id=plan_id)
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM rooster_jobs WHERE plan_id = $1 ORDER BY started_at DESC, id LIMIT 1",
            plan_id,
        )
        return None if row is None else _view(row)

    async def start(
        self, *, plan_id: int, org_id: int, kind: str, problem: PlanningProblem, solve: Solve, store: Store
    ) -> JobView:
        """Start solving `problem` for the plan; `store` writes a finished result. Busy when one runs (on any
        instance). The job's row is committed on a connection of its own before the solver starts, so its
        progress is readable at once (and whatever the starting request does next)."""
        job = Job(
            id=uuid.uuid4().hex, plan_id=plan_id, org_id=org_id, kind=kind, time_limit_s=problem.time_limit_s
        )
        async with self.pool.acquire() as conn:
            await self._bury(conn, plan_id=plan_id)
            try:
                row = await conn.fetchrow(
                    f"""INSERT INTO rooster_jobs (id, plan_id, org_id, kind, time_limit_s)
                        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}""",
                    job.id,
                    plan_id,
                    org_id,
                    kind,
                    job.time_limit_s,
                )
            except asyncpg.UniqueViolationError:
                running = await conn.fetchval(
                    "SELECT id FROM rooster_jobs WHERE plan_id = $1 AND state = 'bezig'", plan_id
                )
                raise Busy(str(running or "?"), plan_id) from None
            await conn.execute(
                """DELETE FROM rooster_jobs
                   WHERE state <> 'bezig' AND started_at < now() - make_interval(days => $1)""",
                KEEP_DAYS,
            )
        assert row is not None
        self._running[job.id] = job
        job.task = asyncio.create_task(self._run(job, problem, solve, store), name=f"rooster-solve-{plan_id}")
        return _view(row)

    async def _run(self, job: Job, problem: PlanningProblem, solve: Solve, store: Store) -> None:
        beat = asyncio.create_task(self._beat(job), name=f"rooster-beat-{job.id}")
        state: JobState = "mislukt"
        result: PlanningResult | None = None
        error: str | None = None
        try:
            result = await solve(problem, job.progress)
            job.objective, job.bound = result.objective, result.bound
            if result.status in ("optimaal", "haalbaar"):
                await store(result)
            state = "klaar"
            if result.status not in ("optimaal", "haalbaar"):
                error = f"geen rooster gevonden ({result.status})"
        except Exception as exc:  # the job reports what went wrong; the server goes on
            log.exception("solving plan %s failed", job.plan_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            job.elapsed_s = time.monotonic() - job.started
            try:
                await self._finish(job, state, result, error)
            except Exception:
                log.exception("could not store the end of rooster job %s", job.id)
            self._running.pop(job.id, None)

    async def _beat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(BEAT_S)
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(
                        """UPDATE rooster_jobs SET beat_at = clock_timestamp(), objective = $2, bound = $3,
                                                   elapsed_s = $4
                           WHERE id = $1 AND state = 'bezig'""",
                        job.id,
                        job.objective,
                        job.bound,
                        time.monotonic() - job.started,
                    )
            except Exception as exc:  # the next beat tries again; long enough without one buries the job
                log.warning("rooster job %s: could not store progress (%s)", job.id, exc)

    async def _finish(
        self, job: Job, state: JobState, result: PlanningResult | None, error: str | None
    ) -> None:
        """The outcome, whatever a reader wrote meanwhile (a job buried while it was only slow did finish)."""
        async with self.pool.acquire() as conn:
            await conn.execute(
                """UPDATE rooster_jobs
                   SET state = $2, elapsed_s = $3, objective = $4, bound = $5, status = $6, assignments = $7,
                       uncovered = $8, changed = $9, error = $10, beat_at = clock_timestamp()
                   WHERE id = $1""",
                job.id,
                state,
                job.elapsed_s,
                job.objective,
                job.bound,
                result.status if result else None,
                len(result.assignments) if result else None,
                sum(u.missing for u in result.uncovered) if result else None,
                result.changed if result else None,
                error,
            )

    async def stop(self) -> None:
        """Wait for running jobs (their solver threads stop at their time limit)."""
        tasks = [j.task for j in self._running.values() if j.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
