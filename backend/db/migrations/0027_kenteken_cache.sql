-- RDW open data answers per kenteken (vehicle data only: the open data holds no owner), kept for repeat and
-- offline lookups. Each lookup itself is in audit_log with its purpose.
CREATE TABLE kenteken_cache (
    kenteken    text PRIMARY KEY CHECK (kenteken ~ '^[A-Z0-9]{1,8}$'),
    found       boolean NOT NULL,
    vehicle     jsonb NOT NULL DEFAULT '{}',
    fetched_at  timestamptz NOT NULL DEFAULT now()
);
