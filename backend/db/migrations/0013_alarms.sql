-- Alarms that always get through: one open routine alert per unit and kind, the server-side check-in timer,
-- escalation settings per organisation and every step of an alert on its timeline.

-- Routine alerts: at most one open (unresolved) per unit and kind. Older duplicates are closed first.
UPDATE alerts a SET resolved_at = now()
WHERE a.resolved_at IS NULL AND a.unit_id IS NOT NULL
  AND a.kind IN ('outside_assigned_beat', 'position_stale', 'partners_apart')
  AND EXISTS (SELECT 1 FROM alerts b
              WHERE b.unit_id = a.unit_id AND b.kind = a.kind AND b.resolved_at IS NULL AND b.id > a.id);
CREATE UNIQUE INDEX alerts_one_open_routine ON alerts (unit_id, kind)
    WHERE resolved_at IS NULL AND kind IN ('outside_assigned_beat', 'position_stale', 'partners_apart');

-- Escalation of a safety alert nobody acknowledged.
ALTER TABLE alerts
    ADD COLUMN escalation_level integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
    ADD COLUMN escalated_at     timestamptz;
CREATE INDEX alerts_unacknowledged_safety ON alerts (at)
    WHERE acknowledged_at IS NULL AND kind IN ('noodknop', 'assistance', 'man_down', 'checkin_missed');

-- A boa working alone: the time by which the next check-in is due, per device (survives a restart).
CREATE TABLE checkin_timers (
    device_id    integer PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    org_id       integer NOT NULL REFERENCES organisations(id),
    unit_id      integer REFERENCES units(id),
    next_due     timestamptz NOT NULL,
    set_at       timestamptz NOT NULL,            -- the `at` of the check-in that set it
    lon          double precision,
    lat          double precision,
    missed_alert bigint REFERENCES alerts(id)     -- set once the timer ran out: it raises one alert
);

-- How an organisation escalates its safety alerts.
CREATE TABLE alarm_settings (
    org_id           integer PRIMARY KEY REFERENCES organisations(id),
    escalate_after_s integer NOT NULL DEFAULT 20 CHECK (escalate_after_s BETWEEN 5 AND 600),
    repeat_after_s   integer NOT NULL DEFAULT 60 CHECK (repeat_after_s BETWEEN 10 AND 3600),
    notify_partner   boolean NOT NULL DEFAULT true,
    nearest_units    integer NOT NULL DEFAULT 3 CHECK (nearest_units BETWEEN 0 AND 20),
    notify_teamlead  boolean NOT NULL DEFAULT true,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       integer REFERENCES accounts(id)
);

-- Every step of an alert: raised, escalated (level, who was told), acknowledged (by whom), resolved.
CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('raised', 'escalated', 'acknowledged', 'resolved', 'told_resolved')),
    level     integer,
    account_id integer REFERENCES accounts(id),
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);
