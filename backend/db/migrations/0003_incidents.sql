-- Meldingen (incidents), the tasks that send units to them, their timeline and text messages to units.
-- Track replays are audited in audit_log (0002).

CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    org_id           integer NOT NULL REFERENCES organisations(id),   -- the gemeente whose units handle it
    category         text NOT NULL,
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),  -- 1 = spoed
    description      text NOT NULL DEFAULT '',
    lon              double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat              double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    address          text NOT NULL DEFAULT '',
    beat_id          integer REFERENCES beats(id),
    required_domain  smallint NOT NULL DEFAULT 1 CHECK (required_domain BETWEEN 1 AND 6),
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_by       integer REFERENCES accounts(id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    -- for the meldkamer bridge: where the melding came from and its id there
    source           text,
    external_id      text,
    UNIQUE (source, external_id)
);
CREATE INDEX incidents_open ON incidents (org_id) WHERE state = 'open';

CREATE TABLE tasks (
    id            bigserial PRIMARY KEY,
    incident_id   bigint NOT NULL REFERENCES incidents(id),
    unit_id       integer NOT NULL REFERENCES units(id),
    state         text NOT NULL DEFAULT 'assigned'
                  CHECK (state IN ('assigned', 'accepted', 'en_route', 'on_scene', 'done', 'declined', 'cancelled')),
    assigned_by   integer REFERENCES accounts(id),
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,          -- last time the task frame went to the unit's tablet
    state_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_incident ON tasks (incident_id);
CREATE INDEX tasks_unit_active ON tasks (unit_id) WHERE state IN ('assigned', 'accepted', 'en_route', 'on_scene');
-- one active task per unit per incident
CREATE UNIQUE INDEX tasks_one_active ON tasks (incident_id, unit_id)
    WHERE state IN ('assigned', 'accepted', 'en_route', 'on_scene');

CREATE TABLE incident_events (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents(id),
    task_id      bigint REFERENCES tasks(id),
    unit_id      integer REFERENCES units(id),
    kind         text NOT NULL,   -- created, assigned, task_state, cancelled, closed, note
    text         text NOT NULL DEFAULT '',
    actor        text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, at);

CREATE TABLE unit_messages (
    id            bigserial PRIMARY KEY,
    unit_id       integer NOT NULL REFERENCES units(id),
    text          text NOT NULL,
    sender_id     integer REFERENCES accounts(id),
    sender        text NOT NULL,
    sent_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,    -- the tablet acknowledged it (message_read)
    read_at       timestamptz
);
CREATE INDEX unit_messages_unit ON unit_messages (unit_id, sent_at);
