-- Rooster solve jobs in the database, so a team lead polling through any instance sees the job's progress and
-- result. The instance that runs the solver writes progress and a heartbeat (beat_at) every second; a job
-- whose heartbeat stopped (its instance died) is marked 'mislukt' by whoever reads it.
-- plan_id has no foreign key on purpose: the job row is written on its own connection while the starting
-- request holds the plan row FOR UPDATE (a key-share check would wait for that request, which waits for it).
CREATE TABLE rooster_jobs (
    id            text PRIMARY KEY,
    plan_id       integer NOT NULL,
    org_id        integer NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('plan', 'herplan')),
    state         text NOT NULL DEFAULT 'bezig' CHECK (state IN ('bezig', 'klaar', 'mislukt')),
    time_limit_s  double precision NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    beat_at       timestamptz NOT NULL DEFAULT now(),
    elapsed_s     double precision NOT NULL DEFAULT 0,
    objective     double precision,
    bound         double precision,
    status        text,
    assignments   integer,
    uncovered     integer,
    changed       integer,
    error         text
);
-- one job per plan at a time, across instances
CREATE UNIQUE INDEX rooster_jobs_one_running ON rooster_jobs (plan_id) WHERE state = 'bezig';
CREATE INDEX rooster_jobs_by_plan ON rooster_jobs (plan_id, started_at DESC);
