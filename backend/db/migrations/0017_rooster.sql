-- The rooster (shift planning): shift types per gemeente, what a boa can work, demand, and plans with
-- versions. A plan covers a horizon of days; its draft assignments are edited and solved, publishing copies
-- them into a numbered version (the boa's tablet, the console and the iCalendar feed read the latest one).
ALTER TABLE accounts
    ADD COLUMN night_exempt    boolean NOT NULL DEFAULT false,
    ADD COLUMN fixed_days_off  smallint[] NOT NULL DEFAULT '{}',  -- ISO weekday - 1 (0 = Monday)
    ADD COLUMN preferences     jsonb NOT NULL DEFAULT '[]';       -- shared.rooster.Preference list

CREATE TABLE rooster_shift_types (
    id                serial PRIMARY KEY,
    org_id            integer NOT NULL REFERENCES organisations(id),
    code              text NOT NULL CHECK (code ~ '^[a-z0-9_]{1,20}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    start_minute      integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    duration_minutes  integer NOT NULL CHECK (duration_minutes BETWEEN 30 AND 960),
    active            boolean NOT NULL DEFAULT true,
    UNIQUE (org_id, code)
);

CREATE TABLE rooster_absences (
    id          serial PRIMARY KEY,
    account_id  integer NOT NULL REFERENCES accounts(id),
    day         date NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('verlof', 'ziek', 'niet_beschikbaar')),
    hours       numeric(4, 1) NOT NULL DEFAULT 0 CHECK (hours BETWEEN 0 AND 24),
    note        text CHECK (note IS NULL OR length(note) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, day)
);

CREATE TABLE rooster_pair_rules (
    org_id   integer NOT NULL REFERENCES organisations(id),
    a        integer NOT NULL REFERENCES accounts(id),
    b        integer NOT NULL REFERENCES accounts(id),
    kind     text NOT NULL CHECK (kind IN ('altijd', 'nooit')),
    PRIMARY KEY (a, b),
    CHECK (a < b)
);

-- Demand templates (weekday, vrijdagnacht, evenement, zomer): duos per beat per weekday and shift type.
CREATE TABLE rooster_demand_templates (
    id      serial PRIMARY KEY,
    org_id  integer NOT NULL REFERENCES organisations(id),
    name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    UNIQUE (org_id, name)
);
CREATE TABLE rooster_demand_template_rows (
    template_id    integer NOT NULL REFERENCES rooster_demand_templates(id) ON DELETE CASCADE,
    weekday        smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    shift_type_id  integer NOT NULL REFERENCES rooster_shift_types(id),
    beat_id        integer NOT NULL REFERENCES beats(id),
    duos           smallint NOT NULL CHECK (duos BETWEEN 1 AND 20),
    qualification  text,
    PRIMARY KEY (template_id, weekday, shift_type_id, beat_id)
);

CREATE TABLE rooster_plans (
    id          serial PRIMARY KEY,
    org_id      integer NOT NULL REFERENCES organisations(id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    start_day   date NOT NULL,
    days        integer NOT NULL CHECK (days BETWEEN 1 AND 112),
    created_by  integer REFERENCES accounts(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Concrete demand of a plan (from templates and one-off extra demand).
CREATE TABLE rooster_demand (
    plan_id        integer NOT NULL REFERENCES rooster_plans(id) ON DELETE CASCADE,
    day            date NOT NULL,
    shift_type_id  integer NOT NULL REFERENCES rooster_shift_types(id),
    beat_id        integer NOT NULL REFERENCES beats(id),
    duos           smallint NOT NULL CHECK (duos BETWEEN 0 AND 20),
    qualification  text,
    source         text NOT NULL DEFAULT 'sjabloon' CHECK (source IN ('sjabloon', 'extra')),
    PRIMARY KEY (plan_id, day, shift_type_id, beat_id)
);

-- The draft: what the team lead edits and the solver fills.
CREATE TABLE rooster_assignments (
    plan_id        integer NOT NULL REFERENCES rooster_plans(id) ON DELETE CASCADE,
    account_id     integer NOT NULL REFERENCES accounts(id),
    day            date NOT NULL,
    shift_type_id  integer NOT NULL REFERENCES rooster_shift_types(id),
    beat_id        integer NOT NULL REFERENCES beats(id),
    duo            smallint NOT NULL DEFAULT 0,
    pinned         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (plan_id, account_id, day)
);

-- A published version is an immutable copy of the draft at publishing time.
CREATE TABLE rooster_versions (
    id            serial PRIMARY KEY,
    plan_id       integer NOT NULL REFERENCES rooster_plans(id) ON DELETE CASCADE,
    number        integer NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    published_by  integer REFERENCES accounts(id),
    note          text CHECK (note IS NULL OR length(note) <= 500),
    UNIQUE (plan_id, number)
);
CREATE TABLE rooster_version_assignments (
    version_id     integer NOT NULL REFERENCES rooster_versions(id) ON DELETE CASCADE,
    account_id     integer NOT NULL REFERENCES accounts(id),
    day            date NOT NULL,
    shift_type_id  integer NOT NULL REFERENCES rooster_shift_types(id),
    beat_id        integer NOT NULL REFERENCES beats(id),
    duo            smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (version_id, account_id, day)
);
CREATE INDEX rooster_version_assignments_by_day ON rooster_version_assignments (day, account_id);
