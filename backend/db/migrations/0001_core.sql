-- Organisations, accounts, devices, units, beats, the live path and alerts.

CREATE TABLE organisations (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('gemeente', 'meldkamer')),
    fine_track  text NOT NULL DEFAULT 'om_strafbeschikking'
                CHECK (fine_track IN ('om_strafbeschikking', 'bestuurlijke_boete')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A meldkamer sees the units of the gemeenten connected to it.
CREATE TABLE meldkamer_links (
    meldkamer_id integer NOT NULL REFERENCES organisations(id),
    gemeente_id  integer NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (meldkamer_id, gemeente_id)
);

CREATE TABLE accounts (
    id             serial PRIMARY KEY,
    org_id         integer NOT NULL REFERENCES organisations(id),
    username       text NOT NULL UNIQUE,
    display_name   text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL
                   CHECK (role IN ('boa', 'operator', 'teamlead', 'admin', 'privacy_officer', 'service')),
    domains        integer[] NOT NULL DEFAULT '{1}',
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE units (
    id                 serial PRIMARY KEY,
    org_id             integer NOT NULL REFERENCES organisations(id),
    call_sign          text NOT NULL,
    kind               text NOT NULL DEFAULT 'duo' CHECK (kind IN ('duo', 'single')),
    status             text NOT NULL DEFAULT 'off_duty',
    status_since       timestamptz NOT NULL DEFAULT now(),
    assigned_beat_ids  integer[] NOT NULL DEFAULT '{}',
    domains            integer[] NOT NULL DEFAULT '{1}',
    active             boolean NOT NULL DEFAULT true,
    UNIQUE (org_id, call_sign)
);

-- A tablet or a tracker. last_seq is the highest per-device sequence number that is durable:
-- together with the batch writer it makes every field frame stored exactly once.
CREATE TABLE devices (
    id          serial PRIMARY KEY,
    org_id      integer NOT NULL REFERENCES organisations(id),
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'tablet' CHECK (kind IN ('tablet', 'tracker')),
    tracker_key text UNIQUE,          -- the OsmAnd `id` of a tracker
    unit_id     integer REFERENCES units(id),   -- current unit (set by a shift, or fixed for a tracker)
    last_seq    bigint NOT NULL DEFAULT 0,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refresh_tokens (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    account_id  integer NOT NULL REFERENCES accounts(id),
    device_id   integer REFERENCES devices(id),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The link between a unit, its device and its boa's for one shift.
CREATE TABLE shifts (
    id          serial PRIMARY KEY,
    unit_id     integer NOT NULL REFERENCES units(id),
    device_id   integer REFERENCES devices(id),
    account_ids integer[] NOT NULL DEFAULT '{}',
    beat_ids    integer[] NOT NULL DEFAULT '{}',
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);
CREATE UNIQUE INDEX shifts_one_open_per_unit ON shifts (unit_id) WHERE ended_at IS NULL;

CREATE TABLE beats (
    id           serial PRIMARY KEY,
    org_id       integer NOT NULL REFERENCES organisations(id),
    code         text NOT NULL,
    name         text NOT NULL,
    geometry     jsonb NOT NULL,
    properties   jsonb NOT NULL DEFAULT '{}',
    imported_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, code)
);

-- Position history, partitioned by day (partitions are created ahead by the writer).
CREATE TABLE positions (
    device_id    integer NOT NULL,
    unit_id      integer,
    seq          bigint NOT NULL,
    at           timestamptz NOT NULL,
    lon          double precision NOT NULL,
    lat          double precision NOT NULL,
    accuracy_m   real,
    speed_mps    real,
    heading_deg  real,
    late         boolean NOT NULL DEFAULT false,
    received_at  timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (at);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;
CREATE INDEX positions_unit_at ON positions (unit_id, at);

-- Status changes, noodknop and other non-position frames from the field.
CREATE TABLE field_events (
    id           bigserial PRIMARY KEY,
    device_id    integer NOT NULL REFERENCES devices(id),
    unit_id      integer REFERENCES units(id),
    seq          bigint NOT NULL,
    kind         text NOT NULL,
    at           timestamptz NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    late         boolean NOT NULL DEFAULT false,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq)
);

-- Latest known state per unit: the snapshot after a restart and the per-tick exchange between instances.
CREATE TABLE unit_live (
    unit_id      integer PRIMARY KEY REFERENCES units(id),
    at           timestamptz NOT NULL,
    lon          double precision NOT NULL,
    lat          double precision NOT NULL,
    accuracy_m   real,
    speed_mps    real,
    heading_deg  real,
    beat_ids     integer[] NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE geofence_events (
    id        bigserial PRIMARY KEY,
    unit_id   integer NOT NULL REFERENCES units(id),
    beat_id   integer NOT NULL REFERENCES beats(id),
    kind      text NOT NULL CHECK (kind IN ('entered', 'left')),
    at        timestamptz NOT NULL
);
CREATE INDEX geofence_events_unit_at ON geofence_events (unit_id, at);

CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    org_id           integer NOT NULL REFERENCES organisations(id),
    unit_id          integer REFERENCES units(id),
    kind             text NOT NULL,
    at               timestamptz NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    source_event_id  bigint UNIQUE REFERENCES field_events(id),
    acknowledged_at  timestamptz,
    acknowledged_by  integer REFERENCES accounts(id),
    resolved_at      timestamptz
);
CREATE INDEX alerts_open ON alerts (org_id) WHERE acknowledged_at IS NULL;
