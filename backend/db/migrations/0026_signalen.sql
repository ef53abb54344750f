-- Signalen (the gemeente's open-source melding system, github.com/Amsterdam/signals): which of its categories
-- become Schakel meldingen and how, where polling stands, the status updates written back as the boa's work
-- progresses, and observations boa's file as new signals for another department.

-- The SLA deadline a partner gives a melding (Signalen: category.deadline); the tasks inherit it and the area
-- report counts meldingen finished after it.
ALTER TABLE incidents ADD COLUMN deadline timestamptz;

-- Per gemeente: a Signalen category (its sub_slug) that is handhaving work, with the boa domain it needs and
-- the priority it gets (NULL: from the signal's own priority, high -> 1, normal -> 2, low -> 3).
CREATE TABLE signalen_categories (
    org_id         integer NOT NULL REFERENCES organisations(id),
    category_slug  text NOT NULL CHECK (category_slug ~ '^[a-z0-9-]{1,100}$'),
    domain         smallint NOT NULL DEFAULT 1 CHECK (domain BETWEEN 1 AND 6),
    priority       smallint CHECK (priority BETWEEN 1 AND 3),
    PRIMARY KEY (org_id, category_slug)
);

-- Where polling stands per gemeente: created_after for the next poll, and the last trouble (shown to admins).
CREATE TABLE signalen_sync (
    org_id         integer PRIMARY KEY REFERENCES organisations(id),
    created_after  timestamptz NOT NULL DEFAULT now() - interval '7 days',
    polled_at      timestamptz,
    last_error     text NOT NULL DEFAULT '',
    last_error_at  timestamptz
);

-- Status and notes written back to a signal, one row per melding timeline line (so a line is sent once),
-- retried with backoff until Signalen took it.
CREATE TABLE signalen_updates (
    event_id    bigint PRIMARY KEY REFERENCES incident_events(id),
    org_id      integer NOT NULL REFERENCES organisations(id),
    signal_id   bigint NOT NULL,
    state       text,            -- the Signalen state to set (NULL: a note only)
    text        text NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    last_error  text NOT NULL DEFAULT ''
);
CREATE INDEX signalen_updates_due ON signalen_updates (next_at) WHERE sent_at IS NULL;

-- An observation a boa makes for another department, filed as a new signal (source Schakel) once per event
-- id, then followed through the signal's status history.
CREATE TABLE signalen_observations (
    event_id       uuid PRIMARY KEY,
    org_id         integer NOT NULL REFERENCES organisations(id),
    account_id     integer NOT NULL REFERENCES accounts(id),
    category_slug  text NOT NULL,
    text           text NOT NULL,
    lon            double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat            double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    created_at     timestamptz NOT NULL DEFAULT now(),
    signal_id      bigint,                  -- set once Signalen made it
    state          text NOT NULL DEFAULT '', -- the signal's latest Signalen state
    state_text     text NOT NULL DEFAULT '',
    attempts       integer NOT NULL DEFAULT 0,
    next_at        timestamptz NOT NULL DEFAULT now(),
    last_error     text NOT NULL DEFAULT ''
);
CREATE INDEX signalen_observations_open ON signalen_observations (org_id) WHERE state NOT IN ('o', 'a');

-- The status history of filed observations, one row per history identifier (UPDATE_STATUS_<id>, ...).
CREATE TABLE signalen_observation_history (
    event_id    uuid NOT NULL REFERENCES signalen_observations(event_id),
    identifier  text NOT NULL,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, identifier)
);
